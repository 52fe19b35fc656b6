"""An emulated serial line: two ttys joined by a relay that paces every octet, with a log.

:class:`~pyppp.aio.cable.NullModemCable` paces throughput (a token bucket with a FIFO's worth
of credit), so a small frame on a quiet line crosses at once, and a relay thread that wakes
late loses line time it never makes up (its credit is capped at 64 octets). A real UART at
115200 baud takes 10 bit times per octet whatever the line did before, and it never stops
while it has octets to send: :class:`PacedLine` gives each octet the time it finishes crossing
(one octet-time after the previous one, or after it arrived if the line was idle), each
direction on its own, so a 45-octet frame takes 3.9 ms to arrive, as on the wire. The same
model as the reference relay the issue was measured with (``slowline.py``: no credit carried
over an idle line, none lost to a late wake-up), written here because the project needs
nothing from outside at run time.

The relay hands octets on when their time has come, at most :data:`FIFO` at a time (a 16550's
receive FIFO, which raises its interrupt at that level), and the last octet of what is
queued on its own time, so a frame's end arrives when it would on the wire while the relay
wakes up about 700 times a second per busy direction, not 11,520.

It joins two pty pairs of its own (:attr:`PacedLine.ends`, for two local programs) or two
ttys that already exist (``PacedLine(devices=(a, b))``: e.g. two QEMU guests' serial ports).
:meth:`PacedLine.goodput` times a transfer from the relay's own log of what it delivered, the
same way whatever the programs at either end are (see its docstring).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty

from tests.interop.harness import open_pty_raw

__all__ = ["FIFO", "MAX_QUEUED", "PacedLine"]

FIFO = 16
"""Octets handed on at once when more are due (a 16550 UART's receive FIFO)."""
MAX_QUEUED = 4096
"""What the relay holds for one direction before it stops reading that end, so a faster
writer waits in its tty as behind a real UART (Linux's serial core has a 4096-octet transmit
buffer): a sender that queues its own frames (pyppp lets control frames jump ahead of IP)
still can, as it would on a real port."""


class _Direction:
    """Octets read from one end, each due one octet-time after the previous one."""

    def __init__(self, source: int, target: int, octet_time: float) -> None:
        self.source, self.target = source, target
        self.octet_time = octet_time
        self.pending = bytearray()
        # When the first pending octet has finished crossing: the line is busy from then on,
        # octet after octet, up to ``free_at`` (an idle line starts again from the arrival).
        self.head_due = 0.0
        self.free_at = 0.0
        self.log: list[tuple[float, int]] = []
        """(time, octets handed on) per write: what crossed, and when."""
        self.blocked = False  # the target took nothing: wait until it can (no busy loop)

    def read(self, now: float) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            data = os.read(self.source, 4096)
            if not data:
                return
            if not self.pending:
                # An idle line: the first octet takes its own time from now; octets read
                # while the previous ones still cross follow them back to back.
                start = max(now, self.free_at)
                self.head_due = start + self.octet_time
                self.free_at = start
            self.pending += data
            self.free_at += len(data) * self.octet_time

    def due(self, now: float) -> int:
        """How many pending octets have finished crossing by ``now``."""
        if not self.pending or now < self.head_due:
            return 0
        return min(len(self.pending), int((now - self.head_due) / self.octet_time) + 1)

    def write_due(self, now: float) -> None:
        count = self.due(now)
        if not count:
            return
        try:
            written = os.write(self.target, self.pending[:count])
        except (BlockingIOError, OSError):
            self.blocked = True  # the reader is slow: these octets are late, as behind a full FIFO
            return
        self.blocked = False
        del self.pending[:written]
        self.head_due += written * self.octet_time
        self.log.append((now, written))

    def next_wake(self) -> float | None:
        """When :data:`FIFO` octets are due, or the last pending one if fewer are left."""
        if not self.pending or self.blocked:
            return None
        return self.head_due + (min(len(self.pending), FIFO) - 1) * self.octet_time


class PacedLine:
    """Two tty ends whose octets cross at ``baud`` / 10 a second, each way (8N1).

    Args:
        baud: the line's speed in bits per second.
        devices: relay between these two existing ttys (opened raw, no echo) instead of two
            pty pairs of its own.

    Use as a context manager; :attr:`ends` are the two paths to open (``devices`` if given).
    """

    def __init__(self, baud: int = 115200, *, devices: tuple[str, str] | None = None) -> None:
        self._fds: list[int] = []
        relayed = []
        paths = []
        if devices is None:
            for _ in range(2):
                master, slave = os.openpty()
                tty.setraw(slave)  # kept open here: the master never sees a hang-up
                os.set_blocking(master, False)
                self._fds += [master, slave]
                relayed.append(master)
                paths.append(os.ttyname(slave))
        else:
            for path in devices:
                fd = open_pty_raw(path, os.O_NONBLOCK)
                self._fds.append(fd)
                relayed.append(fd)
                paths.append(path)
        self.ends = (paths[0], paths[1])
        self.octet_time = 10.0 / baud
        self._directions = (
            _Direction(relayed[0], relayed[1], self.octet_time),
            _Direction(relayed[1], relayed[0], self.octet_time),
        )
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="paced-line", daemon=True)

    def __enter__(self) -> PacedLine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (*self._fds, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def mark(self, quiet: float = 0.3, timeout: float = 10.0) -> tuple[int, int]:
        """Where each direction's log stands: pass it to :meth:`goodput` as ``since``.

        Taken once nothing has crossed either way for ``quiet`` seconds (or after
        ``timeout``), so that what the link sends as it comes up (pyppp's first size probe,
        the last negotiation packets) is not counted as part of the transfer after it.
        """
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            last = max((d.log[-1][0] for d in self._directions if d.log), default=0.0)
            if time.monotonic() - last >= quiet and not any(d.pending for d in self._directions):
                break
            time.sleep(0.05)
        return len(self._directions[0].log), len(self._directions[1].log)

    def goodput(
        self, payload: int, since: tuple[int, int] = (0, 0), low: float = 0.02, high: float = 0.98
    ) -> tuple[float, float, int]:
        """Payload octets per second of a transfer, from the relay's log.

        The busier direction (since ``since``, a :meth:`mark`) is the transfer's. Its octets
        from the first ``low`` to the first ``high`` of them took ``t``: the line moved them at
        ``(high - low) * total / t`` octets/s, so the ``payload`` moved at
        ``payload * (high - low) / t`` (the method of the issue's reference measurement:
        connection set-up, TCP's slow start and the last acknowledgement are left out, alike
        for every pair of programs measured).

        Returns:
            (payload octets/s, line octets/s over the window, line octets in that direction).
        """
        logs = [d.log[start:] for d, start in zip(self._directions, since, strict=True)]
        log = max(logs, key=lambda entries: sum(n for _, n in entries))
        total = sum(n for _, n in log)
        first = last = None
        acc = 0
        for stamp, octets in log:
            acc += octets
            if first is None and acc >= low * total:
                first = stamp
            if acc >= high * total:
                last = stamp
                break
        if first is None or last is None or last <= first:
            raise ValueError(f"too little crossed the line to time it ({total} octets)")
        seconds = last - first
        return payload * (high - low) / seconds, (high - low) * total / seconds, total

    def _run(self) -> None:
        sources = {d.source: d for d in self._directions}
        while True:
            wakes = [t for d in self._directions if (t := d.next_wake()) is not None]
            now = time.monotonic()
            timeout = max(0.0, min(wakes) - now) if wakes else 0.2
            reading = [fd for fd, d in sources.items() if len(d.pending) < MAX_QUEUED]
            writing = [d.target for d in self._directions if d.blocked]
            readable, writable, _ = select.select([self._stop_r, *reading], writing, [], timeout)
            if self._stop_r in readable:
                return
            now = time.monotonic()
            for fd in readable:
                sources[fd].read(now)
            for direction in self._directions:
                if direction.blocked and direction.target not in writable:
                    continue
                direction.write_due(now)
