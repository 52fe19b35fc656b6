"""The asyncio loop around a sans-IO :class:`~pyppp.link.Link` (aioquic's ``transmit`` pattern).

Feed the line's bytes into the link, write what it wants written, deliver its events, and keep
its next deadline set on the process's :class:`~pyppp.aio.timers.TimerService` (one loop timer
for every link; setting a deadline is a heap update, not a loop handle). IP packets go to a
callback (the TUN interface, or a library user). Flow control: the link's IP queue is bounded;
when it is full the producer (the TUN reader) is paused, and the link is asked for more bytes
only when the line has taken what it had, so control packets are never stuck behind a long
queue of bulk data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pyppp.aio.capture import FrameSink
from pyppp.aio.line import Line
from pyppp.aio.timers import TimerService
from pyppp.auth.base import ExternalCheckNeeded, ExternalVerdict
from pyppp.errors import ExitStatus
from pyppp.events import (
    Event,
    ExternalCheckRequested,
    IpReceived,
    Ipv6Up,
    LinkTerminated,
    LoginCheckRequested,
    NetworkUp,
)
from pyppp.link import Link
from pyppp.util import NOTICE

__all__ = ["ExternalChecker", "LinkRunner", "LoginChecker"]

LoginChecker = Callable[[str, str], bool]
ExternalChecker = Callable[[ExternalCheckNeeded], Awaitable[ExternalVerdict]]
"""Asks an outside server (RADIUS) for a verdict, without blocking the loop."""
"""Blocking system password check (``pyppp.aio.login.check_login``), run in a thread."""

# Framed data the shell may hold for the line beyond what it took (the supervisor sizes this to
# the line: ~0.1 s on a serial port, a write's worth on a pty).
_LINE_HIGH_WATER = 16384
_QUEUE_HIGH_WATER = 65536
_QUEUE_LOW_WATER = 16384
_PULL_RETRY = 0.005


class LinkRunner:
    """Runs one link until it is dead; returns pppd's exit status from :meth:`run`.

    Args:
        link: the sans-IO link (not yet opened).
        line: the serial side.
        on_event: called with every event except the IP packets (which go to ``on_ip``).
        on_ip: called with every received IP packet.
        login_checker: system password check for ``login``.
        external_checker: the outside server's verdicts (RADIUS), if the engines ask.
        initial_data: bytes already read from the line (after a chat script or handshake).
        logger: where the shell's lines go.
        line_high_water: framed bytes the shell may hold for the line beyond what it accepted;
            on a slow serial line, keep it near 0.1 s of line time so an Echo-Reply or a
            Terminate-Ack never waits long behind bulk data.
        on_backpressure: called with ``True`` when the IP producer should pause, ``False``
            when it may resume.
        capture: set as the link's tap (``pcap FILE``): told of every frame the link
            carries, and flushed after each batch of line input or output; without one, the
            data path tests for ``None`` once per frame.
        timers: the process's timer service (shared by its links); without one, the runner
            makes its own.
    """

    def __init__(
        self,
        link: Link,
        line: Line,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_ip: Callable[[bytes], None] | None = None,
        login_checker: LoginChecker | None = None,
        external_checker: ExternalChecker | None = None,
        initial_data: bytes = b"",
        logger: logging.Logger | None = None,
        line_high_water: int = _LINE_HIGH_WATER,
        on_backpressure: Callable[[bool], None] | None = None,
        capture: FrameSink | None = None,
        timers: TimerService | None = None,
    ) -> None:
        self.link = link
        self.line = line
        self.on_event = on_event
        self.on_ip = on_ip
        self.login_checker = login_checker
        self.external_checker = external_checker
        self.initial_data = initial_data
        self.logger = logger or logging.getLogger("pyppp")
        self._loop = asyncio.get_running_loop()
        self.timers = timers if timers is not None else TimerService(logger=self.logger)
        self._timer = self.timers.alarm(self._on_timer, line.name)
        self._pull_later = self.timers.alarm(self._pull, line.name)
        self._done: asyncio.Future[int] = self._loop.create_future()
        self._producer_paused = False
        self._opened = False
        self._delayed_open: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pull_scheduled = False
        self.on_backpressure = on_backpressure
        self.line_high_water = line_high_water
        self.capture = capture
        if capture is not None:
            link.tap = capture.frame

    def now(self) -> float:
        """The clock the link runs on."""
        return self._loop.time()

    async def run(self, *, open_delay: float = 0.0) -> int:
        """Open the link and run it until it is dead; return the exit status.

        Args:
            open_delay: pppd's ``connect-delay``: after a connect script, wait up to this many
                seconds for the peer's first bytes before starting LCP, so our first
                Configure-Request is not sent while the far end is still busy with its script.
        """
        self.line.start(self._on_data, self._on_lost)
        if open_delay > 0 and not self.initial_data:
            self._delayed_open = self._loop.call_later(open_delay, self._open)
        else:
            self._open()
        try:
            return await self._done
        finally:
            self._timer.clear()
            self._pull_later.clear()
            if self._delayed_open is not None:
                self._delayed_open.cancel()

    def _open(self) -> None:
        if self._delayed_open is not None:
            self._delayed_open.cancel()
        self._delayed_open = None
        self._opened = True
        self.link.open(self.now())
        if self.initial_data:
            self.link.receive_data(self.initial_data, self.now())
        self._after()

    def close(
        self, reason: str = "User request", exit_status: int = ExitStatus.USER_REQUEST
    ) -> None:
        """Terminate gracefully (LCP Terminate-Request); :meth:`run` returns when done."""
        if not self._opened:
            self._finish_unopened(exit_status)
            return
        self.link.close(reason, exit_status=exit_status, now=self.now())
        self._after()

    def close_network_protocol(self, protocol: int, reason: str) -> None:
        """Close one NCP (pppd: IPv6CP after "Interface configuration failed")."""
        if self._opened:
            self.link.close_network_protocol(protocol, reason, now=self.now())
            self._after()

    def hangup(self, reason: str = "Hangup") -> None:
        """End at once without a Terminate exchange (the line is gone or being dropped)."""
        if not self._opened:
            self._finish_unopened(ExitStatus.HANGUP)
            return
        self.link.lower_down(reason, now=self.now())
        self._after()

    def _finish_unopened(self, exit_status: int) -> None:
        # Still in pppd's connect-delay: there is no link to terminate yet.
        if self._delayed_open is not None:
            self._delayed_open.cancel()
            self._delayed_open = None
        if not self._done.done():
            self._done.set_result(exit_status)

    def act(self, action: Callable[[float], object]) -> None:
        """Call ``action(now)`` on the link (``link.renegotiate_ccp``), then write and deliver.

        For the shell's signals that reach into the link (SIGUSR2 renegotiates CCP).
        """
        if self._opened and not self._done.done():
            action(self.now())
            self._after()

    def send_ip(self, packet: bytes) -> bool:
        """Carry an IP packet; ``False`` if the link cannot take it now (dropped)."""
        ok = self.link.send_ip(packet, self.now())
        self._after()
        return ok

    def send_ips(self, packets: list[bytes]) -> int:
        """Carry a burst of IP packets (one TUN read); returns how many were taken."""
        taken = self.link.send_ips(packets, self.now())
        self._after()
        return taken

    # -- callbacks -----------------------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        if not self._opened:
            self._open()  # the peer has started: negotiate now (pppd's connect-delay ends)
        if self.link.receive_data(data, self.now()):
            self._after()
        # else: a piece of a frame changed nothing (most reads of a slow line's bulk data).

    def _on_lost(self, why: str) -> None:
        self.logger.debug("line lost: %s", why)
        if self._done.done():
            return
        # pppd main.c get_input: "Modem hangup", then the link goes down (status 16).
        self.logger.log(NOTICE, "Modem hangup")
        if not self._opened:
            self._finish_unopened(ExitStatus.HANGUP)
            return
        self.link.lower_down("Modem hangup", now=self.now())
        self._after()

    def _on_timer(self) -> None:
        self.link.handle_timer(self.now())
        self._after()

    # -- the transmit pattern ------------------------------------------------------------------
    def _after(self) -> None:
        """After every input: write, deliver events, re-arm the timer, apply back-pressure."""
        room = self.line_high_water - self.line.write_buffer_size
        data = self.link.data_to_send(limit=max(room, 0))
        if data:
            self.line.write(data)
        if self.capture is not None:
            self.capture.flush(self.now())  # what this batch carried, both ways
        while (event := self.link.next_event()) is not None:
            self._deliver(event)
        self._rearm()
        self._flow()

    def _deliver(self, event: Event) -> None:
        if isinstance(event, IpReceived):
            if self.on_ip is not None:
                self.on_ip(event.packet)
            return
        if isinstance(event, LoginCheckRequested):
            self._check_login(event)
        elif isinstance(event, ExternalCheckRequested):
            self._check_external(event.request)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # the owner's bug must not leave the link without its timer
                self.logger.exception("error while handling %s", type(event).__name__)
        if isinstance(event, NetworkUp | Ipv6Up) and self.link.config.defer_network_log:
            # After on_event has configured the interface, as pppd prints them.
            for level, line in event.messages:
                self.logger.log(level, "%s", line)
        if isinstance(event, LinkTerminated) and not self._done.done():
            # Let the last Terminate-Ack reach the line before the caller closes it.
            self._done.set_result(event.exit_status)

    def _check_external(self, request: ExternalCheckNeeded) -> None:
        checker = self.external_checker

        async def check() -> None:
            verdict = ExternalVerdict(False)
            if checker is not None:
                try:
                    verdict = await checker(request)
                except Exception:  # a client bug refuses this caller, never the daemon
                    self.logger.exception("RADIUS check failed")
            if self._done.done():
                return  # the link ended while the server was thinking
            self.link.external_result(request.request_id, verdict, self.now())
            self._after()

        task = self._loop.create_task(check())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_login(self, event: LoginCheckRequested) -> None:
        checker = self.login_checker

        async def check() -> None:
            ok = False
            if checker is not None:
                try:
                    ok = await self._loop.run_in_executor(None, checker, event.user, event.password)
                except Exception:  # a PAM failure must never take the daemon down
                    self.logger.exception("system password check failed")
            if self._done.done():
                return  # the link ended while PAM was thinking
            self.link.login_result(event.request_id, ok, self.now())
            self._after()

        # Keep a reference: the loop holds tasks only weakly.
        task = self._loop.create_task(check())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rearm(self) -> None:
        self._timer.set(self.link.get_timer())  # free when unchanged

    def _flow(self) -> None:
        pending = self.link.pending_bytes
        if pending and not self._pull_scheduled and not self._done.done():
            # IP frames are waiting in the link: pull more once the line has room. No line
            # reports when its buffer drains, so while it is full, look again shortly.
            self._pull_scheduled = True
            if self.line.write_buffer_size < self.line_high_water:
                self._loop.call_soon(self._pull)
            else:
                self._pull_later.set(self.now() + _PULL_RETRY)
        paused = pending > _QUEUE_HIGH_WATER
        if paused != self._producer_paused and (paused or pending < _QUEUE_LOW_WATER):
            self._producer_paused = paused
            if self.on_backpressure is not None:
                self.on_backpressure(paused)

    def _pull(self) -> None:
        self._pull_scheduled = False
        if self.link.pending_bytes and self.line.write_buffer_size < self.line_high_water:
            self._after()
        else:
            self._flow()
