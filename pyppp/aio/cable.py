"""A virtual null-modem cable: two pseudo-terminals joined back to back by a relay thread.

Each end is a pty slave path (``/dev/pts/N``) that a PPP program opens like a serial port.
The relay copies bytes master-to-master in both directions, optionally paced to a baud rate
(10 bits a byte: start, 8 data, stop), which makes a pty behave like a real 115200-baud line.
Both slaves are put in raw mode and kept open by the relay, so nothing is echoed back and a
program can close and reopen its end (``persist``) without the other end seeing a hang-up.
With ``ber`` the relay flips bits as it copies them (a noisy line: pyppp.framesize's tests and
bench/bench_noisy.py), each bit independently with that probability, from a seeded generator.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import threading
import time
import tty
from pathlib import Path

__all__ = ["NullModemCable"]

_CHUNK = 4096
# A paced line lets at most a UART FIFO's worth of bytes through at once (16550: 16 bytes).
_FIFO = 16.0
# ... but the relay itself wakes late sometimes: let it catch up that much, no more.
_BURST = 64.0
# What the relay holds for one direction before it stops reading that end (a tty buffer's worth).
_MAX_PENDING = 4096


class _End:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.pending = bytearray()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class NullModemCable:
    """Two pty ends joined by a relay thread.

    Args:
        baud: pace each direction to this many bits per second (None: as fast as possible).
        link_dir: also make symlinks ``link_dir/ttyA`` and ``link_dir/ttyB`` to the ends.
        ber: the probability that each bit relayed is flipped (both directions).
        seed: seeds the bit errors, so a run can be repeated.

    Use as a context manager; :attr:`ends` are the two device paths.
    """

    def __init__(
        self,
        *,
        baud: int | None = None,
        link_dir: Path | None = None,
        ber: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.baud = baud
        self.ber = ber
        self._rng = random.Random(seed)
        self._next_error = self._gap()  # bits to relay before the next flipped one
        self.flipped_bits = 0
        self._a, self._b = _End(), _End()
        self.ends = (self._a.path, self._b.path)
        self._links: list[Path] = []
        if link_dir is not None:
            for name, end in (("ttyA", self._a), ("ttyB", self._b)):
                link = link_dir / name
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                link.symlink_to(end.path)
                self._links.append(link)
            self.ends = (str(self._links[0]), str(self._links[1]))
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="null-modem", daemon=True)
        self.bytes_relayed = 0

    def _gap(self) -> int:
        # Bits between two errors are geometric: one draw per error, not one per bit.
        return int(self._rng.expovariate(self.ber)) if self.ber > 0 else -1

    def _damage(self, data: bytes) -> bytes:
        if self.ber <= 0:
            return data
        bits = len(data) * 8
        if self._next_error >= bits:
            self._next_error -= bits
            return data
        buffer = bytearray(data)
        position = self._next_error
        while position < bits:
            buffer[position >> 3] ^= 1 << (position & 7)
            self.flipped_bits += 1
            position += 1 + self._gap()
        self._next_error = position - bits
        return bytes(buffer)

    def __enter__(self) -> NullModemCable:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start relaying."""
        self._thread.start()

    def close(self) -> None:
        """Stop the relay and remove both ptys (and the symlinks)."""
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        for end in (self._a, self._b):
            end.close()
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        for link in self._links:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()

    def _relay(self) -> None:
        pairs = ((self._a, self._b), (self._b, self._a))
        # Bytes each direction may send now (token bucket refilled at baud/10 bytes a second).
        budget = [_FIFO, _FIFO]
        rate = self.baud / 10.0 if self.baud else None
        last = time.monotonic()
        with selectors.DefaultSelector() as selector:
            selector.register(self._stop_r, selectors.EVENT_READ)
            interest: dict[int, int] = {}
            while True:
                # Read an end only while what it sent has room in the relay (a full relay pushes
                # back on the writer, as a UART does); wait for a target to take more while
                # bytes are waiting for it (unpaced: a slow reader blocks the master).
                wanted: dict[int, int] = {e.master: 0 for e in (self._a, self._b)}
                for source, target in pairs:
                    if len(source.pending) < _MAX_PENDING:
                        wanted[source.master] |= selectors.EVENT_READ
                    if source.pending and rate is None:
                        wanted[target.master] |= selectors.EVENT_WRITE
                for fd, events in wanted.items():
                    if interest.get(fd, 0) != events:
                        if fd in interest:
                            selector.unregister(fd)
                            del interest[fd]
                        if events:
                            selector.register(fd, events)
                            interest[fd] = events
                timeout = 0.2
                if rate is not None:
                    # Sleep until a FIFO's worth of budget is there for a waiting direction.
                    waits = [
                        (min(len(source.pending), _FIFO) - budget[index]) / rate
                        for index, (source, _) in enumerate(pairs)
                        if source.pending
                    ]
                    if waits:
                        timeout = max(0.0002, min(waits))
                for key, events in selector.select(timeout):
                    if key.fd == self._stop_r:
                        return
                    if not events & selectors.EVENT_READ:
                        continue
                    source = self._a if key.fd == self._a.master else self._b
                    try:
                        data = os.read(source.master, _CHUNK)
                    except (BlockingIOError, OSError):
                        continue
                    source.pending += self._damage(data)
                now = time.monotonic()
                for index, (source, target) in enumerate(pairs):
                    if rate is not None:
                        budget[index] = min(budget[index] + (now - last) * rate, _BURST)
                    if not source.pending:
                        continue
                    allowed = len(source.pending) if rate is None else int(budget[index])
                    if allowed <= 0:
                        continue
                    try:
                        written = os.write(target.master, bytes(source.pending[:allowed]))
                    except (BlockingIOError, OSError):
                        continue
                    del source.pending[:written]
                    self.bytes_relayed += written
                    if rate is not None:
                        budget[index] -= written
                last = now
