"""pppd's ``record`` file format, as pppdump(8) reads it (pppd tty.c ``record_write``).

A record file is a stream of tagged entries: ``7`` and a 4-byte big-endian time (seconds since
the epoch) opens a recording; ``1`` sent and ``2`` received data, each with a 2-byte length and
the bytes; ``3``/``4`` mark the end of the sent/received direction; ``6`` and one byte, or ``5``
and four bytes, say how many tenths of a second passed since the previous entry.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["RecordEncoder"]

START: Final = 7
SENT: Final = 1
RECEIVED: Final = 2
SENT_END: Final = 3
RECEIVED_END: Final = 4
LONG_DELAY: Final = 5
SHORT_DELAY: Final = 6
_MAX_CHUNK: Final = 0xFFFF


class RecordEncoder:
    """Builds record-file bytes; the caller appends them to the file.

    Args:
        now: the wall-clock time the recording starts (seconds since the epoch).
    """

    def __init__(self, now: float) -> None:
        self._started = int(now)
        self._last = self._tenths(now)

    @staticmethod
    def _tenths(now: float) -> int:
        return int(now * 10)

    def start(self) -> bytes:
        """The start marker with the time (pppd: ``putc(7)`` and the seconds)."""
        return bytes([START]) + struct.pack(">I", self._started & 0xFFFFFFFF)

    def _delay(self, now: float) -> bytes:
        tenths = self._tenths(now)
        diff = tenths - self._last
        if diff <= 0:
            return b""
        self._last = tenths
        if diff > 255:
            return bytes([LONG_DELAY]) + struct.pack(">I", diff & 0xFFFFFFFF)
        return bytes([SHORT_DELAY, diff])

    def _data(self, code: int, data: bytes, now: float) -> bytes:
        out = [self._delay(now)]
        for offset in range(0, len(data), _MAX_CHUNK):
            chunk = data[offset : offset + _MAX_CHUNK]
            out.append(bytes([code]) + struct.pack(">H", len(chunk)) + chunk)
        return b"".join(out)

    def sent(self, data: bytes, now: float) -> bytes:
        """Bytes we sent to the peer."""
        return self._data(SENT, data, now)

    def received(self, data: bytes, now: float) -> bytes:
        """Bytes we received from the peer."""
        return self._data(RECEIVED, data, now)

    def end(self, now: float) -> bytes:
        """Both directions ended."""
        return self._delay(now) + bytes([SENT_END, RECEIVED_END])
