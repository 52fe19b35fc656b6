"""Small shared definitions: the random source, the NOTICE level, the rendering of peer bytes.

The random source is injected into the core; pppd logs at NOTICE; peer bytes appear in log
lines and traces as pppd's ``%v`` and ``print_string()`` render them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Final

__all__ = ["NOTICE", "Octets", "Rng", "earliest", "print_string", "seeded_rng", "visible"]

Rng = Callable[[int], bytes]
"""A source of random bytes: ``rng(n)`` returns ``n`` bytes (``os.urandom`` in the shell)."""

NOTICE: Final = 25
"""pppd logs at syslog's NOTICE level ("Connect: ...", "Connect time ..."); Python has no such
level, so it sits between INFO (20) and WARNING (30)."""

logging.addLevelName(NOTICE, "NOTICE")


def earliest(deadlines: Iterable[float | None]) -> float | None:
    """The first of the deadlines that are set (``None`` is a timer not running), or ``None``."""
    running = [d for d in deadlines if d is not None]  # a list: cheaper than a generator
    return min(running) if running else None


def seeded_rng(seed: int) -> Rng:
    """Return a deterministic byte source for tests and examples (not for cryptography).

    A 64-bit xorshift generator: simple, reproducible across Python versions, and free of the
    banned ``random`` module.
    """
    state = (seed * 0x9E3779B97F4A7C15 + 1) & 0xFFFFFFFFFFFFFFFF or 1

    def rng(n: int) -> bytes:
        nonlocal state
        out = bytearray()
        while len(out) < n:
            state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
            state ^= state >> 7
            state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
            out += state.to_bytes(8, "little")
        return bytes(out[:n])

    return rng


Octets = bytes | bytearray | memoryview | str
"""What :func:`visible` and :func:`print_string` render: bytes, or text holding bytes (a name
from a file or from :func:`pyppp.auth.base.decode_name`), encoded back as UTF-8 with
``surrogateescape`` (lossless)."""


def _octets(data: Octets) -> bytes | bytearray | memoryview:
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


def visible(data: Octets) -> str:
    r"""Render peer-supplied bytes as pppd's and chat's ``%v`` does, safe for a log line.

    High octets become ``M-x`` and control octets ``^X`` (tab kept), so a peer can never put a
    newline or a terminal escape sequence into our logs.

    Args:
        data: the bytes (or text, see :data:`Octets`).

    Returns:
        A printable string: ``visible(b"A\r\xc1") == "A^MM-A"``.
    """
    out: list[str] = []
    for c in _octets(data):
        if c >= 0x80:
            out.append("M-")
            c -= 0x80
        if c < 0x20 or c == 0x7F:
            out.append("\t" if c == 0x09 else "^" + chr(c ^ 0x40))
        else:
            out.append(chr(c))
    return "".join(out)


def print_string(data: Octets) -> str:
    r"""Quote bytes as pppd's trace ``print_string()``: ``"..."`` with ``\"``, ``\n``, ``\ooo``.

    Args:
        data: the bytes (or text, see :data:`Octets`).

    Returns:
        The quoted string, quotes included.
    """
    out = ['"']
    for c in _octets(data):
        if 0x20 <= c <= 0x7E:
            out.append("\\" + chr(c) if c in (0x22, 0x5C) else chr(c))
        else:
            out.append({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(c, f"\\{c:03o}"))
    out.append('"')
    return "".join(out)
