"""Watching running links: ``pyppp status``, ``/metrics``, ``pcap`` and ``record`` files.

A ``pyppp serve`` (namespace a, with ``metrics``) and a ``pyppp dial`` (namespace b, with
``pcap`` and ``record``) on one cable: ``pyppp status --json`` lists both ends and their
counters grow by exactly what a ping carried; the server's ``/metrics`` (scraped inside its
namespace) has the same counters; with pppd's default options (CCP Deflate on), tshark reads
the dialer's pcap with directions and finds the ICMP inside, decompressed, both ways, while
pppdump (Debian's, from the ppp package) decodes its record file, where the same pings
crossed the line as CCP datagrams; the control sockets and everything else are gone after.
A throw-away user gets no answer from a control socket, whichever layer stops it (the
directory, the socket's mode, the peer-credentials check).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyppp.aio.cable import NullModemCable
from pyppp.pppd.optiontable import OPTION_WORDS, Kind

from .netns import CLIENT_IP, REPO, SERVER_IP, USER, Lab, LoggedProcess, ping, start_call

METRICS = "127.0.0.1:9100"  # inside namespace a: nothing else listens there
RECORD_SUPPORTED = OPTION_WORDS["record"].kind is not Kind.UNSUPPORTED


def _status(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "pyppp", "status", "--json", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=lab.env(),
    )
    return result.returncode, json.loads(result.stdout)


def _links_by_pid(document: dict[str, Any]) -> dict[int, dict[str, Any]]:
    links = document["links"]
    assert isinstance(links, list)
    return {link["pid"]: link for link in links}


def _wait_links(lab: Lab, pids: set[int], timeout: float = 10.0) -> dict[int, dict[str, Any]]:
    """Status, once every pid answers with its network up (the sockets appear as links start)."""
    deadline = time.monotonic() + timeout
    while True:
        _, document = _status(lab)
        links = _links_by_pid(document)
        if pids <= set(links) and all(links[p]["phase"] == "network" for p in pids):
            return links
        if time.monotonic() > deadline:
            raise AssertionError(f"not every link answered: {document}")
        time.sleep(0.2)


def _scrape(lab: Lab) -> dict[str, float]:
    code = (
        "import sys, urllib.request\n"
        "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n"
    )
    out = lab.a.run([sys.executable, "-c", code, f"http://{METRICS}/metrics"], check=True)
    samples = {}
    for line in out.stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


@pytest.fixture
def runtime_dir(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = lab.tmp / "run"
    monkeypatch.setenv("PYPPP_RUNTIME_DIR", str(path))  # lab.env() passes it on
    return path


def test_status_metrics_pcap_and_record_of_a_running_link(lab: Lab, runtime_dir: Path) -> None:
    pcap = lab.tmp / "client.pcap"
    record = lab.tmp / "client.record"
    capture = ["pcap", str(pcap)] + (["record", str(record)] if RECORD_SUPPORTED else [])
    # The counters are checked octet for octet: besides the pings only the keepalive's small
    # echoes may cross, so the adaptive send size's large probe echoes are off here. CCP is
    # on (Deflate, pppd's default): the pcap is to show the ICMP inside all the same.
    echo = ["lcp-echo-interval", "1", "noadaptive-mtu"]
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            server_words=("debug", "metrics", METRICS, *echo),
            client_words=("debug", *capture, *echo),
        )
        call.wait_up(lab=lab)
        server_pid, client_pid = call.server.pid, call.client.pid
        links = _wait_links(lab, {server_pid, client_pid})
        server, client = links[server_pid], links[client_pid]
        assert stat_mode(runtime_dir) == 0o700
        for path in runtime_dir.iterdir():
            assert stat_mode(path) == 0o600
        assert len(list(runtime_dir.iterdir())) == 2  # both are ppp0: one takes ppp0-<pid>
        assert server["ipv4"] == {"local": SERVER_IP, "remote": CLIENT_IP}
        assert client["ipv4"] == {"local": CLIENT_IP, "remote": SERVER_IP}
        assert (server["peer"], server["peer_auth"]) == (USER, "PAP")
        assert (client["user"], client["device"]) == (USER, cable.ends[1])
        assert server["interface"] == client["interface"] == server["name"] == "ppp0"
        assert server["lcp"]["mru"] == 1500
        for side in (server, client):  # the pings below cross the line compressed
            assert side["compression"]["transmit"].startswith("Deflate"), side
            assert side["compression"]["receive"].startswith("Deflate"), side

        # A ping of 3 x 1000 octets of ICMP: 3 x (1028 IP + 2 protocol) octets each way.
        ping(lab.b, SERVER_IP, count=3, size=1000)
        after = _links_by_pid(_status(lab)[1])
        for before, now, way in (
            (client, after[client_pid], "sent"),
            (server, after[server_pid], "received"),
        ):
            grown = now[way]["bytes"] - before[way]["bytes"]
            packets = now[way]["packets"] - before[way]["packets"]
            # Only LCP echoes (8 octets + protocol) can have crossed besides the pings.
            assert packets >= 3, (before, now)
            assert grown - 3 * 1030 == 10 * (packets - 3), (before, now)

        # The keepalive measured the line (answers within a few intervals).
        deadline = time.monotonic() + 10
        while (_links_by_pid(_status(lab, "ppp0")[1])[client_pid]["echo"] or {}).get("rtt") is None:
            assert time.monotonic() < deadline, "no echo round trip measured"
            time.sleep(0.5)

        # /metrics (inside the server's namespace) shows the same counters.
        samples = _scrape(lab)
        status = _links_by_pid(_status(lab)[1])[server_pid]
        received = status["received"]["bytes"]
        scraped = samples['pyppp_link_received_bytes_total{link="ppp0"}']
        assert received - 100 <= scraped <= received  # only echoes may have come in between
        assert samples['pyppp_link_network_up{link="ppp0",protocol="ipv4"}'] == 1
        assert samples['pyppp_link_phase{link="ppp0",pyppp_link_phase="network"}'] == 1
        assert samples["pyppp_links"] == 1
        assert "process_resident_memory_bytes" in samples

        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5, call.client.text
        assert call.server.wait(15) == 0, call.server.text
    # Every exit path removes the sockets (both ends ended here).
    assert list(runtime_dir.iterdir()) == []
    _check_pcap(pcap)
    if RECORD_SUPPORTED:
        _check_record(record)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _check_pcap(pcap: Path) -> None:
    assert b"gargleBlaster" not in pcap.read_bytes()
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    out = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-T", "fields", "-E", "occurrence=f",
         "-e", "frame.p2p_dir", "-e", "_ws.col.Protocol", "-e", "pap.password",
         "-e", "ppp.protocol", "-e", "icmp.type", "-e", "ip.src", "-e", "ip.dst"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = {tuple(line.split("\t")) for line in out.splitlines()}
    protocols = {row[:2] for row in rows}
    # frame.p2p_dir: 0 sent, 1 received (Wireshark's P2P_DIR_SENT / P2P_DIR_RECV).
    for expected in ("PPP LCP", "PPP IPCP", "PPP CCP", "ICMP"):
        assert ("0", expected) in protocols, rows
        assert ("1", expected) in protocols, rows
    assert ("0", "PPP PAP", "<hidden>") in {row[:3] for row in rows}
    # The dialer's pings out and their replies in, as IP (no opaque 0x00fd datagram).
    icmp = {(row[0], row[4], row[5], row[6]) for row in rows if row[1] == "ICMP"}
    assert ("0", "8", CLIENT_IP, SERVER_IP) in icmp, rows
    assert ("1", "0", SERVER_IP, CLIENT_IP) in icmp, rows
    assert not [row for row in rows if row[3] == "0x00fd"], rows


def _check_record(record: Path) -> None:
    pppdump = shutil.which("pppdump") or "/usr/sbin/pppdump"
    if not Path(pppdump).exists():
        pytest.skip("pppdump is not installed (Debian package ppp)")
    assert b"gargleBlaster" not in record.read_bytes()
    out = subprocess.run(
        [pppdump, "-p", str(record)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    packets = _pppdump_packets(out)
    assert any(b"<hidden>" in data for _, data in packets)  # the PAP request, masked
    seen = set()
    for direction, data in packets:
        if data[:2] == b"\xff\x03":
            data = data[2:]  # Address and Control, unless ACFC left them out
        if data[:1] and data[0] & 1:
            data = b"\x00" + data  # a compressed (PFC) protocol field
        seen.add((direction, data[:2].hex()))
    assert seen >= {
        ("sent", "c021"),  # LCP
        ("rcvd", "c021"),
        ("sent", "8021"),  # IPCP
        ("rcvd", "8021"),
        ("sent", "80fd"),  # CCP
        ("rcvd", "80fd"),
        ("sent", "00fd"),  # the pings, as the line carried them: Deflate's datagrams
        ("rcvd", "00fd"),
    }


def _pppdump_packets(out: str) -> list[tuple[str, bytes]]:
    """Every packet ``pppdump -p`` rebuilt: it prints each as ``sent``/``rcvd`` and hex lines
    of 16 octets (columns 6 to 54), the ASCII after them."""
    packets: list[tuple[str, bytearray]] = []
    for line in out.splitlines():
        if line.startswith(("sent", "rcvd")):
            packets.append((line[:4], bytearray()))
        elif not line.startswith(" ") or not packets:
            continue
        packets[-1][1].extend(bytes.fromhex(line[6:54]))
    return [(direction, bytes(data)) for direction, data in packets]


# -- who may ask ----------------------------------------------------------------------------------
THROWAWAY = "pyppp-observe"


@pytest.fixture
def throwaway_user() -> Iterator[pwd.struct_passwd]:
    if shutil.which("useradd") is None:
        pytest.skip("useradd missing")
    subprocess.run(["userdel", THROWAWAY], capture_output=True, check=False)
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", THROWAWAY],
        check=True,
        capture_output=True,
    )
    try:
        yield pwd.getpwnam(THROWAWAY)
    finally:
        subprocess.run(["userdel", THROWAWAY], capture_output=True, check=False)


_ASK = r"""
import socket, sys
sock = socket.socket(socket.AF_UNIX)
try:
    sock.connect(sys.argv[1])
except OSError as exc:
    print("refused", exc.errno)
    sys.exit(0)
try:
    sock.sendall(b'{"request": "status"}\n')
except BrokenPipeError:
    pass  # a refused client may be answered and hung up on before it asks
print("answer", sock.recv(65536).decode().strip())
"""


def _as_user(user: pwd.struct_passwd, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    env["PYPPP_RUNTIME_DIR"] = os.environ["PYPPP_RUNTIME_DIR"]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
    )


def test_the_control_socket_answers_root_and_refuses_another_user(
    lab: Lab, throwaway_user: pwd.struct_passwd, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = "/usr/bin/python3"  # the user cannot reach our interpreter under /root
    if not Path(python).exists():
        pytest.skip("no system python3")
    # The runtime directory's parent must be reachable by the user, as /run is.
    parent = Path(tempfile.mkdtemp(prefix="pyppp-observe-"))
    parent.chmod(0o755)
    runtime = parent / "run"
    monkeypatch.setenv("PYPPP_RUNTIME_DIR", str(runtime))
    name = f"obs{os.getpid()}"
    try:
        with NullModemCable() as cable:
            config = lab.config_dir("server")
            server = lab.pyppp(
                "server", lab.a, "serve", cable.ends[0], "--config-dir", str(config),
                "--auth", "none", "linkname", name,
            )  # fmt: skip
            sock = runtime / f"{name}.sock"
            deadline = time.monotonic() + 15
            while not sock.exists():
                assert time.monotonic() < deadline, server.text
                time.sleep(0.1)
            assert (runtime.stat().st_uid, stat_mode(runtime)) == (0, 0o700)
            assert (sock.stat().st_uid, stat_mode(sock)) == (0, 0o600)
            code, document = _status(lab, name)
            assert code == 0
            assert [link["name"] for link in document["links"]] == [name]

            # The directory keeps the user out: pyppp status says so and shows nothing.
            user_status = _as_user(throwaway_user, [python, "-m", "pyppp", "status"])
            assert user_status.returncode == 1, user_status
            assert "Permission denied" in user_status.stderr
            assert name not in user_status.stdout
            # So does the socket's own mode, with the directory opened up.
            runtime.chmod(0o711)
            asked = _as_user(throwaway_user, [python, "-c", _ASK, str(sock)])
            assert asked.stdout.split() == ["refused", "13"], asked  # EACCES
            # And with both opened up, the peer-credentials check still refuses.
            sock.chmod(0o666)
            asked = _as_user(throwaway_user, [python, "-c", _ASK, str(sock)])
            assert asked.stdout.strip() == ('answer {"ok":false,"error":"permission denied"}'), (
                asked
            )
            assert "refused a client with uid" in server.text
            # Root still gets its answer on the same socket.
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(sock))
                probe.sendall(b'{"request":"status"}\n')
                assert b'"ok":true' in probe.recv(65536)
            server.signal(signal.SIGTERM)
            assert server.wait(15) == 5, server.text
        assert not sock.exists()
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(parent)


def test_every_exit_path_removes_the_socket(lab: Lab, runtime_dir: Path) -> None:
    config = lab.config_dir("server")
    with NullModemCable() as first_cable, NullModemCable() as second_cable:

        def serve(end: str, name: str) -> LoggedProcess:
            return lab.pyppp(
                name, lab.a, "serve", end, "--config-dir", str(config), "--auth", "none",
                "linkname", name, "metrics", "9100",
            )  # fmt: skip

        first = serve(first_cable.ends[0], "first")
        deadline = time.monotonic() + 15
        while not (runtime_dir / "first.sock").exists():
            assert time.monotonic() < deadline, first.text
            time.sleep(0.1)
        # A metrics port that cannot be had: one line, exit 1, before anything is created.
        second = serve(second_cable.ends[0], "second")
        assert second.wait(15) == 1, second.text
        assert second.find(
            r"^Couldn't serve metrics on 127\.0\.0\.1:9100: Address already in use$"
        ), second.text
        assert sorted(p.name for p in runtime_dir.iterdir()) == ["first.sock"]
    # The cable is gone: the first server's line hangs up, and it cleans up as it exits.
    assert first.wait(15) == 16, first.text  # pppd: EXIT_HANGUP
    assert first.find(r"^Modem hangup$"), first.text
    assert list(runtime_dir.iterdir()) == []
