"""VJ compression between two pyppp processes: a TCP transfer through real kernels' TCP.

Two namespaces, ``pyppp serve`` and ``pyppp dial`` on a null-modem cable with ``noccp``, VJ as
pppd has it (on both ways, ``<compress VJ 0f 01>``). TCP timestamps are off in both namespaces
so that segments really go compressed (a timestamp changes every segment: RFC 1144 cannot compress
it); the transfer's SHA-256 is checked, and each side's ``record`` of the line shows what crossed;
the dialer's ``pcap`` shows each of those datagrams whole, as IPv4 (0x0021), never as VJ frames.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyppp.aio.cable import NullModemCable
from pyppp.ipcp.vj import VjDecompressor
from tests.recordfile import record_frames

from .netns import SERVER_IP, Lab, start_call, tcp_transfer


def _pcap_frames(path: Path) -> list[tuple[bool, int, bytes]]:
    data = path.read_bytes()
    out, offset = [], 24
    while offset + 16 <= len(data):
        length = int.from_bytes(data[offset + 8 : offset + 12], "little")
        record = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        out.append((record[0] == 1, int.from_bytes(record[3:5], "big"), record[5:]))
    return out


def test_tcp_transfer_with_vj_both_ways(lab: Lab) -> None:
    for ns in (lab.a, lab.b):
        subprocess.run(ns.argv(["sysctl", "-qw", "net.ipv4.tcp_timestamps=0"]), check=True)
    records = {side: lab.tmp / f"{side}.record" for side in ("server", "client")}
    pcap = lab.tmp / "client.pcap"
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            # VJ alone: with Deflate on (pppd's default) some VJ frames would cross inside
            # CCP datagrams, and the record could not be rebuilt frame by frame below.
            server_words=("debug", "noccp", "record", str(records["server"])),
            client_words=("debug", "noccp", "record", str(records["client"]), "pcap", str(pcap)),
        )
        call.wait_up(lab=lab)
        for process in (call.server, call.client):
            process.wait_for(r"sent \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01>", 5)
            process.wait_for(r"rcvd \[IPCP ConfAck id=0x\w+ <compress VJ 0f 01>", 5)
        _, sent, got = tcp_transfer(lab, lab.a, SERVER_IP, lab.b, size=2 * 1024 * 1024)
        assert sent == got
    # The data went compressed from the dialer (namespace b) to the server, the acks back.
    frames = record_frames(records["client"])
    data = [info for out, protocol, info in frames if out and protocol == 0x002D]
    acks = [info for out, protocol, info in frames if not out and protocol == 0x002D]
    assert len(data) > 1000
    assert len(acks) > 100
    # SPECIAL_D: most data segments went with a 3-octet header (change mask + checksum).
    assert sum(info[0] & 0x0F == 0x0F for info in data) > len(data) // 2
    # And what the server received rebuilds (the server's own decompressor did it for TCP).
    rebuilt = VjDecompressor()
    got_back = [
        rebuilt.uncompressed(info) if protocol == 0x002F else rebuilt.decompress(info)
        for out, protocol, info in record_frames(records["server"])
        if not out and protocol in (0x002D, 0x002F)
    ]
    assert None not in got_back
    # The pcap: what the link carried, each VJ frame as the IPv4 datagram it is.
    carried = _pcap_frames(pcap)
    assert not {protocol for _, protocol, _ in carried} & {0x002D, 0x002F}
    for way in (True, False):
        datagrams = [info for out, protocol, info in carried if out is way and protocol == 0x0021]
        crossed = [p for out, p, _ in frames if out is way and p in (0x0021, 0x002D, 0x002F)]
        assert len(datagrams) == len(crossed), way
        assert all(info[0] == 0x45 for info in datagrams)
