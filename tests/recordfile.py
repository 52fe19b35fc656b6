"""Read a ``record FILE`` (pppd's format, pppdump's input) back into the frames on the line.

``pcap FILE`` shows what the link carries (IP before compression); the tests that look at
what actually crossed the line (0x00FD datagrams, VJ's 0x002d/0x002f) read the record file:
its data entries (pyppp.pppd.record: 1 sent, 2 received, each with a 2-octet length) are the
raw line, fed to one :class:`~pyppp.hdlc.Deframer` per direction.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pyppp import hdlc
from pyppp.pppd import record

__all__ = ["record_chunks", "record_frames"]


def record_chunks(data: bytes) -> list[tuple[bool, bytes]]:
    """(sent, bytes) of every data entry of a record file, in order."""
    out = []
    position = 0
    while position < len(data):
        code = data[position]
        if code in (record.SENT, record.RECEIVED):
            (length,) = struct.unpack_from(">H", data, position + 1)
            out.append((code == record.SENT, data[position + 3 : position + 3 + length]))
            position += 3 + length
        elif code in (record.START, record.LONG_DELAY):
            position += 5
        elif code == record.SHORT_DELAY:
            position += 2
        elif code in (record.SENT_END, record.RECEIVED_END):
            position += 1
        else:
            raise AssertionError(f"not a record file: code {code} at {position}")
    return out


def record_frames(path: Path) -> list[tuple[bool, int, bytes]]:
    """(sent, protocol, information) of every good frame on the line, in the file's order."""
    deframers = {True: hdlc.Deframer(accm=0, mru=65535), False: hdlc.Deframer(accm=0, mru=65535)}
    frames = []
    for sent, chunk in record_chunks(path.read_bytes()):
        frames += [(sent, f.protocol, f.information) for f in deframers[sent].feed(chunk)]
    return frames
