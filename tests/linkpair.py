"""Two sans-IO links back to back on a simulated clock, with an impairable wire.

* :class:`Wire` is one direction of the line. It records every chunk handed to it (``sent``,
  before impairment) so tests can decode exactly what a side put on the line.
* :class:`Impairment` is a seeded ``impair`` function: loss, duplication, reordering, delay.
* :class:`LinkPair` runs two endpoints against each other, advancing the clock to the next
  deadline or delivery; it collects each side's events.
* :class:`ScriptedPeer` is a bare control protocol behind an HDLC framer, for peers no real
  :class:`~pyppp.link.Link` configuration can imitate (a stubborn Nak'er, a mute peer).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pyppp import hdlc
from pyppp.control import ControlProtocol, LayerEvent
from pyppp.events import Event
from pyppp.packet import ControlPacket

T = TypeVar("T")


class Endpoint(Protocol):
    """What :class:`LinkPair` needs of each side (a :class:`~pyppp.link.Link` has it)."""

    def receive_data(self, data: bytes, now: float) -> object: ...
    def data_to_send(self) -> bytes: ...
    def next_event(self) -> Event | None: ...
    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...


@dataclass
class Wire:
    """One direction of the line: delivers chunks after a delay, optionally impaired.

    ``impair(data, now)`` returns a list of (delay, bytes) deliveries: [] drops the chunk,
    two entries duplicate it, different delays reorder.
    """

    delay: float = 0.001
    impair: Callable[[bytes, float], list[tuple[float, bytes]]] | None = None
    queue: list[tuple[float, int, bytes]] = field(default_factory=list)
    sent: list[tuple[float, bytes]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, data: bytes, now: float) -> None:
        if not data:
            return
        self.sent.append((now, data))
        deliveries = self.impair(data, now) if self.impair else [(self.delay, data)]
        for delay, chunk in deliveries:
            heapq.heappush(self.queue, (now + delay, next(self._seq), chunk))

    def cut(self) -> None:
        """Drop everything from now on, including what is in flight."""
        self.queue.clear()
        self.impair = drop_all

    def next_time(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def pop_due(self, now: float) -> list[bytes]:
        out = []
        while self.queue and self.queue[0][0] <= now:
            out.append(heapq.heappop(self.queue)[2])
        return out

    def frames(self) -> list[tuple[float, hdlc.Frame]]:
        """Decode everything sent on this wire (before impairment) into frames."""
        deframer = hdlc.Deframer(accm=0, mru=65535)
        out = []
        for when, chunk in self.sent:
            out += [(when, frame) for frame in deframer.feed(chunk)]
        return out

    def packets(self, protocol: int) -> list[tuple[float, ControlPacket]]:
        """The control packets of ``protocol`` sent on this wire, with their send times."""
        return [
            (when, ControlPacket.decode(frame.information))
            for when, frame in self.frames()
            if frame.protocol == protocol
        ]


def drop_all(data: bytes, now: float) -> list[tuple[float, bytes]]:
    """An ``impair`` function for a dead direction."""
    return []


class LoseNext:
    """An ``impair`` function that drops the next chunk once :attr:`armed` is set, then disarms."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        if self.armed:
            self.armed = False
            return []
        return [(0.001, data)]


@dataclass
class Impairment:
    """A seeded line fault model (each chunk is one or more whole frames).

    Attributes:
        seed: makes the run reproducible.
        loss: probability a chunk is dropped.
        duplicate: probability a delivered chunk is delivered twice.
        reorder: probability a chunk is held back by ``reorder_delay`` (so later ones pass it).
        delay: the base one-way delay; ``jitter`` is added uniformly at random.
    """

    seed: int
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: float = 0.001
    jitter: float = 0.0
    reorder_delay: float = 0.5
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __call__(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        rng = self.rng
        if rng.random() < self.loss:
            return []
        delay = self.delay + rng.random() * self.jitter
        if rng.random() < self.reorder:
            delay += self.reorder_delay
        out = [(delay, data)]
        if rng.random() < self.duplicate:
            out.append((delay + rng.random() * 0.01, data))
        return out


class LinkPair:
    """Runs two links against each other; events are collected per side."""

    def __init__(
        self, a: Endpoint, b: Endpoint, *, a_to_b: Wire | None = None, b_to_a: Wire | None = None
    ) -> None:
        self.a, self.b = a, b
        self.a_to_b = a_to_b or Wire()
        self.b_to_a = b_to_a or Wire()
        self.now = 0.0
        self.events: dict[str, list[Event]] = {"a": [], "b": []}
        self.steps = 0

    def _drain(self) -> None:
        self.a_to_b.send(self.a.data_to_send(), self.now)
        self.b_to_a.send(self.b.data_to_send(), self.now)
        for name, link in (("a", self.a), ("b", self.b)):
            while (event := link.next_event()) is not None:
                self.events[name].append(event)

    def step(self) -> bool:
        """Advance to the next thing that happens; False when nothing is left to happen."""
        self._drain()
        times = [
            t
            for t in (
                self.a.get_timer(),
                self.b.get_timer(),
                self.a_to_b.next_time(),
                self.b_to_a.next_time(),
            )
            if t is not None
        ]
        if not times:
            return False
        self.steps += 1
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
        """Run until ``until`` (simulated seconds), ``stop`` is true, or nothing is left."""
        while self.now <= until:
            if stop is not None and stop(self):
                return
            if not self.step():
                return

    def of_type(self, side: str, kind: type[T]) -> list[T]:
        return [e for e in self.events[side] if isinstance(e, kind)]


class ScriptedPeer:
    """A control protocol behind an HDLC framer, with no Link around it.

    It answers only its own protocol; everything it sends uses the default ACCM with
    Address/Control present, which a Link must always accept.
    """

    def __init__(self, protocol: ControlProtocol[Any]) -> None:
        self.cp = protocol
        self._deframer = hdlc.Deframer(accm=0xFFFFFFFF, mru=65535)
        self.received: list[hdlc.Frame] = []
        self.layer_events: list[LayerEvent] = []

    def open(self, now: float) -> None:
        self.cp.open(now)
        self.cp.up(now)

    def receive_data(self, data: bytes, now: float) -> None:
        for frame in self._deframer.feed(data):
            self.received.append(frame)
            if frame.protocol == self.cp.protocol:
                self.cp.receive(frame.information, now)

    def data_to_send(self) -> bytes:
        return b"".join(
            hdlc.encode_frame(self.cp.protocol, packet.encode())
            for packet in self.cp.packets_to_send()
        )

    def next_event(self) -> Event | None:
        while (event := self.cp.next_event()) is not None:
            self.layer_events.append(event)
        return None

    def get_timer(self) -> float | None:
        return self.cp.get_timer()

    def handle_timer(self, now: float) -> None:
        self.cp.handle_timer(now)
