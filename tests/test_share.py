from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import fcntl
import ipaddress
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from pyppp import cli
from pyppp.aio.share_server import ShareServer
from pyppp.cli import share as share_cli
from pyppp.pppd.lock import format_lock_content, parse_lock_content
from pyppp.share.config import (
    ShareConfig,
    busy_message,
    caller_line,
    cant_open_message,
    config_from_args,
    held_by,
    listen_text,
    locked_message,
)

# The telnet filter's own tests are in test_telnet.py, the access rules' in test_access.py.
IAC, DONT, DO, WONT, WILL = 255, 254, 253, 252, 251
N = ipaddress.ip_network
ROOT = Path(__file__).resolve().parent.parent


# -- test rig: a pty "modem" and a server on its own event-loop thread ------------------------


class FakeModem:
    """A Hayes-ish modem on the master side of a pty: AT... CR -> OK, ATD... -> CONNECT."""

    def __init__(self) -> None:
        self.master, slave = pty.openpty()
        self.device = os.ttyname(slave)
        os.close(slave)  # the server opens it by name, as it would /dev/ttyS1
        os.set_blocking(self.master, False)
        self.received = bytearray()
        self.answer = True
        self._line = bytearray()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError as exc:  # EIO while nobody has the slave open
                if exc.errno in (errno.EIO, errno.EAGAIN):
                    time.sleep(0.01)
                    continue
                raise
            with self._lock:
                self.received += data
            for byte in data:
                if byte == 0x0D:
                    line = self._line.decode("latin-1").strip().upper()
                    self._line.clear()
                    if self.answer and line.startswith("AT"):
                        reply = "CONNECT 115200" if line.startswith("ATD") else "OK"
                        self.write(f"\r\n{reply}\r\n".encode())
                elif byte != 0x0A:
                    self._line.append(byte)

    def write(self, data: bytes, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the server stopped reading the modem") from None
                select.select([], [self.master], [], 0.05)

    def wait_received(self, data: bytes, timeout: float = 5.0) -> None:
        wait_for(lambda: data in self.received, timeout, f"modem never got {data!r}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.master)


def wait_for(cond: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class ServerThread:
    """A ShareServer on an event loop in a background thread."""

    def __init__(self, config: ShareConfig, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = ShareServer(config, **kw)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        bound = self.call(self.server.start())
        self.port = bound[0][1]

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def in_loop(self, fn: Callable[[], Any]) -> Any:
        fut: Future[Any] = Future()

        def do() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(do)
        return fut.result(10)

    def connect(self, source: str = "127.0.0.1", rcvbuf: int | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", self.port))
        return sock

    def close(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def read_until(sock: socket.socket, needle: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise AssertionError(f"never got {needle!r}; got {data!r}") from None
        if not chunk:
            raise AssertionError(f"EOF before {needle!r}; got {data!r}")
        data += chunk
    return data


def read_to_eof(sock: socket.socket, timeout: float = 5.0) -> bytes:
    data = b""
    sock.settimeout(timeout)
    while chunk := sock.recv(4096):
        data += chunk
    return data


@pytest.fixture
def modem() -> Iterator[FakeModem]:
    m = FakeModem()
    yield m
    m.close()


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    d = tmp_path / "lock"
    d.mkdir()
    return d


@pytest.fixture
def share(modem: FakeModem, lock_dir: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(*, server_kw: dict[str, Any] | None = None, **kw: Any) -> ServerThread:
        kw.setdefault("device", modem.device)
        config = ShareConfig(port=0, bind=("127.0.0.1",), lock_dir=lock_dir, **kw)
        server = ServerThread(config, **(server_kw or {}))
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def lock_path(modem: FakeModem, lock_dir: Path) -> Path:
    return lock_dir / f"LCK..{modem.device.rsplit('/', 1)[-1]}"


def port_is_closed(device: str) -> bool:
    # The server opens the port with pyserial's exclusive flock; if we can take it, it is closed.
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


# -- what callers read, and the configuration (pure) -------------------------------------------


def test_caller_lines() -> None:
    held = held_by("127.0.0.1:4000", "12:34:56")
    assert held == "in use by 127.0.0.1:4000 since 12:34:56"
    # A stock chat script's `ABORT BUSY` must stop on each of these.
    assert caller_line(busy_message("/dev/ttyS1", held)) == (
        b"pyppp-share: modem /dev/ttyS1 BUSY: in use by 127.0.0.1:4000 since 12:34:56\r\n"
    )
    assert locked_message("/dev/ttyS1", 42, "ignored") == "modem /dev/ttyS1 BUSY (locked by pid 42)"
    assert locked_message("/dev/ttyS1", None, "Permission denied") == (
        "modem /dev/ttyS1 unavailable (Permission denied)"
    )
    assert cant_open_message("/dev/ttyS1") == "can't open modem /dev/ttyS1"
    assert listen_text([("127.0.0.1", 2006), ("::1", 2006)]) == "127.0.0.1:2006, [::1]:2006"


def test_config_from_args_defaults_and_hosts_files() -> None:
    parser = argparse.ArgumentParser()
    share_cli.add_arguments(parser)
    config = config_from_args(parser.parse_args(["/dev/ttyS1", "--hosts-access"]))
    assert config == ShareConfig(
        "/dev/ttyS1", hosts_allow=Path("/etc/hosts.allow"), hosts_deny=Path("/etc/hosts.deny")
    )
    config = config_from_args(parser.parse_args(["x", "--allow", "[fd00::]/8", "--nolock"]))
    assert (config.allow, config.lock) == ((N("fd00::/8"),), False)


# -- the server over real TCP -----------------------------------------------------------------


def test_raw_mode_atz_ok_and_lock_held_only_during_call(
    share: Callable[..., ServerThread], modem: FakeModem, lock_dir: Path
) -> None:
    srv = share()
    assert not lock_path(modem, lock_dir).exists()  # idle: no lock
    with srv.connect() as sock:
        sock.sendall(b"ATZ\r")
        assert b"OK" in read_until(sock, b"OK\r\n")
        content = lock_path(modem, lock_dir).read_bytes()
        assert content == format_lock_content(os.getpid())
        assert not port_is_closed(modem.device)
    wait_for(lambda: srv.server.call is None, what="call end")
    assert not lock_path(modem, lock_dir).exists()
    assert port_is_closed(modem.device)
    last = srv.server.last_call
    assert last is not None
    assert (last.to_modem, last.reason) == (4, "client closed")
    assert last.from_modem == len(b"\r\nOK\r\n")


def test_telnet_negotiation_filtered(share: Callable[..., ServerThread], modem: FakeModem) -> None:
    srv = share()
    with srv.connect() as sock:
        sock.sendall(bytes([IAC, WILL, 24, IAC, DO, 1]) + b"ATZ\r")
        got = read_until(sock, b"OK\r\n")
        assert got.startswith(bytes([IAC, DONT, 24, IAC, WONT, 1]))
        # IAC IAC both ways now that the client speaks telnet
        sock.sendall(b"X\xff\xffY\r")
        modem.wait_received(b"X\xffY\r")
        modem.write(b"\xfe\xff\xfd")
        assert read_until(sock, b"\xfe\xff\xff\xfd")
    assert bytes(modem.received) == b"ATZ\rX\xffY\r"


def test_transparent_mode_is_8bit_clean(
    share: Callable[..., ServerThread], modem: FakeModem
) -> None:
    srv = share(mode="transparent")
    payload = bytes(range(256)) * 4
    with srv.connect() as sock:
        sock.sendall(payload)
        modem.wait_received(payload)
        modem.write(payload)
        assert read_until(sock, payload) == payload


def test_banner(share: Callable[..., ServerThread]) -> None:
    srv = share(banner="Welcome to the shared modem")
    with srv.connect() as sock:
        assert read_until(sock, b"\r\n") == b"Welcome to the shared modem\r\n"


def test_refused_by_address(
    share: Callable[..., ServerThread], modem: FakeModem, caplog: pytest.LogCaptureFixture
) -> None:
    srv = share(allow=(N("127.0.0.1/32"),))
    with srv.connect("127.0.0.2") as sock:
        assert read_to_eof(sock) == b""  # closed at once, nothing said
    with srv.connect("127.0.0.1") as sock:
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")
    assert srv.server.refused == 1
    assert any(re.fullmatch(r"Refused connect from 127\.0\.0\.2:\d+ \(not in the allow list\)", m)
               for m in caplog.messages)  # fmt: skip


def test_deny_beats_allow_over_tcp(share: Callable[..., ServerThread]) -> None:
    srv = share(allow=(N("127.0.0.0/8"),), deny=(N("127.0.0.2/32"),))
    with srv.connect("127.0.0.2") as sock:
        assert read_to_eof(sock) == b""
    with srv.connect("127.0.0.3") as sock:
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")


def test_hosts_files_over_tcp(share: Callable[..., ServerThread], tmp_path: Path) -> None:
    allow = tmp_path / "hosts.allow"
    deny = tmp_path / "hosts.deny"
    allow.write_text("pyppp-share: 127.0.0.3\n")
    deny.write_text("ALL: ALL\n")
    srv = share(hosts_allow=allow, hosts_deny=deny)
    with srv.connect("127.0.0.1") as sock:  # loopback default loses to hosts.deny
        assert read_to_eof(sock) == b""
    with srv.connect("127.0.0.3") as sock:
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")
    allow.write_text("pyppp-share: 127.0.0.1\n")  # re-read per connection, like tcpd
    with srv.connect("127.0.0.1") as sock:
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")


def test_hosts_files_are_read_off_the_loop_per_connection(
    share: Callable[..., ServerThread], tmp_path: Path
) -> None:
    readers: list[threading.Thread] = []

    def read(path: Path) -> bytes:
        readers.append(threading.current_thread())
        return path.read_bytes()

    allow = tmp_path / "hosts.allow"
    allow.write_text("pyppp-share: 127.0.0.1\n")
    srv = share(allow=(), hosts_allow=allow, server_kw={"read_file": read})
    at_start = len(readers)  # start() reads once to choose the listening addresses
    for _ in range(2):
        with srv.connect() as sock:
            sock.sendall(b"AT\r")  # sent at once: held, not lost, while the file is read
            read_until(sock, b"OK")
    assert len(readers) == at_start + 2  # each connection, tcpd's way
    assert srv._thread not in readers  # never on the event loop's thread
    assert threading.current_thread() not in readers


def test_second_caller_is_told_who_holds_the_modem(
    share: Callable[..., ServerThread], modem: FakeModem
) -> None:
    srv = share()
    with srv.connect() as first:
        first.sendall(b"AT\r")
        read_until(first, b"OK")
        port = first.getsockname()[1]
        with srv.connect() as second:
            line = read_to_eof(second)
        pattern = (
            rf"pyppp-share: modem {re.escape(modem.device)} BUSY: in use by 127\.0\.0\.1:{port} "
            r"since \d\d:\d\d:\d\d\r\n"
        )
        assert re.fullmatch(pattern.encode(), line), line
        first.sendall(b"ATI\r")  # the first call is undisturbed
        read_until(first, b"OK")
    assert srv.server.busy == 1


def test_local_program_holding_the_lock(
    share: Callable[..., ServerThread], modem: FakeModem, lock_dir: Path
) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock_path(modem, lock_dir).write_bytes(format_lock_content(holder.pid))
        srv = share()
        with srv.connect() as sock:
            line = read_to_eof(sock)
        expected = f"pyppp-share: modem {modem.device} BUSY (locked by pid {holder.pid})\r\n"
        assert line == expected.encode()
        assert parse_lock_content(lock_path(modem, lock_dir).read_bytes()) == holder.pid
        assert port_is_closed(modem.device)
    finally:
        holder.kill()
        holder.wait()
    with srv.connect() as sock:  # the holder died: its lock is stale now
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")


def test_caller_vanishing_releases_line_and_lock(
    share: Callable[..., ServerThread], modem: FakeModem, lock_dir: Path
) -> None:
    srv = share()
    sock = srv.connect()
    sock.sendall(b"ATDT5551234\r")
    read_until(sock, b"CONNECT")
    assert lock_path(modem, lock_dir).exists()
    # vanish: RST, no goodbye
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    wait_for(lambda: srv.server.call is None, what="call end")
    assert not lock_path(modem, lock_dir).exists()
    assert port_is_closed(modem.device)
    with srv.connect() as again:
        again.sendall(b"AT\r")
        read_until(again, b"OK")


def test_slow_client_never_blocks_the_modem(
    share: Callable[..., ServerThread], modem: FakeModem
) -> None:
    # The real-socket half of test_share_session's backlog tests: bytes through a real
    # server to a real client that reads too slowly, then fresh data once it reads.
    srv = share(max_backlog=16384, stall_timeout=60)
    sock = srv.connect(rcvbuf=4096)
    try:
        wait_for(lambda: srv.server.call is not None, what="call")
        chunk = b"x" * 65536
        for _ in range(128):  # 8 MiB: far more than every buffer in the path together
            modem.write(chunk, timeout=5)  # raises if the server stopped reading the modem
        call = srv.server.call
        assert call is not None
        wait_for(lambda: call.from_modem == 128 * 65536, what="server to read everything")
        assert call.dropped > 4 * 2**20
        buffered = srv.in_loop(call.transport.get_write_buffer_size)
        assert buffered <= 16384
        # the client is still connected and gets fresh data once it reads again
        sock.settimeout(5)
        got = b""
        while len(got) < 1000:
            got += sock.recv(65536)
    finally:
        sock.close()


def test_stalled_client_is_cut_off(
    share: Callable[..., ServerThread], modem: FakeModem, lock_dir: Path
) -> None:
    # The real-socket half of test_share_session's stall tests: the shell reports the send
    # buffer, the session cuts the caller off, the shell hangs up the modem and frees the lock.
    srv = share(max_backlog=4096, stall_timeout=0.5)
    sock = srv.connect(rcvbuf=4096)
    try:
        wait_for(lambda: srv.server.call is not None, what="call")
        end = time.monotonic() + 10
        while srv.server.call is not None and time.monotonic() < end:
            with contextlib.suppress(TimeoutError):  # nobody reads once the call is cut off
                modem.write(b"y" * 4096, timeout=0.2)
            time.sleep(0.01)
        last = srv.server.last_call
        assert last is not None
        assert last.reason == "client stalled"
        assert not lock_path(modem, lock_dir).exists()
        assert port_is_closed(modem.device)
    finally:
        sock.close()


def test_modem_going_away_ends_the_call(share: Callable[..., ServerThread], lock_dir: Path) -> None:
    gone = FakeModem()
    srv = share(device=gone.device)
    with srv.connect() as sock:
        sock.sendall(b"AT\r")
        read_until(sock, b"OK")
        gone.close()  # the master side closes: the slave reads EIO/EOF
        read_to_eof(sock)
    last = srv.server.last_call
    assert last is not None
    assert last.reason is not None
    assert last.reason.startswith("modem hangup")
    assert list(lock_dir.iterdir()) == []


def test_unopenable_device(share: Callable[..., ServerThread], tmp_path: Path) -> None:
    srv = share(device=str(tmp_path / "ttyNOPE"))
    with srv.connect() as sock:
        assert read_to_eof(sock) == f"pyppp-share: can't open modem {tmp_path}/ttyNOPE\r\n".encode()
    assert srv.server.call is None


# -- inetd mode and the command line ----------------------------------------------------------


def test_inetd_mode_on_a_socketpair(modem: FakeModem, lock_dir: Path) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyppp", "share", "--inetd", modem.device,
             "--lock-dir", str(lock_dir)],
            stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        theirs.close()
        try:
            ours.sendall(b"ATZ\r")
            read_until(ours, b"OK\r\n", timeout=10)
            wait_for(lambda: lock_path(modem, lock_dir).exists(), what="lock")
            assert parse_lock_content(lock_path(modem, lock_dir).read_bytes()) == proc.pid
            ours.shutdown(socket.SHUT_WR)
            assert proc.wait(10) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            stderr = proc.stderr.read().decode() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
    assert "Connect from local to" in stderr
    assert re.search(r"Disconnect local \(client closed\): connect time [\d.]+ s, 4 bytes", stderr)
    assert list(lock_dir.iterdir()) == []


def test_inetd_needs_a_socket(modem: FakeModem) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyppp", "share", "--inetd", modem.device],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--inetd needs a socket on standard input" in proc.stderr


def test_cli_rejects_unknown_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["share", "/dev/ttyS1", "--bogus", "crtscts"]) == 2
    assert "unrecognized arguments: --bogus crtscts" in capsys.readouterr().err


def test_cli_rejects_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["share", "/dev/ttyS1", "--idle", "0"]) == 2
    assert "--idle must be a positive number of seconds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["share", "/dev/ttyS1", "--allow", "not-a-net"])


@contextlib.contextmanager
def _child(*argv: str, pass_fds: tuple[int, ...] = ()) -> Iterator[subprocess.Popen[str]]:
    """A child process (``argv``, stderr piped as text); killed, reaped and closed on every exit."""
    proc = subprocess.Popen(argv, pass_fds=pass_fds, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


def test_cli_server_runs_and_stops_on_sigterm(modem: FakeModem, lock_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "pyppp", "share", modem.device, "--port", str(port)]
    with _child(*argv, "--lock-dir", str(lock_dir)) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith(f"Sharing {modem.device} on 127.0.0.1:{port}")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"AT\r")
            read_until(sock, b"OK")
            proc.terminate()
            assert proc.wait(10) == 0
        rest = proc.stderr.read()
        assert "Terminating on signal 15" in rest
        assert "(shutdown)" in rest
        assert list(lock_dir.iterdir()) == []


_SYSTEMD_CHILD = """
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
from pyppp.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_systemd_listening_socket(modem: FakeModem, lock_dir: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    child = (sys.executable, "-c", _SYSTEMD_CHILD, str(listener.fileno()))
    argv = (*child, "share", modem.device, "--port", "1", "--lock-dir", str(lock_dir))
    with _child(*argv, pass_fds=(listener.fileno(),)) as proc:
        listener.close()
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith(f"Sharing {modem.device} on 127.0.0.1:{port}")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"AT\r")
            read_until(sock, b"OK")
        proc.terminate()
        assert proc.wait(10) == 0
