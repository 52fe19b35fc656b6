"""Capture files: the pcap (link type 204) as tshark reads it, and PAP passwords masked.

Oracles: tshark (Wireshark's own PPP, PAP and IP dissectors) reads the pcap of a real link
negotiation with each frame's direction; our Deframer (and tshark) read the masked line bytes
back as the same frames, except for the password; hypothesis splits the stream anywhere.
"""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.capture import (
    LINKTYPE_PPP_WITH_DIR,
    MASK,
    FrameCapture,
    LineMasker,
    mask_pap_request,
    pcap_header,
    pcap_header_problem,
    pcap_record,
)
from pyppp.events import NetworkUp
from pyppp.link import Link
from pyppp.packet import PPPProtocol
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair

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


# -- a real negotiation through the capture, read by tshark -------------------------------------
def _negotiation() -> LinkPair:
    server = Link(
        simple_config(
            local="10.99.0.1", remote="10.99.0.2", require_pap={"zaphod": "gargleBlaster"}
        ),
        rng=seeded_rng(1),
    )
    client = Link(simple_config(user="zaphod", password="gargleBlaster"), rng=seeded_rng(2))
    pair = LinkPair(client, server)
    client.open(0.0)
    server.open(0.0)
    pair.run(10.0, stop=lambda p: bool(p.of_type("a", NetworkUp) and p.of_type("b", NetworkUp)))
    ping = bytes.fromhex("45000054000040004001") + b"\x00\x00" + bytes([10, 99, 0, 2, 10, 99, 0, 1])
    client.send_ip(ping + b"\x08\x00\x00\x00" + bytes(80), pair.now)
    pair.run(pair.now + 1.0)
    return pair


def _client_capture(pair: LinkPair) -> bytes:
    """The client's view: what it wrote (a_to_b) and read (b_to_a), in time order."""
    capture = FrameCapture()
    chunks = [(t, True, d) for t, d in pair.a_to_b.sent] + [
        (t + 0.001, False, d) for t, d in pair.b_to_a.sent
    ]
    out = capture.header()
    for when, sent, data in sorted(chunks, key=lambda c: (c[0], not c[1])):
        out += capture.feed(sent, data, 1733100000.0 + when)
    return out


@needs_tshark
def test_tshark_reads_the_pcap_with_directions_and_the_password_hidden(tmp_path: Path) -> None:
    pcap = tmp_path / "link.pcap"
    pcap.write_bytes(_client_capture(_negotiation()))
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
    # Wireshark's frame.p2p_dir: 0 is "Sent", 1 "Received"; LCP and IPCP go both ways.
    sent, received = "0", "1"
    assert {
        (sent, "PPP LCP"),
        (received, "PPP LCP"),
        (sent, "PPP IPCP"),
        (received, "PPP IPCP"),
        (sent, "ICMP"),
    } <= protocols
    (pap,) = [row for row in rows if row[1] == "0xc023" and row[2]]
    assert pap[0] == sent
    assert pap[2:4] == ["zaphod", MASK.decode()]
    assert [sent, "0x0021", "", "", "8", "ICMP"] in rows


def test_the_capture_normalises_compressed_headers_and_skips_garbage() -> None:
    capture = FrameCapture(receive_accm=0)
    compressed = hdlc.encode_frame(PPPProtocol.IP, b"\x45abc", accm=0, acfc=True, pfc=True)
    out = capture.feed(False, b"noise" + compressed[:5], 5.0) + capture.feed(
        False, compressed[5:], 5.0
    )
    assert out[16:] == b"\x00\xff\x03\x00\x21\x45abc"
    assert capture.frames == 1
    assert LINKTYPE_PPP_WITH_DIR == 204
