"""The secrets files read off the event loop, at pppd's moments, and used by the engines."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import pyppp.aio.secrets as aio_secrets
from pyppp.aio.secrets import SecretsReader
from pyppp.auth.base import AuthFailure, AuthSuccess
from pyppp.auth.chap import ChapAuthenticator, ChapPeer
from pyppp.events import AuthMethod, AuthSucceeded, LinkDown, LinkUp, Role
from pyppp.packet import PPPProtocol
from pyppp.pppd.secrets import FileRead, SecretsFile
from pyppp.util import seeded_rng
from tests.authpair import pump
from tests.pppdconfig import write_private


def test_refresh_reads_in_a_worker_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_private(tmp_path / "chap-secrets", "zaphod server s3cret *\n")
    threads: list[int] = []
    real = aio_secrets.read_file

    def spy(path: str | Path, limit: int) -> FileRead:
        threads.append(threading.get_ident())
        return real(path, limit)

    monkeypatch.setattr(aio_secrets, "read_file", spy)
    reader = SecretsReader(tmp_path)

    async def main() -> int:
        await reader.refresh()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(threads) == 2  # pap-secrets (missing) and chap-secrets
    assert loop_thread not in threads
    match = reader.secrets.chap.find("zaphod", "server")
    assert match is not None
    assert match.secret == "s3cret"


def test_lcp_going_down_rereads_both_one_read_per_file_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_private(tmp_path / "chap-secrets", "zaphod server first *\n")
    reader = SecretsReader(tmp_path)
    reader.read_now()
    assert reader.reads == 2
    entered, release = threading.Event(), threading.Event()
    real = aio_secrets.read_secrets_file

    def slow(path: str | Path, **kwargs: object) -> SecretsFile | None:
        if str(path).endswith("chap-secrets"):
            entered.set()
            release.wait()
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aio_secrets, "read_secrets_file", slow)

    async def main() -> None:
        write_private(tmp_path / "chap-secrets", "zaphod server second *\n")
        reader.on_event(LinkUp(mtu=1500, mru=1500))  # not a moment to read
        reader.on_event(AuthSucceeded(AuthMethod.CHAP, Role.AUTHENTICATOR, "zaphod"))
        assert reader.pending() == []
        reader.on_event(LinkDown("renegotiating"))
        tasks = reader.pending()
        assert len(tasks) == 2  # pap-secrets and chap-secrets
        reader.on_event(LinkDown("renegotiating"))  # before the reads began: the same reads
        await asyncio.to_thread(entered.wait)
        reader.secrets.chap.prefetch()  # during chap's read: chap once more afterwards
        reader.secrets.chap.prefetch()
        assert all(task in tasks for task in reader.pending())  # no second read at once
        release.set()
        await asyncio.gather(*tasks)
        # pap-secrets: once, however often it was asked before its read began; chap-secrets:
        # once more for the requests made while it was being read.
        assert reader.reads == 2 + 1 + 2

    asyncio.run(main())
    match = reader.secrets.chap.find("zaphod", "server")
    assert match is not None
    assert match.secret == "second"


def test_stop_drops_a_read_in_flight(tmp_path: Path) -> None:
    reader = SecretsReader(tmp_path)

    async def main() -> None:
        reader.on_event(LinkDown("x"))
        tasks = reader.pending()
        reader.stop()
        assert reader.pending() == []
        for task in tasks:
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert reader.reads == 0


def test_outside_an_event_loop_prefetch_does_nothing(tmp_path: Path) -> None:
    reader = SecretsReader(tmp_path)
    reader.secrets.chap.prefetch()
    assert reader.pending() == []
    assert reader.reads == 0


def test_an_edit_applies_to_the_next_rechallenge(tmp_path: Path) -> None:
    # pppd reads chap-secrets at every Response; pyppp re-reads it when it sends the Challenge,
    # a round trip before the Response needs it.
    write_private(tmp_path / "chap-secrets", "zaphod server old-secret *\n")
    reader = SecretsReader(tmp_path)
    auth = ChapAuthenticator("server", reader.secrets.chap, rng=seeded_rng(1), interval=60.0)
    peer = ChapPeer("zaphod", "old-secret")

    async def main() -> None:
        await reader.refresh()
        auth.start(0.0)
        peer.start(0.0)
        (read,) = reader.pending()  # the Challenge asked for a fresh chap-secrets
        await read
        pump(peer, auth, 0.0)
        assert isinstance(auth.next_event(), AuthSuccess)
        write_private(tmp_path / "chap-secrets", "zaphod server new-secret *\n")
        auth.handle_timer(60.0)  # the re-challenge
        await asyncio.gather(*reader.pending())
        pump(peer, auth, 60.0)

    asyncio.run(main())
    failure = auth.next_event()
    assert isinstance(failure, AuthFailure)
    assert failure.protocol == PPPProtocol.CHAP
