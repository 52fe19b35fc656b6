"""Reading the files the pure layers ask for (options files, ``/etc/hosts``, ``+ua`` files).

The core never opens a file itself: it is handed :func:`read_limited` and decides what to read
and how much of it, so a size limit holds whatever the path is (``/dev/zero`` included).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_limited"]


def read_limited(path: Path, limit: int) -> bytes:
    """Return at most ``limit`` bytes from the start of ``path``.

    Raises:
        OSError: the file cannot be opened or read (as ``open()`` raises it).
    """
    with open(path, "rb") as stream:
        return stream.read(limit)
