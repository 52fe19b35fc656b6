"""The policy of one shared-modem call (pyppp.share.session) on a simulated clock.

No sockets, no threads, no sleeps: the test plays the shell, feeding bytes and reporting the
caller's and the modem's buffer levels at chosen instants, and reads the effects.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pyppp.share.config import IDLE_LINE, ShareConfig
from pyppp.share.session import (
    POLL_INTERVAL,
    Effect,
    End,
    EndReason,
    PauseClient,
    PollLines,
    ResumeClient,
    SendBreak,
    Session,
    ToClient,
    ToModem,
    Transparent,
)
from pyppp.share.telnet import Filtered, TelnetFilter, double_iac
from tests.conftest import Clock

IAC, DONT, DO, WONT, WILL, BRK = 255, 254, 253, 252, 251, 243


def make(clock: Clock, client_filter: Any = None, **kw: Any) -> tuple[Session, list[Effect]]:
    config = ShareConfig("/dev/ttyS1", **kw)
    session = Session(config, "127.0.0.1:4000", client_filter)
    return session, session.start(clock.now)


def to_client(effects: list[Effect]) -> bytes:
    return b"".join(e.data for e in effects if isinstance(e, ToClient))


class StubRfc2217:
    """The shell's RFC 2217 filter as the session sees it: data through, IAC doubled."""

    def feed(self, data: bytes) -> Filtered:
        return Filtered(data)

    def escape(self, data: bytes) -> bytes:
        return double_iac(data)


# -- modes and banners --------------------------------------------------------------------------


def test_default_filters_and_rfc2217_needs_the_shells() -> None:
    assert isinstance(Session(ShareConfig("x"), "p").client_filter, TelnetFilter)
    assert isinstance(Session(ShareConfig("x", mode="transparent"), "p").client_filter, Transparent)
    with pytest.raises(ValueError, match="RFC 2217 mode needs"):
        Session(ShareConfig("x", mode="rfc2217"), "p")


@pytest.mark.parametrize("mode", ["raw", "transparent"])
def test_banner_first(clock: Clock, mode: str) -> None:
    _, effects = make(clock, mode=mode, banner="Welcome")
    assert effects == [ToClient(b"Welcome\r\n")]


def test_no_banner_and_line_polls_in_rfc2217_mode(clock: Clock) -> None:
    session, effects = make(clock, StubRfc2217(), mode="rfc2217", banner="Welcome")
    assert effects == []
    assert session.get_timer() == POLL_INTERVAL
    assert session.handle_timer(clock.advance(0.1)) == []  # early: nothing
    assert session.handle_timer(clock.advance(0.1)) == [PollLines()]
    assert session.get_timer() == pytest.approx(0.2 + POLL_INTERVAL)
    # The notice the shell's filter made goes to the caller, undroppable.
    assert session.client_control(b"\xff\xfa\x2c\x6b\x30\xff\xf0", clock.now) == [
        ToClient(b"\xff\xfa\x2c\x6b\x30\xff\xf0")
    ]


def test_raw_mode_telnet_both_ways(clock: Clock) -> None:
    session, _ = make(clock)
    effects = session.client_data(bytes([IAC, WILL, 24, IAC, BRK]) + b"ATZ\r", clock.now)
    assert effects == [ToClient(bytes([IAC, DONT, 24])), SendBreak(), ToModem(b"ATZ\r")]
    # The client speaks telnet now: a modem 0xFF is doubled for it.
    assert session.modem_data(b"\xfe\xff", clock.now) == [ToClient(b"\xfe\xff\xff")]
    assert (session.to_modem, session.from_modem) == (4, 2)


def test_transparent_mode_is_8bit_clean(clock: Clock) -> None:
    session, _ = make(clock, mode="transparent")
    payload = bytes(range(256))
    assert session.client_data(payload, clock.now) == [ToModem(payload)]
    assert session.modem_data(payload, clock.now) == [ToClient(payload)]


# -- idle ---------------------------------------------------------------------------------------


def test_idle_timeout(clock: Clock) -> None:
    session, _ = make(clock, idle=0.4)
    assert session.get_timer() == pytest.approx(0.4)
    session.client_data(b"AT\r", clock.advance(0.1))
    assert session.get_timer() == pytest.approx(0.5)  # a byte from the caller counts
    session.modem_data(b"\r\nOK\r\n", clock.advance(0.2))
    assert session.get_timer() == pytest.approx(0.7)  # and one from the modem
    assert session.handle_timer(0.69) == []
    effects = session.handle_timer(clock.advance(0.4))
    assert effects == [ToClient(IDLE_LINE), End(EndReason.IDLE_TIMEOUT)]
    assert IDLE_LINE.endswith(b"pyppp-share: idle timeout\r\n")
    assert session.get_timer() is None
    assert session.disconnect_line() == (
        "Disconnect 127.0.0.1:4000 (idle timeout): connect time 0.7 s, 3 bytes to modem, "
        "6 bytes from modem, 0 dropped"
    )


def test_idle_timeout_rfc2217_sends_no_line(clock: Clock) -> None:
    session, _ = make(clock, StubRfc2217(), mode="rfc2217", idle=1.0)
    effects: list[Effect] = []
    while not any(isinstance(e, End) for e in effects):
        deadline = session.get_timer()
        assert deadline is not None
        clock.now = deadline
        effects = session.handle_timer(clock.now)
    assert effects == [End(EndReason.IDLE_TIMEOUT)]
    assert clock.now == pytest.approx(1.0)


def test_no_idle_no_deadline(clock: Clock) -> None:
    session, _ = make(clock)
    session.client_data(b"AT\r", clock.advance(100))
    assert session.get_timer() is None


# -- a slow caller: bounded buffer, drops, the stall clock ---------------------------------------


def test_slow_client_never_blocks_the_modem(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    session, _ = make(clock, mode="transparent", max_backlog=16384, stall_timeout=60)
    chunk = b"x" * 4096
    sent = 0
    for _ in range(2048):  # 8 MiB; the caller reads nothing
        clock.advance(0.001)
        session.client_backlog(sent, clock.now)  # all still waiting in its send buffer
        effects = session.modem_data(chunk, clock.now)
        assert not any(isinstance(e, PauseClient | End) for e in effects)
        sent += len(to_client(effects))
    assert sent == 16384  # never more than the backlog waits for the caller
    assert session.dropped == 2048 * 4096 - 16384
    assert session.from_modem == 2048 * 4096
    # One warning for the whole episode.
    assert caplog.messages == ["127.0.0.1:4000 is not reading; dropping modem data"]
    # The caller reads again: fresh data gets through.
    session.client_backlog(0, clock.advance(0.001))
    assert session.modem_data(b"fresh", clock.now) == [ToClient(b"fresh")]


def test_stalled_client_is_cut_off(clock: Clock) -> None:
    session, _ = make(clock, max_backlog=4096, stall_timeout=0.5)
    assert session.modem_data(b"y" * 4096, clock.now) == [ToClient(b"y" * 4096)]
    session.client_backlog(4096, clock.advance(0.1))  # it took nothing
    assert session.modem_data(b"y", clock.now) == []  # dropped: the stall clock starts
    assert session.get_timer() == pytest.approx(0.6)
    session.client_backlog(4096, clock.advance(0.3))
    assert session.handle_timer(clock.now) == []
    session.client_backlog(4096, clock.advance(0.2))
    effects = session.handle_timer(clock.now)
    assert effects == [End(EndReason.CLIENT_STALLED)]
    end = effects[0]
    assert isinstance(end, End)
    assert end.abort  # a flush would never end
    assert session.dropped == 1


def test_any_byte_taken_restarts_the_stall_clock(clock: Clock) -> None:
    session, _ = make(clock, max_backlog=4096, stall_timeout=0.5)
    session.modem_data(b"y" * 4096, clock.now)
    session.modem_data(b"y", clock.advance(0.1))
    assert session.get_timer() == pytest.approx(0.6)
    session.client_backlog(4000, clock.advance(0.4))  # 96 bytes taken: not stalled
    assert session.get_timer() is None
    assert session.handle_timer(clock.advance(1.0)) == []
    assert session.ending is None
    assert session.modem_data(b"z" * 200, clock.now) == []  # 4000 + 200 > 4096: dropped
    assert session.get_timer() == pytest.approx(1.5 + 0.5)


def test_client_not_reading_its_telnet_answers(clock: Clock) -> None:
    session, _ = make(clock, max_backlog=1024)
    session.client_backlog(2048, clock.now)
    assert session.client_data(bytes([IAC, DO, 1]), clock.now) == [ToClient(bytes([IAC, WONT, 1]))]
    session.client_backlog(2049, clock.now)  # more than twice the backlog waits
    effects = session.client_data(bytes([IAC, DO, 3]) + b"AT", clock.now)
    assert effects == [End(EndReason.CLIENT_NOT_READING)]
    assert session.ending == End(EndReason.CLIENT_NOT_READING)
    assert session.ending.abort


# -- the modem side's flow control ---------------------------------------------------------------


def test_slow_modem_pauses_the_caller(clock: Clock) -> None:
    session, _ = make(clock, mode="transparent", max_backlog=4096)
    assert session.client_data(b"d" * 8192, clock.now) == [ToModem(b"d" * 8192)]
    assert session.modem_backlog(4096, clock.now) == []  # at the limit: fine
    assert session.modem_backlog(8000, clock.now) == [PauseClient()]
    assert session.client_paused
    assert session.modem_backlog(9000, clock.now) == []  # said once
    assert session.modem_backlog(100, clock.now) == []  # resumes only when drained
    assert session.modem_backlog(0, clock.now) == [ResumeClient()]
    assert not session.client_paused


# -- ends -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "detail", "text"),
    [
        (EndReason.CLIENT_CLOSED, "", "client closed"),
        (EndReason.CLIENT_ERROR, "Connection reset", "client error: Connection reset"),
        (EndReason.MODEM_HANGUP, "", "modem hangup"),
        (EndReason.MODEM_HANGUP, "Input/output error", "modem hangup (Input/output error)"),
        (EndReason.MODEM_WRITE_FAILED, "[Errno 5] EIO", "modem write failed: [Errno 5] EIO"),
        (EndReason.SHUTDOWN, "", "shutdown"),
    ],
)
def test_end_reasons_as_logged(clock: Clock, reason: EndReason, detail: str, text: str) -> None:
    session, _ = make(clock, idle=10)
    session.client_data(b"ATZ\r", clock.advance(2.25))
    effects = session.end(reason, detail=detail, now=clock.advance(10.0))
    assert effects == [End(reason, detail)]
    assert session.ending is not None
    assert session.ending.text == text
    assert not session.ending.abort
    assert session.disconnect_line() == (
        f"Disconnect 127.0.0.1:4000 ({text}): connect time 12.2 s, 4 bytes to modem, "
        "0 bytes from modem, 0 dropped"
    )


def test_nothing_after_the_end(clock: Clock) -> None:
    session, _ = make(clock, StubRfc2217(), mode="rfc2217", idle=1)
    assert session.end(EndReason.CLIENT_CLOSED, now=clock.now) == [End(EndReason.CLIENT_CLOSED)]
    assert session.end(EndReason.SHUTDOWN, now=clock.now) == []
    later = clock.advance(5)
    assert session.client_data(b"AT\r", later) == []
    assert session.modem_data(b"OK", later) == []
    assert session.client_control(b"\xff\xfb\x01", later) == []
    assert session.modem_backlog(10**6, later) == []
    assert session.handle_timer(later) == []
    assert session.get_timer() is None
    assert (session.to_modem, session.from_modem) == (0, 0)


def test_effects_are_values() -> None:
    # The shell matches on them; they compare by value and cannot be changed.
    assert ToModem(b"a") == ToModem(b"a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ToModem(b"a").data = b"b"  # type: ignore[misc]
