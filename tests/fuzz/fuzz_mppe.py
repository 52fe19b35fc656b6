"""MPPE (RFC 3078): the decryptor fed a hostile mix, and the option-18 policy.

``mppe.decrypt``: an encryptor and a decryptor of one mode (chosen by the input) with a
channel between them that the input drives packet by packet: pass, drop, duplicate, hold back
(reorder), flip bits, truncate, rewrite the header, or inject forged packets. Reset-Requests
the decryptor asks for reach the encryptor. Oracles:

* nothing raises; every result is a :class:`Decrypted` of an encrypted protocol or a
  :class:`Dropped` counted under its reason (the counters add up to the packets fed);
* until the first forged or corrupted packet, everything delivered decrypts to exactly what
  was sent (losses, duplicates and reordering alone never yield a wrong packet; in stateful
  mode the channel never loses a flushed packet, which no receiver could survive);
* the key schedule never runs away: key changes per packet stay bounded (half the count space
  for a stateless jump, 16 for a stateful resync).

``mppe.link``: two links up with MS-CHAPv2 + MPPE, the input forging CCP packets, MPPE packets
(random or a genuine one with a bit flipped) and clear IP into the dialer between its own
sends: nothing raises, and no IP datagram ever leaves the dialer in clear.

``mppe.option``: any 4-octet option 18 with any policy: :func:`review` answers with an option
that re-encodes, Acks only a single supported strength it allows, and converges within two
Naks; :func:`on_nak` only ever asks for a subset of what we sent.
"""

from __future__ import annotations

from pyppp import hdlc
from pyppp.link import Link
from pyppp.mppe import (
    BIT_FLUSHED,
    Decrypted,
    Dropped,
    KeyStrength,
    MppeDecryptor,
    MppeEncryptor,
    MppeFlags,
    MppeMode,
    MppeOption,
    on_nak,
    review,
)
from pyppp.packet import Code, ControlPacket, PPPProtocol
from tests.fuzz.harness import FuzzTarget, Input
from tests.test_link_mppe import both_up, ip_packet, pair

_KEY = bytes(range(0x20, 0x30))
_MAX_REKEYS_PER_PACKET = 2048 + 17


def run_decrypt(data: bytes) -> None:
    source = Input(data)
    settings = source.uint()
    mode = MppeMode(list(KeyStrength)[settings % 3], stateful=bool(settings & 4))
    sender, receiver = MppeEncryptor(_KEY, mode), MppeDecryptor(_KEY, mode)
    trusted = True
    held: list[tuple[bytes, bytes]] = []
    fed = 0
    for step in range(source.below(60) + 1):
        payload = step.to_bytes(2, "big") + source.chunk(40)
        packet = sender.encrypt(0x21, payload)
        action = source.below(10)
        flushed = bool(packet[0] & BIT_FLUSHED)
        if mode.stateful and flushed and action in (1, 3):
            action = 0  # never lose a flushed stateful packet (see the module docstring)
        deliveries: list[tuple[bytes, bytes | None]] = []
        if action == 0:
            deliveries.append((packet, payload))
        elif action == 1:
            pass  # lost
        elif action == 2:
            deliveries += [(packet, payload), (packet, payload)]
        elif action == 3:
            held.append((packet, payload))
        elif action == 4 and held:
            deliveries += [(packet, payload), held.pop(0)]
        elif action == 5 and packet:
            corrupt = bytearray(packet)
            corrupt[source.below(len(corrupt))] ^= 1 << source.below(8)
            deliveries.append((bytes(corrupt), None))
        elif action == 6:
            deliveries.append((packet[: source.below(len(packet) + 1)], None))
        elif action == 7:
            deliveries.append((source.take(2).ljust(2, b"\0") + packet[2:], None))
        else:
            deliveries.append((source.chunk(64), None))
        for wire, expected in deliveries:
            if expected is None:
                trusted = False
            rekeys = receiver.stats.rekeys
            result = receiver.decrypt(wire)
            fed += 1
            assert receiver.stats.rekeys - rekeys <= _MAX_REKEYS_PER_PACKET
            if isinstance(result, Dropped):
                if result.reset:
                    sender.reset()
                continue
            assert isinstance(result, Decrypted)
            assert 0x21 <= result.protocol <= 0xFA
            if trusted and expected is not None:
                assert result == Decrypted(0x21, expected), "a wrong packet got through"
    stats = receiver.stats
    assert stats.packets + sum(stats.dropped.values()) == fed


def run_option(data: bytes) -> None:
    source = Input(data)
    option = MppeOption.decode(source.take(4).ljust(4, b"\0"))
    assert MppeOption.decode(option.payload()) == option
    option.trace()
    allowed = MppeFlags(source.below(4))
    stateful = bool(source.uint() & 1)
    verdict = review(option, allowed, allow_stateful=stateful)
    assert MppeOption.decode(verdict.option.payload()) == verdict.option
    for _ in range(2):
        if verdict.code is not Code.CONF_NAK:
            break
        verdict = review(verdict.option, allowed, allow_stateful=stateful)
    assert verdict.code is not Code.CONF_NAK
    if verdict.code is Code.CONF_ACK:
        flags = verdict.option.flags
        strengths = flags & (MppeFlags.BITS_40 | MppeFlags.BITS_128)
        assert strengths in (MppeFlags.BITS_40, MppeFlags.BITS_128)
        assert strengths & allowed
        assert not flags & (MppeFlags.BITS_56 | MppeFlags.MPPC | MppeFlags.D | MppeFlags.UNKNOWN)
        assert stateful or not flags & MppeFlags.STATEFUL
    sent = MppeFlags(source.below(4))
    following = on_nak(sent, option, allow_stateful=stateful)
    if following is not None:
        assert following & ~MppeFlags.STATEFUL & ~sent == MppeFlags.NONE
        assert stateful or not following & MppeFlags.STATEFUL


TARGETS = [
    FuzzTarget(
        "mppe.decrypt",
        run_decrypt,
        seeds=(b"", b"\x00" * 64, b"\x04" + b"\x01\x02\x03" * 40, b"\x05" + bytes(range(200))),
        max_len=1024,
    ),
    FuzzTarget(
        "mppe.option",
        run_option,
        seeds=(b"\x01\x00\x00\x40\x03\x00", b"\x00\x00\x00\x60\x03\x01", b"\xff" * 8),
        max_len=16,
    ),
]


def run_link(data: bytes) -> None:
    """Two links up with MS-CHAPv2 + MPPE; the input forges frames into the dialer.

    Oracles: nothing raises; the dialer never puts an IP datagram on the line in clear (every
    data frame it sends is 0x00FD), whatever CCP packets, MPPE packets or clear IP arrive.
    """
    source = Input(data)
    linked = pair()
    linked.run(20, stop=both_up)
    client = linked.b
    assert isinstance(client, Link)
    genuine = [frame for _, frame in linked.a_to_b.frames() if frame.protocol == 0x00FD]
    for step in range(source.below(24) + 1):
        kind = source.below(6)
        if kind == 0:
            packet = ControlPacket(1 + source.below(15), source.uint(), source.chunk(24))
            forged = hdlc.encode_frame(PPPProtocol.CCP, packet.encode())
        elif kind == 1:
            forged = hdlc.encode_frame(PPPProtocol.COMP, source.chunk(48))
        elif kind == 2 and genuine:
            base = bytearray(genuine[source.below(len(genuine))].information)
            if base:
                base[source.below(len(base))] ^= 1 << source.below(8)
            forged = hdlc.encode_frame(PPPProtocol.COMP, bytes(base))
        elif kind == 3:
            forged = hdlc.encode_frame(PPPProtocol.IP, ip_packet(step))
        else:
            client.send_ip(ip_packet(step), linked.now)
            forged = b""
        client.receive_data(forged, linked.now)
        linked.run(linked.now + 0.05 * source.below(20))
    linked.run(linked.now + 5)
    sent = {frame.protocol for _, frame in linked.b_to_a.frames()}
    assert PPPProtocol.IP not in sent, "an IP datagram left in clear"
    assert PPPProtocol.IPV6 not in sent


TARGETS.append(
    FuzzTarget(
        "mppe.link",
        run_link,
        seeds=(b"", b"\x05\x00\x00" * 8, b"\x00\x00\x0e\x01\x00" * 4, b"\x02\x00" * 20),
        max_len=512,
    )
)
