"""pyproject.toml against what the code and the docs tell a user to install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_no_extra_repeats_a_runtime_dependency() -> None:
    # An extra holding what every install has anyway is meaningless, and the hints that name it
    # ("pip install pyppp[netlink]") send a user after a problem they cannot have.
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    for extra, requirements in PROJECT["optional-dependencies"].items():
        assert not runtime & {_name(r) for r in requirements}, extra


def test_every_install_hint_names_an_extra_that_exists() -> None:
    extras = set(PROJECT["optional-dependencies"])
    texts = [*(ROOT / "pyppp").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    for path in texts:
        for extra in re.findall(r"pyppp\[([\w,-]+)\]", path.read_text()):
            assert set(extra.split(",")) <= extras, (path, extra)
