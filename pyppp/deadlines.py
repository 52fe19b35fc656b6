"""Deadline bookkeeping for one timer shared by many clients (the links of a process), sans-IO.

Theory of operation. Each client (a key) has at most one deadline. Setting, moving or clearing
it is a dict update and, when it changes, a push onto a heap; stale heap entries (a deadline
moved or cleared) are skipped when they reach the top and compacted away once they outnumber
the live ones, so no operation needs a search. The shell asks :meth:`DeadlineQueue.wake_time`
when to wake: the earliest deadline rounded *up* to a multiple of ``tick``, so that every
deadline inside one tick is served by one wake-up (many lines wake together), none before its
time and none more than a tick late when the shell wakes when asked. Woken at ``now``, the
shell takes the due keys in deadline order with :meth:`DeadlineQueue.pop_due`, each popped
once and removed before its callback runs. A deadline armed during that pass (a callback
re-arming itself or another client) waits for the next pass, as a fresh ``loop.call_at``
would: a client that keeps arming deadlines in the past cannot starve the loop.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["DeadlineQueue"]

K = TypeVar("K", bound=Hashable)

# Compact the heap once it holds this many more stale entries than live ones.
_SLACK_ENTRIES = 64


class DeadlineQueue(Generic[K]):
    """At most one deadline per key; the earliest first, on the caller's clock.

    Args:
        tick: the granularity of wake-ups in seconds (0: wake at each deadline exactly).
    """

    def __init__(self, tick: float = 0.0) -> None:
        if tick < 0:
            raise ValueError("tick must be >= 0")
        self.tick = tick
        self._armed: dict[K, tuple[float, int]] = {}
        # (deadline, sequence, key): the sequence number breaks ties in arming order and
        # tells a live entry from a stale one (keys need not be orderable).
        self._heap: list[tuple[float, int, K]] = []
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._armed)

    def __contains__(self, key: object) -> bool:
        return key in self._armed

    def get(self, key: K) -> float | None:
        """The deadline armed for ``key``, or ``None``."""
        entry = self._armed.get(key)
        return entry[0] if entry is not None else None

    def set(self, key: K, deadline: float | None) -> None:
        """Arm, move or (with ``None``) clear the deadline of ``key``; unchanged is free."""
        if deadline is None:
            self._armed.pop(key, None)
            return
        entry = self._armed.get(key)
        if entry is not None and entry[0] == deadline:
            return
        sequence = self._sequence
        self._sequence = sequence + 1
        self._armed[key] = (deadline, sequence)
        heapq.heappush(self._heap, (deadline, sequence, key))
        if len(self._heap) > 2 * len(self._armed) + _SLACK_ENTRIES:
            self._compact()

    def clear(self, key: K) -> None:
        """Forget the deadline of ``key`` (harmless if it has none)."""
        self._armed.pop(key, None)

    def reset(self) -> None:
        """Forget every deadline."""
        self._armed.clear()
        self._heap.clear()

    def mark(self) -> int:
        """A bound for :meth:`pop_due`: deadlines armed after this call are not popped."""
        return self._sequence

    def earliest(self) -> float | None:
        """The earliest deadline armed, or ``None``."""
        heap = self._heap
        while heap:
            deadline, sequence, key = heap[0]
            if self._armed.get(key) == (deadline, sequence):
                return deadline
            heapq.heappop(heap)  # moved or cleared since
        return None

    def wake_time(self) -> float | None:
        """When the shell should wake: the earliest deadline rounded up to the tick grid."""
        deadline = self.earliest()
        if deadline is None or not self.tick:
            return deadline
        # max(): the float product may round below the deadline; never wake early.
        return max(deadline, math.ceil(deadline / self.tick) * self.tick)

    def pop_due(self, armed_before: int | None = None, *, now: float) -> K | None:
        """Remove and return the key with the earliest deadline at or before ``now``.

        Args:
            armed_before: a :meth:`mark`: a deadline armed since then is left for the next
                pass, and so is everything behind it.
            now: the caller's clock.

        Returns:
            The key (its deadline forgotten), or ``None`` when nothing more is due.
        """
        if self.earliest() is None:
            return None
        deadline, sequence, key = self._heap[0]
        if deadline > now or (armed_before is not None and sequence >= armed_before):
            return None
        heapq.heappop(self._heap)
        del self._armed[key]
        return key

    def _compact(self) -> None:
        self._heap = [(d, s, k) for k, (d, s) in self._armed.items()]
        heapq.heapify(self._heap)
