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

``mppe.option``: any 4-octet option 18 with any policy: :func:`review` answers with an option
that re-encodes, Acks only a single supported strength it allows, and converges within two
Naks; :func:`on_nak` only ever asks for a subset of what we sent.
"""

from __future__ import annotations

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
from pyppp.packet import Code
from tests.fuzz.harness import FuzzTarget, Input

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
