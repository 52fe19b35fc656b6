"""Independent decoders agree with our framer: tshark (Wireshark's PPP dissectors) and scapy.

Frames are written to pcap files two ways: as LINKTYPE_PPP_HDLC (50: one frame per record,
flags and octet-stuffing removed, FCS kept, checked with ``-o ppp.fcs_type:16-Bit``), and as
the raw octet-stuffed byte stream under a user DLT mapped to Wireshark's ``ppp_raw_hdlc``
dissector, which does its own flag hunting and unescaping.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pyppp import hdlc
from pyppp.hdlc import Deframer, FrameEncoder

LINKTYPE_PPP_HDLC = 50
LINKTYPE_USER0 = 147
RAW_HDLC_UAT = 'uat:user_dlts:"User 0 (DLT=147)","ppp_raw_hdlc","0","","0",""'

CONFREQ = bytes.fromhex("01 01 00 14 02 06 00 00 00 00 05 06 5b b5 1e b9 07 02 08 02")
ECHO = bytes.fromhex("09 07 00 0c 5b b5 1e b9 7d 7e 11 13")
IP = bytes.fromhex("45 00 00 1c 00 01 00 00 40 11 d6 70 0a 63 00 01 0a 63 00 02") + bytes(
    (0x13, 0x88, 0x13, 0x89, 0x00, 0x08, 0x00, 0x00)
)
PACKETS = [(0xC021, CONFREQ), (0xC021, ECHO), (0x0021, IP), (0x8021, b"\x01\x02\x00\x04")]
SETTINGS = [
    dict(accm=0xFFFFFFFF, acfc=False, pfc=False),
    dict(accm=0, acfc=True, pfc=True),
    dict(accm=0x000A0000, acfc=True, pfc=False),
]


def frames_on_the_wire(settings: dict[str, int]) -> list[bytes]:
    encoder = FrameEncoder(**settings)  # type: ignore[arg-type]
    return [encoder.encode(protocol, information) for protocol, information in PACKETS]


def unstuffed(wire: bytes) -> bytes:
    """The frame as LINKTYPE_PPP_HDLC wants it: no flags, no escapes, FCS kept."""
    body = hdlc._unescape_exact(wire[1:-1])
    assert body is not None
    return body


def write_pcap(path: Path, linktype: int, records: list[bytes]) -> None:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for number, record in enumerate(records):
            f.write(struct.pack("<IIII", 1_700_000_000 + number, 0, len(record), len(record)))
            f.write(record)


TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def tshark_fields(pcap: Path, fields: list[str], *options: str) -> list[list[str]]:
    assert TSHARK is not None
    command = [
        TSHARK,
        "-n",
        "-r",
        str(pcap),
        "-o",
        "ppp.fcs_type:16-Bit",
        *options,
        "-T",
        "fields",
        "-E",
        "occurrence=f",
    ]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in result.stdout.splitlines()]


FIELDS = [
    "ppp.protocol",
    "ppp.fcs.status",
    "ppp.code",
    "ppp.identifier",
    "lcp.opt.magic_number",
    "lcp.opt.asyncmap",
    "ip.dst",
    "udp.dstport",
]
EXPECTED = [
    ["0xc021", "1", "1", "1", "0x5bb51eb9", "0x00000000", "", ""],
    ["0xc021", "1", "9", "7", "", "", "", ""],  # Echo-Request: magic is lcp.magic_number
    ["0x0021", "1", "", "", "", "", "10.99.0.2", "5001"],
    ["0x8021", "1", "1", "2", "", "", "", ""],  # IPCP Configure-Request id 2
]


@needs_tshark
@pytest.mark.parametrize("settings", SETTINGS)
def test_tshark_checks_fcs_and_fields_of_unstuffed_frames(
    tmp_path: Path, settings: dict[str, int]
) -> None:
    pcap = tmp_path / "ppp_hdlc.pcap"
    write_pcap(pcap, LINKTYPE_PPP_HDLC, [unstuffed(w) for w in frames_on_the_wire(settings)])
    assert tshark_fields(pcap, FIELDS) == EXPECTED


@needs_tshark
@pytest.mark.parametrize("settings", SETTINGS)
def test_tshark_unstuffs_our_raw_byte_stream(tmp_path: Path, settings: dict[str, int]) -> None:
    pcap = tmp_path / "raw_hdlc.pcap"
    write_pcap(pcap, LINKTYPE_USER0, frames_on_the_wire(settings))
    assert tshark_fields(pcap, FIELDS, "-o", RAW_HDLC_UAT) == EXPECTED


@needs_tshark
def test_tshark_sees_a_corrupted_fcs(tmp_path: Path) -> None:
    # The oracle must be able to fail: flip one bit of the IP frame's FCS.
    records = [unstuffed(w) for w in frames_on_the_wire(SETTINGS[1])]
    records[2] = records[2][:-1] + bytes([records[2][-1] ^ 0x01])
    pcap = tmp_path / "bad.pcap"
    write_pcap(pcap, LINKTYPE_PPP_HDLC, records)
    assert [row[1] for row in tshark_fields(pcap, FIELDS)] == ["1", "1", "0", "1"]
    assert Deframer(accm=0).feed(b"\x7e" + records[2] + b"\x7e") == []


@needs_tshark
def test_tshark_decodes_a_pppd_capture_we_also_decode(tmp_path: Path) -> None:
    wire = bytes.fromhex(
        "7e ff 7d 23 c0 21 7d 21 7d 21 7d 20 7d 34 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20"
        " 7d 25 7d 26 5b b5 7d 3e b9 7d 27 7d 22 7d 28 7d 22 cc 5c 7e"
    )
    pcap = tmp_path / "pppd.pcap"
    write_pcap(pcap, LINKTYPE_USER0, [wire])
    assert tshark_fields(pcap, FIELDS, "-o", RAW_HDLC_UAT) == [EXPECTED[0]]
    assert Deframer().feed(wire) == [hdlc.Frame(0xC021, CONFREQ)]


def test_scapy_decodes_the_same_fields() -> None:
    ppp = pytest.importorskip("scapy.layers.ppp", reason="scapy is not installed")
    inet = pytest.importorskip("scapy.layers.inet")
    for settings in SETTINGS:
        for (protocol, information), wire in zip(
            PACKETS, frames_on_the_wire(settings), strict=True
        ):
            body = unstuffed(wire)
            assert hdlc.fcs16_ok(body)
            # scapy has no FCS field for PPP: hand it the frame without the FCS.
            if body[:2] == b"\xff\x03":
                packet = ppp.HDLC(body[:-2])
                assert (packet.address, packet.control) == (0xFF, 0x03)
                layer = packet[ppp.PPP]
            else:
                layer = ppp.PPP(body[:-2])  # scapy's PPP reads a compressed protocol field
            assert layer.proto == protocol
            if information is CONFREQ:
                lcp = layer[ppp.PPP_LCP_Configure]
                assert (lcp.code, lcp.id, lcp.len) == (1, 1, 20)
                options = {option.type: option for option in lcp.options}
                assert options[2].accm == 0
                assert options[5].magic_number == 0x5BB51EB9
                assert {7, 8} <= set(options)
            elif information is ECHO:
                echo = layer[ppp.PPP_LCP_Echo]
                assert (echo.code, echo.id, echo.magic_number) == (9, 7, 0x5BB51EB9)
                assert bytes(echo.data) == b"\x7d\x7e\x11\x13"
            elif information is IP:
                assert layer[inet.IP].dst == "10.99.0.2"
                assert layer[inet.UDP].dport == 5001
            assert bytes(layer.payload) == information
