"""FdLine's coalescing of a slow line's reads, on a real pty pair (no root needed).

A writer on the master side sends a frame in FIFO-sized pieces at a slow line's pace; the
FdLine on the slave side must deliver every byte in order, in fewer reads than pieces while
the frame goes on, and hand the descriptor back to the loop once the line is quiet (a later
byte still arrives, and a hang-up is still seen).
"""

from __future__ import annotations

import asyncio
import os
import tty

from pyppp.aio.line import FdLine


async def _run() -> tuple[list[bytes], list[str], int]:
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
    for piece in pieces:
        os.write(master, piece)
        await asyncio.sleep(16 * 10 / 115200)  # a 16550's FIFO at 115200 baud
    await asyncio.sleep(0.05)  # quiet: the fd goes back to the loop
    os.write(master, b"late")
    await asyncio.wait_for(got_more.wait(), 2.0)
    os.close(master)  # the other side goes: the slave reads EIO, a hang-up
    for _ in range(100):
        if lost:
            break
        await asyncio.sleep(0.01)
    line.close()
    return chunks, lost, len(pieces)


def test_slow_reads_are_coalesced_in_order_and_hangup_seen() -> None:
    chunks, lost, pieces = asyncio.run(_run())
    data = b"".join(chunks)
    assert data == b"\x7e" + bytes(range(1, 256)) * 4 + b"\x7e" + b"late"
    frame_reads = len(chunks) - 1  # (the last one is "late")
    assert frame_reads < pieces / 2, (frame_reads, pieces)
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
