from __future__ import annotations

import os
import select
import socket
import termios
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

# The fixtures live in test_share; importing them makes pytest use them here too.
from tests.test_share import (  # noqa: F401
    FakeModem,
    ServerThread,
    lock_dir,
    lock_path,
    modem,
    port_is_closed,
    share,
    wait_for,
)
from tests.test_share import read_until as read_until_sock


def srv_socket(srv: ServerThread) -> socket.socket:
    return srv.connect()


def open_client(port: int) -> serial.Serial:
    # pyserial's own RFC 2217 client: it negotiates with our PortManager on open and raises
    # if the server does not take up RFC 2217.
    return serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=115200, timeout=2)


def read_until(client: serial.Serial, needle: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        data += client.read(client.in_waiting or 1)
    assert needle in data, data
    return data


@pytest.fixture
def rfc_share(share: Callable[..., ServerThread]) -> Callable[..., ServerThread]:  # noqa: F811
    def start(**kw: object) -> ServerThread:
        return share(mode="rfc2217", **kw)

    return start


def test_at_commands_through_rfc2217(
    rfc_share: Callable[..., ServerThread],
    modem: FakeModem,  # noqa: F811
    lock_dir: Path,  # noqa: F811
) -> None:
    srv = rfc_share()
    client = open_client(srv.port)
    try:
        client.write(b"ATZ\r")
        read_until(client, b"OK\r\n")
        client.write(b"ATDT5551234\r")
        read_until(client, b"CONNECT 115200")
        assert lock_path(modem, lock_dir).exists()
        # 0xFF survives both ways (IAC doubling is PortManager's and ours)
        client.write(b"\xff\xfe\r")
        modem.wait_received(b"\xff\xfe\r")
        modem.write(b"\x7e\xff\x03\xff\xff")
        read_until(client, b"\x7e\xff\x03\xff\xff")
    finally:
        client.close()
    wait_for(lambda: srv.server.call is None, what="call end")
    assert not lock_path(modem, lock_dir).exists()
    assert port_is_closed(modem.device)


@pytest.mark.parametrize(
    ("baud", "speed"), [(9600, termios.B9600), (57600, termios.B57600), (230400, termios.B230400)]
)
def test_remote_speed_reaches_the_tty(
    rfc_share: Callable[..., ServerThread],
    modem: FakeModem,  # noqa: F811
    baud: int,
    speed: int,
) -> None:
    srv = rfc_share()
    client = open_client(srv.port)
    try:
        client.baudrate = baud
        client.stopbits = serial.STOPBITS_TWO

        def applied() -> bool:
            # TCGETS on a pty master reports the slave's termios: what the server set.
            attrs = termios.tcgetattr(modem.master)
            return attrs[4] == attrs[5] == speed and bool(attrs[2] & termios.CSTOPB)

        wait_for(applied, what="termios change")
        # A pty refuses CS7 (EINVAL): the server answers with what the port kept (8 bits),
        # pyserial's client reports the rejection, and the call goes on.
        with pytest.raises(ValueError, match="remote rejected value for option 'datasize'"):
            client.bytesize = serial.SEVENBITS
        client.write(b"AT\r")
        read_until(client, b"OK")
        call = srv.server.call
        assert call is not None
        assert call.port.serial is not None
        assert call.port.serial.baudrate == baud
        assert (call.port.serial.bytesize, call.port.serial.parity) == (8, "N")
        assert termios.tcgetattr(modem.master)[2] & termios.CSIZE == termios.CS8
    finally:
        client.close()


def test_remote_framing_on_a_port_that_takes_it(rfc_share: Callable[..., ServerThread]) -> None:
    srv = rfc_share(device="loop://")
    client = open_client(srv.port)
    try:
        client.baudrate = 19200
        client.bytesize = serial.SEVENBITS
        client.parity = serial.PARITY_EVEN
        client.stopbits = serial.STOPBITS_TWO
        client.xonxoff = True
        call = srv.server.call
        assert call is not None
        port = call.port.serial
        assert port is not None
        wait_for(
            lambda: (
                (port.baudrate, port.bytesize, port.parity, port.stopbits, port.xonxoff)
                == (19200, 7, "E", 2, True)
            ),
            what="settings at the server",
        )
    finally:
        client.close()


def test_garbage_subnegotiation_does_not_end_the_call(
    rfc_share: Callable[..., ServerThread],
    modem: FakeModem,  # noqa: F811
) -> None:
    srv = rfc_share()
    with srv_socket(srv) as sock:
        # COM-PORT-OPTION SET-BAUDRATE with one byte instead of four: PortManager's struct.error
        sock.sendall(bytes([255, 250, 44, 1, 7, 255, 240]) + b"AT\r")
        read_until_sock(sock, b"OK")
    assert srv.server.last_call is None or srv.server.last_call.reason == "client closed"


def test_control_and_status_lines(rfc_share: Callable[..., ServerThread]) -> None:
    # pyserial's loop:// port wires RTS to CTS and DTR to DSR, and holds CD on: the server's
    # view of the status lines follows what the remote client sets, and comes back as
    # RFC 2217 NOTIFY-MODEMSTATE.
    srv = rfc_share(device="loop://")
    client = open_client(srv.port)
    try:
        call = srv.server.call
        assert call is not None
        port = call.port.serial
        assert port is not None
        client.rts = False
        client.dtr = False
        wait_for(lambda: not port.rts and not port.dtr, what="RTS/DTR off at the server")
        wait_for(lambda: not client.cts and not client.dsr, what="CTS/DSR off at the client")
        assert client.cd
        assert not client.ri
        client.rts = True
        client.dtr = True
        wait_for(lambda: port.rts and port.dtr, what="RTS/DTR on at the server")
        wait_for(lambda: client.cts and client.dsr, what="CTS/DSR on at the client")
        client.write(b"echo through loop://")
        read_until(client, b"echo through loop://")
    finally:
        client.close()


def test_status_lines_on_a_pty_read_as_off(
    rfc_share: Callable[..., ServerThread],
    modem: FakeModem,  # noqa: F811
) -> None:
    # A pty has no modem lines (TIOCMGET fails): the call must go on, lines reading off.
    srv = rfc_share()
    client = open_client(srv.port)
    try:
        assert not client.cd
        assert not client.cts
        client.dtr = False  # TIOCMBIC fails on a pty too; logged, not fatal
        client.write(b"AT\r")
        read_until(client, b"OK")
    finally:
        client.close()


def test_rfc2217_second_caller_busy(
    rfc_share: Callable[..., ServerThread],
    modem: FakeModem,  # noqa: F811
) -> None:
    srv = rfc_share()
    first = open_client(srv.port)
    try:
        with srv_socket(srv) as second:
            line = second.recv(4096)
        assert line.startswith(f"pyppp-share: modem {modem.device} BUSY: in use by".encode())
        assert srv.server.busy == 1
        first.write(b"AT\r")
        read_until(first, b"OK")
    finally:
        first.close()


# -- a whole call through the shared modem (tests/modemsim.py, the project's Hayes emulator) --


@pytest.fixture
def modemsim() -> Iterator[Any]:
    modemsim_module = pytest.importorskip("tests.modemsim")
    with modemsim_module.ModemSim() as sim:
        yield sim


def _far_end(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    return fd


def _read_fd(fd: int, size: int, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"far end got only {data!r}"
        data += os.read(fd, size - len(data))
    return data


def test_dial_through_the_shared_modem_rfc2217(
    share: Callable[..., ServerThread],  # noqa: F811
    modemsim: Any,
    lock_dir: Path,  # noqa: F811
) -> None:
    srv = share(mode="rfc2217", device=modemsim.device)
    client = open_client(srv.port)
    try:
        client.write(b"ATZ\r")
        read_until(client, b"OK\r\n")
        client.write(b"ATDT5551234\r")
        read_until(client, b"CONNECT 115200\r\n")
        assert modemsim.wait_online(5)
        assert modemsim.dialled == ["5551234"]
        far = _far_end(modemsim.line_device)
        try:
            frame = b"\x7e\xff\x03\xc0\x21\x01\x01\x00\x04\xff\xff\x7e"  # 0xFF bytes on purpose
            client.write(frame)
            assert _read_fd(far, len(frame)) == frame
            os.write(far, frame[::-1])
            read_until(client, frame[::-1])
        finally:
            os.close(far)
        modemsim.hangup()  # carrier lost
        read_until(client, b"NO CARRIER")
    finally:
        client.close()
    wait_for(lambda: srv.server.call is None, what="call end")
    assert list(lock_dir.iterdir()) == []


def test_telnet_user_at_the_prompt(
    share: Callable[..., ServerThread],  # noqa: F811
    modemsim: Any,
) -> None:
    # The HOWTO's check: "telnet localhost modem", then atz -> OK (the modem echoes).
    srv = share(device=modemsim.device)
    with srv.connect() as sock:
        sock.sendall(bytes([255, 253, 1, 255, 253, 3]) + b"atz\r\n")  # DO ECHO, DO SGA
        got = read_until_sock(sock, b"OK\r\n")
        assert got.startswith(bytes([255, 252, 1, 255, 252, 3]))  # WONT, WONT
        assert b"atz\r" in got
        sock.sendall(b"ati\r")
        read_until_sock(sock, b"OK\r\n")
    assert modemsim.commands[:2] == ["atz", "ati"]
