"""One call through a shared modem, sans-IO: bytes and ``now`` in; writes, a deadline, an end out.

:class:`Session` is the policy of one call of ``pyppp share``: what the caller's bytes become
on the way to the modem (telnet filtering in raw mode, nothing in transparent mode, the shell's
RFC 2217 filter), what the modem's bytes become on the way back, how much may wait for a slow
caller before modem data is dropped, when a caller that takes nothing is cut off, when an idle
call is hung up, and the line that sums the call up in the log. It reads no clock and moves no
byte: every input carries ``now`` (seconds on the shell's monotonic clock) and every input
returns a list of effects (:data:`Effect`) for the shell to carry out in order. The shell
arms one timer at :meth:`Session.get_timer` and calls :meth:`Session.handle_timer` then,
h11/aioquic style; there is no periodic tick.

Two levels only the shell can see are reported to the session as facts: how many bytes wait
in the caller's send buffer (:meth:`Session.client_backlog`, before each input, so the
decisions below see the buffer as it is) and how many wait for the modem
(:meth:`Session.modem_backlog`, after each write to the modem and when the modem drains).

* Modem bytes are never held up for the caller: what does not fit below ``max_backlog`` is
  dropped and counted, and the first drop of an episode is logged.
* A caller that takes nothing for ``stall_timeout`` seconds while modem data waits is cut off
  (``client stalled``); any byte it takes restarts that clock. Telnet answers and notices are
  never dropped, but a caller that lets more than twice ``max_backlog`` pile up is cut off
  (``client not reading``). Both end with an abortive close, since a flush would never end.
* Bytes towards the modem are flow-controlled instead: past ``max_backlog`` waiting for the
  modem, the shell stops reading the caller (TCP then pushes back) until the modem drains.
* ``idle``: a call with no byte either way for that long is hung up, after a last line to a
  raw or transparent caller.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from typing import Final, Protocol

from pyppp.share.config import IDLE_LINE, ShareConfig
from pyppp.share.telnet import Filtered, TelnetFilter
from pyppp.util import earliest

__all__ = [
    "POLL_INTERVAL",
    "ClientFilter",
    "Effect",
    "End",
    "EndReason",
    "PauseClient",
    "PollLines",
    "ResumeClient",
    "SendBreak",
    "Session",
    "ToClient",
    "ToModem",
    "Transparent",
]

POLL_INTERVAL: Final = 0.2
"""Seconds between two polls of the modem's status lines in RFC 2217 mode (NOTIFY-MODEMSTATE)."""

# The shell's logger, so that the session's lines read as the server's own.
_log = logging.getLogger("pyppp.share")


class EndReason(enum.StrEnum):
    """Why a call ended; the value starts the reason in the ``Disconnect`` log line."""

    CLIENT_CLOSED = "client closed"
    CLIENT_ERROR = "client error"
    CLIENT_STALLED = "client stalled"
    CLIENT_NOT_READING = "client not reading"
    IDLE_TIMEOUT = "idle timeout"
    MODEM_HANGUP = "modem hangup"
    MODEM_READ_FAILED = "modem read failed"
    MODEM_WRITE_FAILED = "modem write failed"
    SHUTDOWN = "shutdown"


_ABORTIVE: Final = frozenset({EndReason.CLIENT_STALLED, EndReason.CLIENT_NOT_READING})


@dataclasses.dataclass(frozen=True, slots=True)
class ToClient:
    """Write these bytes to the caller."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class ToModem:
    """Write these bytes to the modem (then report :meth:`Session.modem_backlog`)."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class SendBreak:
    """Send one serial break (a telnet ``IAC BRK`` from the caller)."""


@dataclasses.dataclass(frozen=True, slots=True)
class PauseClient:
    """Stop reading the caller: the modem has ``max_backlog`` bytes waiting."""


@dataclasses.dataclass(frozen=True, slots=True)
class ResumeClient:
    """Read the caller again: the modem has drained."""


@dataclasses.dataclass(frozen=True, slots=True)
class PollLines:
    """Poll the modem's status lines (RFC 2217); the filter's notice goes to ``client_control``."""


@dataclasses.dataclass(frozen=True, slots=True)
class End:
    """Hang up: drop DTR, close the port, release the lock, close the connection.

    Attributes:
        reason: why.
        detail: the error text, for the reasons that carry one.
    """

    reason: EndReason
    detail: str = ""

    @property
    def text(self) -> str:
        """The reason as the log line says it: ``modem hangup (Input/output error)``."""
        if not self.detail:
            return str(self.reason)
        if self.reason is EndReason.MODEM_HANGUP:
            return f"{self.reason} ({self.detail})"
        return f"{self.reason}: {self.detail}"

    @property
    def abort(self) -> bool:
        """Whether to reset the connection rather than flush it (the caller is not reading)."""
        return self.reason in _ABORTIVE


Effect = ToClient | ToModem | SendBreak | PauseClient | ResumeClient | PollLines | End
"""What a :class:`Session` input asks the shell to do."""


class ClientFilter(Protocol):
    """What the caller's bytes go through: raw mode's :class:`TelnetFilter` is one."""

    def feed(self, data: bytes) -> Filtered:
        """Return the modem's bytes, the answers for the caller and the breaks in ``data``."""
        ...

    def escape(self, data: bytes) -> bytes:
        """Return modem bytes as the caller must receive them."""
        ...


class Transparent:
    """``--transparent``: every byte as it is, both ways."""

    def feed(self, data: bytes) -> Filtered:
        """Return ``data`` for the modem, untouched."""
        return Filtered(data)

    def escape(self, data: bytes) -> bytes:
        """Return ``data`` untouched."""
        return data


class Session:
    """One caller holding the modem: the call's policy, on the caller's clock.

    Args:
        config: the share's configuration (``mode``, ``idle``, ``banner``, ``max_backlog``,
            ``stall_timeout`` matter here).
        peer: the caller, ``addr:port``, for log lines.
        client_filter: what the caller's bytes go through; by default a
            :class:`TelnetFilter` in raw mode and :class:`Transparent` in transparent mode.
            RFC 2217 mode needs the shell's (pyserial's PortManager acts on the port).

    Raises:
        ValueError: RFC 2217 mode without a filter.

    Attributes:
        peer: the caller.
        client_filter: the filter in use.
        to_modem: bytes written towards the modem.
        from_modem: bytes read from the modem.
        dropped: modem bytes a slow caller could not take.
        ending: how the call ended, once it has.
    """

    def __init__(
        self, config: ShareConfig, peer: str, client_filter: ClientFilter | None = None
    ) -> None:
        if client_filter is None:
            if config.mode == "rfc2217":
                raise ValueError("RFC 2217 mode needs the shell's PortManager filter")
            client_filter = TelnetFilter() if config.mode == "raw" else Transparent()
        self.config = config
        self.peer = peer
        self.client_filter = client_filter
        self.to_modem = 0
        self.from_modem = 0
        self.dropped = 0
        self.ending: End | None = None
        self._started: float | None = None
        self._ended_at: float | None = None
        self._last_activity = 0.0
        self._client_queued = 0  # the caller's send buffer as last reported, plus our writes
        self._stalled_since: float | None = None  # first drop since the caller last took a byte
        self._dropping = False  # a drop episode, logged once, lasts until the buffer is empty
        self._client_paused = False
        self._next_poll: float | None = None

    # -- inputs ------------------------------------------------------------------------------

    def start(self, now: float) -> list[Effect]:
        """Begin the call: the banner to a raw or transparent caller, the first poll deadline."""
        self._started = self._last_activity = now
        effects: list[Effect] = []
        if self.config.mode == "rfc2217":
            self._next_poll = now + POLL_INTERVAL
        elif self.config.banner is not None:
            self._to_client(self.config.banner.encode() + b"\r\n", False, effects, now)
        return effects

    def client_data(self, data: bytes, now: float) -> list[Effect]:
        """Bytes from the caller: filter them; answers go back, the rest to the modem."""
        if self.ending is not None:
            return []
        self._last_activity = now
        filtered = self.client_filter.feed(data)
        effects: list[Effect] = []
        if filtered.reply:
            self._to_client(filtered.reply, False, effects, now)
            if self.ending is not None:
                return effects
        effects.extend(SendBreak() for _ in range(filtered.breaks))
        if filtered.data:
            self.to_modem += len(filtered.data)
            effects.append(ToModem(filtered.data))
        return effects

    def modem_data(self, data: bytes, now: float) -> list[Effect]:
        """Bytes from the modem: to the caller, or dropped if it is not keeping up."""
        if self.ending is not None:
            return []
        self.from_modem += len(data)
        self._last_activity = now
        effects: list[Effect] = []
        self._to_client(self.client_filter.escape(data), True, effects, now)
        return effects

    def client_control(self, data: bytes, now: float) -> list[Effect]:
        """Telnet bytes the shell's filter produced on its own (RFC 2217); never dropped."""
        effects: list[Effect] = []
        if self.ending is None and data:
            self._to_client(data, False, effects, now)
        return effects

    def client_backlog(self, size: int, now: float) -> list[Effect]:
        """The shell's report: ``size`` bytes wait in the caller's send buffer now."""
        if size < self._client_queued or size == 0:
            self._stalled_since = None  # the caller took something: not stalled
        if size == 0:
            self._dropping = False
        self._client_queued = size
        return []

    def modem_backlog(self, size: int, now: float) -> list[Effect]:
        """The shell's report: ``size`` bytes wait to be written to the modem now."""
        if self.ending is not None:
            return []
        if size > self.config.max_backlog and not self._client_paused:
            # The modem is slower than the network: let TCP push back on the caller.
            self._client_paused = True
            return [PauseClient()]
        if size == 0 and self._client_paused:
            self._client_paused = False
            return [ResumeClient()]
        return []

    def handle_timer(self, now: float) -> list[Effect]:
        """The deadline of :meth:`get_timer` has come (calling it early does nothing)."""
        if self.ending is not None:
            return []
        effects: list[Effect] = []
        stall = self._stall_deadline()
        if stall is not None and now >= stall:
            return self.end(EndReason.CLIENT_STALLED, now=now)
        idle = self._idle_deadline()
        if idle is not None and now >= idle:
            if self.config.mode != "rfc2217":
                self._to_client(IDLE_LINE, False, effects, now)
            if self.ending is None:
                effects += self.end(EndReason.IDLE_TIMEOUT, now=now)
            return effects
        if self._next_poll is not None and now >= self._next_poll:
            self._next_poll = now + POLL_INTERVAL
            effects.append(PollLines())
        return effects

    def end(self, reason: EndReason, *, detail: str = "", now: float) -> list[Effect]:
        """End the call (the shell's reasons: the caller or the modem went, shutdown).

        Args:
            reason: why.
            detail: the error text, if any (``str(exc)``, or ``strerror`` for a hangup).
            now: the time.

        Returns:
            ``[End]``, or nothing when the call has ended already.
        """
        if self.ending is not None:
            return []
        self.ending = End(reason, detail)
        self._ended_at = now
        return [self.ending]

    # -- outputs -----------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """Return the next deadline on the shell's clock, ``None`` when nothing is timed."""
        if self.ending is not None or self._started is None:
            return None
        return earliest((self._stall_deadline(), self._idle_deadline(), self._next_poll))

    @property
    def client_paused(self) -> bool:
        """Whether the shell has been told to stop reading the caller."""
        return self._client_paused

    def disconnect_line(self) -> str:
        """Return the log line that sums up an ended call."""
        duration = 0.0
        if self._started is not None and self._ended_at is not None:
            duration = self._ended_at - self._started
        reason = self.ending.text if self.ending is not None else "?"
        return (
            f"Disconnect {self.peer} ({reason}): connect time {duration:.1f} s, "
            f"{self.to_modem} bytes to modem, {self.from_modem} bytes from modem, "
            f"{self.dropped} dropped"
        )

    # -- policy ------------------------------------------------------------------------------

    def _stall_deadline(self) -> float | None:
        if self._stalled_since is None:
            return None
        return self._stalled_since + self.config.stall_timeout

    def _idle_deadline(self) -> float | None:
        if self.config.idle is None:
            return None
        return self._last_activity + self.config.idle

    def _to_client(self, data: bytes, droppable: bool, effects: list[Effect], now: float) -> None:
        queued = self._client_queued
        limit = self.config.max_backlog
        if droppable and queued + len(data) > limit:
            # Never stall the modem for a slow caller: drop, count, and remember since when.
            self.dropped += len(data)
            if self._stalled_since is None:
                self._stalled_since = now
            if not self._dropping:
                self._dropping = True
                _log.warning("%s is not reading; dropping modem data", self.peer)
            return
        if not droppable and queued > 2 * limit:
            effects += self.end(EndReason.CLIENT_NOT_READING, now=now)
            return
        if queued == 0:
            self._stalled_since = None
        self._client_queued = queued + len(data)
        effects.append(ToClient(data))
