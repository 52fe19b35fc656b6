from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.aio.lockfile import UucpLock, pid_alive
from pyppp.errors import ConfigError
from pyppp.pppd.lock import (
    LockError,
    Verdict,
    format_lock_content,
    is_lockable_device,
    judge_lock,
    lock_file_names,
    lock_name,
    parse_lock_content,
)

# -- the pure rules ---------------------------------------------------------------------------


def test_content_format_is_pppd_exactly() -> None:
    assert format_lock_content(1234) == b"      1234\n"
    assert format_lock_content(1234) == f"{1234:10d}\n".encode()
    assert len(format_lock_content(4194304)) == 11


@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_content_round_trip(pid: int) -> None:
    assert parse_lock_content(format_lock_content(pid)) == pid


@given(st.integers(min_value=1, max_value=2**22))
def test_binary_lock_files_are_read(pid: int) -> None:
    assert parse_lock_content(struct.pack("=i", pid)) == pid


@pytest.mark.parametrize(
    ("data", "pid"),
    [
        (b"", None),
        (b"\n", 0),  # pppd: atoi -> 0 -> a stale lock, removed
        (b"garbage\n", 0),
        (b"-7\n", -7),
        (b"  42", 42),  # four ASCII bytes: not the binary form
        (b"42\n", 42),
        (b"       123\n", 123),
        (b"123 cu ttyS1\n", 123),  # some tools append a name; atoi stops at the space
    ],
)
def test_parse(data: bytes, pid: int | None) -> None:
    assert parse_lock_content(data) == pid


@pytest.mark.parametrize(
    ("device", "name"),
    [
        ("/dev/ttyS1", "LCK..ttyS1"),
        ("ttyUSB0", "LCK..ttyUSB0"),
        ("/dev/pts/3", "LCK..3"),
        ("/dev/serial/by-id/usb-FTDI_X-if00-port0", "LCK..usb-FTDI_X-if00-port0"),
    ],
)
def test_lock_name(device: str, name: str) -> None:
    assert lock_name(device) == name


def test_lock_name_of_nothing_is_an_error() -> None:
    with pytest.raises(LockError):
        lock_name("/")


def test_lock_names_for_a_symlink() -> None:
    assert lock_file_names("/dev/serial/by-id/x", "/dev/ttyUSB0") == ("LCK..ttyUSB0", "LCK..x")
    assert lock_file_names("/dev/ttyS1", "/dev/ttyS1") == ("LCK..ttyS1",)
    assert lock_file_names("/dev/ttyS1") == ("LCK..ttyS1",)


def test_urls_take_no_lock() -> None:
    assert not is_lockable_device("rfc2217://host:2006")
    assert is_lockable_device("/dev/ttyS1")
    assert UucpLock("loop://").paths == ()


def test_judge() -> None:
    alive = {100}.__contains__
    assert judge_lock(None, own_pid=5, pid_alive=alive) is Verdict.UNREADABLE
    assert judge_lock(5, own_pid=5, pid_alive=alive) is Verdict.OURS
    assert judge_lock(0, own_pid=5, pid_alive=alive) is Verdict.STALE
    assert judge_lock(99, own_pid=5, pid_alive=alive) is Verdict.STALE
    assert judge_lock(100, own_pid=5, pid_alive=alive) is Verdict.HELD


def test_lock_error_is_a_config_error_with_pppd_status() -> None:
    err = LockError("Device ttyS1 is locked by pid 7", device="ttyS1", pid=7)
    assert isinstance(err, ConfigError)
    assert err.exit_status == 6


# -- the files --------------------------------------------------------------------------------


@pytest.fixture
def live_pid() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def test_acquire_writes_exact_content_and_release_removes(tmp_path: Path) -> None:
    with UucpLock("/dev/ttyS1", lock_dir=tmp_path, resolve_symlinks=False) as lock:
        path = tmp_path / "LCK..ttyS1"
        assert lock.held
        assert path.read_bytes() == b"%10d\n" % os.getpid()
        assert path.stat().st_mode & 0o777 == 0o644
        assert sorted(p.name for p in tmp_path.iterdir()) == ["LCK..ttyS1"]  # no temp left
    assert not path.exists()
    assert not lock.held


def test_released_on_exception(tmp_path: Path) -> None:
    def body() -> None:
        with UucpLock("ttyS1", lock_dir=tmp_path):
            assert (tmp_path / "LCK..ttyS1").exists()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        body()
    assert list(tmp_path.iterdir()) == []


def test_stale_lock_removed(
    tmp_path: Path, dead_pid: int, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "LCK..ttyS1").write_bytes(format_lock_content(dead_pid))
    caplog.set_level(logging.INFO, logger="pyppp.lock")
    with UucpLock("/dev/ttyS1", lock_dir=tmp_path, resolve_symlinks=False):
        assert parse_lock_content((tmp_path / "LCK..ttyS1").read_bytes()) == os.getpid()
    assert f"Removed stale lock on ttyS1 (pid {dead_pid})" in caplog.messages


def test_pid_zero_is_stale(tmp_path: Path) -> None:
    (tmp_path / "LCK..ttyS1").write_bytes(format_lock_content(0))
    with UucpLock("ttyS1", lock_dir=tmp_path) as lock:
        assert lock.held


@pytest.mark.parametrize("binary", [False, True])
def test_live_lock_refused_with_status_6(tmp_path: Path, live_pid: int, binary: bool) -> None:
    content = struct.pack("=i", live_pid) if binary else format_lock_content(live_pid)
    (tmp_path / "LCK..ttyS1").write_bytes(content)
    with pytest.raises(LockError) as info, UucpLock("/dev/ttyS1", lock_dir=tmp_path):
        pass
    assert str(info.value) == f"Device ttyS1 is locked by pid {live_pid}"
    assert info.value.exit_status == 6
    assert info.value.pid == live_pid
    assert (tmp_path / "LCK..ttyS1").read_bytes() == content  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["LCK..ttyS1"]


def test_unreadable_lock_refused(tmp_path: Path) -> None:
    (tmp_path / "LCK..ttyS1").write_bytes(b"")
    with pytest.raises(LockError, match="Can't read pid from lock file"):
        UucpLock("ttyS1", lock_dir=tmp_path).acquire()


def test_garbage_lock_is_stale_and_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # pppd reads the pid with atoi(): garbage is pid 0, a stale lock it removes.
    caplog.set_level(logging.INFO, logger="pyppp")
    (tmp_path / "LCK..ttyS1").write_bytes(b"garbage\n")
    with UucpLock("ttyS1", lock_dir=tmp_path):
        assert (tmp_path / "LCK..ttyS1").read_bytes() == format_lock_content(os.getpid())
    assert "Removed stale lock on ttyS1 (pid 0)" in caplog.messages
    assert list(tmp_path.iterdir()) == []


def test_missing_lock_dir(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="Can't create lock file") as info:
        UucpLock("ttyS1", lock_dir=tmp_path / "nope").acquire()
    assert info.value.exit_status == 6


def test_second_lock_in_same_process_refused(tmp_path: Path) -> None:
    with UucpLock("ttyS1", lock_dir=tmp_path):
        with pytest.raises(LockError, match="this process"):
            UucpLock("/dev/ttyS1", lock_dir=tmp_path, resolve_symlinks=False).acquire()
        assert (tmp_path / "LCK..ttyS1").exists()
    assert not (tmp_path / "LCK..ttyS1").exists()


def test_leftover_with_our_own_pid_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / "LCK..ttyS1").write_bytes(format_lock_content(os.getpid()))
    with UucpLock("ttyS1", lock_dir=tmp_path) as lock:
        assert lock.held
    assert not (tmp_path / "LCK..ttyS1").exists()


def test_symlinked_device_locks_both_names(tmp_path: Path) -> None:
    devdir = tmp_path / "dev"
    (devdir / "serial").mkdir(parents=True)
    (devdir / "ttyUSB0").touch()
    (devdir / "serial" / "modem").symlink_to(devdir / "ttyUSB0")
    locks = tmp_path / "lock"
    locks.mkdir()
    with UucpLock(str(devdir / "serial" / "modem"), lock_dir=locks):
        assert sorted(p.name for p in locks.iterdir()) == ["LCK..modem", "LCK..ttyUSB0"]
    assert list(locks.iterdir()) == []


def test_partial_acquire_is_rolled_back(tmp_path: Path, live_pid: int) -> None:
    devdir = tmp_path / "dev"
    devdir.mkdir()
    (devdir / "ttyUSB0").touch()
    (devdir / "modem").symlink_to(devdir / "ttyUSB0")
    locks = tmp_path / "lock"
    locks.mkdir()
    (locks / "LCK..modem").write_bytes(format_lock_content(live_pid))  # cu holds the alias
    with pytest.raises(LockError, match=f"Device modem is locked by pid {live_pid}"):
        UucpLock(str(devdir / "modem"), lock_dir=locks).acquire()
    assert [p.name for p in locks.iterdir()] == ["LCK..modem"]


def test_release_leaves_a_lock_that_is_no_longer_ours(
    tmp_path: Path, live_pid: int, caplog: pytest.LogCaptureFixture
) -> None:
    lock = UucpLock("ttyS1", lock_dir=tmp_path)
    lock.acquire()
    path = tmp_path / "LCK..ttyS1"
    path.unlink()  # someone "cleaned up" and another program took the line
    path.write_bytes(format_lock_content(live_pid))
    lock.release()
    assert path.read_bytes() == format_lock_content(live_pid)
    assert any("no longer ours" in m for m in caplog.messages)


# Each contender says "ready" at the gate, then "won" or "lost <status>"; a winner holds the
# lock until the test has heard from everybody (the release file), so that no late starter can
# find the lock free again: the race is real however slow the machine.
_CONTENDER = textwrap.dedent(
    """
    import os, sys, time
    from pyppp.aio.lockfile import UucpLock
    from pyppp.pppd.lock import LockError
    lock_dir, gate, release = sys.argv[1], sys.argv[2], sys.argv[3]
    print("ready", flush=True)
    while not os.path.exists(gate):
        time.sleep(0.001)
    try:
        with UucpLock("/dev/ttyS9", lock_dir=lock_dir, resolve_symlinks=False):
            print("won", flush=True)
            deadline = time.monotonic() + 60  # not for ever if the test is gone
            while not os.path.exists(release) and time.monotonic() < deadline:
                time.sleep(0.001)
    except LockError as e:
        print("lost", e.exit_status, flush=True)
    """
)


@pytest.mark.parametrize("stale_first", [False, True])
def test_contention_only_one_process_wins(tmp_path: Path, dead_pid: int, stale_first: bool) -> None:
    locks = tmp_path / "lock"
    locks.mkdir()
    if stale_first:  # everybody races to remove the same stale lock, then to create
        (locks / "LCK..ttyS9").write_bytes(format_lock_content(dead_pid))
    gate, release = tmp_path / "gate", tmp_path / "release"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONTENDER, str(locks), str(gate), str(release)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in range(6)
    ]
    try:
        for p in procs:  # all at the gate
            assert p.stdout is not None
            assert p.stdout.readline() == "ready\n"
        gate.touch()
        # Everybody's verdict while any winner still holds the lock (a second winner would
        # wait for the release too: it shows here).
        verdicts = [p.stdout.readline().split() for p in procs if p.stdout is not None]
    finally:
        gate.touch()  # (already, unless something failed: then nobody waits for ever)
        release.touch()
    outputs = [
        [*v, *p.communicate(timeout=30)[0].split()] for v, p in zip(verdicts, procs, strict=True)
    ]
    assert sorted(o[0] for o in outputs) == ["lost"] * 5 + ["won"]
    assert all(o[1] == "6" for o in outputs if o[0] == "lost")
    assert list(locks.iterdir()) == []
