"""MPPE (RFC 3078) with RFC 3079 keys: vectors, the packet format, both modes, hostile input."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from Crypto.Cipher import ARC4
from hypothesis import given
from hypothesis import strategies as st

from pyppp.auth.mschap import (
    hash_nt_password_hash,
    master_key,
    mppe_keys_v1,
    mppe_keys_v2,
    nt_password_hash,
    send_start_key,
)
from pyppp.cli.pppd import RC4_BACKEND_ENV, choose_rc4_backend
from pyppp.errors import MalformedPacket
from pyppp.mppe import (
    BIT_ENCRYPTED,
    BIT_FLUSHED,
    COHERENCY_SPACE,
    Decrypted,
    Dropped,
    DropReason,
    KeyStrength,
    MppeDecryptor,
    MppeEncryptor,
    MppeFlags,
    MppeMode,
    MppeOption,
    available_rc4_backends,
    encode_header,
    get_new_key_from_sha,
    initial_session_key,
    method_name,
    next_session_key,
    on_nak,
    parse_header,
    rc4_backend,
    reduce_key,
    review,
    set_rc4_backend,
)
from pyppp.options import UnknownOption, decode_options
from pyppp.packet import Code


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.fixture(params=["arc4", "pycryptodome"], autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test runs with each RC4 backend (pycryptodome always; arc4 when installed)."""
    if request.param not in available_rc4_backends():
        pytest.skip(f"RC4 backend {request.param} not installed")
    before = rc4_backend()
    set_rc4_backend(request.param)
    yield request.param
    set_rc4_backend(before or "auto")


def test_backends_agree_with_pycryptodome(backend: str) -> None:
    key = bytes(range(3, 19))
    data = bytes(range(256)) * 7
    ours = MppeEncryptor(key, MppeMode(KeyStrength.BITS_128, stateful=True))
    stream = ARC4.new(initial_session_key(key, KeyStrength.BITS_128))
    assert ours.encrypt(0x21, data)[2:] == stream.encrypt(b"\x00\x21" + data)
    assert rc4_backend() == backend
    with pytest.raises(ValueError, match="unknown"):
        set_rc4_backend("rot13")


def test_the_command_line_takes_the_backend_from_the_environment(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert choose_rc4_backend({}) is None  # unset: nothing changes, nothing said
    assert capsys.readouterr().err == ""
    assert choose_rc4_backend({RC4_BACKEND_ENV: backend}) is None
    assert rc4_backend() == backend
    assert capsys.readouterr().err == f"pyppp: MPPE's RC4 from {backend} ($PYPPP_RC4_BACKEND)\n"
    assert choose_rc4_backend({RC4_BACKEND_ENV: "rot13"}) == 2  # pppd's option error
    assert "PYPPP_RC4_BACKEND=rot13: unknown RC4 backend 'rot13'" in capsys.readouterr().err
    assert rc4_backend() == backend


# --- RFC 3079 §3.5: MS-CHAPv2 sample key derivations -----------------------------------------
# Password "clientPass", the NT-Response of RFC 2759 §9.2; the samples are the server's send
# direction (= the client's receive direction).

NT_RESPONSE = h("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
MASTER_KEY = h("FDECE3717A8C838CB388E527AE3CDD31")
SEND_START_KEY_128 = h("8B7CDC149B993A1BA118CB153F56DCCB")


def test_the_rfc_sample_start_key() -> None:
    password_hash_hash = hash_nt_password_hash(nt_password_hash(b"clientPass"))
    assert master_key(password_hash_hash, NT_RESPONSE) == MASTER_KEY
    assert send_start_key(MASTER_KEY, is_server=True) == SEND_START_KEY_128
    server = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=True)
    client = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=False)
    assert server.send_key == client.recv_key == SEND_START_KEY_128


@pytest.mark.parametrize(
    ("strength", "section", "session_key", "encrypted"),
    [
        # §3.5.1: SendStartKey40 = 8B 7C DC 14 9B 99 3A 1B.
        (KeyStrength.BITS_40, "3.5.1", "D1269EC49FA62E3E", "929137917E5803D668D75898"),
        # §3.5.2 prints the sample's last octet as 58; RC4 under the printed key gives B8 (a
        # misprint that independent implementations agree on; the key itself is right).
        (KeyStrength.BITS_56, "3.5.2", "D15C00C49FA62E3E", "3F106833FA448DA842BC57B8"),
        (
            KeyStrength.BITS_128,
            "3.5.3",
            "405CB2247A7956E6E211007AE27B22D4",
            "81848317DF68846272FB5ABE",
        ),
    ],
)
def test_rfc3079_sample_session_keys_and_message(
    strength: KeyStrength, section: str, session_key: str, encrypted: str
) -> None:
    start_key = send_start_key(MASTER_KEY, is_server=True, length=strength.key_length)
    assert start_key == SEND_START_KEY_128[: strength.key_length]
    key = initial_session_key(start_key, strength)
    assert key == h(session_key), section
    # "Sample Encrypted Message: rc4(SendSessionKey, "test message")".
    assert ARC4.new(key).encrypt(b"test message") == h(encrypted), section


def test_get_new_key_from_sha_is_rfc3078_section_7_3() -> None:
    start, session = bytes(range(16)), bytes(range(16, 32))
    # SHA1(MasterKey | SHApad1 | SessionKey | SHApad2), cut to the key length.
    expected = hashlib.sha1(start + bytes(40) + session + b"\xf2" * 40).digest()
    assert get_new_key_from_sha(start, session, 16) == expected[:16]
    short = hashlib.sha1(start[:8] + bytes(40) + session[:8] + b"\xf2" * 40).digest()
    assert get_new_key_from_sha(start, session, 8) == short[:8]


def test_reduce_key_salts_40_and_56_bit_keys() -> None:
    key = bytes(range(1, 9))
    assert reduce_key(key, KeyStrength.BITS_40) == h("D1269E0405060708")
    assert reduce_key(key, KeyStrength.BITS_56) == h("D102030405060708")
    assert reduce_key(bytes(range(16)), KeyStrength.BITS_128) == bytes(range(16))


def test_next_session_key_is_rc4_of_the_interim_key() -> None:
    start = SEND_START_KEY_128
    first = initial_session_key(start, KeyStrength.BITS_128)
    interim = get_new_key_from_sha(start, first, 16)
    assert next_session_key(start, first, KeyStrength.BITS_128) == ARC4.new(interim).encrypt(
        interim
    )
    second40 = next_session_key(start[:8], h("D1269EC49FA62E3E"), KeyStrength.BITS_40)
    assert second40[:3] == h("D1269E")
    assert len(second40) == 8


def test_ms_chap_v1_start_key_works_for_128_bit() -> None:
    keys = mppe_keys_v1(b"MyPw", h("102DB5DF085D3041"))
    mode = MppeMode(KeyStrength.BITS_128)
    sender, receiver = MppeEncryptor(keys.send_key, mode), MppeDecryptor(keys.recv_key, mode)
    assert receiver.decrypt(sender.encrypt(0x21, b"hello")) == Decrypted(0x21, b"hello")


def test_a_short_start_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 octets"):
        MppeEncryptor(bytes(8), MppeMode(KeyStrength.BITS_128))


# --- packet format (RFC 3078 §3) ---------------------------------------------------------------

KEY = bytes(range(0x40, 0x50))
SECOND_KEY = next_session_key(
    KEY, initial_session_key(KEY, KeyStrength.BITS_128), KeyStrength.BITS_128
)
STATELESS_128 = MppeMode(KeyStrength.BITS_128)
STATEFUL_128 = MppeMode(KeyStrength.BITS_128, stateful=True)


def test_header_codec() -> None:
    assert encode_header(BIT_FLUSHED | BIT_ENCRYPTED, 0x123) == h("9123")
    assert parse_header(h("9123ff")) == (0x90, 0x123)
    assert parse_header(encode_header(0x10, 0xFFF)) == (0x10, 0xFFF)
    with pytest.raises(MalformedPacket):
        parse_header(b"\x90")


def test_first_stateless_packet_is_count_0_flushed_under_the_second_key() -> None:
    # Linux: the first packet carries count 0 and a fresh key (stateless rekeys before every
    # packet, the initial session key included).
    packet = MppeEncryptor(KEY, STATELESS_128).encrypt(0x0021, b"\x45payload")
    assert packet[:2] == h("9000")
    key = next_session_key(
        KEY, initial_session_key(KEY, KeyStrength.BITS_128), KeyStrength.BITS_128
    )
    assert packet[2:] == ARC4.new(key).encrypt(b"\x00\x21\x45payload")


def test_first_stateful_packet_uses_the_initial_key_without_the_flushed_bit() -> None:
    # "Note that even though we have initialized the key table, we don't set the FLUSHED bit.
    # This is contrary to RFC 3078, sec. 3.1." (Linux ppp_mppe.c, which pppd peers run.)
    sender = MppeEncryptor(KEY, STATEFUL_128)
    first, second = sender.encrypt(0x21, b"one"), sender.encrypt(0x21, b"two")
    assert (first[:2], second[:2]) == (h("1000"), h("1001"))
    stream = ARC4.new(initial_session_key(KEY, KeyStrength.BITS_128))
    # The keystream runs on from one packet to the next.
    assert first[2:] + second[2:] == stream.encrypt(b"\x00\x21one\x00\x21two")


def test_stateful_rekeys_on_flag_packets_only() -> None:
    sender = MppeEncryptor(KEY, STATEFUL_128)
    headers = [parse_header(sender.encrypt(0x21, b"x")) for _ in range(600)]
    flushed = [count for flags, count in headers if flags & BIT_FLUSHED]
    assert flushed == [0xFF, 0x1FF]
    assert all(flags & BIT_ENCRYPTED for flags, _ in headers)
    assert sender.stats.rekeys == 2
    assert (sender.stats.packets, sender.stats.octets) == (600, 1800)


def test_stateless_flushes_every_packet_and_wraps_the_count() -> None:
    sender, receiver = MppeEncryptor(KEY, STATELESS_128), MppeDecryptor(KEY, STATELESS_128)
    for n in range(COHERENCY_SPACE + 3):
        packet = sender.encrypt(0x57, n.to_bytes(2, "big"))
        assert parse_header(packet) == (BIT_FLUSHED | BIT_ENCRYPTED, n % COHERENCY_SPACE)
        assert receiver.decrypt(packet) == Decrypted(0x57, n.to_bytes(2, "big"))
    assert receiver.stats.rekeys == sender.stats.rekeys == COHERENCY_SPACE + 3


def test_one_octet_protocol_field_is_understood() -> None:
    # A Windows peer may compress the inner protocol field (RFC 1661 §6.5); Linux accepts it.
    key = next_session_key(
        KEY, initial_session_key(KEY, KeyStrength.BITS_128), KeyStrength.BITS_128
    )
    packet = h("9000") + ARC4.new(key).encrypt(b"\x21\x45rest")
    assert MppeDecryptor(KEY, STATELESS_128).decrypt(packet) == Decrypted(0x21, b"\x45rest")


@pytest.mark.parametrize("strength", list(KeyStrength))
@pytest.mark.parametrize("stateful", [False, True])
def test_round_trip_every_mode(strength: KeyStrength, stateful: bool) -> None:
    mode = MppeMode(strength, stateful)
    sender, receiver = MppeEncryptor(KEY, mode), MppeDecryptor(KEY, mode)
    for n in range(700):
        data = bytes([n % 251]) * (n % 1500)
        assert receiver.decrypt(sender.encrypt(0x21, data)) == Decrypted(0x21, data)
    assert receiver.stats.packets == 700
    assert not receiver.stats.dropped


def test_directions_use_their_own_keys() -> None:
    keys = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=True)
    peer = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=False)
    ours = MppeEncryptor(keys.send_key, STATELESS_128).encrypt(0x21, b"x")
    assert MppeDecryptor(peer.recv_key, STATELESS_128).decrypt(ours) == Decrypted(0x21, b"x")
    wrong = MppeDecryptor(peer.send_key, STATELESS_128).decrypt(ours)
    assert wrong != Decrypted(0x21, b"x")


# --- loss, resets, hostile packets -------------------------------------------------------------


def test_stateless_loss_costs_only_the_lost_packets() -> None:
    sender, receiver = MppeEncryptor(KEY, STATELESS_128), MppeDecryptor(KEY, STATELESS_128)
    for n in range(300):
        packet = sender.encrypt(0x21, bytes([n % 256]))
        if n % 7 in (2, 3) or 100 <= n < 250:
            continue  # lost on the line
        assert receiver.decrypt(packet) == Decrypted(0x21, bytes([n % 256]))


def test_stateless_late_and_duplicate_packets_are_dropped_without_losing_sync() -> None:
    sender, receiver = MppeEncryptor(KEY, STATELESS_128), MppeDecryptor(KEY, STATELESS_128)
    first, second, third = (sender.encrypt(0x21, bytes([n])) for n in range(3))
    assert receiver.decrypt(second) == Decrypted(0x21, b"\x01")
    assert receiver.decrypt(second) == Dropped(DropReason.LATE)
    assert receiver.decrypt(first) == Dropped(DropReason.LATE)
    assert receiver.decrypt(third) == Decrypted(0x21, b"\x02")
    assert receiver.stats.dropped[DropReason.LATE] == 2
    assert receiver.stats.rekeys == 3  # no 4095-step detour


def test_stateless_garbage_with_a_count_ahead_moves_nothing() -> None:
    sender, receiver = MppeEncryptor(KEY, STATELESS_128), MppeDecryptor(KEY, STATELESS_128)
    assert receiver.decrypt(sender.encrypt(0x21, b"one")) == Decrypted(0x21, b"one")
    forged = bytes([0x90 | 0x07, 0xD0]) + bytes(range(40))  # flushed, encrypted, count 2000
    for _ in range(5):
        assert isinstance(receiver.decrypt(forged), Dropped)
    assert receiver.decrypt(sender.encrypt(0x21, b"two")) == Decrypted(0x21, b"two")
    assert receiver.stats.jumps_undone == 0


def test_stateless_forged_jump_that_passes_is_undone_by_the_senders_packets() -> None:
    # RFC 3078 has no integrity check: a forged packet far ahead may decrypt to something
    # that looks like IP (43 % of random octets do). Here it is a real one, from a copy of
    # the sender 1000 packets on: the receiver takes it and is 1000 keys ahead.
    sender, receiver = MppeEncryptor(KEY, STATELESS_128), MppeDecryptor(KEY, STATELESS_128)
    forger = MppeEncryptor(KEY, STATELESS_128)
    for _ in range(1000):
        forger.encrypt(0x21, b"x")
    assert receiver.decrypt(sender.encrypt(0x21, b"a")) == Decrypted(0x21, b"a")
    assert receiver.decrypt(forger.encrypt(0x21, b"forged")) == Decrypted(0x21, b"forged")
    results = [receiver.decrypt(sender.encrypt(0x21, bytes([n]))) for n in range(10)]
    # The sender's next packets look late, and after three refused in a row the count
    # before the jump is tried too: from then on it is the sender's again.
    assert results[:3] == [Dropped(DropReason.LATE)] * 3
    assert results[3:] == [Decrypted(0x21, bytes([n])) for n in range(3, 10)]
    assert receiver.stats.jumps_undone == 1
    # A second forged jump that decrypts is taken like the first: nothing tells it from a loss.
    assert receiver.decrypt(forger.encrypt(0x21, b"y")) == Decrypted(0x21, b"y")


def test_stateful_loss_discards_until_the_reset_flushes() -> None:
    sender, receiver = MppeEncryptor(KEY, STATEFUL_128), MppeDecryptor(KEY, STATEFUL_128)
    for n in range(10):
        assert isinstance(receiver.decrypt(sender.encrypt(0x21, b"ok")), Decrypted), n
    sender.encrypt(0x21, b"lost")
    assert receiver.decrypt(sender.encrypt(0x21, b"a")) == Dropped(DropReason.LOST, reset=True)
    assert receiver.discarding
    assert receiver.decrypt(sender.encrypt(0x21, b"b")) == Dropped(
        DropReason.DISCARDING, reset=True
    )
    # The CCP Reset-Request reaches the peer, which answers Reset-Ack and flushes. Several
    # Reset-Requests (a lost Reset-Ack) still mean one key change, on the next packet.
    sender.reset()
    sender.reset()
    receiver.reset()  # the Reset-Ack
    packet = sender.encrypt(0x21, b"again")
    assert parse_header(packet)[0] & BIT_FLUSHED
    assert receiver.decrypt(packet) == Decrypted(0x21, b"again")
    assert not receiver.discarding
    assert receiver.decrypt(sender.encrypt(0x21, b"more")) == Decrypted(0x21, b"more")
    assert receiver.stats.dropped == {DropReason.LOST: 1, DropReason.DISCARDING: 1}


def test_stateful_loss_across_flag_packets_resyncs_on_the_next_flag() -> None:
    # No Reset-Request got through: the peer's own flag packets (every 256) resync us, with
    # one key change for every flag packet that was lost too.
    sender, receiver = MppeEncryptor(KEY, STATEFUL_128), MppeDecryptor(KEY, STATEFUL_128)
    for n in range(2000):
        packet = sender.encrypt(0x21, n.to_bytes(2, "big"))
        if 20 <= n < 700:
            continue
        result = receiver.decrypt(packet)
        if n >= 0x2FF or n < 20:
            assert result == Decrypted(0x21, n.to_bytes(2, "big")), n
        else:
            assert isinstance(result, Dropped), n
    assert receiver.stats.rekeys == sender.stats.rekeys


def test_forged_unencrypted_packets_become_fatal_but_good_ones_heal() -> None:
    receiver = MppeDecryptor(KEY, STATELESS_128)
    sender = MppeEncryptor(KEY, STATELESS_128)
    clear = h("8000") + b"\x00\x21plain"
    results = [receiver.decrypt(clear) for _ in range(16)]
    assert all(r == Dropped(DropReason.NOT_ENCRYPTED) for r in results[:15])
    assert results[15] == Dropped(DropReason.NOT_ENCRYPTED, fatal=True)
    healed = MppeDecryptor(KEY, STATELESS_128)
    for _ in range(10):
        healed.decrypt(clear)
    assert isinstance(healed.decrypt(sender.encrypt(0x21, b"x")), Decrypted)
    # One good packet halves the debt (1000 -> 500): 11 more bogons before fatal, not 6.
    assert not any(isinstance(r, Dropped) and r.fatal for r in map(healed.decrypt, [clear] * 10))


@pytest.mark.parametrize(
    ("mode", "header", "reason"),
    [
        (STATELESS_128, "1000", DropReason.NOT_FLUSHED),
        (STATEFUL_128, "10ff", DropReason.FLAG_NOT_FLUSHED),
        (STATEFUL_128, "0000", DropReason.NOT_ENCRYPTED),
    ],
)
def test_impossible_flags_are_counted(mode: MppeMode, header: str, reason: DropReason) -> None:
    receiver = MppeDecryptor(KEY, mode)
    result = receiver.decrypt(h(header) + b"\x00\x21data")
    assert isinstance(result, Dropped)
    assert result.reason is reason
    assert result.reset is mode.stateful
    assert receiver.stats.dropped[reason] == 1


@pytest.mark.parametrize("data", ["", "90", "9000", "10"])
def test_short_packets(data: str) -> None:
    for mode in (STATELESS_128, STATEFUL_128):
        assert MppeDecryptor(KEY, mode).decrypt(h(data)) == Dropped(DropReason.SHORT)


def test_a_decrypted_control_protocol_is_refused() -> None:
    # MPPE carries network-layer protocols only (Linux encrypts 0x0021..0x00FA); an LCP packet
    # coming out of the decryptor is garbage or an attack, never something to act on.
    sender, receiver = MppeEncryptor(KEY, STATEFUL_128), MppeDecryptor(KEY, STATEFUL_128)
    assert receiver.decrypt(sender.encrypt(0xC021, b"\x09\x01\x00\x04")) == Dropped(
        DropReason.BAD_PROTOCOL, reset=True
    )
    assert receiver.decrypt(sender.encrypt(0x21, b"next")) == Decrypted(0x21, b"next")


@given(
    stateful=st.booleans(),
    strength=st.sampled_from(list(KeyStrength)),
    fate=st.lists(st.sampled_from(["ok", "ok", "ok", "lost", "dup", "late"]), max_size=80),
)
def test_loss_patterns_never_yield_a_wrong_packet(
    stateful: bool, strength: KeyStrength, fate: list[str]
) -> None:
    mode = MppeMode(strength, stateful)
    sender, receiver = MppeEncryptor(KEY, mode), MppeDecryptor(KEY, mode)
    previous: bytes | None = None
    for n, what in enumerate(fate):
        data = n.to_bytes(2, "big") * 8
        packet = sender.encrypt(0x21, data)
        if stateful and packet[0] & BIT_FLUSHED and what in ("lost", "late"):
            # Linux changes the key on every flushed packet, reset ones included, so a lost
            # one desynchronises stateful MPPE without a trace: pppd refuses stateful mode
            # unless told otherwise, for this reason.
            what = "ok"
        if what == "late" and previous is not None:
            packet, previous = previous, packet
        elif what == "lost":
            previous = packet
            continue
        result = receiver.decrypt(packet)
        if what == "dup":
            receiver.decrypt(packet)
        if isinstance(result, Dropped):
            if result.reset:
                sender.reset()
            continue
        if what != "late":
            assert result == Decrypted(0x21, data)
        previous = packet
    # Whatever happened, the link heals: at most one reset round and a flushed packet.
    sender.reset()
    for _ in range(2):
        final = receiver.decrypt(sender.encrypt(0x21, b"final"))
        if isinstance(final, Dropped) and final.reset:
            sender.reset()
    assert receiver.decrypt(sender.encrypt(0x21, b"healed")) == Decrypted(0x21, b"healed")


# --- CCP option 18 (RFC 3078 §2) and pppd's policy ---------------------------------------------


@pytest.mark.parametrize(
    ("octets", "trace", "flags"),
    [
        ("01000040", "mppe +H -M +S -L -D -C", MppeFlags.BITS_128),
        ("01000060", "mppe +H -M +S +L -D -C", MppeFlags.BITS_128 | MppeFlags.BITS_40),
        ("00000020", "mppe -H -M -S +L -D -C", MppeFlags.BITS_40 | MppeFlags.STATEFUL),
        (
            "010000f1",
            "mppe +H +M +S +L +D +C",
            MppeFlags.BITS_128
            | MppeFlags.BITS_40
            | MppeFlags.BITS_56
            | MppeFlags.D
            | MppeFlags.MPPC,
        ),
        (
            "03000042",
            "mppe +H -M +S -L -D -C +U (03 00 00 42)",
            MppeFlags.BITS_128 | MppeFlags.UNKNOWN,
        ),
    ],
)
def test_option_codec_and_pppd_trace(octets: str, trace: str, flags: MppeFlags) -> None:
    wire = b"\x12\x06" + h(octets)
    (option,) = decode_options(wire, {18: MppeOption})
    assert isinstance(option, MppeOption)
    assert option.encode() == wire
    assert option.trace() == trace
    assert option.flags == flags


def test_option_of_a_wrong_length_is_unknown() -> None:
    assert decode_options(h("1205010000"), {18: MppeOption}) == [UnknownOption(18, h("010000"))]


def test_from_flags_sends_only_h_s_l() -> None:
    assert MppeOption.from_flags(MppeFlags.BITS_40 | MppeFlags.BITS_128).encode() == h(
        "120601000060"
    )
    assert MppeOption.from_flags(MppeFlags.BITS_128 | MppeFlags.STATEFUL).encode() == h(
        "120600000040"
    )
    assert MppeOption.from_flags(MppeFlags.BITS_56 | MppeFlags.MPPC).supported == 0x01000000


BOTH = MppeFlags.BITS_40 | MppeFlags.BITS_128


@pytest.mark.parametrize(
    ("offered", "allowed", "stateful", "code", "answer"),
    [
        ("01000040", BOTH, False, Code.CONF_ACK, "01000040"),
        ("01000020", BOTH, False, Code.CONF_ACK, "01000020"),
        ("01000060", BOTH, False, Code.CONF_NAK, "01000040"),  # both: the strongest
        ("01000060", MppeFlags.BITS_40, False, Code.CONF_NAK, "01000020"),
        ("01000040", MppeFlags.BITS_40, False, Code.CONF_REJ, "01000040"),
        ("01000020", MppeFlags.BITS_128, False, Code.CONF_REJ, "01000020"),
        ("01000000", BOTH, False, Code.CONF_NAK, "01000060"),  # neither: all we can do
        ("010000c1", BOTH, False, Code.CONF_NAK, "01000040"),  # M and C dropped
        ("05000040", BOTH, False, Code.CONF_NAK, "01000040"),  # unknown bits dropped
        ("00000040", BOTH, False, Code.CONF_REJ, "00000040"),  # stateful refused
        ("00000040", BOTH, True, Code.CONF_ACK, "00000040"),  # mppe-stateful
        ("01000040", MppeFlags.NONE, False, Code.CONF_REJ, "01000040"),  # MPPE not wanted
    ],
)
def test_review_is_pppds_reqci(
    offered: str, allowed: MppeFlags, stateful: bool, code: Code, answer: str
) -> None:
    verdict = review(MppeOption.decode(h(offered)), allowed, allow_stateful=stateful)
    assert (verdict.code, verdict.option.payload().hex()) == (code, answer)
    assert verdict.refused_stateful == (offered == "00000040" and not stateful)


def test_review_converges_for_every_offer() -> None:
    # Whatever the peer offers, if it takes our Nak's suggestion, the next round is an Ack.
    for supported in range(0, 0x100):
        for high in (0, 0x01000000, 0x02000000):
            for allowed in (MppeFlags.BITS_40, MppeFlags.BITS_128, BOTH):
                for stateful in (False, True):
                    offer = MppeOption(high | supported)
                    verdict = review(offer, allowed, allow_stateful=stateful)
                    # At most two rounds: "neither S nor L" is Nak'd with all we allow, and
                    # both S and L with the strongest (pppd's ccp_reqci does the same).
                    for _ in range(2):
                        if verdict.code is not Code.CONF_NAK:
                            break
                        verdict = review(verdict.option, allowed, allow_stateful=stateful)
                    assert verdict.code is not Code.CONF_NAK, (hex(supported), allowed)
                    if verdict.code is Code.CONF_ACK:
                        mode = MppeMode.from_flags(verdict.option.flags)
                        assert mode.strength in (KeyStrength.BITS_40, KeyStrength.BITS_128)


@pytest.mark.parametrize(
    ("sent", "nak", "stateful", "result"),
    [
        (BOTH, "01000040", False, MppeFlags.BITS_128),
        (BOTH, "01000020", False, MppeFlags.BITS_40),
        (MppeFlags.BITS_128, "01000020", False, None),  # not what we asked for
        (BOTH, "00000040", False, None),  # stateful while nomppe-stateful
        (BOTH, "00000040", True, MppeFlags.BITS_128 | MppeFlags.STATEFUL),
        (BOTH, "01000080", False, None),  # 56-bit
        (BOTH, "01000000", False, None),  # no strength at all
    ],
)
def test_on_nak_is_pppds_nakci(
    sent: MppeFlags, nak: str, stateful: bool, result: MppeFlags | None
) -> None:
    assert on_nak(sent, MppeOption.decode(h(nak)), allow_stateful=stateful) == result


def test_method_name_is_pppds_log_wording() -> None:
    assert method_name(MppeFlags.BITS_128) == "MPPE 128-bit stateless"
    assert method_name(MppeFlags.BITS_40 | MppeFlags.STATEFUL) == "MPPE 40-bit stateful"
    assert MppeMode.from_flags(MppeFlags.BITS_40 | MppeFlags.STATEFUL) == MppeMode(
        KeyStrength.BITS_40, stateful=True
    )
    with pytest.raises(ValueError, match="strength"):
        MppeMode.from_flags(MppeFlags.STATEFUL)
