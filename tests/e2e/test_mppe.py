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

from .netns import CLIENT_IP, PASSWORD, SERVER_IP, Lab, ping, start_call
from .test_mschap import TRANSFER_BYTES, transfer_and_hang_up


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
    pcap = lab.tmp / "client.pcap"
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            mschap_v2=True,
            server_words=("require-mppe-128", "debug"),
            client_words=("require-mppe-128", "debug", "pcap", str(pcap)),
        )
        call.wait_up(lab=lab)
        server, client = call.server, call.client
        logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
        for side in (server, client):
            assert side.find(r"^MPPE 128-bit stateless compression enabled$"), logs
        assert client.find(r"^rcvd \[CCP ConfAck id=0x\w+ <mppe \+H -M \+S -L -D -C>\]"), logs
        assert PASSWORD not in server.text + client.text
        ping(lab.b, SERVER_IP, count=3, size=1000)
        ping(lab.a, CLIENT_IP, count=3, size=1000)
        transfer_and_hang_up(lab, call, timeout=120)
    protocols = captured_protocols(pcap)
    assert PPPProtocol.IP not in protocols
    assert PPPProtocol.IPV6 not in protocols
    assert protocols.count(PPPProtocol.COMP) > TRANSFER_BYTES // 1500
    assert protocols.index(PPPProtocol.CCP) < protocols.index(PPPProtocol.IPCP)
