"""Deflate over PPP (RFC 1979) as Linux's ppp_deflate.c: wire format, history, errors.

The oracle for the wire format is zlib itself, used the way the Linux receiver uses it: a
raw inflate (``-w``) of the datagram after the sequence number, with the stripped
``00 00 ff ff`` put back, gives the protocol field (one octet when its high octet is zero)
and the payload.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.ccp.deflate import (
    AFTER_QUIET,
    CALM_FIRST,
    LOSSY_MEMORY,
    NOISY_RESETS,
    NOISY_SPAN,
    PROBE_EVERY,
    PROBE_MAX,
    SKIP_AFTER,
    DeflateCompressor,
    DeflateDecompressor,
    compressible,
)
from pyppp.ccp.method import DecompressError

TEXT = (
    b"It is a truth universally acknowledged, that a single man in possession of a good "
    b"fortune, must be in want of a wife. However little known the feelings or views of "
    b"such a man may be on his first entering a neighbourhood, this truth is so well fixed "
)
TAIL = b"\x00\x00\xff\xff"


def test_the_datagram_is_sequence_then_raw_deflate_without_the_sync_tail() -> None:
    c = DeflateCompressor(15)
    first = c.compress(0x21, TEXT)
    second = c.compress(0x21, TEXT)
    assert first is not None
    assert second is not None
    assert first[:2] == b"\x00\x00"
    assert second[:2] == b"\x00\x01"
    assert not first.endswith(TAIL)
    inflate = zlib.decompressobj(-15)
    # Protocol 0x0021 starts with its low octet alone (Linux: off = 3).
    assert inflate.decompress(first[2:] + TAIL) == b"\x21" + TEXT
    assert inflate.decompress(second[2:] + TAIL) == b"\x21" + TEXT
    # The second refers back to the first: the history runs across datagrams.
    assert len(second) < len(first) // 4


def test_a_two_octet_protocol_is_compressed_in_full() -> None:
    c = DeflateCompressor(12)
    info = c.compress(0x0281, TEXT)  # MPLS unicast
    assert info is not None
    assert zlib.decompressobj(-12).decompress(info[2:] + TAIL) == b"\x02\x81" + TEXT
    d = DeflateDecompressor(12, 1500)
    assert d.decompress(info) == (0x0281, TEXT)


@pytest.mark.parametrize("protocol", [0x4001, 0x8021, 0xC021, 0x80FD, 0x00FD, 0x00FB])
def test_control_protocols_and_compressed_datagrams_are_left_alone(protocol: int) -> None:
    c = DeflateCompressor(15)
    assert not compressible(protocol)
    assert c.compress(protocol, TEXT) is None
    assert c.sequence == 0  # not counted either


def test_what_does_not_shrink_goes_out_as_it_is_but_still_counts() -> None:
    c, d = DeflateCompressor(15), DeflateDecompressor(15, 1500)
    noise = random.Random(1).randbytes(1400)
    assert c.compress(0x21, noise) is None
    assert c.sequence == 1
    d.incompressible(0x21, noise)
    assert d.sequence == 1
    again = c.compress(0x21, noise)
    assert again is not None
    assert again[:2] == b"\x00\x01"
    assert len(again) < 50
    assert d.decompress(again) == (0x21, noise)


def test_incompressible_history_matches_a_zdict_rebuilt_decompressor() -> None:
    # The other correct way (issue L): a fresh inflate with the window as its dictionary.
    c, d = DeflateCompressor(15), DeflateDecompressor(15, 1500)
    noise = random.Random(2).randbytes(1000)
    assert c.compress(0x21, noise) is None
    d.incompressible(0x21, noise)
    info = c.compress(0x21, noise + TEXT)
    assert info is not None
    rebuilt = zlib.decompressobj(-15, zdict=b"\x21" + noise)
    assert rebuilt.decompress(info[2:] + TAIL) == b"\x21" + noise + TEXT
    assert d.decompress(info) == (0x21, noise + TEXT)


def test_bad_sequence_short_and_garbage_are_resettable_errors() -> None:
    c, d = DeflateCompressor(15), DeflateDecompressor(15, 1500)
    c.compress(0x21, TEXT)  # lost
    info = c.compress(0x21, TEXT)
    assert info is not None
    for bad in (info, b"\x00", b"\x00\x00", b"\x00\x00\xff\xee\xdd\xcc"):
        with pytest.raises(DecompressError) as caught:
            d.decompress(bad)
        assert not caught.value.fatal
        d.reset()
    # After the reset on both sides the stream is in step again.
    c.reset()
    fresh = c.compress(0x21, TEXT)
    assert fresh is not None
    assert d.decompress(fresh) == (0x21, TEXT)


def test_inflating_past_the_mru_is_fatal_and_bounded() -> None:
    c, d = DeflateCompressor(15), DeflateDecompressor(15, 1500)
    bomb = c.compress(0x21, bytes(60000))
    assert bomb is not None
    assert len(bomb) < 200
    with pytest.raises(DecompressError) as caught:
        d.decompress(bomb)
    assert caught.value.fatal


def test_a_final_block_is_an_error() -> None:
    final = zlib.compress(b"\x21" + TEXT, wbits=-15)
    with pytest.raises(DecompressError):
        DeflateDecompressor(15, 1500).decompress(b"\x00\x00" + final)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([0x21, 0x57, 0x2D, 0x2F, 0x0281]),
            st.one_of(
                st.binary(min_size=1, max_size=1500),
                st.integers(0, len(TEXT)).map(lambda n: (TEXT * 10)[n : n + 1400]),
            ),
            st.floats(0, 1),
        ),
        max_size=40,
    ),
    st.sampled_from([9, 12, 15]),
)
def test_round_trips_with_loss_resync_through_resets(
    frames: list[tuple[int, bytes, float]], size: int
) -> None:
    """Every frame that arrives decompresses to what was sent, or fails and is reset.

    A frame is lost with probability 0.2; the receiver must notice at the next compressed
    datagram (its sequence number) and never hand up wrong data.
    """
    c, d = DeflateCompressor(size), DeflateDecompressor(size, 1500)
    for protocol, payload, luck in frames:
        info = c.compress(protocol, payload)
        if luck < 0.2:
            continue  # lost on the line
        if info is None:
            d.incompressible(protocol, payload)
            continue
        failure: DecompressError | None = None
        try:
            decoded = d.decompress(info)
        except DecompressError as exc:
            failure = exc
        if failure is None:
            assert decoded == (protocol, payload)
            continue
        assert not failure.fatal
        # The Reset-Request/Ack exchange: the compressor restarts as its Ack leaves, then
        # the decompressor as the Ack arrives; what was in flight in between is dropped.
        c.reset()
        d.reset()


@given(st.binary(max_size=3000))
def test_hostile_datagrams_never_raise_anything_else(data: bytes) -> None:
    d = DeflateDecompressor(15, 1500)
    for chunk in (data, b"\x00\x00" + data, b"\x00\x01" + data):
        try:
            protocol, payload = d.decompress(chunk)
        except DecompressError:
            d.reset()
            continue
        assert protocol & 1
        assert len(payload) <= 1500
    d.incompressible(0x21, data)


def test_after_a_run_of_incompressible_data_deflate_is_only_probed() -> None:
    """Random data stops costing a deflate per datagram; text afterwards still round-trips,
    and the probe's stream refers back to octets that were sent uncompressed."""
    c, d = DeflateCompressor(15), DeflateDecompressor(15, 1500)
    rng = random.Random(3)
    noise = [rng.randbytes(1200) for _ in range(SKIP_AFTER + PROBE_EVERY + 3)]
    frames = [*noise, TEXT, noise[-1], TEXT, *[TEXT] * PROBE_MAX]
    sent = []
    for payload in frames:
        info = c.compress(0x21, payload)
        sent.append(info)
        if info is None:
            d.incompressible(0x21, payload)
        else:
            assert d.decompress(info) == (0x21, payload)
    assert c.skipped >= PROBE_EVERY
    # The first datagram compressed after the run is TEXT in a handful of octets: the primed
    # stream found it in the window, where only the skipped (uncompressed) frames had put it.
    first = next(i for i, info in enumerate(sent) if info is not None)
    assert first > len(noise) + 1
    assert len(sent[first] or b"") < 20
    assert c.sequence == len(frames) == d.sequence


# -- byte-exact against Linux ---------------------------------------------------------------
def linux_vector() -> tuple[list[tuple[int, bytes]], str]:
    """The frames Linux's ppp_deflate sent in interop scenario 11 (tests/vectors)."""
    path = Path(__file__).parent / "vectors" / "deflate_linux.txt"
    frames, digest = [], ""
    for line in path.read_text().splitlines():
        if line.startswith("# sha256"):
            digest = line.rsplit(" ", 1)[1]
        elif line and not line.startswith("#"):
            protocol, information = line.split()
            frames.append((int(protocol, 16), bytes.fromhex(information)))
    return frames, digest


def test_linux_datagrams_decompress_and_recompress_to_the_same_octets() -> None:
    """pyppp's decompressor reads Linux's datagrams, and its compressor, given the same frames,
    puts out exactly the octets the kernel did (same zlib settings, same sync-flush stripping,
    same protocol-field start, same decision to send uncompressed)."""
    frames, digest = linux_vector()
    assert sum(1 for protocol, _ in frames if protocol == 0xFD) > 30
    decompressor, compressor = DeflateDecompressor(15, 1500), DeflateCompressor(15)
    seen = hashlib.sha256()
    for protocol, information in frames:
        if protocol == 0xFD:
            inner, payload = decompressor.decompress(information)
        else:
            decompressor.incompressible(protocol, information)
            inner, payload = protocol, information
        assert inner == 0x21
        header = payload[:20]
        assert len(payload) == int.from_bytes(header[2:4], "big")  # IPv4 total length
        seen.update(inner.to_bytes(2, "big") + payload)
        again = compressor.compress(inner, payload)
        assert again == (information if protocol == 0xFD else None)
    assert seen.hexdigest() == digest


def test_a_reset_storm_sends_datagrams_as_they_are_for_a_while() -> None:
    # A line losing frames faster than the history survives: NOISY_RESETS Reset-Requests
    # within NOISY_SPAN datagrams. The datagrams then go as they are (still counted) for
    # CALM_FIRST, and the peer, which adds each to its history, decompresses what follows.
    text = b"the quick brown fox jumps over the lazy dog " * 30
    sender = DeflateCompressor(15)
    receiver = DeflateDecompressor(15, mru=1500)
    for _ in range(NOISY_RESETS):
        assert sender.compress(0x21, text) is not None
        sender.reset()  # the peer's Reset-Request; its Reset-Ack resets the receiver
        receiver.reset()
    for _ in range(CALM_FIRST):
        assert sender.compress(0x21, text) is None
        receiver.incompressible(0x21, text)
    assert sender.plain == CALM_FIRST
    compressed = sender.compress(0x21, text)
    assert compressed is not None  # compressing again, in step with the peer's history
    assert receiver.decompress(compressed) == (0x21, text)


def test_resets_far_apart_never_stop_compression() -> None:
    text = b"the quick brown fox jumps over the lazy dog " * 30
    sender = DeflateCompressor(15)
    for _ in range(10):
        for _ in range(NOISY_SPAN + 1):
            assert sender.compress(0x21, text) is not None
        sender.reset()
    assert sender.plain == 0


def varied(i: int) -> bytes:
    """Text-like datagrams that differ, so a wrong back-reference shows."""
    words = TEXT.split()
    rng = random.Random(i)
    return b" ".join(rng.choice(words) for _ in range(120))


def lossy(sender: DeflateCompressor, receiver: DeflateDecompressor) -> None:
    """The line has lost a frame: the peer's Reset-Request, both ends reset (Reset-Ack)."""
    sender.reset()
    receiver.reset()


def test_on_a_clean_line_a_quiet_spell_changes_nothing() -> None:
    sender = DeflateCompressor(15)
    receiver = DeflateDecompressor(15, mru=1500)
    for n in range(3):
        info = sender.compress(0x21, varied(n))
        assert info is not None
        receiver.decompress(info)
    sender.after_quiet()  # no Reset-Request yet: nothing says the line loses frames
    for n in range(3, 3 + AFTER_QUIET + 1):
        info = sender.compress(0x21, varied(n))
        assert info is not None
        assert receiver.decompress(info) == (0x21, varied(n))


def test_a_reset_long_ago_no_longer_makes_the_line_lossy() -> None:
    sender = DeflateCompressor(15)
    receiver = DeflateDecompressor(15, mru=1500)
    lossy(sender, receiver)
    small = b"x" * 40
    for _ in range(LOSSY_MEMORY + 1):
        info = sender.compress(0x21, small)
        assert info is not None
        receiver.decompress(info)
    sender.after_quiet()
    assert sender.compress(0x21, varied(0)) is not None  # compressed: the reset is too old


def test_after_a_quiet_spell_datagrams_go_as_they_are_and_the_history_follows() -> None:
    sender = DeflateCompressor(15)
    receiver = DeflateDecompressor(15, mru=1500)
    lossy(sender, receiver)
    n = 0
    for _ in range(5):
        info = sender.compress(0x21, varied(n))
        assert info is not None
        assert receiver.decompress(info) == (0x21, varied(n))
        n += 1
    sender.after_quiet()
    for _ in range(AFTER_QUIET):
        assert sender.compress(0x21, varied(n)) is None  # sent as it is, still counted
        receiver.incompressible(0x21, varied(n))
        n += 1
    for _ in range(5):
        # The stream knows the datagrams sent as they were: it refers to them where the
        # receiver's window has them, and everything inflates to what was sent.
        info = sender.compress(0x21, varied(n))
        assert info is not None
        assert receiver.decompress(info) == (0x21, varied(n))
        n += 1


def test_a_frame_lost_before_a_quiet_spell_spares_the_datagram_after_it() -> None:
    sender = DeflateCompressor(15)
    receiver = DeflateDecompressor(15, mru=1500)
    lossy(sender, receiver)  # a loss before: this line loses frames
    for i in range(3):
        info = sender.compress(0x21, varied(i))
        assert info is not None
        if i != 2:  # the last one before the pause is lost on the line
            receiver.decompress(info)
    sender.after_quiet()
    for i in range(3, 3 + AFTER_QUIET):
        # TCP's retransmission, say: sent as it is, it gets through whatever was lost.
        assert sender.compress(0x21, varied(i)) is None
        receiver.incompressible(0x21, varied(i))
    later = sender.compress(0x21, varied(9))
    assert later is not None
    with pytest.raises(DecompressError, match="bad sequence number"):
        receiver.decompress(later)  # the loss shows on the next compressed one: a reset
