"""The baseline: an RFC 1662 framer written the obvious way, one Python loop per octet.

It is what a first implementation looks like (table-driven FCS as in RFC 1662 §C.2, escaping
and unescaping octet by octet) and is here only so the benchmark can show what pyppp's
whole-buffer framer gains. Not used by pyppp itself.
"""

from __future__ import annotations


def _make_table() -> list[int]:
    table = []
    for octet in range(256):
        value = octet
        for _ in range(8):
            value = (value >> 1) ^ 0x8408 if value & 1 else value >> 1
        table.append(value)
    return table


FCS_TABLE = _make_table()


def fcs16(data: bytes, fcs: int = 0xFFFF) -> int:
    """Running FCS-16 register (not complemented), RFC 1662 §C.2 style."""
    for octet in data:
        fcs = (fcs >> 8) ^ FCS_TABLE[(fcs ^ octet) & 0xFF]
    return fcs


def encode(protocol: int, information: bytes, accm: int = 0xFFFFFFFF) -> bytes:
    body = bytes((0xFF, 0x03, protocol >> 8, protocol & 0xFF)) + information
    fcs = fcs16(body) ^ 0xFFFF
    body += bytes((fcs & 0xFF, fcs >> 8))
    out = bytearray(b"\x7e")
    for octet in body:
        if octet in (0x7D, 0x7E) or (octet < 0x20 and accm >> octet & 1):
            out.append(0x7D)
            out.append(octet ^ 0x20)
        else:
            out.append(octet)
    out.append(0x7E)
    return bytes(out)


class Deframer:
    """Octet-at-a-time receive state machine (like ppp_async.c, but in Python)."""

    def __init__(self, accm: int = 0xFFFFFFFF) -> None:
        self.accm = accm
        self.buffer = bytearray()
        self.escaped = False
        self.errors = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        frames = []
        buffer = self.buffer
        for octet in data:
            if octet == 0x7E:
                if self.escaped:
                    self.errors += 1
                elif buffer:
                    frame = self._finish(bytes(buffer))
                    if frame is not None:
                        frames.append(frame)
                buffer.clear()
                self.escaped = False
            elif octet < 0x20 and self.accm >> octet & 1:
                continue
            elif self.escaped:
                self.escaped = False
                buffer.append(octet ^ 0x20)
            elif octet == 0x7D:
                self.escaped = True
            else:
                buffer.append(octet)
        return frames

    def _finish(self, frame: bytes) -> tuple[int, bytes] | None:
        if len(frame) < 4 or fcs16(frame) != 0xF0B8:
            self.errors += 1
            return None
        frame = frame[:-2]
        if frame[:2] == b"\xff\x03":
            frame = frame[2:]
        if frame[0] & 1:
            return frame[0], frame[1:]
        return frame[0] << 8 | frame[1], frame[2:]
