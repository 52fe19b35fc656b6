"""The Windows direct-cable handshake (``CLIENT``/``CLIENTSERVER``) between two pyppp processes.

Every pairing a HOWTO reader can build: pyppp's native handshake in both roles
(``serve --windows``, ``dial --windows``), a ``serve --windows`` answering a plain PPP dialer,
and the Serial-Laplink-HOWTO's chat scripts run through ``connect`` (the server's
``winclient.chat`` waits for ``CLIENT`` and answers ``CLIENTSERVER``; the client's
``winserver.chat`` just sends ``CLIENT``) against the native handshake and against each other.
In each case IP must come up on both sides and both must end cleanly.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pyppp.aio.cable import NullModemCable
from pyppp.errors import ExitStatus

from .netns import CLIENT_IP, SERVER_IP, Lab, LoggedProcess, ping, start_call

UP = r"^remote IP address "

# The HOWTO's scripts (Serial-Laplink-HOWTO §2.4 and §3.2), byte for byte in meaning.
WINCLIENT_CHAT = "TIMEOUT 3600\nCLIENT CLIENTSERVER\\c\n"
WINSERVER_CHAT = "TIMEOUT 10\n'' CLIENT\\c\n"

# server side, client side: "native" (--windows), "chat" (connect + HOWTO script), "plain"
CASES = [
    ("native", "native"),
    ("native", "plain"),
    ("chat", "native"),
    ("native", "chat"),
    ("chat", "chat"),
]


def _wait_open(process: LoggedProcess, device: str, timeout: float = 10.0) -> None:
    """Wait until ``process`` has ``device`` open (it prints nothing before the handshake)."""
    target = os.path.realpath(device)
    fd_dir = Path(f"/proc/{process.pid}/fd")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            break
        try:
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) == target:
                        return
                except OSError:
                    continue
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{process.label} never opened {device}:\n{process.text}")


def _logs(*processes: LoggedProcess) -> str:
    return "\n".join(f"--- {p.label} (status {p.proc.poll()}):\n{p.text}" for p in processes)


@pytest.mark.parametrize(("server_kind", "client_kind"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_windows_handshake_pairings(
    lab: Lab, server_kind: str, client_kind: str, report_figure: Callable[[str, str], None]
) -> None:
    scripts = lab.tmp / "scripts"
    scripts.mkdir()
    (scripts / "winclient.chat").write_text(WINCLIENT_CHAT)
    (scripts / "winserver.chat").write_text(WINSERVER_CHAT)
    server_extra = {
        "native": ["--windows"],
        "chat": ["connect", f"chat -v -f {scripts / 'winclient.chat'}"],
    }[server_kind]
    client_extra = {
        "native": ["--windows"],
        "chat": ["connect", f"chat -v -f {scripts / 'winserver.chat'}"],
        "plain": [],
    }[client_kind]
    with NullModemCable() as cable:

        def ready(server: LoggedProcess) -> None:
            _wait_open(server, cable.ends[0])
            if server_kind == "chat":
                server.wait_for(r"^expect \(CLIENT\)$", 10)

        call = start_call(
            lab,
            cable.ends,
            server_words=("lcp-restart", "1", "debug", *server_extra),
            client_words=("lcp-restart", "1", "debug", *client_extra),
            server_ready=ready,
        )
        server, client = call.server, call.client
        up = [p.wait_for(UP, 15)[0] for p in (server, client)]
        wall = max(up) - client.started_at
        logs = _logs(server, client)
        assert server.find(rf"^remote IP address {CLIENT_IP}$"), logs
        assert client.find(rf"^remote IP address {SERVER_IP}$"), logs
        if server_kind == "chat":
            assert server.find(r"^Serial connection established\.$"), logs
        if client_kind == "chat":
            assert client.find(r"^Serial connection established\.$"), logs
        if server_kind == "native":
            # The HOWTO client script sends CLIENT and starts PPP at once, so CLIENT and the
            # first frame may arrive together: then no CLIENTSERVER answer is needed.
            how = "PPP frame without CLIENT" if client_kind == "plain" else "Windows client"
            assert server.find(rf"^dcc server: {how}; PPP starts"), logs
        if client_kind == "native":
            assert client.find(r"^dcc client: got SERVER; PPP starts"), logs
        ping(lab.b, SERVER_IP, count=1)
        client.signal(signal.SIGTERM)
        assert client.wait(10) == ExitStatus.USER_REQUEST, _logs(server, client)
        assert server.wait(10) == ExitStatus.OK, _logs(server, client)
        for process in (server, client):
            assert "Traceback" not in process.text, _logs(server, client)
    report_figure(
        f"windows {server_kind} server / {client_kind} client link-up (wall)",
        f"{wall * 1000:.0f} ms",
    )
