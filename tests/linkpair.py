"""Two sans-IO links back to back on a simulated clock, with an impairable wire."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pyppp.events import Event
from pyppp.link import Link


@dataclass
class Wire:
    """One direction of the line: delivers chunks after a delay, optionally impaired.

    ``impair(data, now)`` returns a list of (delay, bytes) deliveries: [] drops the chunk,
    two entries duplicate it, different delays reorder.
    """

    delay: float = 0.001
    impair: Callable[[bytes, float], list[tuple[float, bytes]]] | None = None
    queue: list[tuple[float, int, bytes]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, data: bytes, now: float) -> None:
        if not data:
            return
        deliveries = self.impair(data, now) if self.impair else [(self.delay, data)]
        for delay, chunk in deliveries:
            heapq.heappush(self.queue, (now + delay, next(self._seq), chunk))

    def next_time(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def pop_due(self, now: float) -> list[bytes]:
        out = []
        while self.queue and self.queue[0][0] <= now:
            out.append(heapq.heappop(self.queue)[2])
        return out


class LinkPair:
    """Runs two links against each other; events are collected per side."""

    def __init__(self, a: Link, b: Link, *, a_to_b: Wire | None = None,
                 b_to_a: Wire | None = None) -> None:
        self.a, self.b = a, b
        self.a_to_b = a_to_b or Wire()
        self.b_to_a = b_to_a or Wire()
        self.now = 0.0
        self.events: dict[str, list[Event]] = {"a": [], "b": []}

    def _drain(self) -> None:
        self.a_to_b.send(self.a.data_to_send(), self.now)
        self.b_to_a.send(self.b.data_to_send(), self.now)
        for name, link in (("a", self.a), ("b", self.b)):
            while (event := link.next_event()) is not None:
                self.events[name].append(event)

    def step(self) -> bool:
        """Advance to the next thing that happens; False when nothing is left to happen."""
        self._drain()
        times = [t for t in (self.a.get_timer(), self.b.get_timer(), self.a_to_b.next_time(),
                             self.b_to_a.next_time()) if t is not None]
        if not times:
            return False
        self.now = max(self.now, min(times))
        for chunk in self.a_to_b.pop_due(self.now):
            self.b.receive_data(chunk, self.now)
        for chunk in self.b_to_a.pop_due(self.now):
            self.a.receive_data(chunk, self.now)
        for link in (self.a, self.b):
            timer = link.get_timer()
            if timer is not None and timer <= self.now:
                link.handle_timer(self.now)
        self._drain()
        return True

    def run(self, until: float, stop: Callable[[LinkPair], bool] | None = None) -> None:
        while self.now <= until:
            if stop is not None and stop(self):
                return
            if not self.step():
                return

    def of_type(self, side: str, kind: type) -> list:
        return [e for e in self.events[side] if isinstance(e, kind)]
