"""``/etc/hosts`` for addresses written as host names in options (pppd resolves them)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path

from pyppp.errors import ConfigError
from pyppp.pppd.options import MAX_FILE_SIZE, FileReader

# ---------------------------------------------------------------------------------------------
# /etc/hosts


def parse_hosts_file(path: Path | str, *, read_file: FileReader) -> dict[str, str]:
    """Read an ``/etc/hosts``-style file: host name (lower case) -> IPv4 address.

    The first line naming a host wins, as with the C library; IPv6 lines and malformed
    lines are skipped; a missing file gives an empty mapping. Only the first
    :data:`~pyppp.pppd.options.MAX_FILE_SIZE` bytes are read.

    Args:
        path: the file.
        read_file: reads it (the shell passes :func:`pyppp.aio.files.read_limited`).

    Raises:
        ConfigError: the file exists but cannot be read.
    """
    try:
        text = read_file(Path(path), MAX_FILE_SIZE).decode("utf-8", "replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"Can't read hosts file {path}: {exc.strerror or exc}") from None
    hosts: dict[str, str] = {}
    for line in text.splitlines():
        fields_ = line.split("#", 1)[0].split()
        if len(fields_) < 2:
            continue
        try:
            address = str(ipaddress.IPv4Address(fields_[0]))
        except ValueError:
            continue
        for name in fields_[1:]:
            hosts.setdefault(name.lower(), address)
    return hosts


def resolve_address(name_or_ip: str, hosts: Mapping[str, str]) -> str | None:
    """Resolve an address as written in an option: dotted quad, or a name in ``hosts``.

    Args:
        name_or_ip: ``"192.168.0.1"`` or ``"ppp_laplink_host"``.
        hosts: from :func:`parse_hosts_file` (names in lower case).

    Returns:
        The dotted-quad address, or None if the name is unknown.
    """
    try:
        return str(ipaddress.IPv4Address(name_or_ip))
    except ValueError:
        return hosts.get(name_or_ip.lower())
