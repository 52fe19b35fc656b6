"""Fixtures for the end-to-end tests: a lab of two network namespaces and a null-modem cable.

Every test here needs root and ``ip netns``; without them it skips with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .netns import Lab, netns_unavailable_reason

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.root)
            item.add_marker(pytest.mark.slow)


@functools.cache
def _unavailable() -> str | None:
    return netns_unavailable_reason()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Two fresh namespaces (``lab.a``, ``lab.b``), removed with everything in them after."""
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    with Lab() as made:
        yield made


_FIGURES: list[str] = []


@pytest.fixture
def report_figure() -> Callable[[str, str], None]:
    """``report_figure("link-up", "23 ms")``: shown in the terminal summary after the run."""

    def add(name: str, value: str) -> None:
        _FIGURES.append(f"{name}: {value}")

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.write_sep("-", "pyppp end-to-end figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
