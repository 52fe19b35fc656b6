"""The raw-mode telnet filter of ``pyppp share`` (pyppp.share.telnet), without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.share.telnet import Filtered, TelnetFilter, double_iac

# RFC 854's numbers, written out here rather than imported, so a wrong constant fails a test.
IAC, DONT, DO, WONT, WILL, SB, SE, AYT, BRK = 255, 254, 253, 252, 251, 250, 240, 246, 243


def test_plain_bytes_pass_untouched() -> None:
    f = TelnetFilter()
    assert f.feed(b"ATZ\r\n").data == b"ATZ\r\n"
    assert not f.telnet
    assert f.escape(b"\xff") == b"\xff"


def test_negotiation_is_refused_and_removed() -> None:
    f = TelnetFilter()
    out = f.feed(bytes([IAC, WILL, 24, IAC, DO, 1, IAC, WONT, 3, IAC, DONT, 5]) + b"ATZ\r")
    assert out.data == b"ATZ\r"
    assert out.reply == bytes([IAC, DONT, 24, IAC, WONT, 1])  # no answer to WONT/DONT
    assert f.telnet
    assert f.refused == 2


def test_iac_iac_both_ways_once_telnet() -> None:
    f = TelnetFilter()
    assert f.feed(b"\xff\xff").data == b"\xff\xff"  # raw client: two real 0xFF bytes
    f.feed(bytes([IAC, DO, 3]))
    assert f.feed(b"A\xff\xffB").data == b"A\xffB"
    assert f.escape(b"x\xffy") == b"x\xff\xffy"


def test_raw_client_ppp_bytes_survive() -> None:
    frame = b"\x7e\xff\x03\xc0\x21\x01\x01\x00\x04\x7e"
    assert TelnetFilter().feed(frame).data == frame


def test_subnegotiation_commands_and_cr_nul() -> None:
    f = TelnetFilter()
    out = f.feed(
        bytes([IAC, SB, 24, 0])
        + b"xterm\xff\xff"
        + bytes([IAC, SE, IAC, AYT, IAC, BRK])
        + b"AT\r\x00ATZ\r"
    )
    assert out.data == b"AT\rATZ\r"
    assert b"yes" in out.reply
    assert out.breaks == 1
    assert f.feed(b"\x00AT").data == b"AT"  # CR NUL split across reads


def _feed_pieces(chunks: list[bytes]) -> tuple[bytes, bytes, int]:
    f = TelnetFilter()
    data, reply, breaks = b"", b"", 0
    for chunk in chunks:
        out = f.feed(chunk)
        data, reply, breaks = data + out.data, reply + out.reply, breaks + out.breaks
    return data, reply, breaks


SAMPLE = (
    b"AT"
    + bytes([IAC, WILL, 24, IAC, SB, 24, 1, IAC, IAC, IAC, SE])
    + b"\xff\xffZ\r\x00"
    + bytes([IAC, BRK, IAC, DO, 1])
    + b"x"
)


@pytest.mark.parametrize("cut", range(len(SAMPLE) + 1))
def test_split_at_every_offset(cut: int) -> None:
    whole = _feed_pieces([SAMPLE])
    assert _feed_pieces([SAMPLE[:cut], SAMPLE[cut:]]) == whole
    assert _feed_pieces([bytes([b]) for b in SAMPLE]) == whole


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_filter_never_raises(chunks: list[bytes]) -> None:
    f = TelnetFilter()
    for chunk in chunks:
        out = f.feed(chunk)
        assert len(out.data) <= len(chunk) + 1


@given(st.binary().filter(lambda b: b"\xff" not in b))
def test_filter_is_transparent_without_iac(data: bytes) -> None:
    assert TelnetFilter().feed(data).data == data


def test_double_iac() -> None:
    data = b"abc"
    assert double_iac(data) is data  # nothing to escape: no copy
    assert double_iac(b"\xff") == b"\xff\xff"
    assert double_iac(b"a\xff\xffb") == b"a\xff\xff\xff\xffb"


def test_ayt_answer_and_nop_dropped() -> None:
    f = TelnetFilter()
    assert f.feed(bytes([IAC, 241]) + b"AT") == Filtered(b"AT")  # NOP: dropped, telnet now
    assert f.telnet
    assert f.feed(bytes([IAC, AYT])).reply == b"\r\n[pyppp-share: yes]\r\n"


def test_subnegotiation_iac_iac_inside_does_not_end_it() -> None:
    f = TelnetFilter()
    out = f.feed(bytes([IAC, SB, 24, IAC, IAC, SE, IAC, SE]) + b"x")
    assert out.data == b"x"


@pytest.mark.parametrize("verb", [WONT, DONT])
def test_refusals_need_no_answer(verb: int) -> None:
    # RFC 854: never acknowledge a request to enter a mode one is already in (all off here).
    f = TelnetFilter()
    assert f.feed(bytes([IAC, verb, 1])) == Filtered(b"")
    assert f.refused == 0


@pytest.mark.parametrize(
    ("stream", "data"),
    [
        # CR NUL before the client shows it speaks telnet: a raw client's bytes, kept.
        (b"\r\x00" + bytes([IAC, WILL, 1]), b"\r\x00"),
        # In telnet mode CR NUL is a CR; the NUL after it is data again.
        (bytes([IAC, WILL, 1]) + b"\r\x00\x00", b"\r\x00"),
        # A command between CR and NUL: no CR NUL pair.
        (b"\r" + bytes([IAC, WILL, 1]) + b"\x00", b"\r\x00"),
    ],
)
def test_cr_nul_rule_does_not_depend_on_the_reads(stream: bytes, data: bytes) -> None:
    # Found by tests/fuzz/fuzz_share.py: the rule used to be applied to a whole read after the
    # fact, so the same stream gave other bytes when the reads were cut elsewhere.
    for cut in range(len(stream) + 1):
        assert _feed_pieces([stream[:cut], stream[cut:]])[0] == data, cut
