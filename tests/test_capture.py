"""Capture files: the pcap (link type 204) of what a link carries, and PAP passwords masked.

Two links back to back (tests/linkpair.py), each with a :class:`PcapRecorder` as its tap: with
Deflate and VJ, and with MPPE, the pcap holds every datagram as it was sent and as it was
delivered (never 0x00FD, 0x002d or 0x002f) while the line carried them compressed; the
control packets both ways, CCP's Reset-Request/Ack included; the PAP password masked.
Oracles: the datagrams the test sent and the peer delivered; tshark (Wireshark's own PPP,
PAP and IP dissectors) reads a Deflate link's pcap with each frame's direction and finds
ICMP both ways; our Deframer (and tshark) read the masked line bytes of a ``record`` file
back as the same frames, except for the password; hypothesis splits the stream anywhere.
"""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.capture import (
    LINKTYPE_PPP_WITH_DIR,
    MASK,
    LineMasker,
    PcapRecorder,
    mask_pap_request,
    pcap_header,
    pcap_header_problem,
    pcap_record,
)
from pyppp.ccp.mppe import MppeConfig
from pyppp.ccp.negotiator import CcpConfig
from pyppp.events import IpReceived, NetworkUp
from pyppp.lcp.options import ChapAlgorithm
from pyppp.link import Link
from pyppp.packet import PPPProtocol
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair, LoseNext, Wire
from tests.tcpip import ACK, PSH, Segment

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
PASSWORD = b"gargleBlaster"


def _pap_request(user: bytes, password: bytes, identifier: int = 1) -> bytes:
    body = bytes([len(user)]) + user + bytes([len(password)]) + password
    return bytes([1, identifier]) + (4 + len(body)).to_bytes(2, "big") + body


# -- pcap bytes ---------------------------------------------------------------------------------
def test_pcap_header_and_record_bytes() -> None:
    # pcap-savefile(5): magic, version 2.4, thiszone, sigfigs, snaplen, linktype.
    assert pcap_header() == struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 204)
    record = pcap_record(True, b"\xff\x03\xc0\x21\x09\x01\x00\x08", 1733100000.25)
    assert record[:16] == struct.pack("<IIII", 1733100000, 250000, 9, 9)
    assert record[16:] == b"\x01\xff\x03\xc0\x21\x09\x01\x00\x08"
    assert pcap_record(False, b"x", 0.0)[16:] == b"\x00x"


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        (b"", None),
        (pcap_header(), None),
        (pcap_header() + b"records...", None),
        (b"short", "not a pcap"),
        (struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 204), "little-endian"),
        (struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 204), "microsecond"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 9), "link type is 9"),
    ],
)
def test_only_a_pcap_like_ours_is_appended_to(existing: bytes, problem: str | None) -> None:
    found = pcap_header_problem(existing)
    assert (found is None) if problem is None else (found is not None and problem in found)


# -- PAP passwords ------------------------------------------------------------------------------
def test_a_pap_request_keeps_its_peer_id_and_loses_its_password() -> None:
    masked = mask_pap_request(_pap_request(b"zaphod", PASSWORD, 7))
    assert masked == _pap_request(b"zaphod", MASK, 7)


@pytest.mark.parametrize(
    "information",
    [
        b"\x02\x01\x00\x0e\x09Login ok",  # Authenticate-Ack: nothing to hide
        b"\x03\x01\x00\x05\x00",
        b"\x01",  # too short to say anything
    ],
)
def test_other_pap_packets_are_kept(information: bytes) -> None:
    assert mask_pap_request(information) == information


@pytest.mark.parametrize(
    "information",
    [
        b"\x01\x01\x00\x30\x40zaphod" + PASSWORD,  # Peer-ID length past the end
        b"\x01\x01\x00\x04",
        b"\x01\x01\x00\x08" + PASSWORD,
    ],
)
def test_a_malformed_request_keeps_nothing_that_may_be_a_password(information: bytes) -> None:
    masked = mask_pap_request(information)
    assert b"garg" not in masked
    assert int.from_bytes(masked[2:4], "big") == len(masked)


def _frames(data: bytes) -> list[hdlc.Frame]:
    return hdlc.Deframer(accm=0, mru=65535).feed(data)


STREAM = b"".join(
    (
        b"CONNECT 115200\r\n",
        hdlc.encode_frame(PPPProtocol.LCP, b"\x01\x01\x00\x04"),
        hdlc.encode_frame(PPPProtocol.PAP, _pap_request(b"zaphod", PASSWORD)),
        hdlc.encode_frame(PPPProtocol.PAP, _pap_request(b"u", b"\x7e\x7d\x01pw"), acfc=True),
        hdlc.encode_frame(PPPProtocol.IP, b"\x45" + b"data" * 3, accm=0, acfc=True, pfc=True),
        hdlc.encode_frame(PPPProtocol.PAP, b"\x02\x01\x00\x05\x00", accm=0),
        b"\x7e\x7e",
    )
)


@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_the_line_masker_hides_every_password_wherever_the_stream_is_cut(
    cuts: list[int],
) -> None:
    masker = LineMasker()
    bounds = [0, *sorted(cuts), len(STREAM)]
    out = b"".join(masker.feed(STREAM[a:b]) for a, b in itertools.pairwise(bounds))
    out += masker.flush()
    frames = _frames(out)
    expected = [(p, mask_pap_request(i) if p == PPPProtocol.PAP else i) for p, i in _frames(STREAM)]
    assert frames == expected
    assert PASSWORD not in out.replace(b"\x7d", b"")
    assert frames[1] == (PPPProtocol.PAP, _pap_request(b"zaphod", MASK))
    # Everything else is passed byte for byte: the chat text, the IP frame, the Ack.
    assert out.startswith(b"CONNECT 115200\r\n~")
    assert (
        hdlc.encode_frame(PPPProtocol.IP, b"\x45" + b"data" * 3, accm=0, acfc=True, pfc=True)[1:]
        in out
    )


def test_the_line_masker_keeps_a_bad_frame_bad_and_bounds_what_it_holds() -> None:
    frame = bytearray(hdlc.encode_frame(PPPProtocol.PAP, _pap_request(b"zaphod", PASSWORD)))
    frame[-2] ^= 0x01  # a bad FCS
    masker = LineMasker()
    out = masker.feed(bytes(frame))
    deframer = hdlc.Deframer(accm=0, mru=65535)
    assert deframer.feed(out) == []
    assert deframer.discarded["bad_fcs"] == 1
    assert PASSWORD not in out
    # A PAP request that never ends is dropped, not held for ever.
    masker = LineMasker()
    masker.feed(b"\x7e\xff\x7d\x23\xc0\x23\x01\x01")
    for _ in range(100):
        assert masker.feed(b"\x00" * 10000) == b""
        assert masker.held <= 4 * 65536
    assert masker.feed(b"\x7e") == b"\x7e"
    assert masker.flush() == b""


# -- the recorder: what the link carries, as pcap records --------------------------------------
def read_pcap(data: bytes) -> list[tuple[bool, int, bytes, float]]:
    """(sent, protocol, information, time stamp) of every record after the global header."""
    out, offset = [], 24
    while offset + 16 <= len(data):
        seconds, micros, included, original = struct.unpack_from("<IIII", data, offset)
        assert included == original
        packet = data[offset + 16 : offset + 16 + included]
        assert packet[0] in (0, 1), packet
        assert packet[1:3] == b"\xff\x03", packet
        out.append(
            (packet[0] == 1, int.from_bytes(packet[3:5], "big"), packet[5:], seconds + micros / 1e6)
        )
        offset += 16 + included
    assert offset == len(data)
    return out


def test_the_recorder_makes_a_record_per_frame_on_the_wall_clock() -> None:
    recorder = PcapRecorder()
    recorder.frame(True, PPPProtocol.LCP, b"\x09\x01\x00\x08abcd", 2.5)
    recorder.frame(False, PPPProtocol.PAP, _pap_request(b"zaphod", PASSWORD), 3.0)
    recorder.frame(False, PPPProtocol.IP, b"\x45abc", 3.25)
    assert (recorder.pending, recorder.frames) == (3, 3)
    data = recorder.take(1733100000.0)
    assert (recorder.pending, recorder.frames) == (0, 3)
    assert recorder.take(1.0) == b""
    assert data[:16] == struct.pack("<IIII", 1733100002, 500000, 13, 13)
    assert data[16:29] == b"\x01\xff\x03\xc0\x21\x09\x01\x00\x08abcd"
    assert read_pcap(pcap_header() + data) == [
        (True, PPPProtocol.LCP, b"\x09\x01\x00\x08abcd", 1733100002.5),
        (False, PPPProtocol.PAP, _pap_request(b"zaphod", MASK), 1733100003.0),
        (False, PPPProtocol.IP, b"\x45abc", 1733100003.25),
    ]
    assert PASSWORD not in data
    assert LINKTYPE_PPP_WITH_DIR == 204 == struct.unpack_from("<I", recorder.header(), 20)[0]


def test_a_frame_beyond_the_snapshot_length_is_cut_to_it() -> None:
    record = pcap_record(False, b"\xff\x03\x00\x21" + bytes(70000), 0.0)
    assert struct.unpack_from("<IIII", record)[2:] == (65535, 70005)
    assert len(record) == 16 + 65535


CLIENT_ADDR, SERVER_ADDR = "10.99.7.2", "10.99.7.1"


def _tapped(
    ccp: CcpConfig | None, *, pap: bool = True, vj: bool = False
) -> tuple[LinkPair, PcapRecorder, PcapRecorder]:
    """A server and a client back to back, each with a recorder from before it opens.

    PAP (or MS-CHAPv2, which MPPE needs), VJ when asked, ``ccp`` on both sides.
    """
    server_config = simple_config(
        local=SERVER_ADDR,
        remote=CLIENT_ADDR,
        require_pap={"zaphod": PASSWORD.decode()} if pap else None,
        require_chap=None if pap else {"zaphod": PASSWORD.decode()},
        chap_algorithms=(ChapAlgorithm.MS_V2,),
        rng=seeded_rng(11),
    )
    client_config = simple_config(
        user="zaphod",
        password=PASSWORD.decode(),
        chap_algorithms=(ChapAlgorithm.MS_V2,),
        rng=seeded_rng(13),
    )
    configs = []
    for config in (server_config, client_config):
        assert config.ipcp is not None
        configs.append(replace(config, ccp=ccp, ipcp=replace(config.ipcp, vj=vj)))
    server = Link(configs[0], rng=seeded_rng(12))
    client = Link(configs[1], rng=seeded_rng(14))
    recorders = PcapRecorder(), PcapRecorder()
    server.tap, client.tap = recorders[0].frame, recorders[1].frame
    pair = LinkPair(server, client)
    server.open(0.0)
    client.open(0.0)
    pair.run(20.0, stop=lambda p: bool(p.of_type("a", NetworkUp) and p.of_type("b", NetworkUp)))
    assert pair.of_type("a", NetworkUp), pair.events
    assert pair.of_type("b", NetworkUp), pair.events
    return pair, *recorders


def _ping(src: str, dst: str, n: int) -> bytes:
    """An ICMP Echo-Request (its checksum right: tshark checks nothing, but shows it)."""
    body = b"\x08\x00\x00\x00" + n.to_bytes(4, "big") + (b"ping %d " % n) * 40
    checksum = _checksum(body)
    body = body[:2] + checksum.to_bytes(2, "big") + body[4:]
    length, ident = (20 + len(body)).to_bytes(2, "big"), n.to_bytes(2, "big")
    addresses = IPv4Address(src).packed + IPv4Address(dst).packed
    header = bytearray(b"\x45\x00" + length + ident + b"\x40\x00\x40\x01" + bytes(2) + addresses)
    header[10:12] = _checksum(bytes(header)).to_bytes(2, "big")
    return bytes(header) + body


def _checksum(data: bytes) -> int:
    total = sum(
        int.from_bytes(data[i : i + 2].ljust(2, b"\x00"), "big") for i in range(0, len(data), 2)
    )
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _carry(pair: LinkPair, server_sends: list[bytes], client_sends: list[bytes]) -> None:
    """Send the datagrams both ways (one at a time and in bursts) and run the line quiet."""
    server, client = pair.a, pair.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    half = len(client_sends) // 2
    for packet in client_sends[:half]:
        assert client.send_ip(packet, pair.now)
    assert client.send_ips(client_sends[half:], pair.now) == len(client_sends) - half
    pair.run(pair.now + 1.0)
    assert server.send_ips(server_sends, pair.now) == len(server_sends)
    pair.run(pair.now + 1.0)
    assert [e.packet for e in pair.of_type("a", IpReceived)] == client_sends
    assert [e.packet for e in pair.of_type("b", IpReceived)] == server_sends


def _data(frames: list[tuple[bool, int, bytes, float]], sent: bool) -> list[bytes]:
    return [info for out, protocol, info, _ in frames if out is sent and protocol == PPPProtocol.IP]


def _control(frames: list[tuple[bool, int, bytes, float]]) -> set[tuple[bool, int, int]]:
    """(sent, protocol, code) of every control packet."""
    return {(out, p, info[0]) for out, p, info, _ in frames if p >= 0x8000 and info}


def _wire_protocols(wire: Wire) -> set[int]:
    return {frame.protocol for _, frame in wire.frames()}


def test_a_deflate_and_vj_link_records_its_ip_uncompressed_both_ways_and_pap_masked() -> None:
    pair, server_pcap, client_pcap = _tapped(CcpConfig(), vj=True)
    to_server = [_ping(CLIENT_ADDR, SERVER_ADDR, n) for n in range(6)]
    tcp = Segment(src=SERVER_ADDR, dst=CLIENT_ADDR, seq=1000, flags=ACK | PSH)
    to_client = [
        bytes(tcp.but(seq=1000 + 100 * i, ip_id=i, data=bytes([i]) * 100)) for i in range(8)
    ]
    _carry(pair, to_client, to_server)
    # On the line: Deflate's datagrams, with VJ's inside them, and never the password...
    assert PPPProtocol.COMP in _wire_protocols(pair.a_to_b)
    assert PPPProtocol.COMP in _wire_protocols(pair.b_to_a)
    server = pair.a
    assert isinstance(server, Link)
    assert server._path.vj_stats is not None
    assert server._path.vj_stats.sent_compressed >= 6
    server_frames = read_pcap(pcap_header() + server_pcap.take())
    client_frames = read_pcap(pcap_header() + client_pcap.take())
    for frames in (server_frames, client_frames):
        protocols = {p for _, p, _, _ in frames}
        # ... in the capture: the IP itself, each datagram whole, as it was sent and delivered.
        assert not protocols & {PPPProtocol.COMP, PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP}
        assert {PPPProtocol.LCP, PPPProtocol.PAP, PPPProtocol.IPCP, PPPProtocol.CCP} <= protocols
        for sent in (True, False):  # Configure-Request and -Ack of each, both ways
            for protocol in (PPPProtocol.LCP, PPPProtocol.IPCP, PPPProtocol.CCP):
                assert {(sent, protocol, 1), (sent, protocol, 2)} <= _control(frames)
    assert _data(client_frames, sent=True) == to_server
    assert _data(client_frames, sent=False) == to_client
    assert _data(server_frames, sent=True) == to_client
    assert _data(server_frames, sent=False) == to_server
    masked = _pap_request(b"zaphod", MASK)
    assert (True, PPPProtocol.PAP, masked) in [f[:3] for f in client_frames]
    assert (False, PPPProtocol.PAP, masked) in [f[:3] for f in server_frames]
    # Stamped with the link's clock, in order.
    stamps = [stamp for *_, stamp in client_frames]
    assert stamps == sorted(stamps)
    assert stamps[-1] <= pair.now


def test_an_mppe_link_records_its_ip_decrypted_both_ways() -> None:
    pair, server_pcap, client_pcap = _tapped(CcpConfig(deflate=None, mppe=MppeConfig()), pap=False)
    to_server = [_ping(CLIENT_ADDR, SERVER_ADDR, n) for n in range(5)]
    to_client = [_ping(SERVER_ADDR, CLIENT_ADDR, n) for n in range(5, 9)]
    _carry(pair, to_client, to_server)
    for wire in (pair.a_to_b, pair.b_to_a):
        assert PPPProtocol.IP not in _wire_protocols(wire)  # encrypted on the line
    client_frames = read_pcap(pcap_header() + client_pcap.take())
    server_frames = read_pcap(pcap_header() + server_pcap.take())
    assert _data(client_frames, sent=True) == _data(server_frames, sent=False) == to_server
    assert _data(client_frames, sent=False) == _data(server_frames, sent=True) == to_client
    protocols = {p for _, p, _, _ in client_frames}
    assert PPPProtocol.COMP not in protocols
    assert {PPPProtocol.CHAP, PPPProtocol.CCP} <= protocols


def test_a_reset_exchange_is_recorded_and_a_lost_datagram_is_not() -> None:
    lose_when_told = LoseNext()
    pair, server_pcap, client_pcap = _tapped(CcpConfig())
    pair.a_to_b.impair = lose_when_told
    server = pair.a
    assert isinstance(server, Link)
    sent = [_ping(SERVER_ADDR, CLIENT_ADDR, n) for n in range(4)]
    for n, packet in enumerate(sent):
        lose_when_told.armed = n == 1
        server.send_ip(packet, pair.now)
        pair.run(pair.now + 0.5)
    delivered = [e.packet for e in pair.of_type("b", IpReceived)]
    assert sent[1] not in delivered
    assert sent[3] in delivered
    server_frames = read_pcap(pcap_header() + server_pcap.take())
    client_frames = read_pcap(pcap_header() + client_pcap.take())
    assert _data(server_frames, sent=True) == sent  # the server sent them all
    assert _data(client_frames, sent=False) == delivered  # the client recorded what it took
    # CCP Reset-Request (14) from the client, Reset-Ack (15) from the server, both seen.
    assert {(True, PPPProtocol.CCP, 14), (False, PPPProtocol.CCP, 15)} <= _control(client_frames)
    assert {(False, PPPProtocol.CCP, 14), (True, PPPProtocol.CCP, 15)} <= _control(server_frames)


def test_a_tap_may_be_set_and_cleared_while_the_link_runs() -> None:
    pair, server_pcap, client_pcap = _tapped(CcpConfig(), vj=True)
    server, client = pair.a, pair.b
    assert isinstance(server, Link)
    assert isinstance(client, Link)
    server_pcap.take()
    server.tap = None
    assert server.tap is None
    client.send_ip(_ping(CLIENT_ADDR, SERVER_ADDR, 1), pair.now)
    pair.run(pair.now + 1.0)
    assert server_pcap.pending == 0  # nothing told once the tap is gone
    assert client_pcap.pending > 0
    late = PcapRecorder()
    server.tap = late.frame
    tcp = bytes(Segment(src=SERVER_ADDR, dst=CLIENT_ADDR, flags=ACK | PSH, data=b"late"))
    server.send_ip(tcp, pair.now)
    client.send_ip(_ping(CLIENT_ADDR, SERVER_ADDR, 2), pair.now)
    pair.run(pair.now + 1.0)
    frames = read_pcap(pcap_header() + late.take())
    assert _data(frames, sent=True) == [tcp]
    assert _data(frames, sent=False) == [_ping(CLIENT_ADDR, SERVER_ADDR, 2)]


@needs_tshark
def test_tshark_reads_a_deflate_links_pcap_with_icmp_both_ways_and_the_password_hidden(
    tmp_path: Path,
) -> None:
    pair, _, client_pcap = _tapped(CcpConfig())
    to_server = [_ping(CLIENT_ADDR, SERVER_ADDR, n) for n in range(2)]
    to_client = [_ping(SERVER_ADDR, CLIENT_ADDR, n) for n in range(2, 4)]
    _carry(pair, to_client, to_server)
    pcap = tmp_path / "link.pcap"
    pcap.write_bytes(client_pcap.header() + client_pcap.take(1733100000.0))
    assert PASSWORD not in pcap.read_bytes()
    assert TSHARK is not None
    result = subprocess.run(
        [
            TSHARK, "-n", "-r", str(pcap), "-T", "fields", "-E", "occurrence=f",
            "-e", "frame.p2p_dir", "-e", "ppp.protocol", "-e", "pap.peer_id",
            "-e", "pap.password", "-e", "icmp.type", "-e", "_ws.col.Protocol",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    protocols = {(row[0], row[5]) for row in rows}
    # Wireshark's frame.p2p_dir: 0 is "Sent", 1 "Received"; each of these goes both ways.
    sent, received = "0", "1"
    for name in ("PPP LCP", "PPP IPCP", "PPP CCP", "ICMP"):
        assert {(sent, name), (received, name)} <= protocols, rows
    assert not [row for row in rows if row[1] == "0x00fd"]  # no opaque compressed datagram
    (pap,) = [row for row in rows if row[1] == "0xc023" and row[2]]
    assert pap[0] == sent
    assert pap[2:4] == ["zaphod", MASK.decode()]
    assert [sent, "0x0021", "", "", "8", "ICMP"] in rows
