r"""Windows direct-cable handshake (``CLIENT`` / ``CLIENTSERVER``), sans-IO.

Theory of operation
-------------------
Windows "Direct Cable Connection" and NT RAS null-modem links run PPP, but only after a
handshake in plain text: the guest (client) sends ``CLIENT`` with no CR, again every few
seconds, and the host (server) answers ``CLIENTSERVER``; then the client starts LCP. pppd users
do it with chat scripts (Serial-Laplink-HOWTO: ``'' CLIENT\c`` on a Linux client,
``CLIENT CLIENTSERVER\c`` on a Linux host). These two engines do the same natively and more
robustly, in the shape of the other sans-IO engines (``receive_data``/``data_to_send``/
``get_timer``/``handle_timer``, then ``done``, ``exit_status`` and ``leftover``):

* :class:`DccServer` scans for ``CLIENT`` anywhere in what arrives (NULs, CR/LF, repeats such
  as ``CLIENTCLIENT`` and line noise are skipped; bytes are compared with the 7th bit stripped,
  so a parity mismatch still matches), answers ``CLIENTSERVER`` once per burst, and hands over
  to PPP the moment a PPP flag (0x7E) arrives, passing on the bytes from the flag on. A caller
  that starts PPP at once (a Linux pppd client) is accepted the same way, so one server serves
  Linux and Windows clients alike.
* :class:`DccClient` sends ``CLIENT``, repeats it every ``interval`` seconds up to ``attempts``
  times, and accepts ``SERVER`` anywhere in the reply (the tail of ``CLIENTSERVER``, as Nucleus
  NET's matcher does). A server that starts PPP without answering (a plain pppd) is accepted when
  its first 0x7E arrives.

Exit status follows chat(8), so callers treat both kinds of "connect script" alike: 0 success,
3 timeout (pppd then exits 8, "Connect script failed"), 2 hang-up or I/O error.
"""

from __future__ import annotations

import logging
from typing import Final

from pyppp.util import visible

__all__ = ["CLIENT", "CLIENT_SERVER", "SERVER", "DccClient", "DccServer"]

CLIENT: Final = b"CLIENT"
SERVER: Final = b"SERVER"
CLIENT_SERVER: Final = b"CLIENTSERVER"
PPP_FLAG: Final = 0x7E
_STRIP_HIGH_BIT: Final = bytes(c & 0x7F for c in range(256))
_MAX_LEFTOVER: Final = 65536
_LOG_SAMPLE: Final = 64  # bytes of each received chunk shown in the debug log

_log = logging.getLogger("pyppp.windows")


class _Handshake:
    """What both roles share: output, leftover, deadline, the end."""

    role = "dcc"

    def __init__(self, logger: logging.Logger | None) -> None:
        self.logger = logger or _log
        self._out = bytearray()
        self._leftover = bytearray()
        self._deadline: float | None = None
        self.exit_status: int | None = None
        """0 success, 2 hang-up/I/O error, 3 timeout (chat's codes); None while running."""
        self.fail_reason: str | None = None
        """Why the handshake failed, as one line for the user."""
        self.bytes_seen = 0
        """Bytes received before the handover (noise included)."""

    @property
    def done(self) -> bool:
        """True once PPP may start (``exit_status == 0``) or the handshake failed."""
        return self.exit_status is not None

    @property
    def reading(self) -> bool:
        """True while the handshake wants bytes from the line (until it is done)."""
        return not self.done

    @property
    def leftover(self) -> bytes:
        """Bytes received from the PPP flag (or the end of ``SERVER``) on: PPP's first bytes."""
        return bytes(self._leftover)

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes to write to the line."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_action(self) -> None:
        """No side effects beyond bytes (the same loop runs chat and these engines)."""
        return None

    def get_timer(self) -> float | None:
        """Return the absolute deadline for :meth:`handle_timer`, or None."""
        return None if self.done else self._deadline

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the line. Never raises."""
        if not data:
            return
        if self.done:
            self._keep(data)
            return
        self._saw(data)
        self._receive(data, now)

    def _receive(self, data: bytes, now: float) -> None:
        """The role's handling of ``data`` while the handshake runs."""
        raise NotImplementedError

    def connection_lost(self, reason: str = "SIGHUP", *, now: float) -> None:
        """The line hung up: the handshake fails with status 2."""
        self.terminate(reason, 2)

    def terminate(self, reason: str, exit_status: int = 2) -> None:
        """Stop at once (a signal, an I/O error), with ``reason`` as the failure line."""
        if not self.done:
            self._fail(reason, exit_status)

    def _keep(self, data: bytes) -> None:
        room = _MAX_LEFTOVER - len(self._leftover)
        self._leftover += data[: max(room, 0)]

    def _succeed(self, leftover: bytes, how: str) -> None:
        self.exit_status = 0
        self._deadline = None
        self._keep(leftover)
        self.logger.debug("%s: %s; PPP starts (%d bytes passed on)", self.role, how, len(leftover))

    def _fail(self, reason: str, exit_status: int) -> None:
        self.exit_status = exit_status
        self.fail_reason = reason
        self._deadline = None
        self.logger.error("%s", reason)

    def _saw(self, data: bytes) -> None:
        self.bytes_seen += len(data)
        if self.logger.isEnabledFor(logging.DEBUG):
            sample = visible(data[:_LOG_SAMPLE]) + (" ..." if len(data) > _LOG_SAMPLE else "")
            self.logger.debug("%s: rcvd %d bytes: %s", self.role, len(data), sample)


class DccServer(_Handshake):
    """The host side: wait for ``CLIENT``, answer ``CLIENTSERVER``, start PPP on 0x7E.

    Args:
        timeout: seconds to wait for a client (the HOWTO's chat script waits 3600); None waits
            for ever.
        burst_gap: repeats of ``CLIENT`` within this many seconds of an answer are one burst
            and get no second answer (a client's retry that crossed our answer).
        logger: where the debug lines go.
        now: the caller's clock.
    """

    role = "dcc server"

    def __init__(
        self,
        *,
        timeout: float | None = 3600.0,
        burst_gap: float = 1.0,
        logger: logging.Logger | None = None,
        now: float,
    ) -> None:
        super().__init__(logger)
        self.timeout = timeout
        self.burst_gap = burst_gap
        self._tail = b""  # the last len(CLIENT)-1 cleaned bytes, for a CLIENT split by reads
        self._last_answer: float | None = None
        self.clients_seen = 0
        """How many ``CLIENT`` strings arrived."""
        self.answers_sent = 0
        """How many ``CLIENTSERVER`` answers went out."""
        self._deadline = None if timeout is None else now + timeout

    @property
    def windows_client(self) -> bool:
        """True when the peer did the Windows handshake (False: it started PPP directly)."""
        return self.clients_seen > 0

    def _receive(self, data: bytes, now: float) -> None:
        flag = data.find(PPP_FLAG)
        text = data if flag < 0 else data[:flag]
        # NULs are deleted (NT RAS clients may send one first); the 8th bit is stripped.
        cleaned = self._tail + text.translate(_STRIP_HIGH_BIT, b"\x00")
        found = cleaned.count(CLIENT)
        if found:
            self.clients_seen += found
            # Once PPP has begun in this same chunk an answer would only land inside it.
            if flag < 0 and (
                self._last_answer is None or now - self._last_answer >= self.burst_gap
            ):
                self._out += CLIENT_SERVER
                self._last_answer = now
                self.answers_sent += 1
                self.logger.debug("%s: got CLIENT, sent CLIENTSERVER", self.role)
            elif flag >= 0:
                self.logger.debug("%s: got CLIENT with PPP right behind it: no answer", self.role)
            else:
                self.logger.debug("%s: got CLIENT again in the same burst", self.role)
            cleaned = cleaned[cleaned.rfind(CLIENT) + len(CLIENT) :]
        self._tail = cleaned[-(len(CLIENT) - 1) :]
        if flag >= 0:
            how = "Windows client" if self.clients_seen else "PPP frame without CLIENT"
            self._succeed(data[flag:], how)

    def handle_timer(self, now: float) -> None:
        """Give up when the timeout passes."""
        if self.done or self._deadline is None or now < self._deadline:
            return
        self._fail(
            f"no CLIENT or PPP frame from the peer in {self.timeout:g} s "
            f"({self.bytes_seen} bytes of noise)",
            3,
        )


class DccClient(_Handshake):
    """The guest side: send ``CLIENT`` until ``SERVER`` comes back, then start PPP.

    Args:
        attempts: how many times to send ``CLIENT`` (Nucleus NET uses 3).
        interval: seconds to wait for ``SERVER`` after each attempt.
        accept_ppp: also succeed when a PPP flag arrives first (a server running plain PPP).
        logger: where the debug lines go.
        now: the caller's clock; the first ``CLIENT`` is queued at once.
    """

    role = "dcc client"

    def __init__(
        self,
        *,
        attempts: int = 3,
        interval: float = 2.0,
        accept_ppp: bool = True,
        logger: logging.Logger | None = None,
        now: float,
    ) -> None:
        super().__init__(logger)
        if attempts < 1 or interval <= 0:
            raise ValueError("attempts must be >= 1 and interval > 0")
        self.attempts = attempts
        self.interval = interval
        self.accept_ppp = accept_ppp
        self.attempts_made = 0
        """How many ``CLIENT`` strings were sent."""
        self._tail = b""  # raw bytes kept to find a SERVER split across reads
        self._send_client(now)

    def _send_client(self, now: float) -> None:
        self._out += CLIENT
        self.attempts_made += 1
        self._deadline = now + self.interval
        self.logger.debug(
            "%s: sent CLIENT (try %d of %d)", self.role, self.attempts_made, self.attempts
        )

    def _receive(self, data: bytes, now: float) -> None:
        raw = self._tail + data
        cleaned = raw.translate(_STRIP_HIGH_BIT)  # same length: indexes stay valid
        at = cleaned.find(SERVER)
        # Without the PPP fallback a flag is just noise; with it, whichever of SERVER and a
        # flag comes first wins. The tail never holds a flag (one would have ended the
        # handshake), so the result is the same however the bytes were split into reads.
        flag = raw.find(PPP_FLAG, len(self._tail)) if self.accept_ppp else -1
        if at >= 0 and (flag < 0 or at < flag):
            self._succeed(raw[at + len(SERVER) :], "got SERVER")
        elif flag >= 0:
            self._succeed(raw[flag:], "PPP frame without SERVER")
        else:
            self._tail = raw[-(len(SERVER) - 1) :]

    def handle_timer(self, now: float) -> None:
        """Send ``CLIENT`` again, or fail after the last attempt."""
        if self.done or self._deadline is None or now < self._deadline:
            return
        if self.attempts_made < self.attempts:
            self._send_client(now)
            return
        self._fail(
            f"no SERVER answer to CLIENT after {self.attempts} tries "
            f"({self.attempts * self.interval:g} s, {self.bytes_seen} bytes received)",
            3,
        )
