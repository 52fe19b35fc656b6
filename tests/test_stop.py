"""``pyppp stop``: poff's job through the pid files (no namespace needed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def stop(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "pyppp", "stop", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two stand-ins for running links: processes whose command line names pyppp."""
    started: list[subprocess.Popen[bytes]] = []
    for _ in range(2):
        started.append(
            subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(60)", "pyppp-link"],
                start_new_session=True,
                # SIGHUP as a daemon has it, even when the tests run under nohup (which
                # leaves it ignored in every child, so stop's SIGHUP would end nothing).
                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
            )
        )
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_stop_by_linkname_interface_or_the_only_one(
    tmp_path: Path, daemons: list[subprocess.Popen[bytes]]
) -> None:
    first, second = daemons
    (tmp_path / "ppp-isp.pid").write_text(f"{first.pid}\nppp0\n")
    (tmp_path / "ppp0.pid").write_text(f"{first.pid}\n")
    (tmp_path / "ppp1.pid").write_text(f"{second.pid}\n")
    result = stop("--run-dir", str(tmp_path))
    assert result.returncode == 1
    assert "several links are running (isp, ppp1): name one" in result.stderr
    assert stop("-r", "ppp1", "--run-dir", str(tmp_path)).returncode == 0  # SIGHUP
    assert second.wait(10) == -signal.SIGHUP
    (tmp_path / "ppp1.pid").unlink()
    assert stop("--run-dir", str(tmp_path)).returncode == 0  # the one left: SIGTERM, waits
    assert first.poll() == -signal.SIGTERM
    assert stop("isp", "--run-dir", str(tmp_path)).returncode == 1  # gone now


def test_stale_pid_file_is_not_acted_on(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "ppp-old.pid").write_text(f"{dead.pid}\nppp4\n")
    (tmp_path / "ppp-init.pid").write_text("1\n")  # a pid that is not a PPP daemon
    result = stop("--run-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no link is running" in result.stderr
    assert "no link old is running" in stop("old", "--run-dir", str(tmp_path)).stderr
