"""A null-modem cable that flips bits: two ptys joined by a relay thread with a bit error rate.

Like :class:`pyppp.aio.cable.NullModemCable` (unpaced), but every octet crossing it has each of
its 8 bits flipped with probability ``ber``, independently, from a seeded generator (the gaps
between errors are drawn geometrically, so a clean stretch costs nothing). FCS-16 catches the
damage, so a peer sees lost frames: what CCP's Reset-Request/Ack must recover from.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import selectors
import threading
import tty

__all__ = ["NoisyCable"]


class NoisyCable:
    """Two pty slave paths (:attr:`ends`) joined by a relay that flips bits at ``ber``.

    Attributes:
        flipped: bits flipped so far; carried: octets relayed.
    """

    def __init__(self, ber: float, seed: int = 1) -> None:
        self._rng = random.Random(seed)
        self._log = math.log1p(-ber)
        self._masters: list[int] = []
        self._slaves: list[int] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._masters.append(master)
            self._slaves.append(slave)
        self.ends = (os.ttyname(self._slaves[0]), os.ttyname(self._slaves[1]))
        self._gap = [self._next_gap(), self._next_gap()]
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="noisy-line", daemon=True)
        self.flipped = 0
        self.carried = 0

    def _next_gap(self) -> int:
        """Bits until the next error (geometric)."""
        return int(math.log(1.0 - self._rng.random()) / self._log)

    def _damage(self, direction: int, data: bytes) -> bytes:
        bits = len(data) * 8
        if self._gap[direction] >= bits:
            self._gap[direction] -= bits
            return data
        out = bytearray(data)
        position = self._gap[direction]
        while position < bits:
            out[position // 8] ^= 1 << (position % 8)
            self.flipped += 1
            position += 1 + self._next_gap()
        self._gap[direction] = position - bits
        return bytes(out)

    def __enter__(self) -> NoisyCable:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (*self._masters, *self._slaves, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _relay(self) -> None:
        pending = [bytearray(), bytearray()]  # pending[i]: from end i, for the other end
        with selectors.DefaultSelector() as selector:
            selector.register(self._stop_r, selectors.EVENT_READ, None)
            for index, master in enumerate(self._masters):
                selector.register(master, selectors.EVENT_READ, index)
            while True:
                for index, master in enumerate(self._masters):
                    # TCP's window bounds what waits here: the relay need not push back.
                    events = selectors.EVENT_READ
                    if pending[1 - index]:
                        events |= selectors.EVENT_WRITE
                    selector.modify(master, events, index)
                for key, events in selector.select(0.2):
                    if key.data is None:
                        return
                    index = key.data
                    master = self._masters[index]
                    if events & selectors.EVENT_READ:
                        with contextlib.suppress(BlockingIOError, OSError):
                            data = os.read(master, 4096)
                            pending[index] += self._damage(index, data)
                    if events & selectors.EVENT_WRITE and pending[1 - index]:
                        try:
                            written = os.write(master, pending[1 - index][:4096])
                        except (BlockingIOError, OSError):
                            continue
                        del pending[1 - index][:written]
                        self.carried += written
