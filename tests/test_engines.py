"""The one pre-PPP driver (pyppp.aio.engines) on pipes and ptys: reads, writes, the end."""

from __future__ import annotations

import asyncio
import os
import pty
import tty
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pyppp.aio.engines import FdPort, PreludeDriver, drive, read_file
from pyppp.pppd.chat.engine import ChatAction, ChatEngine, Say
from pyppp.pppd.chat.script import ChatScript
from pyppp.pppd.windows import DccServer


def script(*words: str, **options: object) -> ChatScript:
    return ChatScript.from_words(words, read_file=read_file, **options)


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_reads_stop_at_the_match_and_the_rest_stays_in_the_pipe() -> None:
    """With read_size 1 (``pyppp chat``) not one byte past the match is taken from the line."""
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(w, b"junk OK~\xff\x03")

    async def main() -> tuple[int, bytes]:
        engine = ChatEngine(script("OK", "bye\\c"), now=asyncio.get_running_loop().time())
        port = FdPort(r, out_w, read_size=1)
        try:
            return await drive(engine, port)
        finally:
            port.close()

    try:
        assert run(main()) == (0, b"")
        assert os.read(r, 100) == b"~\xff\x03"
        assert os.read(out_r, 100) == b"bye"
    finally:
        for fd in (r, w, out_r, out_w):
            os.close(fd)


def test_handshake_leftover_and_the_rest_in_the_tty() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    os.write(master, b"CLIENT~\xff")

    async def main() -> tuple[int, bytes]:
        server = DccServer(now=asyncio.get_running_loop().time())
        return await drive(server, FdPort(slave))

    try:
        status, leftover = run(main())
        assert status == 0
        assert leftover == b"~\xff"
    finally:
        os.close(master)
        os.close(slave)


def test_end_of_input_with_hangup_off_and_no_timeout_gives_up_with_3() -> None:
    """Nothing more can arrive and no deadline is left: the script ends (exit 3), never hangs."""
    r, w = os.pipe()
    os.close(w)

    async def main() -> tuple[int, bytes]:
        engine = ChatEngine(script("HANGUP", "OFF", "OK", timeout=0), now=0.0)
        return await drive(engine, FdPort(r))

    try:
        assert run(main()) == (3, b"")
    finally:
        os.close(r)


def test_end_of_input_is_a_hangup() -> None:
    r, w = os.pipe()
    os.close(w)

    async def main() -> int:
        engine = ChatEngine(script("OK"), now=0.0)
        status, _ = await drive(engine, FdPort(r))
        assert engine.fail_reason == "SIGHUP"
        return status

    try:
        assert run(main()) == 2
    finally:
        os.close(r)


def test_write_failure_ends_the_script_with_2() -> None:
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    os.close(out_r)  # writes fail with EPIPE

    async def main() -> tuple[int, str | None]:
        engine = ChatEngine(script("", "ATZ", "OK"), now=0.0)
        status, _ = await drive(engine, FdPort(r, out_w))
        return status, engine.fail_reason

    try:
        status, reason = run(main())
        assert status == 2
        assert reason is not None
        assert reason.startswith(" -- write failed: ")
    finally:
        for fd in (r, w, out_w):
            os.close(fd)


def test_actions_go_to_perform_and_poke_takes_outside_changes() -> None:
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    seen: list[ChatAction] = []

    async def main() -> tuple[int, bytes]:
        engine = ChatEngine(script("SAY", "hi\\c", "NEVER", timeout=0), now=0.0)
        driver = PreludeDriver(engine, FdPort(r, out_w), perform=seen.append)
        task = asyncio.ensure_future(driver.run())
        await asyncio.sleep(0)
        assert not task.done()
        engine.terminate("SIGTERM", 2)  # what a signal handler does
        driver.poke()
        return await task

    try:
        assert run(main()) == (2, b"")
        assert seen == [Say(b"hi")]
    finally:
        for fd in (r, w, out_r, out_w):
            os.close(fd)


def test_regular_file_input(tmp_path: Path) -> None:
    path = tmp_path / "in"
    path.write_bytes(b"xx OK rest")
    out_r, out_w = os.pipe()
    fd = os.open(path, os.O_RDONLY)

    async def main() -> tuple[int, bytes]:
        return await drive(ChatEngine(script("OK"), now=0.0), FdPort(fd, out_w, read_size=1))

    try:
        assert run(main()) == (0, b"")
        assert os.read(fd, 100) == b" rest"
    finally:
        for f in (fd, out_r, out_w):
            os.close(f)
