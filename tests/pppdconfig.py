"""A test's own /etc/ppp: secrets files with the mode pppd wants, words to a LinkConfig."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyppp.aio.files import read_limited
from pyppp.aio.secrets import read_secrets
from pyppp.linkconfig import LinkConfig
from pyppp.pppd.options import load_options
from pyppp.pppd.session import build_link_config
from pyppp.util import seeded_rng


def write_private(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` with mode 0600, as pppd wants its secrets files."""
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    path.chmod(0o600)
    return path


def link_config_from_words(
    config_dir: Path, words: Sequence[str], *, hosts: str = "", hwaddr: bytes | None = None
) -> LinkConfig:
    """What ``pyppp pppd /dev/ttyS1 WORDS`` starts with, host ``griis``, files in ``config_dir``.

    ``config_dir`` is the options and secrets directory and the home directory too (so no
    ``~/.ppprc`` of the real user is read); ``hosts`` becomes its ``hosts`` file.

    Raises:
        ConfigError: what pppd refuses at start-up.
    """
    (config_dir / "hosts").write_text(hosts)
    options = load_options(
        "/dev/ttyS1", list(words), read_file=read_limited, config_dir=config_dir, home=config_dir
    )
    return build_link_config(
        options,
        secrets=read_secrets(config_dir),
        rng=seeded_rng(1),
        hostname="griis",
        read_file=read_limited,
        hosts_file=config_dir / "hosts",
        hwaddr=hwaddr,
    )
