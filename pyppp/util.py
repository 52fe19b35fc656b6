"""Small shared definitions: the injected random source and pppd's NOTICE log level."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

__all__ = ["NOTICE", "Rng", "print_string", "seeded_rng", "visible"]

Rng = Callable[[int], bytes]
"""A source of random bytes: ``rng(n)`` returns ``n`` bytes (``os.urandom`` in the shell)."""

NOTICE: Final = 25
"""pppd logs at syslog's NOTICE level ("Connect: ...", "Connect time ..."); Python has no such
level, so it sits between INFO (20) and WARNING (30)."""

logging.addLevelName(NOTICE, "NOTICE")


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


def visible(data: bytes) -> str:
    """Render peer-supplied bytes as pppd's ``%v`` does, safe for a log line.

    High octets become ``M-x`` and control octets ``^X`` (tab kept), so a peer can never put a
    newline or a terminal escape sequence into our logs.
    """
    out: list[str] = []
    for c in data:
        if c >= 0x80:
            out.append("M-")
            c -= 0x80
        if c < 0x20 or c == 0x7F:
            out.append("\t" if c == 0x09 else "^" + chr(c ^ 0x40))
        else:
            out.append(chr(c))
    return "".join(out)


def print_string(data: bytes) -> str:
    r"""Quote bytes as pppd's trace ``print_string()``: ``"..."`` with ``\"``, ``\n``, ``\ooo``."""
    out = ['"']
    for c in data:
        if 0x20 <= c <= 0x7E:
            out.append("\\" + chr(c) if c in (0x22, 0x5C) else chr(c))
        else:
            out.append({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(c, f"\\{c:03o}"))
    out.append('"')
    return "".join(out)
