"""pppd's process-level behaviour, checked on real ``pyppp serve``/``pyppp dial`` processes.

What a pppd user scripts around: UUCP locks (``lock``), redialling (``persist``, ``holdoff``,
``maxfail``), the session limits (``idle``, ``maxconnect``), option errors and ``dump``/``dryrun``,
the HOWTO's server files used as they are, an external ``connect`` program, SIGHUP, and the
``ip-up``/``ip-down`` scripts' arguments and environment. Each test asserts pppd's log lines
and exit statuses (pppd(8) EXIT STATUS). The server runs in namespace a, the dialer in b, on a
virtual null-modem cable; the protocol clocks are shortened (``lcp-restart 1``) so the whole
file runs in well under a minute.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyppp.aio.cable import NullModemCable
from pyppp.errors import ExitStatus
from pyppp.pppd.lock import format_lock_content

from .calls import READY, UP, VECTORS, alive, config_dirs, dial, pyppp_plain, serve, wait_count
from .calls import count as _count
from .calls import logs as _logs
from .netns import (
    CLIENT_IP,
    SERVER_IP,
    USER,
    Lab,
    LoggedProcess,
    Netns,
    ProcessTimeoutError,
    blocked_reading,
    descendants,
    ping,
)

# -- helpers -------------------------------------------------------------------------------------


def _times(process: LoggedProcess, pattern: str) -> list[float]:
    regex = re.compile(pattern)
    with process._cond:
        return [stamp for stamp, line in process.lines if regex.search(line)]


ECHO = r"^sent \[LCP EchoReq "


def _wait_for(
    predicate: Callable[[], bool], what: str, process: LoggedProcess, timeout: float = 10.0
) -> None:
    """Wait until ``predicate()`` while ``process`` runs (its log in the failure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline or process.proc.poll() is not None:
            raise AssertionError(f"never saw {what}:\n{_logs(process)}")
        time.sleep(0.02)


def _up(server: LoggedProcess, client: LoggedProcess, timeout: float = 15.0) -> float:
    """Wait for IPCP up on both; return seconds from the dialer's start to the later one."""
    try:
        stamps = [p.wait_for(UP, timeout)[0] for p in (server, client)]
    except ProcessTimeoutError as exc:
        raise ProcessTimeoutError(f"{exc}\n{_logs(server, client)}") from None
    return max(stamps) - client.started_at


def _no_traceback(*processes: LoggedProcess) -> None:
    for process in processes:
        assert "Traceback" not in process.text, _logs(*processes)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _pyppp_plain(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pyppp ARGS`` outside any namespace, without HOME (no ~/.ppprc)."""
    return pyppp_plain(*args, cwd=cwd, timeout=30, keep_home=False)


# -- 1. lock -------------------------------------------------------------------------------------


def test_lock_busy_stale_and_released(lab: Lab) -> None:
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    with NullModemCable(link_dir=lab.tmp) as cable:
        device = cable.ends[0]  # <tmp>/ttyA -> /dev/pts/N: locks LCK..N and LCK..ttyA
        stale = _dead_pid()
        (lock_dir / "LCK..ttyA").write_bytes(format_lock_content(stale))
        first = serve(lab, device, "lock", "--lock-dir", str(lock_dir))
        first.wait_for(READY, 10)
        assert first.find(rf"^Removed stale lock on ttyA \(pid {stale}\)$"), _logs(first)
        names = sorted(p.name for p in lock_dir.iterdir())
        pts = Path(os.path.realpath(device)).name
        assert names == sorted([f"LCK..{pts}", "LCK..ttyA"]), names
        for name in names:
            assert (lock_dir / name).read_bytes() == format_lock_content(first.pid)

        second = serve(lab, device, "lock", "--lock-dir", str(lock_dir), label="second")
        status = second.wait(15)
        assert status == ExitStatus.LOCK_FAILED, _logs(second)
        assert second.find(rf"^Device \S+ is locked by pid {first.pid}$"), _logs(second)
        assert not second.find(READY), _logs(second)
        # The loser never touches the winner's lock.
        assert sorted(p.name for p in lock_dir.iterdir()) == names

        first.signal(signal.SIGTERM)
        assert first.wait(10) == ExitStatus.USER_REQUEST, _logs(first)
        assert list(lock_dir.iterdir()) == [], "lock left behind after SIGTERM"

        # Error paths release it too: a connect script that fails (8) ...
        fail = lab.tmp / "fail.sh"
        fail.write_text("#!/bin/sh\nexit 1\n")
        fail.chmod(0o755)
        third = dial(
            lab, device, "lock", "--lock-dir", str(lock_dir), "connect", str(fail), label="third"
        )
        assert third.wait(15) == ExitStatus.CONNECT_FAILED, _logs(third)
        assert list(lock_dir.iterdir()) == [], "lock left behind after a failed connect"
    # ... and a device that cannot be opened (7).
    missing = str(lab.tmp / "dev" / "ttyNope")
    fourth = dial(lab, missing, "lock", "--lock-dir", str(lock_dir), label="fourth")
    assert fourth.wait(15) == ExitStatus.OPEN_FAILED, _logs(fourth)
    assert list(lock_dir.iterdir()) == [], "lock left behind after an open failure"
    _no_traceback(first, second, third, fourth)


# -- 2. persist, holdoff, maxfail ----------------------------------------------------------------


def test_dialer_persist_redials_after_holdoff_and_stops_at_maxfail(
    lab: Lab, report_figure: Callable[[str, str], None]
) -> None:
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0])
        server.wait_for(READY, 10)
        client = dial(
            lab,
            cable.ends[1],
            "persist",
            "holdoff",
            "1",
            "maxfail",
            "2",
            "lcp-echo-interval",
            "1",
            "lcp-echo-failure",
            "2",
        )
        first_up = _up(server, client)

        # The far end dies without a word (SIGKILL): LCP echoes find out; a new server answers.
        server.signal(signal.SIGKILL)
        assert server.wait(10) == -signal.SIGKILL
        client.wait_for(r"^No response to 2 echo-requests$", 10)
        client.wait_for(r"^Serial link appears to be disconnected\.$", 1)
        server2 = serve(lab, cable.ends[0], label="server2")
        server2.wait_for(READY, 10)
        wait_count(client, UP, 2, 15)
        server2.wait_for(UP, 5)
        terminated = _times(client, r"^Connection terminated\.$")
        redial = _times(client, READY)
        assert terminated, _logs(client)
        assert len(redial) >= 2, _logs(client)
        gap = redial[1] - terminated[0]
        # holdoff 1: the next attempt starts a second after the last one ended (not 30 s).
        assert 0.9 <= gap < 2.5, (gap, _logs(client))
        assert client.proc.poll() is None

        # This one hangs up properly (Terminate-Request); then nobody answers any more: two
        # failed attempts in a row, then it gives up.
        server2.signal(signal.SIGTERM)
        assert server2.wait(10) == ExitStatus.USER_REQUEST, _logs(server2, client)
        status = client.wait(30)
        logs = _logs(client)
        assert status == ExitStatus.NEGOTIATION_FAILED, logs
        assert _count(client, r"^LCP: timeout sending Config-Requests$") == 2, logs
        # 2 calls that came up + 2 failed attempts (maxfail counts failures in a row).
        assert _count(client, READY) == 4, logs
        # pyppp's own line (pppd stops silently).
        assert client.find(r"^Maximum connect attempts exceeded$"), logs
        assert client.find(r"^LCP terminated by peer"), logs
        assert not [n for n in lab.b.links() if n.startswith("ppp")]
        _no_traceback(server, server2, client)
    report_figure("persist: link-up of the first call (wall)", f"{first_up * 1000:.0f} ms")
    report_figure("persist: end of call to redial with holdoff 1", f"{gap * 1000:.0f} ms")


def test_persistent_server_answers_a_second_call(lab: Lab) -> None:
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0], "persist", "holdoff", "1")
        server.wait_for(READY, 10)
        first = dial(lab, cable.ends[1])
        _up(server, first)
        first.signal(signal.SIGTERM)
        assert first.wait(10) == ExitStatus.USER_REQUEST, _logs(server, first)
        # The server hangs up, waits its holdoff and answers again on the same line.
        wait_count(server, READY, 2, 10)
        second = dial(lab, cable.ends[1], label="second")
        wait_count(server, UP, 2, 15)
        second.wait_for(UP, 5)
        ping(lab.b, SERVER_IP, count=1)
        assert server.proc.poll() is None, _logs(server)
        assert server.find(r"^LCP terminated by peer"), _logs(server)
        second.signal(signal.SIGTERM)
        assert second.wait(10) == ExitStatus.USER_REQUEST, _logs(second)
        wait_count(server, READY, 3, 10)
        server.signal(signal.SIGTERM)
        assert server.wait(10) == ExitStatus.USER_REQUEST, _logs(server)
        _no_traceback(server, first, second)


# -- 3. idle, maxconnect -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "line", "expected"),
    [
        (
            ("idle", "2"),
            r"^Terminating connection due to lack of activity\.$",
            ExitStatus.IDLE_TIMEOUT,
        ),
        (("maxconnect", "2"), r"^Connect time expired$", ExitStatus.CONNECT_TIME),
    ],
    ids=["idle", "maxconnect"],
)
def test_session_limits(lab: Lab, words: tuple[str, str], line: str, expected: int) -> None:
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0])
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1], *words)
        _up(server, client)
        up_at = client.wait_for(UP, 1)[0]
        status = client.wait(15)
        logs = _logs(server, client)
        assert status == expected, logs
        limit_at, _ = client.wait_for(line, 1)
        assert 1.5 <= limit_at - up_at <= 4.0, (limit_at - up_at, logs)
        assert client.find(r"^Connection terminated\.$"), logs
        # The server saw a graceful end: Terminate-Request, not a dead line.
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        assert server.find(r"^LCP terminated by peer"), logs
        _no_traceback(server, client)


# -- 4. options ----------------------------------------------------------------------------------


def test_unknown_option_on_command_line_and_in_a_file(tmp_path: Path) -> None:
    result = _pyppp_plain("dial", "/dev/ttyS9", "--config-dir", str(tmp_path), "frobnicate")
    assert result.returncode == ExitStatus.OPTION_ERROR, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "frobnicate" in lines[0], lines
    assert "command line" in lines[0], lines
    assert result.stdout == ""

    (tmp_path / "options").write_text("lock\n# a comment\nnoauth frobnicate\n")
    result = _pyppp_plain("dial", "/dev/ttyS9", "--config-dir", str(tmp_path))
    assert result.returncode == ExitStatus.OPTION_ERROR, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "frobnicate" in lines[0], lines
    assert f"{tmp_path / 'options'}:3" in lines[0], lines


def test_dryrun_and_dump_show_options_with_sources(tmp_path: Path) -> None:
    config = tmp_path / "ppp"
    shutil.copytree(VECTORS / "howto-client", config)
    result = _pyppp_plain(
        "dial", "/dev/ttyS0", "--config-dir", str(config), "--user", "arthur", "dryrun"
    )
    assert result.returncode == 0, result
    out = result.stdout
    assert out.startswith("pppd options in effect:\n"), out
    tty_file = config / "options.ttyS0"
    # Each set option with where it came from, as pppd's dump prints it.
    expected = [
        rf"^lock\t\t# \(from {re.escape(str(config / 'options'))}:2\)$",
        rf"^115200\t\t# \(from {re.escape(str(tty_file))}:2\)$",
        rf"^crtscts\t\t# \(from {re.escape(str(tty_file))}:3\)$",
        rf"^name zaphod\t\t# \(from {re.escape(str(tty_file))}:5\)$",
        r"^user arthur\t\t# \(from --user\)$",
        r"^dryrun\t\t# \(from command line\)$",
    ]
    for pattern in expected:
        assert re.search(pattern, out, re.MULTILINE), (pattern, out)
    # dryrun stops after printing: nothing was opened (there is no /dev/ttyS0 lock here).
    assert "Connect" not in out + result.stderr

    # dump prints the same and then goes on: here to fail opening the missing device (7).
    result = _pyppp_plain(
        "dial",
        str(tmp_path / "dev" / "ttyS0"),
        "--config-dir",
        str(config),
        "dump",
        "nolock",
    )
    assert result.returncode == ExitStatus.OPEN_FAILED, result
    assert result.stdout.startswith("pppd options in effect:\n"), result
    assert re.search(r"^dump\t\t# \(from command line\)$", result.stdout, re.MULTILINE)


LOGIN_USER = "pyppp-e2e-login"
LOGIN_PASSWORD = "Mostly-Harmless-42"


@contextlib.contextmanager
def _system_user() -> Iterator[str | None]:
    """A throw-away system user for ``login`` (None when it cannot be made here)."""
    if shutil.which("useradd") is None or shutil.which("chpasswd") is None:
        yield None
        return
    subprocess.run(["userdel", LOGIN_USER], capture_output=True, check=False)
    made = subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", LOGIN_USER],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        yield None
        return
    try:
        subprocess.run(
            ["chpasswd"], input=f"{LOGIN_USER}:{LOGIN_PASSWORD}\n", text=True, check=True
        )
        yield LOGIN_USER
    finally:
        subprocess.run(["userdel", LOGIN_USER], capture_output=True, check=False)


@contextlib.contextmanager
def _netns_hosts(ns: Netns, text: str) -> Iterator[None]:
    """``/etc/netns/<ns>/hosts``: ``ip netns exec`` mounts it over /etc/hosts in ``ns``."""
    base = Path("/etc/netns")
    made_base = not base.exists()
    folder = base / ns.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hosts").write_text(text)
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if made_base:
            with contextlib.suppress(OSError):
                base.rmdir()


def test_howto_server_files_answer_a_login_call(
    lab: Lab, report_figure: Callable[[str, str], None]
) -> None:
    """Serial-Laplink-HOWTO §2.1's /etc/ppp, unchanged, with a catch-all pap-secrets."""
    server_dir = lab.tmp / "etc-ppp-server"
    shutil.copytree(VECTORS / "howto-server", server_dir)
    (server_dir / "hosts").unlink()  # the HOWTO's names come from the namespace's /etc/hosts
    secrets = server_dir / "pap-secrets"
    secrets.write_text('# client server secret addresses\n* * "" *\n')
    secrets.chmod(0o600)
    client_dir = lab.tmp / "etc-ppp-client"
    shutil.copytree(VECTORS / "howto-client", client_dir)
    dev = lab.tmp / "dev"  # pppd takes the options.<tty> name from the path after "/dev/"
    dev.mkdir()
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    hosts = (
        f"127.0.0.1\tlocalhost\n{SERVER_IP}\tppp_laplink_host\n{CLIENT_IP}\tserial_laplink_client\n"
    )
    with (
        NullModemCable() as cable,
        _netns_hosts(lab.a, hosts),
        _system_user() as user,
    ):
        (dev / "ttyS1").symlink_to(cable.ends[0])
        (dev / "ttyS0").symlink_to(cable.ends[1])
        server = lab.pyppp(
            "server",
            lab.a,
            "serve",
            str(dev / "ttyS1"),
            "--config-dir",
            str(server_dir),
            "--lock-dir",
            str(lock_dir),
            "debug",
        )
        server.wait_for(READY, 10)
        # options.ttyS1 applied (silent, +pap) and options (lock, auth, login).
        assert (lock_dir / "LCK..ttyS1").exists()
        if user is None:
            server.signal(signal.SIGTERM)
            assert server.wait(10) == ExitStatus.USER_REQUEST, _logs(server)
            pytest.skip("useradd/chpasswd unavailable: the server started, no login call made")
        secrets = client_dir / "pap-secrets"
        secrets.write_text(f"{user} * {LOGIN_PASSWORD}\n")
        secrets.chmod(0o600)
        client = lab.pyppp(
            "client",
            lab.b,
            "dial",
            str(dev / "ttyS0"),
            "--config-dir",
            str(client_dir),
            "--lock-dir",
            str(lock_dir),
            "--user",
            user,
            "debug",
        )
        wall = _up(server, client, 20)
        logs = _logs(server, client)
        assert server.find(rf"^PAP peer authentication succeeded for {user}$"), logs
        # pppd's PAM message (session.c): the HOWTO's client line, exactly.
        assert client.find(r"^Remote message: Success$"), logs
        assert server.find(rf"^local  IP address {SERVER_IP}$"), logs
        assert client.find(rf"^local  IP address {CLIENT_IP}$"), logs
        assert server.find(r"^sent \[LCP ConfReq id=0x\w+ <asyncmap 0x0> <auth pap>"), logs
        assert LOGIN_PASSWORD not in logs
        ping(lab.b, SERVER_IP, count=1)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        _no_traceback(server, client)
    report_figure("HOWTO server + login (PAM) link-up (wall)", f"{wall * 1000:.0f} ms")


# -- 6. connect program --------------------------------------------------------------------------


def test_connect_program_talks_on_the_line_and_its_status_counts(lab: Lab) -> None:
    """pppd's ``connect`` program has the line on stdin and stdout; its status decides."""
    ok = lab.tmp / "ok.sh"
    # Wait (a blocking read) for the server's greeting, answer on stdout, exit 0. The server
    # starts a second after us, so the read must really wait: pppd sets VMIN 1 for this.
    ok.write_text(
        "#!/bin/sh\n"
        'greeting=$(dd bs=1 count=5 2>/dev/null)\n[ "$greeting" = HELLO ] || exit 3\n'
        "printf OK\nexit 0\n"
    )
    ok.chmod(0o755)
    fail = lab.tmp / "fail.sh"
    fail.write_text("#!/bin/sh\necho ATZ\nexit 1\n")
    fail.chmod(0o755)
    with NullModemCable() as cable:
        failed = dial(lab, cable.ends[1], "connect", str(fail), label="failed")
        assert failed.wait(15) == ExitStatus.CONNECT_FAILED, _logs(failed)
        assert failed.find(r"^Connect script failed"), _logs(failed)
        assert not failed.find(READY), _logs(failed)

        client = dial(lab, cable.ends[1], "connect", str(ok), "debug")
        # The script's dd sleeps in read(2) on the line: with VMIN 0 (or O_NONBLOCK) that read
        # would have returned at once and the script exited 3.
        _wait_for(
            lambda: any(blocked_reading(pid, cable.ends[1]) for pid in descendants(client.pid)),
            "the connect program blocked reading the line",
            client,
        )
        assert client.proc.poll() is None, _logs(client)  # still waiting for the greeting
        # The server greets with the built-in chat and starts PPP only once it got OK back.
        server = serve(lab, cable.ends[0], "connect", "chat -v '' HELLO OK", "debug")
        _up(server, client)
        logs = _logs(server, client)
        assert client.find(r"^Serial connection established\.$"), logs
        assert server.find(r"^Serial connection established\.$"), logs
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        _no_traceback(server, client, failed)


def test_init_program_runs_on_the_line_before_connect(lab: Lab) -> None:
    """pppd's ``init`` program: on the line (stdin and stdout), before ``connect``; its failure
    is "Init script failed", status 18, and ``connect`` never runs."""
    out = lab.tmp / "order"
    init = lab.tmp / "init.sh"
    # A modem-initialising program: wait (a blocking read) for the far end's greeting, answer.
    init.write_text(
        "#!/bin/sh\n"
        f'echo "init $(tty)" >> {out}\n'
        'greeting=$(dd bs=1 count=5 2>/dev/null)\n[ "$greeting" = HELLO ] || exit 3\n'
        "printf OK\nexit 0\n"
    )
    init.chmod(0o755)
    connect = lab.tmp / "connect.sh"
    connect.write_text(f'#!/bin/sh\necho "connect $(tty)" >> {out}\nexit 0\n')
    connect.chmod(0o755)
    fail = lab.tmp / "fail.sh"
    fail.write_text(f'#!/bin/sh\necho "bad-init $(tty)" >> {out}\nexit 1\n')
    fail.chmod(0o755)
    with NullModemCable() as cable:
        failed = dial(lab, cable.ends[1], "init", str(fail), "connect", str(connect), label="bad")
        assert failed.wait(15) == ExitStatus.INIT_FAILED, _logs(failed)
        assert failed.find(r"^Init script failed"), _logs(failed)
        assert out.read_text() == f"bad-init {cable.ends[1]}\n"  # and connect never ran
        out.unlink()

        client = dial(lab, cable.ends[1], "init", str(init), "connect", str(connect), "debug")
        _wait_for(
            lambda: any(blocked_reading(pid, cable.ends[1]) for pid in descendants(client.pid)),
            "the init program blocked reading the line",
            client,
        )
        assert out.read_text() == f"init {cable.ends[1]}\n"  # connect waits for init
        # The far end greets and starts PPP only once the init program's OK came back.
        server = serve(lab, cable.ends[0], "connect", "chat -v '' HELLO OK", "debug")
        _up(server, client)
        assert out.read_text() == f"init {cable.ends[1]}\nconnect {cable.ends[1]}\n"
        initialized = client.find(r"^Serial port initialized\.$")
        established = client.find(r"^Serial connection established\.$")
        assert initialized is not None, _logs(client)
        assert established is not None, _logs(client)
        assert initialized[0] <= established[0]
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        _no_traceback(server, client, failed)


def _polls_device(pid: int, device: str) -> bool:
    """Whether ``pid`` has ``device`` open and one of its epoll sets watches that descriptor."""
    fds: set[int] = set()
    epolls: list[str] = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target == device:
                    fds.add(int(fd))
                elif target == "anon_inode:[eventpoll]":
                    epolls.append(fd)
    for fd in epolls:
        with contextlib.suppress(OSError):
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
            if fds & {int(m) for m in re.findall(r"^tfd:\s*(\d+)", info, re.MULTILINE)}:
                return True
    return False


@pytest.mark.parametrize(
    "words",
    [
        ("--windows",),
        ("connect", "chat -v TIMEOUT 3600 CLIENT CLIENTSERVER\\c"),
        ("connect", "{script}"),
    ],
    ids=["windows-handshake", "chat-script", "connect-program"],
)
def test_sigterm_while_waiting_in_the_connect_phase(lab: Lab, words: tuple[str, ...]) -> None:
    """pppd kills the connect script and exits 5 at once; the lock is released."""
    script = lab.tmp / "wait.sh"
    pidfile = lab.tmp / "script.pid"
    script.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 60\n")
    script.chmod(0o755)
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    words = tuple(w.format(script=script) for w in words)
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0], "lock", "--lock-dir", str(lock_dir), *words)
        deadline = time.monotonic() + 10
        runs_script = words == ("connect", str(script))
        # In the connect phase: the script runs, or the handshake or chat waits for the line
        # (the server's event loop polls the device it opened after taking the lock).
        while not list(lock_dir.iterdir()) or not (
            pidfile.exists() if runs_script else _polls_device(server.pid, cable.ends[0])
        ):
            assert time.monotonic() < deadline, _logs(server)
            time.sleep(0.02)
        server.signal(signal.SIGTERM)
        # "At once": the script would run 60 s, chat's TIMEOUT is an hour and the handshake
        # has no peer, so an end within the wait is the signal's doing (no timing measured).
        status = server.wait(5)
        assert status == ExitStatus.USER_REQUEST, _logs(server)
        assert server.find(r"^Terminating on signal 15$"), _logs(server)
        assert list(lock_dir.iterdir()) == [], "lock left behind"
        if pidfile.exists():
            script_pid = int(pidfile.read_text())
            deadline = time.monotonic() + 3
            while alive(script_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(script_pid), "the connect program outlived pyppp"
        _no_traceback(server)


# -- 7. SIGHUP -----------------------------------------------------------------------------------


def test_sighup_hangs_up_and_exits_without_persist(lab: Lab) -> None:
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0])
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1])
        _up(server, client)
        client.signal(signal.SIGHUP)
        status = client.wait(10)
        logs = _logs(server, client)
        assert client.find(r"^Hangup \(SIGHUP\)$"), logs
        assert status == ExitStatus.USER_REQUEST, logs
        assert client.find(r"^Connection terminated\.$"), logs
        # pppd takes SIGHUP as "kill the link": LCP is closed with a Terminate-Request, so
        # the server learns at once (pppd main.c: kill_link -> lcp_close "User request").
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        assert server.find(r"^LCP terminated by peer"), _logs(server, client)
        _no_traceback(server, client)


def test_sighup_with_persist_reconnects(lab: Lab) -> None:
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0], "persist", "holdoff", "1")
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1], "persist", "holdoff", "1")
        _up(server, client)
        client.signal(signal.SIGHUP)
        wait_count(client, UP, 2, 20)
        wait_count(server, UP, 2, 5)
        ping(lab.b, SERVER_IP, count=1)
        logs = _logs(server, client)
        assert client.find(r"^Hangup \(SIGHUP\)$"), logs
        assert client.proc.poll() is None, logs
        # The old link was closed properly (Terminate-Request), not just abandoned.
        assert server.find(r"^LCP terminated by peer"), logs
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        server.signal(signal.SIGTERM)
        assert server.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        _no_traceback(server, client)


# -- 8. ip-up / ip-down --------------------------------------------------------------------------

_HOOK = """#!/bin/sh
out="{out}.$(basename "$0")"
{{
  echo "ARGS=$#"
  for a in "$@"; do echo "ARG=$a"; done
  env | grep -E '^(IFNAME|DEVICE|SPEED|IPLOCAL|IPREMOTE|PEERNAME|IPPARAM|PPPD_PID)=' | sort
  env | grep -E '^(CONNECT_TIME|BYTES_SENT|BYTES_RCVD)=' | sort
}} > "$out.tmp"
mv "$out.tmp" "$out"
"""


def _read_hook(path: Path, timeout: float = 10.0) -> tuple[list[str], dict[str, str]]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never written")
        time.sleep(0.05)
    args: list[str] = []
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ARG":
            args.append(value)
        elif key != "ARGS":
            env[key] = value
    return args, env


def test_ip_up_and_ip_down_get_pppds_arguments_and_environment(lab: Lab) -> None:
    server_dir, client_dir = config_dirs(lab)
    outs = {}
    for side, folder in (("server", server_dir), ("client", client_dir)):
        outs[side] = lab.tmp / f"hook-{side}"
        for name in ("ip-up", "ip-down"):
            script = folder / name
            script.write_text(_HOOK.format(out=outs[side]))
            script.chmod(0o755)
    with NullModemCable() as cable:
        # "debug debug" traces the LCP echoes: their 1 s timer is the processes' own clock.
        echo = ("debug", "debug", "lcp-echo-interval", "1")
        server = serve(lab, cable.ends[0], "115200", "ipparam", "laplink", *echo)
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1], "57600", *echo)
        _up(server, client)
        up: dict[str, tuple[list[str], dict[str, str]]] = {}
        for side in ("server", "client"):
            up[side] = _read_hook(Path(f"{outs[side]}.ip-up"))
        logs = _logs(server, client)
        for side, device, speed, local, remote, ipparam in (
            ("server", cable.ends[0], "115200", SERVER_IP, CLIENT_IP, "laplink"),
            ("client", cable.ends[1], "57600", CLIENT_IP, SERVER_IP, ""),
        ):
            args, env = up[side]
            # pppd: ip-up interface-name tty-device speed local-IP remote-IP ipparam
            assert len(args) == 6, (side, args)
            assert re.fullmatch(r"ppp\d+", args[0]), (side, args)
            assert args[1:] == [device, speed, local, remote, ipparam], (side, args, logs)
            assert env["IFNAME"] == args[0]
            assert env["DEVICE"] == device
            assert env["SPEED"] == speed
            assert env["IPLOCAL"] == local
            assert env["IPREMOTE"] == remote
            assert env["PPPD_PID"] == str(server.pid if side == "server" else client.pid)
            assert "CONNECT_TIME" not in env
        # PEERNAME: the name the peer authenticated with (only the server authenticated it).
        assert up["server"][1]["PEERNAME"] == USER
        assert "PEERNAME" not in up["client"][1]
        assert up["server"][1]["IPPARAM"] == "laplink"
        ping(lab.b, SERVER_IP, count=2, size=1000)
        # CONNECT_TIME counts from before ip-up starts ("Script .../ip-up started" is logged
        # after): two echo requests logged after that line are a whole echo interval apart,
        # so each side has been connected for more than a second by its own timer.
        for process in (server, client):
            process.wait_count_after(r"^Script \S+/ip-up started", ECHO, 2)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        for side in ("server", "client"):
            args, env = _read_hook(Path(f"{outs[side]}.ip-down"))
            assert args == up[side][0], (side, args)
            assert int(env["CONNECT_TIME"]) >= 1, env
            # Two 1000-byte pings each way went through.
            assert int(env["BYTES_SENT"]) > 2000, env
            assert int(env["BYTES_RCVD"]) > 2000, env
        _no_traceback(server, client)
