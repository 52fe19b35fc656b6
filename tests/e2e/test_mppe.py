"""MS-CHAPv2 + MPPE between two pyppp processes: ``serve``/``dial`` with ``require-mppe-128``.

The server (namespace a) requires MS-CHAPv2 and MPPE 128-bit; the dialer (namespace b)
requires MPPE too. What a pppd user would check: pppd's "MPPE 128-bit stateless compression
enabled" on both sides, 1000-octet pings both ways, a TCP transfer compared by SHA-256; and,
from the dialer's ``pcap`` capture of its line, that not one IP datagram crossed in clear:
every data frame either way is protocol 0x00FD, and CCP came before IPCP.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pyppp.aio.cable import NullModemCable
from pyppp.packet import PPPProtocol

from .netns import CLIENT_IP, PASSWORD, SERVER_IP, USER, Call, Lab, ping, tcp_transfer

TRANSFER_BYTES = 2 * 1024 * 1024
EXIT_OK = 0
EXIT_USER_REQUEST = 5


def captured_protocols(pcap: Path) -> list[int]:
    """The PPP protocol of every frame in a ``pcap`` file (link type 204, FF 03 + protocol)."""
    data = pcap.read_bytes()
    offset, protocols = 24, []
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        frame = data[offset + 16 : offset + 16 + length]
        protocols.append(int.from_bytes(frame[3:5], "big"))
        offset += 16 + length
    return protocols


def test_mschap_v2_mppe_call_ping_and_transfer(lab: Lab) -> None:
    server_dir = lab.config_dir("server", chap_secrets=f"{USER} * {PASSWORD} *\n")
    client_dir = lab.config_dir("client", chap_secrets=f"{USER} * {PASSWORD}\n")
    pcap = lab.tmp / "client.pcap"
    with NullModemCable() as cable:
        server = lab.pyppp(
            "server", lab.a, "serve", cable.ends[0], "--config-dir", str(server_dir),
            "require-mschap-v2", "require-mppe-128", f"{SERVER_IP}:{CLIENT_IP}", "debug",
        )  # fmt: skip
        server.wait_for(r"^Connect: ppp\d+ <--> ", timeout=15)
        client = lab.pyppp(
            "client", lab.b, "dial", cable.ends[1], "--user", USER, "--config-dir",
            str(client_dir), "noauth", "require-mppe-128", "debug", "pcap", str(pcap),
        )  # fmt: skip
        call = Call(server, client)
        call.wait_up(lab=lab)
        logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
        for side in (server, client):
            assert side.find(r"^MPPE 128-bit stateless compression enabled$"), logs
        assert client.find(r"^rcvd \[CCP ConfAck id=0x\w+ <mppe \+H -M \+S -L -D -C>\]"), logs
        assert PASSWORD not in server.text + client.text
        ping(lab.b, SERVER_IP, count=3, size=1000)
        ping(lab.a, CLIENT_IP, count=3, size=1000)
        _, sent_hash, got_hash = tcp_transfer(
            lab, lab.a, SERVER_IP, lab.b, size=TRANSFER_BYTES, timeout=120
        )
        assert sent_hash == got_hash
        server.stop()
        assert server.wait(15) == EXIT_USER_REQUEST, logs
        assert client.wait(15) == EXIT_OK, f"server:\n{server.text}\n---\nclient:\n{client.text}"
        assert "Traceback" not in server.text + client.text
    protocols = captured_protocols(pcap)
    assert PPPProtocol.IP not in protocols
    assert PPPProtocol.IPV6 not in protocols
    assert protocols.count(PPPProtocol.COMP) > TRANSFER_BYTES // 1500
    assert protocols.index(PPPProtocol.CCP) < protocols.index(PPPProtocol.IPCP)
