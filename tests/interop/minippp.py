"""A throw-away PPP peer for the harness's own smoke tests (stdlib only, independent of pyppp).

Just enough RFC 1662 framing and RFC 1661/1332 negotiation to bring pppd to IP-UP: it acks every
LCP and IPCP Configure-Request, asks for nothing in LCP, asks for one IP address in IPCP,
Protocol-Rejects everything else and acks Terminate-Requests. Not a model for pyppp.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from .harness import Line

LCP, IPCP = 0xC021, 0x8021
CONF_REQ, CONF_ACK, TERM_REQ, TERM_ACK, PROTO_REJ, ECHO_REQ, ECHO_REP = 1, 2, 5, 6, 8, 9, 10


def fcs16(data: bytes) -> int:
    """RFC 1662 FCS-16 (bitwise: slow, short and obviously right)."""
    fcs = 0xFFFF
    for octet in data:
        fcs ^= octet
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs


def encode(protocol: int, information: bytes) -> bytes:
    """Frame with address/control, 2-octet protocol, FCS; escape all control characters."""
    body = b"\xff\x03" + struct.pack(">H", protocol) + information
    body += struct.pack("<H", fcs16(body) ^ 0xFFFF)
    out = bytearray(b"\x7e")
    for octet in body:
        out += (
            bytes((0x7D, octet ^ 0x20))
            if octet < 0x20 or octet in (0x7D, 0x7E)
            else bytes((octet,))
        )
    return bytes(out + b"\x7e")


class Deframer:
    """Split a byte stream into (protocol, information) frames; bad frames are counted."""

    def __init__(self) -> None:
        self._buf = b""
        self.bad = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Return the complete frames in ``data`` (plus what was buffered before)."""
        *pieces, self._buf = (self._buf + data).split(b"\x7e")
        frames = []
        for piece in pieces:
            raw = bytearray()
            escaped = False
            for octet in piece:
                if octet == 0x7D:
                    escaped = True
                elif octet >= 0x20:  # control characters are line noise (ACCM)
                    raw.append(octet ^ 0x20 if escaped else octet)
                    escaped = False
            if not raw:
                continue
            if len(raw) < 4 or fcs16(bytes(raw)) != 0xF0B8:
                self.bad += 1
                continue
            body = bytes(raw[:-2])
            if body[:2] == b"\xff\x03":  # absent when ACFC is in force
                body = body[2:]
            if body and body[0] & 1:  # one-octet protocol field (PFC)
                frames.append((body[0], body[1:]))
            elif len(body) >= 2:
                frames.append((body[0] << 8 | body[1], body[2:]))
        return frames


def options(data: bytes) -> list[tuple[int, bytes]]:
    """Split a Configure-Request's option list into (type, value) pairs."""
    out = []
    while len(data) >= 2 and data[1] >= 2:
        out.append((data[0], data[2 : data[1]]))
        data = data[data[1] :]
    return out


class Responder:
    """Answer pppd on ``line`` until ``done()`` is true; see the module docstring."""

    def __init__(self, line: Line, my_ip: bytes = bytes((10, 99, 1, 2))) -> None:
        self.line = line
        self.my_ip = my_ip
        self.deframer = Deframer()
        self.received: list[tuple[int, bytes]] = []
        self._sent_req: set[int] = set()

    def _send(self, protocol: int, code: int, ident: int, data: bytes = b"") -> None:
        self.line.write(encode(protocol, struct.pack(">BBH", code, ident, 4 + len(data)) + data))

    def pump(self, done: Callable[[], bool], timeout: float) -> None:
        """Read and answer frames until ``done()``; raise TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"responder: not done after {timeout} s; got {self.received}")
            for protocol, info in self.deframer.feed(self.line.read(0.1)):
                self.received.append((protocol, info))
                self._answer(protocol, info)

    def _answer(self, protocol: int, info: bytes) -> None:
        if len(info) < 4:
            return
        code, ident = info[0], info[1]
        data = info[4 : struct.unpack(">H", info[2:4])[0]]
        if protocol in (LCP, IPCP) and code == CONF_REQ:
            self._send(protocol, CONF_ACK, ident, data)
            if protocol not in self._sent_req:
                self._sent_req.add(protocol)
                mine = b"" if protocol == LCP else b"\x03\x06" + self.my_ip
                self._send(protocol, CONF_REQ, 1, mine)
        elif protocol in (LCP, IPCP) and code == TERM_REQ:
            self._send(protocol, TERM_ACK, ident)
        elif protocol == LCP and code == ECHO_REQ:
            self._send(LCP, ECHO_REP, ident, b"\0\0\0\0" + data[4:])
        elif protocol not in (LCP, IPCP):
            self._send(LCP, PROTO_REJ, 0x40, struct.pack(">H", protocol) + info)
