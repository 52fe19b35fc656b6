"""MS-CHAPv2 + MPPE between two pyppp processes: ``serve``/``dial`` with ``require-mppe-128``.

The server (namespace a) requires MS-CHAPv2 and MPPE 128-bit; the dialer (namespace b)
requires MPPE too. What a pppd user would check: pppd's "MPPE 128-bit stateless compression
enabled" on both sides, 1000-octet pings both ways, a TCP transfer compared by SHA-256; from
the dialer's ``record`` file of its line, that not one IP datagram crossed in clear: every
data frame either way is protocol 0x00FD, and CCP came before IPCP; and from its ``pcap``,
which shows what the link carries, the same traffic decrypted: IP both ways, no 0x00FD.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pyppp.aio.cable import NullModemCable
from pyppp.packet import PPPProtocol
from tests.recordfile import record_frames

from .netns import CLIENT_IP, PASSWORD, SERVER_IP, Lab, ping, start_call
from .test_mschap import TRANSFER_BYTES, transfer_and_hang_up


def captured_frames(pcap: Path) -> list[tuple[bool, int]]:
    """(sent, PPP protocol) of every frame in a ``pcap`` file (link type 204: direction octet,
    FF 03, protocol)."""
    data = pcap.read_bytes()
    offset, frames = 24, []
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        frame = data[offset + 16 : offset + 16 + length]
        frames.append((frame[0] == 1, int.from_bytes(frame[3:5], "big")))
        offset += 16 + length
    return frames


def test_mschap_v2_mppe_call_ping_and_transfer(lab: Lab) -> None:
    pcap, record = lab.tmp / "client.pcap", lab.tmp / "client.record"
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            mschap_v2=True,
            server_words=("require-mppe-128", "debug"),
            client_words=("require-mppe-128", "debug", "pcap", str(pcap), "record", str(record)),
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
    # The line: every datagram encrypted, and CCP up before IPCP started.
    line = record_frames(record)
    protocols = [protocol for _, protocol, _ in line]
    assert PPPProtocol.IP not in protocols
    assert PPPProtocol.IPV6 not in protocols
    assert protocols.count(PPPProtocol.COMP) > TRANSFER_BYTES // 1500
    assert protocols.index(PPPProtocol.CCP) < protocols.index(PPPProtocol.IPCP)
    # The link: the same datagrams, decrypted, both ways.
    frames = captured_frames(pcap)
    assert PPPProtocol.COMP not in {protocol for _, protocol in frames}
    assert frames.count((True, PPPProtocol.IP)) > TRANSFER_BYTES // 1500  # the transfer out
    assert frames.count((False, PPPProtocol.IP)) > 6  # pings both ways, TCP's acks
    # Every datagram that crossed, each way, is in the pcap as the IP or IPv6 it carried.
    for sent in (True, False):
        crossed = sum(s == sent and p == PPPProtocol.COMP for s, p, _ in line)
        carried = sum(frames.count((sent, p)) for p in (PPPProtocol.IP, PPPProtocol.IPV6))
        assert carried == crossed, (sent, carried, crossed)
