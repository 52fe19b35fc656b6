"""Telnet for ``pyppp share``'s raw mode (RFC 854, RFC 855), sans-IO.

A caller of a shared modem may be ``telnet host 2006`` or a netcat-style client sending raw
bytes. :class:`TelnetFilter` serves both: it takes the client's bytes and returns what goes to
the modem, what telnet answer goes back to the client, and how many serial breaks to send
(:class:`Filtered`); :meth:`TelnetFilter.escape` prepares modem bytes for the client. No I/O:
the session (:mod:`pyppp.share.session`) decides and the shell moves the bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Final

__all__ = [
    "AYT",
    "BRK",
    "DO",
    "DONT",
    "IAC",
    "SB",
    "SE",
    "WILL",
    "WONT",
    "Filtered",
    "TelnetFilter",
    "double_iac",
]

# RFC 854 command bytes (the ones this filter acts on).
IAC: Final = 255
DONT: Final = 254
DO: Final = 253
WONT: Final = 252
WILL: Final = 251
SB: Final = 250
AYT: Final = 246
BRK: Final = 243
SE: Final = 240

_NORMAL, _IAC_SEEN, _NEGOTIATE, _SUB, _SUB_IAC = range(5)


@dataclasses.dataclass(frozen=True, slots=True)
class Filtered:
    """What :meth:`TelnetFilter.feed` made of some client bytes."""

    data: bytes
    """Bytes for the modem."""
    reply: bytes = b""
    """Telnet answers for the client (option refusals, the AYT answer)."""
    breaks: int = 0
    """How many telnet BRK commands arrived (sent on as a serial break)."""


class TelnetFilter:
    """Raw mode's telnet handling: keeps negotiation away from the modem, refuses every option.

    ``telnet host 2006`` starts in NVT mode without negotiating (RFC 854 only has clients
    negotiate on the telnet port) but answers and sends option commands when prompted, and it
    always doubles a 0xFF data byte. A netcat-style client sends raw bytes. The filter serves
    both without sending anything first: it stays byte-transparent until the client sends a
    telnet command (``IAC`` followed by 240-254), then it is a telnet client for good:

    * ``WILL x`` is answered ``DONT x`` and ``DO x`` ``WONT x``; ``WONT``/``DONT`` need no
      answer, because RFC 854 forbids acknowledging a mode one is already in, and every option
      here is off. So no negotiation loop can start.
    * Subnegotiations (``IAC SB ... IAC SE``) are discarded.
    * ``IAC BRK`` becomes a serial break; ``IAC AYT`` gets a short answer; other commands
      (NOP, GA, IP, AO, EC, EL, DM) are dropped.
    * In telnet mode ``IAC IAC`` is one 0xFF both ways (:meth:`escape`) and the NVT's ``CR NUL``
      is a plain CR to the modem.

    Before telnet is seen, ``IAC`` followed by anything else than a command (PPP's ``FF 03``)
    passes through unchanged. The one ambiguity left: a netcat client that sends ``FF`` and a
    byte 240-254 loses those two bytes; ``--transparent`` is the mode for 8-bit data.
    """

    def __init__(self) -> None:
        self.telnet = False
        """Whether the client has shown it speaks telnet."""
        self.refused = 0
        """How many option requests were refused."""
        self._state = _NORMAL
        self._verb = 0
        self._after_cr = False

    def feed(self, data: bytes) -> Filtered:
        """Filter bytes from the client. Never raises.

        Args:
            data: bytes as they came from the TCP connection.

        Returns:
            The :class:`Filtered` result.
        """
        if self._state == _NORMAL and IAC not in data:
            return Filtered(self._nvt(data))
        out = bytearray()
        reply = bytearray()
        breaks = 0
        for byte in data:
            state = self._state
            if state == _NORMAL:
                if byte == IAC:
                    self._state = _IAC_SEEN
                elif byte == 0 and self._after_cr and self.telnet:
                    self._after_cr = False  # RFC 854: CR NUL is a bare CR
                else:
                    out.append(byte)
                    self._after_cr = byte == 0x0D
            elif state == _IAC_SEEN:
                self._state = _NORMAL
                self._after_cr = False
                if byte == IAC:
                    out += b"\xff" if self.telnet else b"\xff\xff"
                elif byte in (WILL, WONT, DO, DONT):
                    self.telnet = True
                    self._verb = byte
                    self._state = _NEGOTIATE
                elif byte == SB:
                    self.telnet = True
                    self._state = _SUB
                elif byte >= SE:
                    self.telnet = True
                    if byte == BRK:
                        breaks += 1
                    elif byte == AYT:
                        reply += b"\r\n[pyppp-share: yes]\r\n"
                else:
                    out += bytes((IAC, byte))  # not telnet: a raw client's 0xFF
                    self._after_cr = byte == 0x0D
            elif state == _NEGOTIATE:
                self._state = _NORMAL
                if self._verb in (WILL, DO):
                    self.refused += 1
                    reply += bytes((IAC, DONT if self._verb == WILL else WONT, byte))
            elif state == _SUB:
                if byte == IAC:
                    self._state = _SUB_IAC
            else:  # _SUB_IAC: IAC SE ends it, IAC IAC is a data byte inside it
                self._state = _NORMAL if byte == SE else _SUB
        return Filtered(bytes(out), bytes(reply), breaks)

    def escape(self, data: bytes) -> bytes:
        """Prepare modem bytes for the client: double 0xFF once the client speaks telnet."""
        return double_iac(data) if self.telnet else data

    def _nvt(self, data: bytes) -> bytes:
        # The fast path's half of the NUL rule in feed()'s loop, on a whole buffer: RFC 854's
        # "CR NUL" is a bare carriage return in NVT, and the modem wants just the CR. A CR that
        # ends the buffer is remembered (whether or not telnet is on yet), so the rule does not
        # depend on where the reads were cut.
        if not data:
            return data
        last_is_cr = data[-1] == 0x0D
        if self.telnet:
            if self._after_cr and data[0] == 0:
                data = data[1:]
            if b"\r\x00" in data:
                data = data.replace(b"\r\x00", b"\r")
        self._after_cr = last_is_cr
        return data


def double_iac(data: bytes) -> bytes:
    """Return ``data`` with each 0xFF doubled, as telnet (RFC 854) sends a data byte 255.

    Args:
        data: bytes for a telnet peer.

    Returns:
        The escaped bytes; ``data`` itself when it holds no 0xFF.
    """
    # The `in` test is a memchr; most modem data has no 0xFF and is returned as it is.
    return data.replace(b"\xff", b"\xff\xff") if b"\xff" in data else data
