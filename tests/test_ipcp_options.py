"""IPCP option codecs: byte vectors, pppd's trace text, round trips, malformed input."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.errors import MalformedPacket
from pyppp.ipcp.options import (
    CODECS,
    VJ_COMP,
    IpAddress,
    IpAddresses,
    IpCompressionProtocol,
    PrimaryDns,
    PrimaryNbns,
    SecondaryDns,
    SecondaryNbns,
)
from pyppp.options import Option, UnknownOption, decode_options, encode_options
from tests.oracles import check_options_round_trip
from tests.strategies import ipcp_options

VECTORS = Path(__file__).parent / "vectors" / "ipcp_options.txt"
# Hypothesis's own choice cache can compare bytes with int keys on a hash collision, which
# `python -bb` turns into an error inside hypothesis; our code is not involved.
pytestmark = pytest.mark.filterwarnings("ignore::BytesWarning:hypothesis.internal.cache")

A = IPv4Address


def load_vectors() -> list[dict[str, str]]:
    blocks = []
    current: dict[str, str] = {}
    for line in VECTORS.read_text().splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, _, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


VECTOR_LIST = load_vectors()


def test_vector_file_is_well_formed() -> None:
    assert len(VECTOR_LIST) >= 7
    for vector in VECTOR_LIST:
        assert set(vector) == {"source", "hex", "trace"}


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["trace"] for v in VECTOR_LIST])
def test_vector_decodes_traces_and_reencodes(vector: dict[str, str]) -> None:
    data = bytes.fromhex(vector["hex"])
    options = decode_options(data, CODECS)
    assert not any(isinstance(o, UnknownOption) for o in options)
    assert " ".join(f"<{o.trace()}>" for o in options) == vector["trace"]
    assert encode_options(options) == data


def test_esp_protocols_request_built_from_objects() -> None:
    # The request pppd sends with usepeerdns and noipdefault, built from our classes.
    options: list[Option] = [
        IpCompressionProtocol.vj(max_slot_id=15, comp_slot_id=1),
        IpAddress(A("0.0.0.0")),
        PrimaryDns(A("0.0.0.0")),
        SecondaryDns(A("0.0.0.0")),
    ]
    assert [o.trace() for o in options] == [
        "compress VJ 0f 01",
        "addr 0.0.0.0",
        "ms-dns1 0.0.0.0",
        "ms-dns2 0.0.0.0",
    ]
    assert encode_options(options) == bytes.fromhex(VECTOR_LIST[0]["hex"])


def test_type_numbers() -> None:
    assert {c.TYPE: c.__name__ for c in CODECS.values()} == {
        1: "IpAddresses",
        2: "IpCompressionProtocol",
        3: "IpAddress",
        129: "PrimaryDns",
        130: "PrimaryNbns",
        131: "SecondaryDns",
        132: "SecondaryNbns",
    }


def test_vj_fields() -> None:
    vj = IpCompressionProtocol.vj(15, 1)
    assert (vj.protocol, vj.max_slot_id, vj.comp_slot_id) == (VJ_COMP, 15, 1)
    old = IpCompressionProtocol(0x0037)
    assert (old.max_slot_id, old.comp_slot_id) == (None, None)
    assert old.encode() == b"\x02\x04\x00\x37"


def test_options_of_different_types_with_same_address_differ() -> None:
    same: list[Option] = [
        PrimaryDns(A("10.0.0.1")),
        SecondaryDns(A("10.0.0.1")),
        PrimaryNbns(A("10.0.0.1")),
        SecondaryNbns(A("10.0.0.1")),
        IpAddress(A("10.0.0.1")),
    ]
    assert len(set(same)) == len(same)


@pytest.mark.parametrize(
    ("codec", "payload"),
    [
        (IpAddress, b"\x0a\x00\x00"),
        (IpAddress, b"\x0a\x00\x00\x01\x00"),
        (IpAddresses, b"\x0a\x00\x00\x01"),
        (PrimaryDns, b""),
        (SecondaryNbns, b"\x01\x02\x03\x04\x05\x06"),
        (IpCompressionProtocol, b"\x00"),
    ],
)
def test_malformed_payload_raises(codec: type[Option], payload: bytes) -> None:
    with pytest.raises(MalformedPacket):
        codec.decode(payload)


def test_malformed_option_becomes_unknown_and_keeps_its_bytes() -> None:
    data = bytes.fromhex("03 04 0a 00 81 06 0a 00 00 35")
    options = decode_options(data, CODECS)
    assert options == [UnknownOption(3, b"\x0a\x00"), PrimaryDns(A("10.0.0.53"))]
    assert encode_options(options) == data


def test_scapy_builds_the_same_bytes() -> None:
    ppp = pytest.importorskip("scapy.layers.ppp")
    built = bytes(
        ppp.PPP_IPCP(
            code=1,
            id=1,
            options=[
                ppp.PPP_IPCP_Option_IPAddress(data="10.99.0.2"),
                ppp.PPP_IPCP_Option_DNS1(data="10.99.0.53"),
                ppp.PPP_IPCP_Option_NBNS1(data="10.99.0.3"),
                ppp.PPP_IPCP_Option_DNS2(data="10.99.0.54"),
                ppp.PPP_IPCP_Option_NBNS2(data="10.99.0.4"),
            ],
        )
    )
    ours = encode_options(
        [
            IpAddress(A("10.99.0.2")),
            PrimaryDns(A("10.99.0.53")),
            PrimaryNbns(A("10.99.0.3")),
            SecondaryDns(A("10.99.0.54")),
            SecondaryNbns(A("10.99.0.4")),
        ]
    )
    assert built[4:] == ours
    decoded = ppp.PPP_IPCP(b"\x01\x01" + (len(ours) + 4).to_bytes(2, "big") + ours)
    assert [o.type for o in decoded.options] == [3, 129, 130, 131, 132]


# -- property tests ------------------------------------------------------------------------------

addresses = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
typed_options = ipcp_options(addresses, data_size=20)


@given(typed_options)
def test_round_trip(option: Option) -> None:
    encoded = option.encode()
    assert encoded[0] == option.TYPE
    assert encoded[1] == len(encoded)
    assert decode_options(encoded, CODECS) == [option]
    assert type(option).decode(option.payload()) == option


@given(typed_options)
def test_trace_has_pppd_shape(option: Option) -> None:
    text = option.trace()
    assert re.fullmatch(r"(addrs|compress|addr|ms-dns1|ms-dns2|ms-wins) \S.*", text)
    assert "<" not in text
    assert ">" not in text


@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_malformed_only(data: bytes) -> None:
    check_options_round_trip(data, CODECS)
