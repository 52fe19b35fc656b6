"""FdLine's coalescing of a slow line's reads, on a real pty pair (no root needed).

A writer on the master side sends a frame in FIFO-sized pieces at a slow line's pace; the
FdLine on the slave side must deliver every byte in order, in fewer reads than pieces while
the frame goes on, and hand the descriptor back to the loop once the line is quiet (a later
byte still arrives, and a hang-up is still seen). A frame whose length the line's ``awaiting``
knows (what ``Link.awaiting`` answers) is read once more, when it ends; a line that brings more
than its speed allows (a pty to a program, a wrong ``speed``) is seen as fast and not waited on.
"""

from __future__ import annotations

import asyncio
import os
import tty

from pyppp.aio.line import FdLine


async def _run() -> tuple[list[bytes], list[str], int, bool]:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    line = FdLine(slave, "pty")
    line.char_time = 10 / 115200
    chunks: list[bytes] = []
    lost: list[str] = []
    got_more = asyncio.Event()

    def on_data(data: bytes) -> None:
        chunks.append(data)
        if data.endswith(b"late"):
            got_more.set()

    line.start(on_data, lost.append)
    frame = b"\x7e" + bytes(range(1, 256)) * 4 + b"\x7e"  # 1022 octets, one frame
    pieces = [frame[i : i + 16] for i in range(0, len(frame), 16)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, piece in enumerate(pieces):
        # A 16550's FIFO at 115200 baud, on an absolute schedule: a busy machine's late
        # wake-up does not make the line slower than its speed (each read would get a piece).
        await asyncio.sleep(max(0.0, start + index * 16 * 10 / 115200 - loop.time()))
        os.write(master, piece)
    await asyncio.sleep(0.05)  # quiet: the fd goes back to the loop
    os.write(master, b"late")
    await asyncio.wait_for(got_more.wait(), 2.0)
    os.close(master)  # the other side goes: the slave reads EIO, a hang-up
    for _ in range(100):
        if lost:
            break
        await asyncio.sleep(0.01)
    fast = line.fast
    line.close()
    return chunks, lost, len(pieces), fast


def test_slow_reads_are_coalesced_in_order_and_hangup_seen() -> None:
    chunks, lost, pieces, fast = asyncio.run(_run())
    data = b"".join(chunks)
    assert data == b"\x7e" + bytes(range(1, 256)) * 4 + b"\x7e" + b"late"
    assert not fast, "a line at its speed was taken for a fast one"
    frame_reads = len(chunks) - 1  # (the last one is "late")
    assert frame_reads < pieces / 2, (frame_reads, pieces, [len(c) for c in chunks])
    assert lost, "the hang-up went unnoticed"


def test_without_char_time_every_piece_is_a_read() -> None:
    async def run() -> int:
        master, slave = os.openpty()
        tty.setraw(slave)
        line = FdLine(slave, "pty")
        reads: list[bytes] = []
        line.start(reads.append, lambda _why: None)
        for _ in range(10):
            os.write(master, b"\x7e\x01\x02")
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        line.close()
        os.close(master)
        return len(reads)

    assert asyncio.run(run()) > 5  # (a busy machine may merge two)


async def _paced_frame(
    frame: bytes, hinted: bool, char_time: float
) -> tuple[FdLine, list[bytes], float]:
    """Write ``frame`` in 16-octet pieces at ``char_time`` each; return what was read, when.

    ``hinted``: the line's ``awaiting`` answers what a link would (``Link.awaiting``): the
    octets still to come, once the frame's first 10 are in.
    """
    loop = asyncio.get_running_loop()
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    line = FdLine(slave, "pty")
    line.char_time = char_time
    chunks: list[bytes] = []
    done = asyncio.Event()
    got = 0

    def on_data(data: bytes) -> None:
        nonlocal got
        chunks.append(data)
        got += len(data)
        if got == len(frame):
            done.set()

    def awaiting() -> int | None:
        return len(frame) - got if 10 <= got < len(frame) else None

    line.start(on_data, lambda _why: None)
    if hinted:
        line.awaiting = awaiting
    start = loop.time()
    for index in range(0, len(frame), 16):
        # On an absolute schedule: a late wake-up does not slow the line down.
        await asyncio.sleep(max(0.0, start + index * char_time - loop.time()))
        os.write(master, frame[index : index + 16])
    await asyncio.wait_for(done.wait(), 5.0)
    late = loop.time() - (start + len(frame) * char_time)
    line.close()
    os.close(master)
    return line, chunks, late


def test_a_frame_whose_length_is_known_is_read_when_it_ends() -> None:
    frame = b"\x7e" + bytes(range(1, 126)) * 12 + b"\x7e"  # 1502 octets, 94 pieces
    line, hinted, late = asyncio.run(_paced_frame(frame, True, 10 / 115200))
    assert b"".join(hinted) == frame
    # The first piece, then the rest when due (a busy machine may need one more for the
    # last few octets, and a timer may fire early by its tick).
    assert len(hinted) <= 5, [len(c) for c in hinted]
    assert not line.fast  # a line at its speed is not taken for a fast one
    assert late < 0.1, late  # (a tick late, normally; never a whole frame's time)
    _, unhinted, _ = asyncio.run(_paced_frame(frame, False, 10 / 115200))
    assert b"".join(unhinted) == frame
    assert len(unhinted) > len(hinted), ([len(c) for c in unhinted], [len(c) for c in hinted])


def test_a_line_faster_than_its_speed_is_seen_and_not_waited_on() -> None:
    async def run() -> tuple[FdLine, list[bytes], bool]:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        line = FdLine(slave, "pty")
        line.char_time = 10 / 115200  # what the line says; it is a pty, as fast as memory
        chunks: list[bytes] = []
        frame = b"\x7e" + bytes(range(1, 126)) * 12
        arrived = asyncio.Event()

        def on_data(data: bytes) -> None:
            chunks.append(data)
            arrived.set()

        line.start(on_data, lambda _why: None)
        line.awaiting = lambda: 1500 if len(chunks[-1]) < 100 else None  # a long frame begun
        os.write(master, frame[:20])  # a frame begins: the line waits for its end...
        await asyncio.sleep(0.01)
        os.write(master, frame[20:] + b"\x7e" + frame * 2)  # ...which came at once, and more
        while sum(map(len, chunks)) < 20 + 2 * len(frame) + 1:
            await asyncio.wait_for(arrived.wait(), 2.0)
            arrived.clear()
        fast = line.fast
        arrived.clear()
        os.write(master, frame[:20])  # another one begins: now read as it comes
        await asyncio.wait_for(arrived.wait(), 2.0)
        assert line._resume is not None
        waiting = line._resume.deadline is not None
        line.close()
        os.close(master)
        return line, chunks, fast and not waiting

    _, chunks, seen = asyncio.run(run())
    assert seen, [len(c) for c in chunks]


def test_a_line_a_few_times_faster_than_its_speed_is_seen_in_small_reads() -> None:
    # 40 octets a millisecond: 3.5 times 115200 baud, and no single read large enough to
    # tell (an unpaced cable that TCP keeps slow, a pty to a program).
    async def run() -> bool:
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        line = FdLine(slave, "pty")
        line.char_time = 10 / 115200
        line.start(lambda data: None, lambda _why: None)
        start = loop.time()
        for index in range(300):
            await asyncio.sleep(max(0.0, start + index * 0.001 - loop.time()))
            os.write(master, b"\x7e" + bytes(range(1, 40)))
        await asyncio.sleep(0.02)
        fast = line.fast
        line.close()
        os.close(master)
        return fast

    assert asyncio.run(run())
