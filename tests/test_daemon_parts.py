"""The daemon's parts that need no namespace: record files, pid files, signals, scripts, demand."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pyppp.aio.daemon import PidFiles, read_pid_file
from pyppp.aio.demand import QUEUE_PACKETS, DemandInterface, DemandMode, made_up_addresses
from pyppp.aio.ipv6 import Ipv6Side
from pyppp.aio.scripts import ScriptPair, ScriptRunner
from pyppp.aio.signals import FATAL, handled_signals
from pyppp.events import Ipv6Up
from pyppp.pppd.record import RecordEncoder

# -- record (pppdump's format, pppd tty.c record_write) ------------------------------------------


def test_record_encoding() -> None:
    encoder = RecordEncoder(1_700_000_000.0)
    assert encoder.start() == b"\x07" + (1_700_000_000).to_bytes(4, "big")
    assert encoder.sent(b"\x7e\xff", 1_700_000_000.05) == b"\x01\x00\x02\x7e\xff"  # < 0.1 s
    assert encoder.received(b"ab", 1_700_000_000.35) == b"\x06\x03" + b"\x02\x00\x02ab"
    long_pause = encoder.sent(b"x", 1_700_000_100.35)  # 100 s = 1000 tenths: 4-byte delay
    assert long_pause == b"\x05" + (1000).to_bytes(4, "big") + b"\x01\x00\x01x"
    big = encoder.received(b"z" * 70000, 1_700_000_100.35)
    assert big[:3] == b"\x02\xff\xff"
    assert len(big) == 70000 + 6  # split into two entries
    assert encoder.end(1_700_000_100.35) == b"\x03\x04"


# -- pid files ----------------------------------------------------------------------------------


def test_pid_files_as_pppd_writes_them(tmp_path: Path) -> None:
    files = PidFiles(tmp_path, "lab")
    files.link_started()
    assert (tmp_path / "ppp-lab.pid").read_text() == f"{os.getpid()}\n"
    files.interface_up("ppp3")
    # pppd 2.4.9: the interface's file holds the pid; the linkname's the pid and the name.
    assert (tmp_path / "ppp3.pid").read_text() == f"{os.getpid()}\n"
    assert (tmp_path / "ppp-lab.pid").read_text() == f"{os.getpid()}\nppp3\n"
    assert read_pid_file(tmp_path / "ppp-lab.pid") == (os.getpid(), "ppp3")
    files.remove()
    assert list(tmp_path.iterdir()) == []
    assert read_pid_file(tmp_path / "ppp3.pid") is None


def test_pid_file_failure_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    PidFiles(tmp_path / "missing", None).interface_up("ppp0")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"Failed to create pid file {tmp_path / 'missing' / 'ppp0.pid'}"
    ]


# -- signals ------------------------------------------------------------------------------------


def test_every_deadly_signal_is_handled() -> None:
    handled = set(handled_signals())
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        assert signum in handled
    for signum in (signal.SIGQUIT, signal.SIGALRM, signal.SIGXCPU, signal.SIGSEGV):
        assert signum in FATAL
    assert signal.SIGRTMIN + 3 in FATAL  # pppd leaves these deadly; pyppp cleans up
    for signum in (signal.SIGCHLD, signal.SIGWINCH, signal.SIGCONT, signal.SIGPIPE):
        assert signum not in handled
    assert signal.SIGKILL not in handled


# -- scripts ------------------------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


async def _until(condition: Callable[[], object]) -> None:
    """Let the loop (and the scripts) run until ``condition`` holds (callers bound the wait)."""
    while not condition():
        await asyncio.sleep(0.005)


def test_down_script_waits_for_its_up_script(tmp_path: Path) -> None:
    log = tmp_path / "log"
    gate = tmp_path / "gate"
    up = _script(
        tmp_path / "up",
        f'echo "up $1 $IFNAME $X" >> {log}\n'
        f"while [ ! -e {gate} ]; do sleep 0.01; done\n"  # runs until the test lets it end
        f"echo up-end >> {log}\n",
    )
    down = _script(tmp_path / "down", f'echo "down $1 ${{X-unset}}" >> {log}\n')

    async def main() -> None:
        runner = ScriptRunner(user_env=[("X", "1")])
        pair = ScriptPair(runner, up, down)
        pair.up(["ppp0"], {"IFNAME": "ppp0"})
        await _until(lambda: runner.running == 1)  # the up script's environment is made
        runner.user_env = (("X", None),)  # unset applies to the next script
        pair.down(["ppp0"], {})
        for _ in range(10):
            await asyncio.sleep(0)  # the pair looks at its state (a few loop turns)
        assert pair.state  # the down script waits for the up one
        assert runner.running == 1
        gate.touch()
        await _until(lambda: not pair.state and not pair.busy and not runner.running)

    asyncio.run(asyncio.wait_for(main(), 30))
    assert log.read_text().splitlines() == ["up ppp0 ppp0 1", "up-end", "down ppp0 unset"]


def test_missing_scripts_still_change_state(tmp_path: Path) -> None:
    log = tmp_path / "log"
    down = _script(tmp_path / "down", f"echo down >> {log}\n")

    async def main() -> None:
        runner = ScriptRunner()
        pair = ScriptPair(runner, tmp_path / "no-up", down)
        pair.up([], {})
        await _until(lambda: pair.state and not pair.busy)  # up, with no script to run
        pair.down([], {})
        await _until(lambda: not pair.state and not pair.busy and not runner.running)

    asyncio.run(asyncio.wait_for(main(), 30))
    assert log.read_text() == "down\n"


def test_child_timeout_ends_scripts_with_sigterm(tmp_path: Path) -> None:
    marker, ready = tmp_path / "got-term", tmp_path / "ready"
    # It would run for ten minutes; only the SIGTERM that ends the wait ends it sooner.
    slow = _script(
        tmp_path / "slow",
        f"trap 'echo term > {marker}; kill $!; exit 3' TERM\ntouch {ready}\nsleep 600 & wait\n",
    )

    async def main() -> int:
        runner = ScriptRunner()
        task = await runner.start(slow, [], {})
        assert task is not None
        await _until(ready.exists)  # the trap is set
        await runner.finish(0.3)  # child-timeout 0.3
        return await task

    assert asyncio.run(asyncio.wait_for(main(), 60)) == 3
    assert marker.read_text() == "term\n"


def test_ip_pre_up_is_waited_for(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pre = _script(tmp_path / "pre", f'echo "$# $1 $6 $IPLOCAL $PATH" > {out}\nexit 4\n')
    status = ScriptRunner().run_and_wait(
        pre, ["ppp0", "", "115200", "a", "b", "x"], {"IPLOCAL": "a"}
    )
    assert status == 4
    args, first, sixth, local, path = out.read_text().split()
    assert (args, first, sixth, local) == ("6", "ppp0", "x", "a")
    assert "/usr/sbin" in path


def test_a_script_that_cannot_run_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # pppd run_program: silence for a missing script, a warning for one that cannot run;
    # waited for (ip-pre-up) or not.
    plain = tmp_path / "ip-pre-up"
    plain.write_text("#!/bin/sh\n")  # no execute bit
    runner = ScriptRunner()
    assert runner.run_and_wait(tmp_path / "missing", [], {}) is None
    assert caplog.messages == []
    assert runner.run_and_wait(plain, [], {}) is None
    assert asyncio.run(runner.start(plain, [], {})) is None
    assert caplog.messages == [f"Can't execute {plain}: not an executable file"] * 2


# -- demand -------------------------------------------------------------------------------------


class _FakeTun:
    name = "ppp9"

    def __init__(self) -> None:
        self.configured: list[tuple[IPv4Address, IPv4Address, int]] = []

    def configure(self, local: IPv4Address, remote: IPv4Address, mtu: int) -> None:
        self.configured.append((local, remote, mtu))


def _ip(n: int) -> bytes:
    return bytes([0x45]) + n.to_bytes(3, "big") + bytes(16)


def test_demand_queues_triggers_and_flushes() -> None:
    async def main() -> None:
        tun = _FakeTun()
        demand = DemandInterface(tun, IPv4Address("10.99.0.1"), IPv4Address("10.99.0.2"))  # type: ignore[arg-type]
        demand.dormant()
        assert not demand.triggered.is_set()
        demand.on_packets([b"\x60" + bytes(39)])  # IPv6 does not dial
        assert not demand.triggered.is_set()
        demand.on_packets([_ip(1), _ip(2)])
        assert demand.triggered.is_set()
        demand.connecting()
        demand.on_packets([_ip(n) for n in range(3, QUEUE_PACKETS + 10)])
        sent: list[bytes] = []

        def send(packets: list[bytes]) -> int:
            sent.extend(packets)
            return len(packets)

        demand.passing(send)
        assert sent[:2] == [_ip(1), _ip(2)]
        assert len(sent) == QUEUE_PACKETS  # bounded; the rest dropped and counted
        assert demand.dropped == 1 + 9
        demand.on_packets([_ip(999)])
        assert sent[-1] == _ip(999)
        assert demand.mode is DemandMode.PASSING
        demand.discarding()
        demand.on_packets([_ip(1000)])
        assert sent[-1] == _ip(999)
        demand.readdress(IPv4Address("10.99.0.5"), IPv4Address("10.99.0.2"), 1500)
        assert tun.configured == [(IPv4Address("10.99.0.5"), IPv4Address("10.99.0.2"), 1500)]

    asyncio.run(main())


def test_made_up_addresses_are_pppds() -> None:
    assert made_up_addresses(None, None, 2) == (
        IPv4Address("10.64.64.66"),
        IPv4Address("10.112.112.114"),
    )
    given = IPv4Address("10.99.0.1")
    assert made_up_addresses(given, None, 0)[0] == given


# -- logging: one log descriptor, as pppd ---------------------------------------------------------


def test_one_log_descriptor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pyppp.aio.logs import LogSetup

    logs = LogSetup(syslog=False)
    logs.root.info("to stdout")
    logs.close()
    logs = LogSetup(syslog=False)
    logs.detached()  # pppd: log_to_fd = -1 once detached (the default descriptor only)
    logs.root.info("after detaching")
    assert capsys.readouterr().out == "to stdout\n"
    logs.close()
    logfile = tmp_path / "log"
    logs = LogSetup(logfile=str(logfile), syslog=False)
    logs.root.info("to the file")
    logs.detached()
    logs.root.info("still to the file")
    logs.close()
    assert capsys.readouterr().out == ""  # logfile replaces stdout, as pppd's log_to_fd
    assert logfile.read_text() == "to the file\nstill to the file\n"
    logs = LogSetup(logfd=-1, syslog=False)  # nolog
    logs.root.info("nowhere")
    assert logs.stream is None
    assert capsys.readouterr().out == ""
    logs.close()
    logs = LogSetup(syslog=False, foreground=False)
    assert logs.toggle_debug()
    assert not logs.toggle_debug()  # SIGUSR1: debug = !debug
    logs.close()


class _Ipv6Tun:
    """What :class:`~pyppp.aio.ipv6.Ipv6Side` asks of the interface, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def configure_ipv6(self, local: IPv6Address, remote: IPv6Address | None, mtu: int) -> None:
        self.calls.append(("configure", local, remote, mtu))

    def add_ipv6_default_route(self, metric: int = 0) -> bool:
        self.calls.append(("route", metric))
        return True

    def down_ipv6(self) -> None:
        self.calls.append(("down",))


def test_ipv6_scripts_run_from_the_paths_given(tmp_path: Path) -> None:
    # ipv6-up-script/ipv6-down-script (pppd 2.5) choose the paths; the config dir's ipv6-up
    # is there too, and must not run.
    log = tmp_path / "log"
    for name in ("ipv6-up", "ipv6-down"):
        _script(tmp_path / name, f"echo 'config dir {name}' >> {log}\n")
    up = _script(tmp_path / "my-up6", f'echo "up $* $LLLOCAL $LLREMOTE $IFNAME" >> {log}\n')
    down = _script(tmp_path / "my-down6", f'echo "down $* $LLLOCAL" >> {log}\n')
    tun = _Ipv6Tun()
    event = Ipv6Up(IPv6Address("fe80::1"), IPv6Address("fe80::2"), 1400)

    async def main() -> None:
        runner = ScriptRunner()
        side = Ipv6Side(
            tun,  # type: ignore[arg-type]
            runner,
            up_script=up,
            down_script=down,
            defaultroute=True,
            metric=300,
        )
        assert side.up(event, ["ppp0", "/dev/ttyS1", "115200"], "lab", {"IFNAME": "ppp0"}) is None
        await asyncio.gather(*side.tasks)
        await runner.finish(None)  # the up script has ended before the down one starts
        side.down(["ppp0", "/dev/ttyS1", "115200"], "lab", {})
        await asyncio.gather(*side.tasks)  # the down script is waited for

    asyncio.run(main())
    assert tun.calls == [
        ("configure", IPv6Address("fe80::1"), IPv6Address("fe80::2"), 1400),
        ("route", 300),
        ("down",),
    ]
    one, two = "fe80::0000:0000:0000:0001", "fe80::0000:0000:0000:0002"
    assert log.read_text().splitlines() == [
        f"up ppp0 /dev/ttyS1 115200 {one} {two} lab {one} {two} ppp0",
        f"down ppp0 /dev/ttyS1 115200 {one} {two} lab {one}",
    ]


# -- the supervisor's decisions ---------------------------------------------------------------


def _supervisor(text: str, tmp_path: Path) -> object:
    from pyppp.aio.supervisor import Supervisor
    from pyppp.pppd.options import options_from_words
    from pyppp.pppd.words import parse_words

    options = options_from_words(parse_words(text, "t"))
    supervisor = Supervisor(options, config_dir=tmp_path, lock_dir=tmp_path, serving=False)
    supervisor.logs.close()  # leave the pyppp logger as the other tests expect it
    return supervisor


def test_script_paths_and_holdoff(tmp_path: Path) -> None:
    sup = _supervisor("ip-up-script /opt/up", tmp_path)
    assert sup.script("ip-up") == Path("/opt/up")  # type: ignore[attr-defined]
    assert sup.script("ip-down") == tmp_path / "ip-down"  # type: ignore[attr-defined]
    sup = _supervisor("ipv6-up-script /opt/up6 ipv6-down-script /opt/down6", tmp_path)
    assert sup.script("ipv6-up") == Path("/opt/up6")  # type: ignore[attr-defined]
    assert sup.script("ipv6-down") == Path("/opt/down6")  # type: ignore[attr-defined]
    assert _supervisor("", tmp_path).script("ipv6-up") == tmp_path / "ipv6-up"  # type: ignore[attr-defined]
    # pppd: "default holdoff to 0 if no connect script has been given"
    assert _supervisor("persist", tmp_path)._holdoff() == 0  # type: ignore[attr-defined]
    assert _supervisor("persist holdoff 7", tmp_path)._holdoff() == 7  # type: ignore[attr-defined]
    assert _supervisor("persist connect true", tmp_path)._holdoff() == 30  # type: ignore[attr-defined]


@pytest.fixture
def syslog(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """What pyppp's syslog handler sends, as (ident, message, priority), with no syslog daemon."""
    import logging

    from pyppp.aio import logs as logs_module

    sent: list[tuple[str, str, str]] = []

    class FakeSyslog(logs_module._SysLogHandler):
        def __init__(self, address: str, facility: int) -> None:
            logging.Handler.__init__(self)
            self.facility = facility
            self.socket = None

        def emit(self, record: logging.LogRecord) -> None:
            sent.append((self.ident, self.format(record), self.mapPriority(record.levelname)))

    monkeypatch.setattr(logs_module, "_SysLogHandler", FakeSyslog)
    return sent


def test_syslog_ident_is_pppds_by_default(
    monkeypatch: pytest.MonkeyPatch, syslog: list[tuple[str, str, str]]
) -> None:
    from pyppp.aio import logs as logs_module

    sent = syslog
    monkeypatch.setattr(os.path, "exists", lambda path: True)  # the module's os.path
    for ident in ("pppd", "pyppp"):
        logs = logs_module.LogSetup(ident=ident, foreground=False)
        logs.root.log(25, "Connect: ppp0 <--> /dev/ttyS1")
        logs.to_syslog_only(25, "pyppp %s started by %s, uid %d", "0.1", "root", 0)
        logs.close()
    pid = os.getpid()
    assert sent == [
        (f"pppd[{pid}]: ", "Connect: ppp0 <--> /dev/ttyS1", "notice"),
        (f"pppd[{pid}]: ", "pyppp 0.1 started by root, uid 0", "notice"),
        (f"pyppp[{pid}]: ", "Connect: ppp0 <--> /dev/ttyS1", "notice"),
        (f"pyppp[{pid}]: ", "pyppp 0.1 started by root, uid 0", "notice"),
    ]


@pytest.mark.parametrize(("flags", "ident"), [((), "pppd"), (("--syslog-ident", "dsl"), "dsl")])
def test_syslog_ident_flag_through_the_command_line(
    flags: tuple[str, ...],
    ident: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    syslog: list[tuple[str, str, str]],
) -> None:
    """``pyppp dial --syslog-ident``, parsed by the real command line, names the syslog lines."""
    from pyppp.cli import main

    sent = syslog
    exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda path: path == "/dev/log" or exists(path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYPPP_RUNTIME_DIR", str(tmp_path))
    missing = str(tmp_path / "ttyNONE")
    dirs = [f"--{name}-dir" for name in ("config", "lock", "run")]
    argv = ["dial", missing, *flags, *(w for d in dirs for w in (d, str(tmp_path)))]
    # A real run: pppd's start line, the device refused (status 7), "Exit.", all to syslog.
    assert main([*argv, "nodetach", "noauth"]) == 7
    pid = os.getpid()
    assert {who for who, _, _ in sent} == {f"{ident}[{pid}]: "}
    lines = [line for _, line, _ in sent]
    assert re.match(r"pyppp \S+ started by \S+, uid \d+$", lines[0]), lines
    assert any(missing in line for line in lines[1:-1]), lines
    assert lines[-1] == "Exit."
    assert missing in capsys.readouterr().out  # nodetach: the lines on stdout too, as pppd
