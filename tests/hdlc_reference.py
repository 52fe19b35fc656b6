"""A deliberately simple reference deframer: RFC 1662 §4 read literally, one octet at a time.

It shares no code with :mod:`pyppp.hdlc` (its FCS is the bitwise table of RFC 1662 §C.2, its
unescaping a three-state loop), so it is an independent oracle for the buffer-at-a-time
``Deframer``: ``tests/test_hdlc.py``'s properties and the ``hdlc.*`` fuzz targets compare the
two on the same octets, whatever the chunking.
"""

from __future__ import annotations

from pyppp.hdlc import Frame

__all__ = ["ref_check", "ref_decode", "ref_fcs"]

_TABLE: list[int] = []
for _octet in range(256):
    _v = _octet
    for _ in range(8):
        _v = (_v >> 1) ^ 0x8408 if _v & 1 else _v >> 1
    _TABLE.append(_v)


def ref_fcs(data: bytes) -> int:
    """The FCS-16 register after ``data`` (RFC 1662 §C.2); 0xF0B8 over a good frame."""
    fcs = 0xFFFF
    for octet in data:
        fcs = (fcs >> 8) ^ _TABLE[(fcs ^ octet) & 0xFF]
    return fcs


def ref_decode(stream: bytes, accm: int = 0xFFFFFFFF, mru: int = 1500) -> list[Frame]:
    """The good frames in ``stream``, octet by octet (receive ``accm``, Information <= ``mru``)."""
    frames: list[Frame] = []
    buffer = bytearray()
    escaped = False
    for octet in stream:
        if octet < 0x20 and accm >> octet & 1:
            continue
        if octet == 0x7E:
            if not escaped and buffer:
                frame = ref_check(bytes(buffer), mru)
                if frame is not None:
                    frames.append(frame)
            buffer.clear()
            escaped = False
        elif escaped:
            buffer.append(octet ^ 0x20)
            escaped = False
        elif octet == 0x7D:
            escaped = True
        else:
            buffer.append(octet)
    return frames


def ref_check(frame: bytes, mru: int) -> Frame | None:
    """One unescaped frame (address through FCS) as a ``Frame``, or ``None`` if it is bad."""
    if len(frame) < 4 or ref_fcs(frame) != 0xF0B8:
        return None
    body = frame[:-2]
    if body[0] == 0xFF:
        if body[1] != 0x03:
            return None
        body = body[2:]
    if not body:
        return None
    if body[0] & 1:
        protocol, information = body[0], body[1:]
    elif len(body) < 2:
        return None
    else:
        protocol, information = body[0] << 8 | body[1], body[2:]
    return None if len(information) > mru else Frame(protocol, information)
