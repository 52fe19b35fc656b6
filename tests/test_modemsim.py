"""The test modem itself: AT commands, dialling, bridging, escape, carrier, clean shutdown."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator

import pytest

from tests.modemsim import ModemSim


def read_until(fd: int, want: bytes, timeout: float = 3.0) -> bytes:
    got = b""
    end = time.monotonic() + timeout
    while want not in got:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"wanted {want!r}, got {got!r}")
        if select.select([fd], [], [], left)[0]:
            got += os.read(fd, 1024)
    return got


def quiet(fd: int, seconds: float = 0.1) -> bytes:
    got = b""
    while select.select([fd], [], [], seconds)[0]:
        got += os.read(fd, 1024)
    return got


@pytest.fixture
def dte() -> Iterator[tuple[ModemSim, int]]:
    with ModemSim() as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            yield modem, fd
        finally:
            os.close(fd)


def command(fd: int, line: bytes, want: bytes = b"OK\r\n") -> bytes:
    os.write(fd, line + b"\r")
    return read_until(fd, want)


def test_basic_commands_and_echo(dte: tuple[ModemSim, int]) -> None:
    modem, fd = dte
    assert command(fd, b"ATZ") == b"ATZ\r\r\nOK\r\n"
    assert command(fd, b"ATE0") == b"ATE0\r\r\nOK\r\n"
    assert command(fd, b"AT") == b"\r\nOK\r\n"  # no echo now
    assert command(fd, b"ATI") == b"\r\npyppp ModemSim\r\n\r\nOK\r\n"
    assert command(fd, b"AT&F E0 Q0 S0=2") == b"\r\nOK\r\n"
    assert command(fd, b"ATS0?") == b"\r\n002\r\n\r\nOK\r\n"
    assert command(fd, b"ATH0") == b"\r\nOK\r\n"
    assert command(fd, b"ATJ", b"ERROR\r\n") == b"\r\nERROR\r\n"
    assert command(fd, b"ATV0", b"0\r") == b"0\r"
    assert command(fd, b"ATV1Q1", b"") == b""
    assert quiet(fd) == b""
    assert modem.commands[:2] == ["ATZ", "ATE0"]


@pytest.mark.parametrize("result", ["BUSY", "NO DIALTONE", "NO CARRIER", "NO ANSWER"])
def test_dial_failures(result: str) -> None:
    with ModemSim(dial_result=result) as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            assert read_until(fd_write(fd, b"ATDT5551234\r"), result.encode()).endswith(
                f"\r\n{result}\r\n".encode()
            )
            assert not modem.online
            assert modem.dialled == ["5551234"]
        finally:
            os.close(fd)


def fd_write(fd: int, data: bytes) -> int:
    os.write(fd, data)
    return fd


def test_dial_result_callable() -> None:
    with ModemSim(dial_result=lambda n: "BUSY" if n == "1" else "CONNECT") as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            read_until(fd_write(fd, b"ATD1\r"), b"BUSY\r\n")
            read_until(fd_write(fd, b"ATDP 2\r"), b"CONNECT 115200\r\n")
            assert modem.dialled == ["1", "2"]
            assert modem.wait_online(1)
        finally:
            os.close(fd)


def test_bridge_escape_and_far_end_hangup(dte: tuple[ModemSim, int]) -> None:
    modem, fd = dte
    line = os.open(modem.line_device, os.O_RDWR | os.O_NOCTTY)
    try:
        read_until(fd_write(fd, b"ATDT1\r"), b"CONNECT 115200\r\n")
        os.write(fd, b"\x7e\xff\x03data")
        assert read_until(line, b"data") == b"\x7e\xff\x03data"
        os.write(line, b"reply")
        assert read_until(fd, b"reply") == b"reply"
        # +++ with guard time: back to command mode, the call stays up
        time.sleep(modem.guard_time * 1.5)
        os.write(fd, b"+++")
        assert read_until(fd, b"OK\r\n") == b"\r\nOK\r\n"
        assert not modem.online
        read_until(line, b"+++")  # the escape characters reach the far end, as on a modem
        assert command(fd, b"ATO", b"CONNECT 115200\r\n").endswith(b"CONNECT 115200\r\n")
        assert modem.online
        os.write(fd, b"a+++b")  # no guard time: just data
        assert read_until(line, b"a+++b") == b"a+++b"
        assert quiet(fd, modem.guard_time * 2) == b""
        os.close(line)
        line = -1
        assert read_until(fd, b"NO CARRIER\r\n") == b"\r\nNO CARRIER\r\n"
        assert not modem.online
    finally:
        if line >= 0:
            os.close(line)


def test_hangup_and_ath(dte: tuple[ModemSim, int]) -> None:
    modem, fd = dte
    read_until(fd_write(fd, b"ATD1\r"), b"CONNECT")
    modem.hangup()
    read_until(fd, b"NO CARRIER\r\n")
    assert command(fd, b"ATO", b"NO CARRIER\r\n")


def test_require_carrier_without_far_end() -> None:
    with ModemSim(require_carrier=True) as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            read_until(fd_write(fd, b"ATD1\r"), b"NO CARRIER\r\n")
            line = os.open(modem.line_device, os.O_RDWR | os.O_NOCTTY)
            try:
                read_until(fd_write(fd, b"ATD1\r"), b"CONNECT 115200\r\n")
            finally:
                os.close(line)
            read_until(fd, b"NO CARRIER\r\n")
        finally:
            os.close(fd)


def test_no_leaks() -> None:
    before_fds = set(os.listdir("/proc/self/fd"))
    before_threads = threading.active_count()
    for _ in range(5):
        with ModemSim() as modem:
            fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
            read_until(fd_write(fd, b"AT\r"), b"OK")
            os.close(fd)
    assert threading.active_count() == before_threads
    assert set(os.listdir("/proc/self/fd")) <= before_fds | set()
    modem.close()  # idempotent


def read_eof(fd: int, timeout: float = 3.0) -> bytes:
    """Read until end of file (a hung-up tty reads b"")."""
    got = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if select.select([fd], [], [], end - time.monotonic())[0]:
            chunk = os.read(fd, 1024)
            if not chunk:
                return got
            got += chunk
    raise AssertionError(f"no end of file; got {got!r}")


needs_sys_admin = pytest.mark.skipif(os.geteuid() != 0, reason="TIOCVHANGUP needs CAP_SYS_ADMIN")


@needs_sys_admin
def test_dte_close_hangs_up_the_call_and_the_far_end() -> None:
    with ModemSim(hangup_on_dtr=True) as modem:
        line = os.open(modem.line_device, os.O_RDWR | os.O_NOCTTY)
        try:
            fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
            read_until(fd_write(fd, b"ATDT1\r"), b"CONNECT 115200\r\n")
            os.write(fd, b"ping")
            read_until(line, b"ping")
            os.close(fd)  # the dialler goes away: DTR drops
            assert modem.wait_offline(3)
            assert not modem.online
            assert (modem.calls_ended, modem.dte_hangups, modem.far_hangups) == (1, 1, 1)
            # The far end's tty was hung up, as on a DCD drop: end of file, then EIO on write.
            assert read_eof(line) == b""
            with pytest.raises(OSError):
                os.write(line, b"x")
        finally:
            os.close(line)
        # The far end can open the line again (persist), and the next caller starts clean:
        # no stale NO CARRIER waiting, and a new call works end to end.
        line = os.open(modem.line_device, os.O_RDWR | os.O_NOCTTY)
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            assert quiet(fd) == b""
            assert command(fd, b"AT") == b"AT\r\r\nOK\r\n"
            read_until(fd_write(fd, b"ATDT2\r"), b"CONNECT 115200\r\n")
            os.write(line, b"again")
            assert read_until(fd, b"again") == b"again"
        finally:
            os.close(fd)
            os.close(line)
        assert modem.wait_offline(3)
        assert modem.dte_hangups == 2


def test_dte_close_without_far_end_hangup() -> None:
    with ModemSim(hangup_on_dtr=True, hangup_far_end=False) as modem:
        line = os.open(modem.line_device, os.O_RDWR | os.O_NOCTTY)
        try:
            fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
            read_until(fd_write(fd, b"ATD1\r"), b"CONNECT")
            os.close(fd)
            assert modem.wait_offline(3)
            assert (modem.dte_hangups, modem.far_hangups) == (1, 0)
            # The far end is still open and hears nothing: only silence tells it.
            assert quiet(line, 0.2) == b""
            os.write(line, b"into the void")  # dropped while offline, never an error
        finally:
            os.close(line)


def test_dte_close_in_command_mode_ends_the_call() -> None:
    with ModemSim(guard_time=0.05, hangup_on_dtr=True) as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        read_until(fd_write(fd, b"ATD1\r"), b"CONNECT")
        time.sleep(0.1)
        os.write(fd, b"+++")
        read_until(fd, b"OK\r\n")  # command mode, the call still up
        modem.settle()
        assert not modem.wait_offline(0)
        os.close(fd)
        assert modem.wait_offline(3)
        assert modem.dte_hangups == 1


def test_idle_dte_close_is_not_a_hangup() -> None:
    with ModemSim(hangup_on_dtr=True) as modem:
        for _ in range(3):
            fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
            read_until(fd_write(fd, b"AT\r"), b"OK\r\n")
            os.close(fd)
        modem.settle()  # it has seen the closes
        assert (modem.calls_ended, modem.dte_hangups) == (0, 0)
        assert modem.wait_offline(0)


def test_at_d_chooses_what_a_dte_close_does() -> None:
    with ModemSim() as modem:  # default &D0: the call outlives its dialler
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        read_until(fd_write(fd, b"ATD1\r"), b"CONNECT")
        os.close(fd)
        modem.settle()  # it has seen the close
        assert modem.online
        assert modem.dte_hangups == 0
        modem.hangup()
        assert modem.wait_offline(3)
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            read_until(fd, b"NO CARRIER\r\n")  # hangup() tells a DTE that is still around
            assert command(fd, b"AT&D2") == b"AT&D2\r\r\nOK\r\n"
            read_until(fd_write(fd, b"ATD2\r"), b"CONNECT")
        finally:
            os.close(fd)
        assert modem.wait_offline(3)
        assert modem.dte_hangups == 1
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            assert quiet(fd) == b""
            assert command(fd, b"ATZ") == b"ATZ\r\r\nOK\r\n"  # back to the default, &D0
            read_until(fd_write(fd, b"ATD3\r"), b"CONNECT")
        finally:
            os.close(fd)
        modem.settle()  # it has seen the close
        assert modem.online
        assert modem.dte_hangups == 1
