"""Small shared definitions: the injected random source and pppd's NOTICE log level."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

__all__ = ["NOTICE", "Rng", "seeded_rng"]

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
