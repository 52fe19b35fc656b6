"""A serial line for latency measurements: two ptys joined by a relay that paces every byte.

:class:`~pyppp.aio.cable.NullModemCable` paces throughput (a token bucket with a FIFO's worth
of credit), so a small frame on a quiet line crosses at once. A real UART at 115200 baud takes
10 bit times per octet whatever the line did before: :class:`PacedLine` delivers each octet
one octet-time after the previous one left (or after it arrived, if the line was idle), each
direction on its own, so a 45-octet frame takes 3.9 ms to arrive, as on the wire. The same
model as the reference relay the issue was measured with (``slowline.py``: no credit carried
over an idle line), written here because the project needs nothing from outside at run time.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque

__all__ = ["PacedLine"]


class _Direction:
    """Octets read from one master, each with the time it may be written to the other."""

    def __init__(self, source: int, target: int, octet_time: float) -> None:
        self.source, self.target = source, target
        self.octet_time = octet_time
        self.queue: deque[tuple[float, bytes]] = deque()
        self.free_at = 0.0  # when the last queued octet has finished crossing

    def read(self, now: float) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            data = os.read(self.source, 4096)
            start = max(now, self.free_at)
            for i in range(len(data)):
                self.queue.append((start + (i + 1) * self.octet_time, data[i : i + 1]))
            self.free_at = start + len(data) * self.octet_time

    def write_due(self, now: float) -> None:
        out = bytearray()
        while self.queue and self.queue[0][0] <= now:
            out += self.queue.popleft()[1]
        if out:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self.target, out)

    def next_due(self) -> float | None:
        return self.queue[0][0] if self.queue else None


class PacedLine:
    """Two pty ends whose octets cross at ``baud`` / 10 a second, each way (8N1).

    Use as a context manager; :attr:`ends` are the two slave paths.
    """

    def __init__(self, baud: int = 115200) -> None:
        self._fds: list[int] = []
        masters = []
        paths = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)  # kept open here: the master never sees a hang-up
            os.set_blocking(master, False)
            self._fds += [master, slave]
            masters.append(master)
            paths.append(os.ttyname(slave))
        self.ends = (paths[0], paths[1])
        octet_time = 10.0 / baud
        self._directions = (
            _Direction(masters[0], masters[1], octet_time),
            _Direction(masters[1], masters[0], octet_time),
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-line", daemon=True)

    def __enter__(self) -> PacedLine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        sources = {d.source: d for d in self._directions}
        while not self._stop.is_set():
            dues = [t for d in self._directions if (t := d.next_due()) is not None]
            now = time.monotonic()
            timeout = max(0.0, min(dues) - now) if dues else 0.1
            # A writer faster than the line waits in its pty, as behind a real UART.
            reading = [fd for fd, d in sources.items() if len(d.queue) < 65536]
            readable, _, _ = select.select(reading, [], [], timeout)
            now = time.monotonic()
            for fd in readable:
                sources[fd].read(now)
            for direction in self._directions:
                direction.write_due(now)
