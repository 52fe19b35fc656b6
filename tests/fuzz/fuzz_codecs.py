"""Every packet and option decoder, and the trace formatter, on hostile bytes.

Oracles: decoders raise only ``MalformedPacket``; what decodes re-encodes to the same bytes
(options: each typed option's encoding, or the verbatim TLV for unknown/malformed ones);
``format_packet`` never raises.
"""

from __future__ import annotations

from pyppp.errors import MalformedPacket
from pyppp.ipcp.options import CODECS as IPCP_CODECS
from pyppp.ipv6cp.options import CODECS as IPV6CP_CODECS
from pyppp.lcp.options import CODECS as LCP_CODECS
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.trace import format_packet
from tests.fuzz.harness import FuzzTarget, Input
from tests.oracles import check_options_round_trip

_CODECS = {"lcp": LCP_CODECS, "ipcp": IPCP_CODECS, "ipv6cp": IPV6CP_CODECS}
_PROTOCOLS = [int(p) for p in PPPProtocol] + [0x0001, 0x4021, 0x80FB]


def control_packet(data: bytes) -> None:
    try:
        packet = ControlPacket.decode(data)
    except MalformedPacket:
        return
    encoded = packet.encode()
    # RFC 1661 §5: octets past Length are padding and are ignored.
    assert encoded == data[: len(encoded)], "ControlPacket does not round-trip"


def _options(kind: str) -> FuzzTarget:
    codecs = _CODECS[kind]

    def run(data: bytes) -> None:
        check_options_round_trip(data, codecs)

    seeds = {
        "lcp": [bytes.fromhex("0206000000000506 5bb51eb9 07020802".replace(" ", ""))],
        "ipcp": [bytes.fromhex("0306 0a000001 8106 00000000 8306 00000000".replace(" ", ""))],
        "ipv6cp": [bytes.fromhex("010a 0011223344556677".replace(" ", ""))],
    }[kind]
    return FuzzTarget(f"codec.{kind}_options", run, seeds=seeds, max_len=300)


def trace(data: bytes) -> None:
    source = Input(data)
    protocol = source.pick(_PROTOCOLS)
    assert isinstance(protocol, int)
    show = bool(source.uint() & 1)
    line = format_packet(protocol, source.rest(), show_password=show)
    assert line.startswith("[")
    assert "\n" not in line


TARGETS = [
    FuzzTarget("codec.control_packet", control_packet, seeds=[bytes.fromhex("01010004")]),
    _options("lcp"),
    _options("ipcp"),
    _options("ipv6cp"),
    FuzzTarget("codec.trace", trace, seeds=[bytes.fromhex("000001010008 03040102")]),
]
