"""Van Jacobson compression in ``link.attacked``: its configurations, TCP traffic, hostile frames.

* :func:`vj_configs` turns one input octet into each side's IPCP VJ policy (on or off,
  Max-Slot-Id, slot-id compression), so both directions, one or neither compress.
* :class:`TcpTraffic` is the TCP both sides carry during and after the attack: two
  connections each way, segments that advance as a real TCP's do, pure acks and
  retransmissions, so the compressors really send Compressed-TCP and the slots switch.
* :func:`hostile_vj` forges what a hostile line sends the VJ decompressor: real Compressed- and
  Uncompressed-TCP frames of the peer replayed and damaged, Uncompressed-TCP frames with any
  slot id and header (their IP checksum right or not), Compressed-TCP frames of any change
  mask, slot id, deltas and length.
* :func:`hostile_vj_ipcp` forges IPCP packets carrying IP-Compression-Protocol (option 2) in
  every form pppd knows of and some it does not: RFC 1332's six octets with any Max-Slot-Id
  and Comp-Slot-Id, RFC 1172's four (0x002d and 0x0037), wrong lengths and protocols, and the
  victim's own last Configure-Request with its VJ option changed.
* :func:`check_vj_memory` is the memory oracle of the VJ state: the slot tables never grow and
  no slot holds more than a maximal TCP/IP header.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from ipaddress import IPv4Address

from pyppp.ipcp.vj import MAX_SLOTS
from pyppp.linkconfig import LinkConfig
from pyppp.packet import ControlPacket, PPPProtocol
from tests.fuzz.harness import Input, split_options
from tests.tcpip import ACK, PSH, Segment

__all__ = [
    "MAX_VJ_HEADER",
    "TcpTraffic",
    "check_vj_memory",
    "hostile_vj",
    "hostile_vj_ipcp",
    "vj_configs",
]

MAX_VJ_HEADER = 120
"""The longest header a slot may hold: 60 octets of IP header and 60 of TCP header."""
_MAX_SLOT_IDS = (15, 0, 2, 255)
_VJ_OPTIONS = [
    bytes.fromhex("0206002d0f01"),  # pppd's default request
    bytes.fromhex("0206002d0f00"),  # novjccomp
    bytes.fromhex("0206002d0001"),  # one slot
    bytes.fromhex("0206002d0201"),
    bytes.fromhex("0206002dff01"),  # 256 slots
    bytes.fromhex("0206002d10ff"),  # more than we grant, Comp-Slot-Id not 0/1
    bytes.fromhex("0204002d"),  # RFC 1172's form
    bytes.fromhex("02040037"),  # RFC 1172's form, the old protocol number
    bytes.fromhex("020600370f01"),
    bytes.fromhex("020600210f01"),  # not VJ
    bytes.fromhex("020600fd0f01"),
    bytes.fromhex("0208002d0f010000"),  # too long
    bytes.fromhex("0205002d0f"),  # odd length
    bytes.fromhex("0203ff"),
    bytes.fromhex("0202"),
    bytes.fromhex("03060a630002"),  # IP-Address beside it
    bytes.fromhex("030600000000"),
]
_IPCP_CODES = [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7]


def vj_configs(a: LinkConfig, b: LinkConfig, octet: int) -> tuple[LinkConfig, LinkConfig]:
    """Each side's VJ policy from one input octet.

    Bits 0-1: VJ at ``a`` alone (0), at ``b`` alone (1: the other Configure-Rejects it), at
    both (2, 3); bits 2-3 and 4-5 pick each one's Max-Slot-Id (15, 0, 2 or 255); bits 6 and 7
    turn slot-id compression off at ``a`` and ``b``.
    """

    def policy(config: LinkConfig, on: bool, slots: int, ccomp: bool) -> LinkConfig:
        assert config.ipcp is not None
        ipcp = dataclasses.replace(
            config.ipcp,
            vj=on,
            vj_max_slot_id=_MAX_SLOT_IDS[slots],
            vj_compress_slot_id=ccomp,
        )
        return dataclasses.replace(config, ipcp=ipcp)

    return (
        policy(a, octet & 3 != 1, octet >> 2 & 3, not octet & 0x40),
        policy(b, octet & 3 != 0, octet >> 4 & 3, not octet & 0x80),
    )


class TcpTraffic:
    """Two TCP connections each way between ``a`` and ``b``, advancing like real ones.

    ``sent[side]`` is the last segment sent on each of that side's connections, which a
    retransmission sends again (with the next IP ID, as a host does).
    """

    def __init__(self, a: IPv4Address, b: IPv4Address) -> None:
        def conns(src: IPv4Address, dst: IPv4Address, base: int) -> list[Segment]:
            return [
                Segment(src=str(src), dst=str(dst), sport=base, seq=base * 1000, flags=ACK),
                # TCP options (not timestamps, which VJ leaves alone): a longer header
                Segment(
                    src=str(src),
                    dst=str(dst),
                    sport=base + 1,
                    dport=80,
                    seq=7,
                    tcp_options=b"\x01\x01\x04\x02",
                    flags=ACK | PSH,
                ),
            ]

        self.sent = {"a": conns(a, b, 2000), "b": conns(b, a, 3000)}

    def next(self, side: str, index: int, data: bytes) -> bytes:
        """The next new segment of one connection, carrying ``data`` (empty: a pure ack)."""
        conns = self.sent[side]
        last = conns[index % len(conns)]
        segment = last.but(
            seq=(last.seq + len(last.data)) % 2**32,
            ack=(last.ack + 1) % 2**32 if not data else last.ack,
            ip_id=(last.ip_id + 1) % 65536,
            data=data,
        )
        conns[index % len(conns)] = segment
        return bytes(segment)

    def retransmit(self, side: str, index: int) -> bytes:
        """The last segment of one connection again, with the next IP ID."""
        conns = self.sent[side]
        last = conns[index % len(conns)]
        segment = conns[index % len(conns)] = last.but(ip_id=(last.ip_id + 1) % 65536)
        return bytes(segment)

    def from_input(self, side: str, source: Input) -> bytes:
        """A segment the input chooses: new data, a pure ack or a retransmission."""
        index, kind = source.uint(), source.below(4)
        if kind == 3:
            return self.retransmit(side, index)
        return self.next(side, index, b"" if kind == 2 else source.take(source.below(300)))


def _uncompressed(source: Input, traffic: TcpTraffic, towards: str) -> bytes:
    """An Uncompressed-TCP information field: a header the input varies, any slot id."""
    conns = traffic.sent[towards]
    base = conns[source.below(len(conns))] if source.uint() & 1 else Segment()
    flags = source.uint()
    segment = base.but(
        seq=source.uint(4) if flags & 1 else base.seq,
        ack=source.uint(4) if flags & 2 else base.ack,
        ip_id=source.uint(2),
        flags=source.uint() if flags & 4 else base.flags,
        ip_options=b"\x01" * 4 * source.below(11) if flags & 8 else b"",
        tcp_options=b"\x01" * 4 * source.below(11) if flags & 0x10 else base.tcp_options,
        data=source.take(source.below(40)),
    )
    packet = bytearray(bytes(segment))
    packet[9] = source.uint()  # the slot id, in range or not
    if flags & 0x20:
        packet[source.below(len(packet))] ^= 1 << source.below(8)  # a wrong IP checksum, often
    if flags & 0x40:
        packet[2:4] = struct.pack("!H", source.uint(2))  # a dishonest total length
    return bytes(packet)


def _compressed(source: Input) -> bytes:
    """A Compressed-TCP information field of the input's change mask, slot id and deltas."""
    changes = source.uint()
    head = bytes((changes, source.uint())) if changes & 0x40 else bytes((changes,))
    return head + source.take(2) + source.chunk(12) + source.chunk(40)


def hostile_vj(
    source: Input, replay: Sequence[tuple[int, bytes]], traffic: TcpTraffic
) -> tuple[int, bytes]:
    """A hostile VJ frame for the victim: ``(protocol, information)``.

    Args:
        source: the fuzz input.
        replay: the real VJ frames the peer sent the victim lately, to replay and damage.
        traffic: the connections, whose headers forged Uncompressed-TCP frames start from.
    """
    kind = source.below(5)
    if kind <= 1 and replay:
        protocol, information = replay[source.below(len(replay))]
        damaged = bytearray(information)
        how = source.uint()
        if how & 1 and damaged:
            damaged[source.below(len(damaged))] ^= 1 << source.below(8)
        if how & 2:
            del damaged[source.below(len(damaged) + 1) :]
        if how & 4 and damaged:
            damaged[0] = source.uint()  # another change mask (or slot id's neighbour)
        if how & 8:
            protocol ^= PPPProtocol.VJ_COMP ^ PPPProtocol.VJ_UNCOMP  # the other kind
        return protocol, bytes(damaged)
    if kind == 2:
        side = "b" if source.uint() & 1 else "a"
        return PPPProtocol.VJ_UNCOMP, _uncompressed(source, traffic, side)
    return PPPProtocol.VJ_COMP, _compressed(source)


def hostile_vj_ipcp(source: Input, last_id: int | None, last_request: bytes | None) -> bytes:
    """A forged IPCP packet with IP-Compression-Protocol variations (the information field).

    Args:
        source: the fuzz input.
        last_id: the identifier of the victim's last IPCP packet, which forged answers use.
        last_request: the options of the victim's last IPCP Configure-Request.
    """
    code = source.pick(_IPCP_CODES)
    assert isinstance(code, int)
    flags = source.uint()
    identifier = last_id if flags & 1 and last_id is not None else source.uint()
    if flags & 2 and last_request is not None:
        # The victim's own request, its VJ option replaced, dropped or doubled.
        options = [o for o in split_options(last_request) if o[0] != 2 or not flags & 4]
        options.insert(source.below(len(options) + 1), source.pick(_VJ_OPTIONS))  # type: ignore[arg-type]
    else:
        options = [source.pick(_VJ_OPTIONS) for _ in range(1 + source.below(3))]  # type: ignore[misc]
    return ControlPacket(code, identifier, b"".join(options)).encode()


def check_vj_memory(link: object) -> None:
    """The VJ state of ``link`` stays within its bounds whatever arrived."""
    path = link._path  # type: ignore[attr-defined]
    unvj = path._unvj
    if unvj is not None:
        slots = unvj._slots
        assert len(slots) <= MAX_SLOTS, f"{len(slots)} VJ receive slots"
        for slot in slots:
            assert slot is None or len(slot.header) <= MAX_VJ_HEADER, "a VJ slot grew"
    vj = path._vj
    if vj is not None:
        assert len(vj._slots) <= MAX_SLOTS, f"{len(vj._slots)} VJ send slots"
        assert len(vj._by_key) <= len(vj._slots), "VJ send slots leak keys"
