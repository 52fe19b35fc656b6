"""``pyppp serve DEV1 ... DEV16``: sixteen lines in one process, an address pool, isolation.

One server process in namespace a answers sixteen null-modem cables; sixteen ``pyppp dial``
callers, each in a namespace of its own (they all see the server as the same address), get
their addresses from ``ip-pool``. Every caller moves data at once and each transfer must
arrive intact (sha256); one caller is killed in the middle of its transfer and the others
must carry on; its line notices (LCP echoes), ends, and with ``persist`` answers again.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pyppp.aio.cable import NullModemCable

from .netns import _SINK, _SOURCE, PASSWORD, USER, Lab, LoggedProcess, Netns

LINES = 16
SERVER = "10.99.16.1"
POOL = ("10.99.16.100", "10.99.16.199")
TRANSFER = 192 * 1024
VICTIM = 5  # the line whose caller is killed
UP = r"^remote IP address "


@pytest.fixture
def cables() -> Iterator[list[NullModemCable]]:
    made: list[NullModemCable] = []
    try:
        for _ in range(LINES):
            cable = NullModemCable()
            cable.start()
            made.append(cable)
        yield made
    finally:
        for cable in made:
            cable.close()


def _label(device: str) -> str:
    return device.removeprefix("/dev/")


def _dial(lab: Lab, ns: Netns, device: str, client_dir: str, index: int) -> LoggedProcess:
    return lab.pyppp(
        f"client{index}",
        ns,
        "dial",
        device,
        "--user",
        USER,
        "--config-dir",
        client_dir,
        "noauth",
    )


def _serve(lab: Lab, devices: list[str], config_dir: Path, pool: str, *words: str) -> LoggedProcess:
    """``pyppp serve`` on all ``devices`` with PAP and one ``ip-pool`` for every line."""
    return lab.pyppp(
        "server", lab.a, "serve", *devices, "--auth", "pap", "--config-dir", str(config_dir),
        f"{SERVER}:", "ip-pool", pool, *words,
    )  # fmt: skip


def _local_address(process: LoggedProcess) -> str:
    found = process.find(r"^local  IP address ")
    assert found is not None, process.text
    return found[1].split()[-1]


def test_sixteen_lines_pool_isolation_persist(lab: Lab, cables: list[NullModemCable]) -> None:
    server_dir = lab.config_dir(
        "server", pap_secrets=f"# client server secret addresses\n{USER} * {PASSWORD} *\n"
    )
    client_dir = str(lab.config_dir("client", pap_secrets=f"{USER} * {PASSWORD}\n"))
    devices = [cable.ends[0] for cable in cables]
    server = _serve(
        lab,
        devices,
        server_dir,
        f"{POOL[0]}-{POOL[1]}",
        "persist",
        "lcp-echo-interval",
        "1",
        "lcp-echo-failure",
        "2",
    )
    server.wait_for(rf"^Serving {LINES} lines: ", timeout=20)
    for device in devices:
        server.wait_for(rf"^{_label(device)}: Connect: ppp\d+ <--> {device}$", timeout=20)
    namespaces = [lab.namespace(f"c{index}") for index in range(LINES)]
    clients = [_dial(lab, namespaces[i], cables[i].ends[1], client_dir, i) for i in range(LINES)]
    for client in clients:
        client.wait_for(UP, timeout=60)
    addresses = [_local_address(client) for client in clients]
    logs = server.text
    # Distinct pool addresses, each the server's remote address on the line it called.
    assert len(set(addresses)) == LINES, addresses
    low, high = (IPv4Address(a) for a in POOL)
    assert all(low <= IPv4Address(a) <= high for a in addresses), addresses
    for device, address in zip(devices, addresses, strict=True):
        assert server.find(rf"^{_label(device)}: remote IP address {address}$"), logs
    for index, ns in enumerate(namespaces):
        ns.wait_address(addresses[index], timeout=10)
    # Every caller sends at once; the victim's transfer is too big to finish.
    sinks, sources = [], []
    for index, ns in enumerate(namespaces):
        port = str(5100 + index)
        sink = lab.start(f"sink{index}", lab.a, [sys.executable, "-c", _SINK, SERVER, port, "60"])
        sink.wait_for("listening", timeout=10)
        sinks.append(sink)
        size = 50 * TRANSFER if index == VICTIM else TRANSFER
        sources.append(
            lab.start(
                f"source{index}",
                ns,
                [sys.executable, "-c", _SOURCE, SERVER, port, str(size), "60"],
            )
        )
    sinks[VICTIM].wait_for(r"^peer ", timeout=20)
    clients[VICTIM].signal(signal.SIGKILL)
    for index in range(LINES):
        if index == VICTIM:
            continue
        status = sources[index].wait(90)
        sent = sources[index].find(r"^sent ")
        answer = sources[index].find(r"^answer ")
        text = sources[index].text + sinks[index].text
        assert status == 0, text
        assert sent is not None, text
        assert answer is not None, text
        sent_hash, sent_size = sent[1].split()[1:3]
        got_hash, got_size = answer[1].split()[1:3]
        assert (sent_hash, int(sent_size)) == (got_hash, int(got_size)), (sent, answer)
        assert int(got_size) == TRANSFER
    # The victim's line noticed, ended, and (persist) answers again; nothing else moved.
    victim = _label(devices[VICTIM])
    server.wait_for(rf"^{victim}: No response to 2 echo-requests$", timeout=20)
    server.wait_for(rf"^{victim}: Connection terminated\.$", timeout=20)
    server.wait_for(rf"^{victim}: Connect: ppp\d+ <--> {devices[VICTIM]}$", timeout=20)
    for device in devices:
        if device != devices[VICTIM]:
            assert not server.find(rf"^{_label(device)}: Connection terminated"), server.text
    with contextlib.suppress(Exception):
        sources[VICTIM].stop()
        sinks[VICTIM].stop()
    # A new caller on that line gets the address the dead one gave back.
    again = _dial(lab, namespaces[VICTIM], cables[VICTIM].ends[1], client_dir, LINES)
    again.wait_for(UP, timeout=30)
    assert _local_address(again) == addresses[VICTIM], again.text
    assert "Traceback" not in server.text, server.text
    # SIGTERM ends every line; the callers see the Terminate-Request and exit 0.
    server.signal(signal.SIGTERM)
    assert server.wait(30) == 5, server.text
    for index, client in enumerate([*clients, again]):
        if index == VICTIM:
            continue
        assert client.wait(20) == 0, client.text
    assert [n for n in lab.a.links() if n.startswith("ppp")] == [], lab.a.links()
    assert "Traceback" not in server.text, server.text
    assert PASSWORD not in server.text, server.text


def test_pool_precedence_and_exhaustion(lab: Lab, cables: list[NullModemCable]) -> None:
    """A one-address pool: the secrets' address wins, a third caller is refused clearly."""
    three = cables[:3]
    server_dir = lab.config_dir(
        "server",
        pap_secrets=(
            "# client server secret addresses\n"
            f"{USER} * {PASSWORD} *\n"
            f"trillian * {PASSWORD} 10.99.16.50\n"
        ),
    )
    devices = [cable.ends[0] for cable in three]
    server = _serve(lab, devices, server_dir, "10.99.16.100-10.99.16.100")
    for device in devices:
        server.wait_for(rf"^{_label(device)}: Connect: ppp\d+ <--> {device}$", timeout=20)
    namespaces = [lab.namespace(f"c{index}") for index in range(3)]
    users = (USER, "trillian", USER)
    clients = []
    for index, user in enumerate(users):
        client_dir = lab.config_dir(f"client{index}", pap_secrets=f"{user} * {PASSWORD}\n")
        clients.append(
            lab.pyppp(
                f"client{index}",
                namespaces[index],
                "dial",
                three[index].ends[1],
                "--user",
                user,
                "--config-dir",
                str(client_dir),
                "noauth",
            )
        )
        if index < 2:
            clients[index].wait_for(UP, timeout=30)  # in order: the pool's one address first
    assert _local_address(clients[0]) == "10.99.16.100", clients[0].text
    assert _local_address(clients[1]) == "10.99.16.50", clients[1].text  # the secrets' own
    third = _label(devices[2])
    server.wait_for(
        rf"^{third}: ip-pool 10.99.16.100-10.99.16.100 exhausted \(all 1 addresses in use\): "
        rf"refusing the call on {devices[2]}$",
        timeout=30,
    )
    assert clients[2].wait(20) != 0, clients[2].text
    assert not clients[2].find(UP), clients[2].text
    # Refused as the network phase begins (pppd's status 10), not through an IPCP Nak loop.
    server.wait_for(rf"^{third}: line done, status 10$", timeout=20)
    # The first two lines are untouched.
    for index in (0, 1):
        assert clients[index].proc.poll() is None, clients[index].text
    server.signal(signal.SIGTERM)
    assert server.wait(30) == 5, server.text  # line 0's status (the first non-zero in order)
    assert "Traceback" not in server.text, server.text
