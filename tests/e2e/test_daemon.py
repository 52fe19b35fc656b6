"""pyppp as pppd's daemon (issue J): detaching, pid files, signals, scripts, pty/notty, demand.

Each test runs real ``pyppp serve``/``pyppp dial`` processes in two network namespaces on a
virtual null-modem cable and checks what a pppd user scripts around: the parent's exit status
(detach, ``updetach``), the pid files in ``/run`` (a directory of the test's), SIGUSR1/SIGUSR2
on a link that is up, that no catchable signal leaves a lock, a pid file or an interface
behind, the hook scripts' arguments and timing, PPP over a ``pty`` command reaching a
``notty`` server in the other namespace, and dial-on-demand.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pyppp.aio.cable import NullModemCable
from pyppp.aio.signals import FATAL, handled_signals
from pyppp.errors import ExitStatus

from .calls import (
    FAST,
    READY,
    UP,
    VECTORS,
    alive,
    config_dirs,
    demand_call,
    dial,
    pyppp_plain,
    serve,
    wait_count,
)
from .calls import count as _count
from .calls import logs as _logs
from .netns import (
    CLIENT_IP,
    SERVER_IP,
    USER,
    Lab,
    LoggedProcess,
    Netns,
    ping,
    signal_pending,
)

EXIT_FATAL_SIGNAL = 127


# -- helpers -------------------------------------------------------------------------------------


def _wait(predicate: object, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _ppp_links(ns: Netns) -> list[str]:
    return [name for name in ns.links() if name.startswith("ppp")]


def _read_pid_file(path: Path, lines: int) -> list[str]:
    """The pid file's lines, once it has at least ``lines`` of them."""
    found: list[str] = []

    def ready() -> bool:
        nonlocal found
        with contextlib.suppress(OSError):
            found = path.read_text().splitlines()
        return len(found) >= lines

    _wait(ready, 15.0, f"{path} with {lines} lines")
    return found


@contextlib.contextmanager
def _daemons(*run_dirs: Path) -> Iterator[None]:
    """Whatever happens, end the background processes the test started (their pid files)."""
    try:
        yield
    finally:
        for run_dir in run_dirs:
            for path in run_dir.glob("*.pid") if run_dir.exists() else ():
                with contextlib.suppress(OSError, ValueError):
                    pid = int(path.read_text().split()[0])
                    for signum in (signal.SIGTERM, signal.SIGKILL):
                        if alive(pid):
                            os.kill(pid, signum)
                            _wait_quietly(lambda p=pid: not alive(p), 5.0)


def _wait_quietly(predicate: object, timeout: float) -> None:
    with contextlib.suppress(AssertionError):
        _wait(predicate, timeout)


# -- 1. detaching, updetach, pid files, pyppp stop -------------------------------------------------


def test_serve_detaches_dial_updetach_returns_when_up_and_stop_ends_it(lab: Lab) -> None:
    config_dirs(lab)
    server_run, client_run = lab.tmp / "run-server", lab.tmp / "run-client"
    lock_dir = lab.tmp / "lock"
    for folder in (server_run, client_run, lock_dir):
        folder.mkdir()
    server_log = lab.tmp / "server.log"
    with NullModemCable() as cable, _daemons(server_run, client_run):
        server = serve(
            lab,
            cable.ends[0],
            *("linkname", "labserve", "--run-dir", str(server_run)),
            *("lock", "--lock-dir", str(lock_dir), "logfile", str(server_log), "debug"),
            detach=True,
        )
        # pppd detaches once the device is open: the caller gets 0 at once.
        assert server.wait(15) == ExitStatus.OK, _logs(server)
        pid_text, ifname = _read_pid_file(server_run / "ppp-labserve.pid", 2)
        pid = int(pid_text)
        assert pid != server.pid  # the daemon is the child that stayed
        assert alive(pid)
        assert re.fullmatch(r"ppp\d+", ifname)
        # pppd 2.4.9: /run/<ifname>.pid holds the pid; the linkname file the pid and the name.
        assert (server_run / f"{ifname}.pid").read_text() == f"{pid}\n"
        assert Path(f"/proc/{pid}/stat").read_text().split()[5] == str(pid)  # own session

        client = dial(
            lab,
            cable.ends[1],
            *("updetach", "linkname", "labdial", "--run-dir", str(client_run)),
            "noipv6",  # pppd detaches when the first network protocol is up: IPCP here
            detach=True,
        )
        # updetach: the caller gets 0 once IP is up, and has seen pppd's lines until then.
        assert client.wait(20) == ExitStatus.OK, _logs(client)
        assert client.find(rf"^local  IP address {CLIENT_IP}$"), _logs(client)
        assert client.find(rf"^remote IP address {SERVER_IP}$"), _logs(client)
        addresses = subprocess.run(
            ["ip", "-n", lab.b.name, "-o", "-4", "addr", "show", "up"],
            capture_output=True,
            text=True,
        ).stdout
        assert f"inet {CLIENT_IP} " in addresses  # no waiting: it was up before the exit
        client_pid = int(_read_pid_file(client_run / "ppp-labdial.pid", 2)[0])
        ping(lab.b, SERVER_IP, count=2)

        # poff's job: stop the server by its linkname; it ends the call properly.
        stopped = pyppp_plain("stop", "labserve", "--run-dir", str(server_run))
        assert stopped.returncode == 0, stopped
        assert not alive(pid)
        assert list(server_run.iterdir()) == [], "pid files left behind"
        assert list(lock_dir.iterdir()) == [], "lock left behind"
        log = server_log.read_text()
        assert "Terminating on signal 15" in log, log
        assert "sent [LCP TermReq" in log, log
        # The dialer (in the background now) sees the Terminate-Request and exits too.
        _wait(lambda: not alive(client_pid), 15, "the dialer to exit")
        assert list(client_run.iterdir()) == []
        assert _ppp_links(lab.a) == _ppp_links(lab.b) == []
        assert "Traceback" not in log + client.text


def test_updetach_failure_reaches_the_caller_with_pppds_status(lab: Lab) -> None:
    config_dirs(lab)
    run = lab.tmp / "run"
    run.mkdir()
    with NullModemCable() as cable, _daemons(run):
        # Nobody at the other end: LCP gives up; the caller gets 10 and the lines.
        client = dial(lab, cable.ends[1], "updetach", "--run-dir", str(run), detach=True)
        assert client.wait(30) == ExitStatus.NEGOTIATION_FAILED, _logs(client)
        assert client.find(r"^LCP: timeout sending Config-Requests$"), _logs(client)
        assert list(run.iterdir()) == []
        assert _ppp_links(lab.b) == []


def test_option_error_before_detaching_gives_status_2_and_one_line(lab: Lab) -> None:
    result = pyppp_plain("dial", "/dev/null", "frobnicate")
    assert result.returncode == ExitStatus.OPTION_ERROR, result
    assert len(result.stderr.strip().splitlines()) == 1, result
    # `login require-chap` cannot work: said once (it used to be said twice).
    config = lab.config_dir("bad", chap_secrets="* * x *\n")
    result = pyppp_plain(
        "serve", "/dev/null", "--config-dir", str(config), "auth", "login", "require-chap"
    )
    assert result.returncode != 0, result
    text = result.stdout + result.stderr
    assert text.count("CHAP never sends the password") == 1, text


# -- 2. SIGUSR1 (trace on, off), SIGUSR2 with the link up --------------------------------------


def test_sigusr1_toggles_the_trace_with_the_link_up_and_sigusr2_is_harmless(lab: Lab) -> None:
    config_dirs(lab, chap=True)
    with NullModemCable() as cable:
        # The server re-authenticates the dialer every second (CHAP rechallenge): traffic that
        # the trace shows while the link is up.
        server = serve(lab, cable.ends[0], "chap-interval", "1", "debug", auth="chap")
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1])
        server.wait_for(UP, 15)
        client.wait_for(UP, 5)
        assert not client.find(r"^(sent|rcvd) \["), _logs(client)  # no debug yet

        client.signal(signal.SIGUSR1)  # debug on
        client.wait_for(r"^rcvd \[CHAP Challenge id=0x\w+ ", 10)
        client.wait_for(r"^sent \[CHAP Response id=0x\w+ ", 5)

        client.signal(signal.SIGUSR1)  # debug off
        challenges = _count(server, r"^sent \[CHAP Challenge")
        wait_count(server, r"^sent \[CHAP Challenge", challenges + 2)
        traced = _count(client, r"^rcvd \[CHAP Challenge")  # a late one may have come in
        wait_count(server, r"^sent \[CHAP Challenge", challenges + 5)
        assert _count(client, r"^rcvd \[CHAP Challenge") == traced, _logs(client)

        client.signal(signal.SIGUSR2)  # renegotiate compression: nothing to do, nothing broken
        ping(lab.b, SERVER_IP, count=2)
        assert client.proc.poll() is None, _logs(client)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        assert "Traceback" not in client.text + server.text


# -- 3. no signal kills pyppp without cleaning up ----------------------------------------------


def test_no_catchable_signal_leaves_anything_behind(lab: Lab) -> None:
    config_dirs(lab)
    signals = handled_signals()
    masters: list[int] = []
    started: list[tuple[int, LoggedProcess, Path]] = []
    try:
        for batch_start in range(0, len(signals), 8):
            batch = []
            for signum in signals[batch_start : batch_start + 8]:
                master, slave = os.openpty()
                masters += [master, slave]
                work = lab.tmp / f"sig{signum}"
                (work / "lock").mkdir(parents=True)
                (work / "run").mkdir()
                process = serve(
                    lab,
                    os.ttyname(slave),
                    *("lock", "--lock-dir", str(work / "lock"), "linkname", f"s{signum}"),
                    *("--run-dir", str(work / "run")),
                    label=f"sig{signum}",
                )
                batch.append((signum, process, work))
            started += batch
            for signum, process, work in batch:
                process.wait_for(READY, 20)
                assert list((work / "lock").iterdir()), "the lock should be held now"
                process.signal(signum)
            for signum, process, work in batch:
                if signum in (signal.SIGUSR1, signal.SIGUSR2):
                    # Handled, not just sent: SIGUSR1 turns debug on, which the daemon logs;
                    # SIGUSR2 logs nothing here (no network up), so once the kernel has
                    # delivered it a SIGUSR1 follows it through the same ordered queue.
                    if signum == signal.SIGUSR2:
                        usr2 = functools.partial(signal_pending, process.pid, signal.SIGUSR2)
                        _wait(lambda p=usr2: not p(), 10, "SIGUSR2 delivered")
                        process.signal(signal.SIGUSR1)
                    process.wait_for(r"^debug on \(SIGUSR1\)$", 10)
                    assert process.proc.poll() is None, _logs(process)  # still serving
                    process.signal(signal.SIGTERM)
                    expected: int = ExitStatus.USER_REQUEST
                elif signum in FATAL:
                    expected = EXIT_FATAL_SIGNAL
                else:
                    expected = ExitStatus.USER_REQUEST
                assert process.wait(15) == expected, (signum, _logs(process))
                if signum in FATAL:
                    assert process.find(rf"^Fatal signal {signum}$"), _logs(process)
                assert list((work / "lock").iterdir()) == [], (signum, "lock left")
                assert list((work / "run").iterdir()) == [], (signum, "pid file left")
                assert "Traceback" not in process.text, _logs(process)
        assert _ppp_links(lab.a) == []
    finally:
        for fd in masters:
            with contextlib.suppress(OSError):
                os.close(fd)


# -- 4. scripts: auth-up/down, ip-pre-up, ip-up/down, disconnect, child-timeout --------------------

_RECORD = """#!/bin/sh
out="{out}.$(basename "$0")"
{{
  for a in "$@"; do echo "ARG=$a"; done
  env | grep -E '^(IFNAME|DEVICE|SPEED|IPLOCAL|IPREMOTE|PEERNAME|PPPLOGNAME|GREETING)=' | sort
  echo "LINK=$(ip -o link show "$1" 2>&1)"
}} > "$out.tmp"
mv "$out.tmp" "$out"
"""


def _read(path: Path, timeout: float = 10.0) -> tuple[list[str], dict[str, str]]:
    _wait(path.exists, timeout, str(path))
    args: list[str] = []
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "ARG":
            args.append(value)
        else:
            env[key] = value
    return args, env


def test_auth_up_ip_pre_up_and_disconnect_run_as_pppd_runs_them(lab: Lab) -> None:
    server_dir, _ = config_dirs(lab)
    out = lab.tmp / "hook"
    for name in ("auth-up", "auth-down", "ip-pre-up", "ip-up"):
        script = server_dir / name
        script.write_text(_RECORD.format(out=out))
        script.chmod(0o755)
    # An ip-down that never ends: child-timeout 1 lets the server exit all the same.
    slow = server_dir / "ip-down"
    slow.write_text(f"#!/bin/sh\necho started > {out}.ip-down\nexec sleep 60\n")
    slow.chmod(0o755)
    # The disconnect script has the line on standard input and output, as pppd's.
    disconnect = lab.tmp / "disconnect.sh"
    disconnect.write_text(f"#!/bin/sh\ntty > {out}.disconnect\nprintf 'ATH0\\r'\n")
    disconnect.chmod(0o755)
    with NullModemCable() as cable:
        # noipv6: with IPv6CP up first the interface would be up before ip-pre-up, as in pppd.
        server = serve(
            lab,
            cable.ends[0],
            *("115200", "child-timeout", "1", "set", "GREETING=hello", "noipv6", "debug"),
        )
        server.wait_for(READY, 10)
        welcome = lab.tmp / "welcome.sh"
        welcome.write_text(f"#!/bin/sh\ntty > {out}.welcome\n")
        welcome.chmod(0o755)
        client = dial(lab, cable.ends[1], "disconnect", str(disconnect), "welcome", str(welcome))
        server.wait_for(UP, 15)
        client.wait_for(UP, 5)

        pre_args, pre_env = _read(Path(f"{out}.ip-pre-up"))
        up_args, up_env = _read(Path(f"{out}.ip-up"))
        ifname = pre_args[0]
        # ip-pre-up: ip-up's arguments; the interface has its addresses but is still down.
        assert pre_args == up_args == [ifname, cable.ends[0], "115200", SERVER_IP, CLIENT_IP, ""]
        assert re.search(r"<[^>]*\bUP\b", pre_env["LINK"]) is None, pre_env["LINK"]
        assert re.search(r"<[^>]*\bUP\b", up_env["LINK"]), up_env["LINK"]
        assert pre_env["GREETING"] == up_env["GREETING"] == "hello"  # `set`
        # auth-up: interface-name peer-name user-name tty-device speed
        # welcome: after the connect script (none here), on the line, before PPP.
        assert Path(f"{out}.welcome").read_text().strip() == cable.ends[1]
        auth_args, auth_env = _read(Path(f"{out}.auth-up"))
        assert auth_args == [ifname, USER, auth_env["PPPLOGNAME"], cable.ends[0], "115200"]
        assert auth_env["PEERNAME"] == USER

        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        # disconnect: after the link, on the line.
        _wait(Path(f"{out}.disconnect").exists, 5, "the disconnect script")
        assert Path(f"{out}.disconnect").read_text().strip() == cable.ends[1]
        assert client.find(r"^Serial link disconnected\.$"), _logs(client)
        ended = time.monotonic()
        assert server.wait(15) == ExitStatus.OK, _logs(server)
        assert time.monotonic() - ended < 10  # child-timeout 1, not ip-down's 60 s
        assert Path(f"{out}.ip-down").read_text() == "started\n"
        down_args, _ = _read(Path(f"{out}.auth-down"))
        assert down_args == auth_args
        assert server.find(r"^sending SIGTERM to process \d+$"), _logs(server)
        assert "Traceback" not in server.text + client.text


# -- 5. pty and notty: the classic `pty "ssh host pppd notty"` shape ----------------------------


def test_pty_command_reaches_a_notty_server_and_carries_a_ping(lab: Lab) -> None:
    server_dir, _ = config_dirs(lab)
    # What ssh would run on the far host: a pyppp serve on its standard input and output (its
    # log on standard error with `logfd 2`, which comes back to us through the pty command).
    far_end = " ".join(
        [
            "ip netns exec",
            lab.a.name,
            sys.executable,
            "-m pyppp serve notty logfd 2 --auth pap --config-dir",
            str(server_dir),
            f"{SERVER_IP}:{CLIENT_IP}",
            *FAST,
        ]
    )
    # `pty COMMAND` stands where the device would (the command is the word after `pty`).
    client = lab.pyppp(
        "client",
        lab.b,
        "dial",
        "pty",
        far_end,
        *("--user", USER, "--config-dir", str(lab.tmp / "client"), "noauth", *FAST, "debug"),
        # pppd's record (pppdump's format) and datarate (the pty shunt's pacing), on the way
        *("record", str(lab.tmp / "line.rec"), "datarate", "200000"),
    )
    try:
        client.wait_for(UP, 20)
        client.wait_for(r"^PAP peer authentication succeeded for zaphod$", 5)  # the far end
        assert client.find(r"^Connect: ppp\d+ <--> /dev/pts/\d+$"), _logs(client)
        lab.a.wait_address(SERVER_IP)
        lab.b.wait_address(CLIENT_IP)
        ping(lab.b, SERVER_IP, count=3, size=1000)
        client.signal(signal.SIGTERM)
        assert client.wait(15) == ExitStatus.USER_REQUEST, _logs(client)
        # The far end saw the Terminate-Request and is gone, with its interface.
        assert client.find(r"^LCP terminated by peer"), _logs(client)
        _wait(lambda: _ppp_links(lab.a) == [], 10, "the notty server's interface to go")
        _wait(lambda: _processes_with(str(server_dir)) == [], 10, "the far end to exit")
        sent, received = _replay_record(lab.tmp / "line.rec")
        # Both directions hold LCP (c0 21, its first byte escaped while the ACCM is all ones).
        assert b"\xc0\x21" in sent.replace(b"\x7d\xe0", b"\xc0")
        assert b"\xc0\x21" in received.replace(b"\x7d\xe0", b"\xc0")
        assert len(sent) > 3000  # the 1000-byte pings
        assert "Traceback" not in client.text
    finally:
        client.stop()


def _replay_record(path: Path) -> tuple[bytes, bytes]:
    """Read a record file as pppdump(8) does: (bytes sent, bytes received)."""
    data = path.read_bytes()
    assert data[0] == 7, data[:8]  # the start marker and the time
    sent, received = bytearray(), bytearray()
    i = 5
    while i < len(data):
        code = data[i]
        if code in (1, 2):
            size = int.from_bytes(data[i + 1 : i + 3], "big")
            (sent if code == 1 else received).extend(data[i + 3 : i + 3 + size])
            i += 3 + size
        elif code == 5:
            i += 5
        elif code == 6:
            i += 2
        else:
            assert code in (3, 4), (i, code)
            i += 1
    return bytes(sent), bytes(received)


def _processes_with(text: str) -> list[int]:
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if text.encode() in path.read_bytes():
                found.append(int(path.parent.name))
    return [pid for pid in found if alive(pid)]


# -- 6. demand ----------------------------------------------------------------------------------


def test_demand_dials_on_a_ping_hangs_up_when_idle_and_dials_again(lab: Lab) -> None:
    with NullModemCable() as cable:
        server, client = demand_call(lab, cable.ends, "debug")
        # The interface is there, with its addresses, before any call.
        lab.b.wait_address(CLIENT_IP, timeout=15)
        assert client.find(r"^Using interface ppp\d+$"), _logs(client)
        assert not client.find(READY), _logs(client)
        assert not client.find(r"^sent \[LCP"), _logs(client)

        # The first packet dials; it waits and goes once IPCP is up.
        ping(lab.b, SERVER_IP, count=3, wait=8)
        assert _count(client, r"^Starting link$") == 1, _logs(client)
        client.wait_for(UP, 1)
        # idle 2: the link goes, the process and the interface stay.
        client.wait_for(r"^Terminating connection due to lack of activity\.$", 15)
        wait_count(server, READY, 2)  # the server answers again (persist)
        assert client.proc.poll() is None, _logs(client)
        lab.b.wait_address(CLIENT_IP, timeout=1)

        ping(lab.b, SERVER_IP, count=2, wait=8)
        wait_count(client, r"^Starting link$", 2)
        wait_count(client, READY, 2)
        client.signal(signal.SIGTERM)
        assert client.wait(15) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert _ppp_links(lab.b) == []
        server.signal(signal.SIGTERM)
        assert server.wait(10) == ExitStatus.USER_REQUEST, _logs(server)
        assert "Traceback" not in client.text + server.text


# -- 7. Debian's stock options file, for both roles ------------------------------------------------


def test_debian_stock_options_file_works_unchanged_for_serve_and_dial(lab: Lab) -> None:
    server_dir, client_dir = config_dirs(lab)
    for folder in (server_dir, client_dir):
        shutil.copy(VECTORS / "debian-12-options", folder / "options")
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0], "--lock-dir", str(lock_dir))
        server.wait_for(READY, 10)
        client = dial(lab, cable.ends[1], "--lock-dir", str(lock_dir))
        server.wait_for(UP, 15)
        client.wait_for(UP, 5)
        ping(lab.b, SERVER_IP, count=2)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        for process in (server, client):
            assert "noipx" not in process.text  # accepted quietly, as pppd
            assert "Can't open" not in process.text
        assert list(lock_dir.iterdir()) == []


# -- 8. default routes -------------------------------------------------------------------------


def _default_routes(ns: Netns) -> str:
    return subprocess.run(
        ["ip", "-n", ns.name, "-4", "route", "show", "default"], capture_output=True, text=True
    ).stdout


def test_replacedefaultroute_and_defaultroute_metric(lab: Lab) -> None:
    config_dirs(lab)
    for command in (
        ["ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"],
        ["ip", "addr", "add", "10.99.50.1/24", "dev", "eth9"],
        ["ip", "link", "set", "eth9", "up"],
        ["ip", "link", "set", "eth9p", "up"],
        ["ip", "route", "add", "default", "via", "10.99.50.254"],
    ):
        lab.b.run(command, check=True)
    before = _default_routes(lab.b)
    with NullModemCable() as cable:
        server = serve(lab, cable.ends[0], "persist", "holdoff", "0")
        server.wait_for(READY, 10)
        # Without replacedefaultroute: pppd's line, and the old route stays.
        client = dial(lab, cable.ends[1], "defaultroute")
        client.wait_for(UP, 15)
        client.wait_for(r"^not replacing default route to eth9 \[10\.99\.50\.254\]$", 5)
        assert _default_routes(lab.b) == before
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(client)
        wait_count(server, READY, 2)

        # With it: ours replaces the old one, which comes back at the end.
        client = dial(lab, cable.ends[1], "defaultroute", "replacedefaultroute", label="c2")
        client.wait_for(UP, 15)
        client.wait_for(r"^replacing old default route to eth9 \[10\.99\.50\.254\]$", 5)
        routes = _default_routes(lab.b)
        assert re.search(r"default dev ppp\d+", routes), (routes, _logs(client))
        assert "10.99.50.254" not in routes
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(client)
        assert client.find(r"^restoring old default route to eth9 \[10\.99\.50\.254\]$")
        assert _default_routes(lab.b) == before, _logs(client)
        wait_count(server, READY, 3)

        # defaultroute-metric: only a default route with the same metric counts.
        client = dial(lab, cable.ends[1], "defaultroute", "defaultroute-metric", "50", label="c3")
        client.wait_for(UP, 15)
        _wait(lambda: "metric 50" in _default_routes(lab.b), 5, "the metric-50 route")
        assert "10.99.50.254" in _default_routes(lab.b)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(client)
        assert _default_routes(lab.b) == before
        server.signal(signal.SIGTERM)
        assert server.wait(10) == ExitStatus.USER_REQUEST


# -- 9. socket HOST:PORT --------------------------------------------------------------------------

# A pty whose master is joined to the first TCP connection on 127.0.0.1:PORT: the serving end
# opens the pty's slave, the dialer's `socket` connects.
_BRIDGE = r"""
import os, selectors, socket, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
print("pty", os.ttyname(slave), flush=True)
conn, _ = srv.accept()
sel = selectors.DefaultSelector()
sel.register(master, selectors.EVENT_READ)
sel.register(conn, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is conn:
            data = conn.recv(65536)
            if not data:
                sys.exit(0)
            os.write(master, data)
        else:
            conn.sendall(os.read(master, 65536))
"""


def test_socket_option_connects_the_line(lab: Lab) -> None:
    config_dirs(lab)
    bridge = lab.start("bridge", lab.b, [sys.executable, "-c", _BRIDGE, "2099"])
    _, line = bridge.wait_for(r"^pty /dev/pts/\d+$", 10)
    server = serve(lab, line.split()[1])
    server.wait_for(READY, 10)
    client = lab.pyppp(
        "client",
        lab.b,
        "dial",
        "socket",
        "127.0.0.1:2099",
        *("--user", USER, "--config-dir", str(lab.tmp / "client"), "noauth", *FAST),
    )
    server.wait_for(UP, 15)
    client.wait_for(UP, 5)
    assert client.find(r"^Connect: ppp\d+ <--> 127\.0\.0\.1:2099$"), _logs(client)
    ping(lab.b, SERVER_IP, count=2)
    client.signal(signal.SIGTERM)
    assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
    bad = lab.pyppp("bad", lab.b, "dial", "socket", "127.0.0.1:1", "noauth")
    assert bad.wait(10) == 9, _logs(bad)  # pppd: the pty/socket "command" failed
    assert bad.find(r"^Can't connect to 127\.0\.0\.1:1: "), _logs(bad)


# -- 10. up_sdnotify, maxoctets -------------------------------------------------------------------


def test_up_sdnotify_tells_systemd_and_maxoctets_ends_the_call(lab: Lab) -> None:
    config_dirs(lab)
    notify_path = lab.tmp / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(20)
    try:
        with NullModemCable() as cable:
            server = serve(lab, cable.ends[0])
            server.wait_for(READY, 10)
            env = dict(lab.env(), NOTIFY_SOCKET=str(notify_path))
            argv = lab.b.argv(
                [
                    *(sys.executable, "-m", "pyppp", "dial", cable.ends[1], "--user", USER),
                    *("--config-dir", str(lab.tmp / "client"), "noauth", *FAST),
                    *("up_sdnotify", "maxoctets", "3000", "mo-direction", "out"),
                ]
            )
            client = LoggedProcess("client", argv, env=env)
            lab.processes.append(client)
            # systemd's Type=notify: READY=1 once IP is up (pppd sd_notify), not before.
            assert listener.recv(64) == b"READY=1"
            client.wait_for(UP, 5)
            assert client.proc.poll() is None  # up_sdnotify implies nodetach
            with contextlib.suppress(AssertionError):  # the limit may cut the pings short
                ping(lab.b, SERVER_IP, count=4, size=1000)
            assert client.wait(15) == 20, _logs(client)  # pppd EXIT_TRAFFIC_LIMIT
            line = client.find(r"^Traffic limit reached\. Limit: 3000 Used: (\d+)$")
            assert line is not None, _logs(client)
            assert server.wait(10) == ExitStatus.OK, _logs(server)
    finally:
        listener.close()
