"""LCP option codecs: pppd byte/trace vectors both ways, and hypothesis round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.errors import MalformedPacket
from pyppp.lcp.options import (
    CHAP_MD5,
    CODECS,
    PAP,
    Accm,
    Acfc,
    AuthProtocol,
    Callback,
    ChapAlgorithm,
    EndpointDiscriminator,
    LcpOptionType,
    MagicNumber,
    Mrru,
    Mru,
    Pfc,
    QualityProtocol,
    ShortSequence,
)
from pyppp.options import Option, UnknownOption, decode_options, encode_options
from pyppp.packet import ControlPacket, PPPProtocol
from tests.oracles import check_options_round_trip

VECTORS = Path(__file__).parent / "vectors"
CODE_NAMES = {1: "ConfReq", 2: "ConfAck", 3: "ConfNak", 4: "ConfRej"}


def load(name: str) -> list[tuple[bytes, str]]:
    records = []
    for line in (VECTORS / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        octets, trace = line.split("|", 1)
        records.append((bytes.fromhex(octets), trace.strip()))
    return records


def pppd_format(option: Option) -> str:
    """pppd prints an option it cannot interpret as "<" plus " %.2x" per octet."""
    if isinstance(option, UnknownOption):
        return f"< {option.trace()}>"
    return f"<{option.trace()}>"


@pytest.mark.parametrize(("octets", "trace"), load("lcp_options.txt"))
def test_option_vectors(octets: bytes, trace: str) -> None:
    [option] = decode_options(octets, CODECS)
    assert pppd_format(option) == trace
    # Both ways: what we decode encodes back to the same octets (an Ack echoes exactly).
    assert option.encode() == octets


@pytest.mark.parametrize(("octets", "trace"), load("lcp_packets.txt"))
def test_packet_vectors(octets: bytes, trace: str) -> None:
    packet = ControlPacket.decode(octets)
    options = decode_options(packet.data, CODECS)
    text = " ".join(
        [f"{CODE_NAMES[packet.code]} id=0x{packet.identifier:x}", *map(pppd_format, options)]
    )
    assert text == trace
    rebuilt = ControlPacket(packet.code, packet.identifier, encode_options(options))
    assert rebuilt.encode() == octets


def test_first_confreq_built_from_objects() -> None:
    options: list[Option] = [Accm(0), MagicNumber(0x5BB51EB9), Pfc(), Acfc()]
    packet = ControlPacket(1, 1, encode_options(options)).encode()
    assert packet == bytes.fromhex("01010014020600000000 05065bb51eb9 0702 0802")


def test_well_known_auth_options() -> None:
    assert PAP.encode() == bytes.fromhex("0304c023")
    assert CHAP_MD5.encode() == bytes.fromhex("0305c22305")
    assert CHAP_MD5.algorithm == ChapAlgorithm.MD5
    assert PAP.algorithm is None
    assert AuthProtocol(PPPProtocol.CHAP).algorithm is None


def test_registry_covers_every_type() -> None:
    assert set(CODECS) == {int(t) for t in LcpOptionType}
    for option_type, codec in CODECS.items():
        assert option_type == codec.TYPE


@pytest.mark.parametrize(
    ("codec", "payload"),
    [
        (Mru, b"\x05"),
        (Mru, b"\x05\xdc\x00"),
        (Accm, b"\x00\x00\x00"),
        (AuthProtocol, b"\xc0"),
        (QualityProtocol, b""),
        (MagicNumber, b"\x00" * 5),
        (Pfc, b"\x00"),
        (Acfc, b"\x00"),
        (Callback, b""),
        (Mrru, b""),
        (ShortSequence, b"\x01"),
        (EndpointDiscriminator, b""),
    ],
)
def test_wrong_length_raises_malformed(codec: type[Option], payload: bytes) -> None:
    with pytest.raises(MalformedPacket):
        codec.decode(payload)
    # ... and inside a packet it becomes an UnknownOption, so it gets Configure-Rejected.
    wire = bytes((codec.TYPE, len(payload) + 2)) + payload
    assert decode_options(wire, CODECS) == [UnknownOption(codec.TYPE, payload)]


u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
tail = st.binary(max_size=20)

options_strategy: st.SearchStrategy[Option] = st.one_of(
    st.builds(Mru, u16),
    st.builds(Accm, u32),
    st.builds(AuthProtocol, u16, tail),
    st.builds(QualityProtocol, u16, tail),
    st.builds(MagicNumber, u32),
    st.builds(Pfc),
    st.builds(Acfc),
    st.builds(Callback, u8, tail),
    st.builds(Mrru, u16),
    st.builds(ShortSequence),
    st.builds(EndpointDiscriminator, u8, tail),
)


@given(st.lists(options_strategy, max_size=8))
def test_round_trip(options: list[Option]) -> None:
    assert decode_options(encode_options(options), CODECS) == options
    for option in options:
        text = option.trace()
        assert text
        assert "<" not in text
        assert ">" not in text


@given(st.binary(max_size=64))
def test_decode_garbage_never_escapes(data: bytes) -> None:
    check_options_round_trip(data, CODECS)
