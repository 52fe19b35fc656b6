"""One timer for every link of a process: a :class:`TimerService` over the loop.

Each client (a link's driver, its flow-control retry) holds an :class:`Alarm` and sets or
clears its next deadline as often as it likes: that is a dict and heap update in
:class:`~pyppp.deadlines.DeadlineQueue`, never a loop handle. The service keeps exactly one
``loop.call_at`` armed, for the earliest deadline rounded up to a tick (:data:`DEFAULT_TICK`),
so the lines of a busy server wake together rather than each on its own, and a deadline is
served at most a tick late, never early (a PPP timer may run late, never before its time).

A deadline moved later keeps the armed handle: it fires, finds nothing due and arms the next
one, which costs less than a cancelled handle per move left in the loop's heap. Alarms run in
deadline order; an exception in one is logged and the others still run. :meth:`TimerService.close`
leaves no handle behind. One service per process: the supervisor (or the multi-line server)
makes it and hands it to every link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from pyppp.deadlines import DeadlineQueue

__all__ = ["DEFAULT_TICK", "Alarm", "TimerService"]

DEFAULT_TICK: Final = 0.004
"""Seconds: deadlines within one tick are served by one wake-up (a few character times)."""


class Alarm:
    """One client's deadline in a :class:`TimerService`; ``callback()`` runs when it is due.

    Once it has run, the alarm is disarmed until set again.
    """

    __slots__ = ("_service", "callback", "name")

    def __init__(self, service: TimerService, callback: Callable[[], object], name: str) -> None:
        self._service = service
        self.callback = callback
        self.name = name

    @property
    def deadline(self) -> float | None:
        """The deadline armed (on the loop's clock), or ``None``."""
        return self._service.queue.get(self)

    def set(self, deadline: float | None) -> None:
        """Arm or move the deadline (``None``: clear it); an unchanged deadline costs nothing."""
        self._service.set(self, deadline)

    def clear(self) -> None:
        """Disarm (harmless when not armed)."""
        self._service.set(self, None)


class TimerService:
    """Every alarm of a process behind one ``loop.call_at`` (see the module docstring).

    It binds to the running loop when first armed, so it can be made before the loop runs.

    Args:
        tick: wake-up granularity in seconds.
        logger: where an alarm's exception is logged.
    """

    def __init__(self, *, tick: float = DEFAULT_TICK, logger: logging.Logger | None = None) -> None:
        self.queue: DeadlineQueue[Alarm] = DeadlineQueue(tick)
        self.logger = logger or logging.getLogger("pyppp")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._handle_at = 0.0
        self._firing = False
        #: Wake-ups so far (the bench and the tests read it).
        self.wakeups = 0

    def alarm(self, callback: Callable[[], object], name: str = "") -> Alarm:
        """A new, disarmed alarm running ``callback`` (``name`` is for the log)."""
        return Alarm(self, callback, name)

    def set(self, alarm: Alarm, deadline: float | None) -> None:
        """Arm, move or clear one alarm's deadline (:meth:`Alarm.set`)."""
        self.queue.set(alarm, deadline)
        if not self._firing:  # a pass re-arms once, at its end
            self._sync()

    @property
    def armed(self) -> bool:
        """Whether the service holds a loop handle now."""
        return self._handle is not None

    def close(self) -> None:
        """Forget every alarm and cancel the loop handle."""
        self.queue.reset()
        self._cancel()

    def _sync(self) -> None:
        wake = self.queue.wake_time()
        if wake is None:
            self._cancel()
            return
        if self._handle is not None:
            if self._handle_at <= wake:
                return  # it fires first and arms the next one then
            self._handle.cancel()
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.get_running_loop()  # (a service made before its loop ran)
        self._handle = self._loop.call_at(wake, self._fire)
        self._handle_at = wake

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        assert self._loop is not None
        self.wakeups += 1
        now = self._loop.time()
        queue = self.queue
        mark = queue.mark()
        self._firing = True
        try:
            while (alarm := queue.pop_due(mark, now=now)) is not None:
                try:
                    alarm.callback()
                except Exception:  # one link's bug must not stop the others' timers
                    self.logger.exception("error in the timer of %s", alarm.name or "a link")
        finally:
            self._firing = False
            self._sync()
