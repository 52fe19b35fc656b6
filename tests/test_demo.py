"""``pyppp demo``: the in-process part always, the full namespaces demo as root."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pyppp.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_in_process_demo(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo", "--no-root"])
    out = capsys.readouterr().out
    assert status == 0, out
    # pppd's trace and lines, from both sides, with the side prefixed.
    assert "server| sent [LCP ConfReq id=0x1 <asyncmap 0x0> <auth pap> <magic 0x" in out
    assert 'client| sent [PAP AuthReq id=0x1 user="zaphod" password=<hidden>]' in out
    assert "server| PAP peer authentication succeeded for zaphod" in out
    assert "client| PAP authentication succeeded" in out
    assert "client| rcvd [LCP EchoRep id=0x0 magic=0x" in out
    assert "client| local  IP address 10.99.1.2" in out
    assert "server| remote IP address 10.99.1.2" in out
    assert "server| LCP terminated by peer (User request)" in out
    assert "exit statuses as pppd's: client 5, server 0" in out
    assert "gargleBlaster" not in out
    assert out.rstrip().endswith("demo: OK")


def test_without_root_says_so_and_runs_the_in_process_part(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status = main(["demo"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("pyppp demo: not running as root"), out
    assert "running the in-process part only" in out
    assert out.rstrip().endswith("demo: OK")


def test_in_process_demo_leaves_logging_as_it_was() -> None:
    import logging

    logger = logging.getLogger("pyppp")
    before = (logger.level, logger.propagate, list(logger.handlers))
    assert main(["demo", "--no-root"]) == 0
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def _netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and ip(8)"
)


def _start_demo(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "pyppp", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _leftovers(pid: int) -> list[str]:
    """Namespaces and processes the demo with this pid made and left behind."""
    names = [n for n in _netns_names() if n.startswith(f"pyppp-demo-{pid}-")]
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    tmp = [line for line in ps.splitlines() if "/pyppp-demo-" in line and "pyppp" in line]
    return names + tmp


@pytest.mark.root
@pytest.mark.slow
@needs_root
def test_full_demo_as_root() -> None:
    proc = _start_demo("--megabytes", "2")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "server| PAP peer authentication succeeded for zaphod" in out
    assert "client| remote IP address 10.99.1.1" in out
    assert "3 packets transmitted, 3 received" in out
    assert "sha256 equal" in out
    assert "exit statuses: client 5" in out
    assert out.rstrip().endswith("demo: OK (namespaces, processes and temporary files removed)")
    assert _leftovers(proc.pid) == [], out


@pytest.mark.root
@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_full_demo_cleans_up_when_interrupted(signum: int) -> None:
    proc = _start_demo("--megabytes", "2")
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("client| remote IP address"):
            break
    else:
        pytest.fail("".join(seen))
    assert _leftovers(proc.pid), "the demo should be running its lab now"
    proc.send_signal(signum)
    rest, _ = proc.communicate(timeout=30)
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert "interrupted; everything it made is removed" in out
    assert "Traceback" not in out, out
    assert _leftovers(proc.pid) == [], out


def test_in_process_failure_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyppp.cli.demo

    wrong = functools.partial(pyppp.cli.demo._in_process, client_password="towel")
    monkeypatch.setattr(pyppp.cli.demo, "_in_process", wrong)
    status = main(["demo", "--no-root"])
    captured = capsys.readouterr()
    assert status == 1
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("pyppp demo: FAILED: the link did not come up"), captured.err
    assert "server| PAP peer authentication failed for zaphod" in captured.out
    assert "Traceback" not in captured.err + captured.out
