"""chat(8) engine: script syntax, escapes, expect/send, exit statuses, logs, and real ptys."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.aio.engines import FdPort, drive, read_file
from pyppp.pppd.chat.command import parse_connect_command
from pyppp.pppd.chat.engine import Break, ChatEngine, Echo, Hangup, Report, Say
from pyppp.pppd.chat.script import ChatScript, ChatScriptError
from pyppp.util import visible
from tests.modemsim import ModemSim

VECTORS = Path(__file__).parent / "vectors" / "chat"
ROOT = Path(__file__).parent.parent


def script(*words: str, **options: object) -> ChatScript:
    return ChatScript.from_words(words, read_file=read_file, **options)


class Modem:
    """An in-process scripted peer: answers each complete line the engine sends."""

    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers = answers
        self.heard = bytearray()

    def hear(self, data: bytes) -> bytes:
        self.heard += data
        reply = b""
        for trigger, answer in self.answers.items():
            while trigger in self.heard:
                i = self.heard.index(trigger)
                del self.heard[: i + len(trigger)]
                reply += answer
        return reply


def converse(
    engine: ChatEngine,
    peer: Callable[[bytes], bytes],
    now: float = 0.0,
    limit: int = 200,
) -> tuple[bytes, list[object], float]:
    """Run engine against peer, advancing a manual clock; return (sent, actions, now)."""
    sent = bytearray()
    actions: list[object] = []
    for _ in range(limit):
        out = engine.data_to_send()
        sent += out
        while (a := engine.next_action()) is not None:
            actions.append(a)
        if engine.done:
            return bytes(sent), actions, now
        reply = peer(out) if out else b""
        if reply:
            engine.receive_data(reply, now)
            continue
        deadline = engine.get_timer()
        assert deadline is not None, "engine waits for ever"
        now = max(now, deadline)
        engine.handle_timer(now)
    raise AssertionError("no end")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pyppp.chat"]


# -- the basics ------------------------------------------------------------------------------


def test_dial_script_sends_and_succeeds() -> None:
    s = ChatScript.from_file(str(VECTORS / "dial.chat"), read_file=read_file, phone=b"5551234")
    modem = Modem({b"ATZ\r": b"ATZ\r\r\nOK\r\n", b"ATDT5551234\r": b"\r\nCONNECT 115200\r\n~\xff"})
    engine = ChatEngine(s, now=0.0)
    sent, actions, _ = converse(engine, modem.hear)
    assert sent == b"ATZ\rATDT5551234\r\r"
    assert engine.exit_status == 0
    assert engine.leftover == b"\n~\xff"  # the REPORT line ended at CR
    assert Report("CONNECT 115200") in actions


def test_verbose_log_lines_are_chats(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyppp.chat")
    s = script("ABORT", "BUSY", "TIMEOUT", "5", "", "ATZ", "OK", "AT\\q", verbose=True)
    engine = ChatEngine(s, now=0.0)
    engine.receive_data(b"ATZ\r\r\nOK", 0.5)
    assert engine.done
    assert engine.exit_status == 0
    assert messages(caplog) == [
        "abort on (BUSY)",
        "timeout set to 5 seconds",
        "send (ATZ^M)",
        "expect (OK)",
        "ATZ^M^M",
        "OK",
        " -- got it",
        "send (??????)",
    ]


def test_timeout_exits_3_with_alarm_and_failed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyppp.chat")
    engine = ChatEngine(script("TIMEOUT", "2", "OK", "x", verbose=True), now=10.0)
    assert engine.get_timer() == 12.0
    engine.handle_timer(11.9)
    assert not engine.done
    engine.handle_timer(12.0)
    assert engine.done
    assert engine.exit_status == 3
    assert messages(caplog)[-2:] == ["alarm", "Failed"]
    assert engine.data_to_send() == b""


def test_default_timeout_and_timeout_zero_is_default() -> None:
    assert ChatEngine(script("OK"), now=0.0).get_timer() == 45.0
    assert ChatEngine(script("TIMEOUT", "0", "OK"), now=0.0).get_timer() == 45.0
    assert ChatEngine(script("TIMEOUT", "junk", "OK"), now=0.0).get_timer() == 45.0
    assert ChatEngine(script("OK", timeout=0), now=0.0).get_timer() is None  # -t 0: no alarm


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [(b"BUSY\r\n", 4, "BUSY"), (b"\r\nNO CARRIER\r\n", 5, "NO CARRIER"), (b"CONNECT", 0, None)],
)
def test_abort_strings_give_4_5(reply: bytes, status: int, reason: str | None) -> None:
    engine = ChatEngine(script("ABORT", "BUSY", "ABORT", "NO CARRIER", "", "ATD", "CONNECT"), now=0)
    engine.receive_data(reply, 1.0)
    assert engine.done
    assert engine.exit_status == status
    assert engine.fail_reason == reason


def test_failed_line_names_the_abort(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyppp.chat")
    engine = ChatEngine(script("ABORT", "BUSY", "OK", verbose=True), now=0)
    engine.receive_data(b"BUSY", 0)
    assert messages(caplog)[-3:] == ["BUSY", " -- failed", "Failed (BUSY)"]


def test_expect_wins_over_abort_on_the_same_byte() -> None:
    engine = ChatEngine(script("ABORT", "BUSY", "BUSY"), now=0)
    engine.receive_data(b"BUSY", 0)
    assert engine.exit_status == 0


def test_clr_abort_removes_and_renumbers() -> None:
    words = ("ABORT", "BUSY", "ABORT", "NO CARRIER", "CLR_ABORT", "BUSY", "OK")
    engine = ChatEngine(script(*words), now=0)
    engine.receive_data(b"BUSY NO CARRIER", 0)
    assert engine.exit_status == 4  # NO CARRIER moved to the first slot, as chat packs it


def test_subexpect_sends_on_timeout_then_expects_again() -> None:
    engine = ChatEngine(script("ogin:--ogin:", "ppp", timeout=3), now=0)
    assert engine.get_timer() == 3
    engine.handle_timer(3)
    assert engine.data_to_send() == b"\r"  # the empty sub-send is a bare CR
    assert engine.get_timer() == 6
    engine.receive_data(b"\r\nlogin:", 4)
    assert engine.data_to_send() == b"ppp\r"
    assert engine.exit_status == 0


def test_subexpect_without_final_expect_succeeds_after_sending() -> None:
    engine = ChatEngine(script("OK-ATZ", "next", timeout=1), now=0)
    engine.handle_timer(1)
    assert engine.data_to_send() == b"ATZ\rnext\r"
    assert engine.exit_status == 0


def test_subexpect_abort_is_not_retried() -> None:
    engine = ChatEngine(script("ABORT", "BUSY", "OK-AT-OK"), now=0)
    engine.receive_data(b"BUSY", 0)
    assert engine.exit_status == 4
    assert engine.data_to_send() == b""


def test_subexpect_escaped_dash_is_literal() -> None:
    engine = ChatEngine(script("a\\-b", "x"), now=0)
    engine.receive_data(b"a-b", 0)
    assert engine.data_to_send() == b"x\r"


# -- keywords --------------------------------------------------------------------------------


def test_report_is_one_shot_and_collects_to_control_char() -> None:
    s = script("REPORT", "CONNECT", "", "ATD", "CONNECT", "", "OK", "")
    engine = ChatEngine(s, now=0)
    engine.receive_data(b"CONNECT 9600/ARQ\r\nCONNECT again OK", 0)
    actions = [a for a in iter(engine.next_action, None)]
    assert actions == [Report("CONNECT 9600/ARQ")]
    assert engine.exit_status == 0


def test_clr_report() -> None:
    engine = ChatEngine(script("REPORT", "CONNECT", "CLR_REPORT", "CONNECT", "CONNECT"), now=0)
    engine.receive_data(b"CONNECT 1200\r", 0)
    assert engine.done
    assert list(iter(engine.next_action, None)) == []


def test_final_report_drains_until_quiet_and_keeps_ppp_flag() -> None:
    engine = ChatEngine(script("REPORT", "CONNECT", "CONNECT"), now=0)
    engine.receive_data(b"CONNECT 1152", 0)
    assert not engine.done
    assert engine.exit_status == 0
    assert engine.reading
    engine.receive_data(b"00~\xff\x03", 0.5)
    assert engine.done
    assert engine.leftover == b"~\xff\x03"
    assert engine.next_action() == Report("CONNECT 115200")
    engine = ChatEngine(script("REPORT", "CONNECT", "CONNECT"), now=0)
    engine.receive_data(b"CONNECT 2400", 0)
    assert engine.get_timer() == 1.0
    engine.handle_timer(1.0)
    assert engine.done
    assert engine.next_action() == Report("CONNECT 2400")


def test_say_echo_hangup_actions() -> None:
    s = script("SAY", "dialling\\n", "ECHO", "ON", "HANGUP", "OFF", "OK", "", "SAY", "done\\c")
    engine = ChatEngine(s, now=0)
    engine.receive_data(b"AT\r\nOK", 0)
    assert list(iter(engine.next_action, None)) == [
        Say(b"dialling\n\r"),  # chat cleans SAY as a send string: CR unless \c
        Hangup(False),
        Echo("AT\nOK"),
        Say(b"done"),
        Echo("\n"),  # chat ends an unfinished echo line at exit
    ]


def test_echo_off_and_control_rendering() -> None:
    engine = ChatEngine(script("X", "", echo=True), now=0)
    engine.receive_data(b"\x01\x7f\x9bX", 0)
    assert engine.next_action() == Echo("^A^?^[X")


def test_hangup_on_ends_with_2_and_off_waits_for_timeout() -> None:
    engine = ChatEngine(script("OK"), now=0)
    engine.connection_lost(now=1.0)
    assert engine.exit_status == 2
    assert engine.fail_reason == "SIGHUP"
    engine = ChatEngine(script("HANGUP", "OFF", "OK", timeout=5), now=0)
    engine.connection_lost(now=1.0)
    assert not engine.done
    engine.handle_timer(5)
    assert engine.exit_status == 3


def test_terminate_from_outside() -> None:
    engine = ChatEngine(script("OK"), now=0)
    engine.terminate("SIGINT", 2)
    assert engine.done
    assert engine.exit_status == 2
    assert engine.get_timer() is None


# -- escapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "wire"),
    [
        ("ATZ", b"ATZ\r"),
        ("", b"\r"),
        ("AT\\c", b"AT"),
        ("a\\cb", b"acb\r"),  # \c only counts at the end
        ("\\b\\n\\r\\s\\t\\\\", b"\x08\n\r \t\\\r"),
        ("x\\N", b"x\x00\r"),
        ("\\101\\60\\0", b"A0\x00\r"),
        ("\\777", b"\xff\r"),
        ("^C^c^@", b"\x03\x03\r"),
        ("a^", b"a^\r"),
        ("\\z\\", b"z\\\r"),
        ("EOT", b"\x04"),
        ("\\T-\\U", b"T-U\r"),  # no -T/-U: the letters go out
    ],
)
def test_send_escapes(word: str, wire: bytes) -> None:
    engine = ChatEngine(script("", word), now=0)
    assert engine.data_to_send() == wire
    assert engine.done


def test_phone_substitution_only_in_send() -> None:
    s = script("", "ATDT\\T,\\U", "\\T", "", phone=b"555", phone2=b"9\\d1")
    engine = ChatEngine(s, now=0)
    assert engine.data_to_send() == b"ATDT555,9"  # \d inside -U text is a pause, as in chat
    engine.handle_timer(1.0)
    assert engine.data_to_send() == b"1\r"
    engine.receive_data(b"555 \\T", 2)  # in an expect, \T stays the two characters
    assert engine.exit_status == 0


def test_env_substitution_with_E() -> None:
    s = ChatScript.parse_args(["-E", "", "AT$CMD\\$x"], env={"CMD": "Z"})
    assert ChatEngine(s, now=0).data_to_send() == b"ATZ$x\r"
    s = ChatScript.parse_args(["", "AT$CMD"], env={"CMD": "Z"})
    assert ChatEngine(s, now=0).data_to_send() == b"AT$CMD\r"


@pytest.mark.parametrize(
    ("word", "text"), [("O\\K", b"OK"), ("\\N\\d\\p", b"Ndp"), ("a\\sb", b"a b"), ("^M", b"\r")]
)
def test_expect_escapes(word: str, text: bytes) -> None:
    engine = ChatEngine(script(word), now=0)
    engine.receive_data(text, 0)
    assert engine.exit_status == 0


def test_delays_pauses_and_break_are_ordered() -> None:
    engine = ChatEngine(script("", "A\\dB\\pC\\KD"), now=100.0)
    assert engine.data_to_send() == b"A"
    assert engine.get_timer() == 101.0
    engine.handle_timer(100.5)
    assert engine.data_to_send() == b""
    engine.handle_timer(101.0)
    assert engine.data_to_send() == b"B"
    assert engine.get_timer() == pytest.approx(101.01)
    engine.handle_timer(101.01)
    assert engine.data_to_send() == b"C"
    assert engine.next_action() == Break()
    assert engine.get_timer() == 101.01  # resumes once the shell has sent the BREAK
    engine.handle_timer(101.01)
    assert engine.data_to_send() == b"D\r"
    assert engine.done


def test_break_word() -> None:
    engine = ChatEngine(script("", "BREAK"), now=0)
    assert engine.next_action() == Break()
    engine.handle_timer(0)
    assert engine.done
    assert engine.data_to_send() == b""


def test_at_file_send(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"secret\n")
    engine = ChatEngine(script("", f"@{tmp_path / 'pw'}"), now=0)
    assert engine.data_to_send() == b"secret\r"
    with pytest.raises(ChatScriptError, match="open failed"):
        script("", f"@{tmp_path / 'missing'}")


def test_high_bit_is_stripped_when_matching() -> None:
    engine = ChatEngine(script("OK"), now=0)
    engine.receive_data(b"\xcf\xcb", 0)
    assert engine.exit_status == 0


def test_visible() -> None:
    assert visible(b"A\r\n\t\x7f\xc1\x80") == "A^M^J\t^?M-AM-^@"


# -- leftover and chunking -------------------------------------------------------------------

TRANSCRIPT = b"ATZ\r\r\nOK\r\nATDT1\r\r\nCONNECT 115200\r\n~\xff\x7d\x23\xc0\x21"


def _dial(engine: ChatEngine, chunks: Sequence[bytes]) -> tuple[bytes, int | None, bytes]:
    for chunk in chunks:
        engine.receive_data(chunk, 0)
    return engine.data_to_send(), engine.exit_status, engine.leftover


@pytest.mark.parametrize("split", range(len(TRANSCRIPT) + 1))
def test_split_at_every_offset(split: int) -> None:
    words = ("", "ATZ", "OK", "ATDT1", "CONNECT", "\\c")
    whole = _dial(ChatEngine(script(*words), now=0), [TRANSCRIPT])
    assert whole == (b"ATZ\rATDT1\r", 0, b" 115200\r\n~\xff\x7d\x23\xc0\x21")
    parts = [TRANSCRIPT[:split], TRANSCRIPT[split:]]
    assert _dial(ChatEngine(script(*words), now=0), parts) == whole


def test_byte_by_byte() -> None:
    words = ("", "ATZ", "OK", "ATDT1", "CONNECT", "\\c")
    chunks = [TRANSCRIPT[i : i + 1] for i in range(len(TRANSCRIPT))]
    assert (
        _dial(ChatEngine(script(*words), now=0), chunks)[2] == b" 115200\r\n~\xff\x7d\x23\xc0\x21"
    )


def test_bytes_during_a_delay_wait_for_the_next_expect() -> None:
    engine = ChatEngine(script("", "A\\d", "OK"), now=0)
    assert engine.data_to_send() == b"A"
    assert not engine.reading
    engine.receive_data(b"xxOKyy", 0.5)
    assert not engine.done
    engine.handle_timer(1.0)
    assert engine.data_to_send() == b"\r"
    assert engine.exit_status == 0
    assert engine.leftover == b"yy"


def test_after_done_received_bytes_join_leftover() -> None:
    engine = ChatEngine(script("OK"), now=0)
    engine.receive_data(b"OK~", 0)
    engine.receive_data(b"\xff", 0)
    assert engine.leftover == b"~\xff"


def test_long_noise_before_match() -> None:
    engine = ChatEngine(script("CONNECT"), now=0)
    engine.receive_data(b"x" * 5000 + b"CONN", 0)
    engine.receive_data(b"ECT!", 0)
    assert engine.exit_status == 0
    assert engine.leftover == b"!"


# -- script syntax and options ---------------------------------------------------------------


def test_script_file_syntax() -> None:
    text = "# comment\n  'a b' \"c\\\"d\" e'f\n\t'g'h # not a comment\n"
    s = ChatScript.from_text(text)
    assert s.words == (b"a b", b'c\\"d', b"e'f", b"g", b"h", b"#", b"not", b"a", b"comment")


def test_unterminated_quote_is_exit_1() -> None:
    with pytest.raises(ChatScriptError, match=r"unterminated quote \(line 2\)") as err:
        ChatScript.from_text("OK ''\n'abc\n", source="x.chat")
    assert err.value.exit_status == 1


def test_howto_vectors_parse() -> None:
    win_client = ChatScript.from_file(str(VECTORS / "winclient.chat"), read_file=read_file)
    assert win_client.words == (b"TIMEOUT", b"3600", b"CLIENT", b"CLIENTSERVER\\c")
    win_server = ChatScript.from_file(str(VECTORS / "winserver.chat"), read_file=read_file)
    assert win_server.words == (b"TIMEOUT", b"10", b"", b"CLIENT\\c")


def test_parse_args_options() -> None:
    s = ChatScript.parse_args(
        ["-vsS", "-t10", "-T", "555", "-U5", "-e", "-V", "-r", "/tmp/r", "--", "-x-", "y"]
    )
    assert (s.verbose, s.use_stderr, s.use_syslog, s.echo, s.stderr_verbose) == (
        True,
        True,
        False,
        True,
        True,
    )
    assert (s.timeout, s.phone, s.phone2, s.report_file) == (10, b"555", b"5", "/tmp/r")
    assert s.words == (b"-x-", b"y")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["-q"], "unknown option -q"),
        (["-t"], "option -t needs a value"),
        (["-f", "x", "OK"], "mutually exclusive"),
        (["-f", "/nonexistent/x.chat"], "open failed"),
    ],
)
def test_parse_args_errors_are_exit_1(argv: list[str], match: str) -> None:
    with pytest.raises(ChatScriptError, match=match) as err:
        ChatScript.parse_args(argv, read_file=read_file)
    assert err.value.exit_status == 1


def test_limits() -> None:
    with pytest.raises(ChatScriptError, match="too-long ABORT") as err:
        script("ABORT", "x" * 50)
    assert err.value.exit_status == 1
    script("ABORT", "x" * 49)
    many = [w for i in range(51) for w in ("ABORT", f"s{i}")]
    with pytest.raises(ChatScriptError, match="Too many ABORT strings") as err:
        script(*many)
    assert err.value.exit_status == 2
    with pytest.raises(ChatScriptError, match="expect string is too long"):
        script("x" * 1025)


def test_trailing_keyword_without_argument_is_ignored() -> None:
    engine = ChatEngine(script("", "AT", "ABORT"), now=0)
    assert engine.done
    assert engine.exit_status == 0


@pytest.mark.parametrize(
    ("cmd", "argv"),
    [
        (
            "chat -v -f /etc/ppp/scripts/winclient.chat",
            ["-v", "-f", "/etc/ppp/scripts/winclient.chat"],
        ),
        ("/usr/sbin/chat -v '' ATZ OK", ["-v", "", "ATZ", "OK"]),
        ("exec chat -T 555 \"\" 'ATDT\\T'", ["-T", "555", "", "ATDT\\T"]),
        ('exec /usr/bin/chat -v "" "AT\\\\c"', ["-v", "", "AT\\c"]),
        ("chat", []),  # the HOWTO's unquoted line: pppd passes only "chat"
        ("chat -v '' ATZ | tee /tmp/x", None),
        ("chat -v '' AT$CMD", None),
        ("chat -f /etc/ppp/x.chat </dev/ttyS0", None),
        ("/etc/ppp/my-dialer", None),
        ("", None),
        ("chat 'unterminated", None),
    ],
)
def test_parse_connect_command(cmd: str, argv: list[str] | None) -> None:
    assert parse_connect_command(cmd) == argv


# -- property tests --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=64), max_size=20),
    ticks=st.lists(st.floats(min_value=0, max_value=100), max_size=5),
)
def test_random_bytes_never_raise(chunks: list[bytes], ticks: list[float]) -> None:
    s = ChatScript.from_file(str(VECTORS / "dial.chat"), read_file=read_file, phone=b"1", echo=True)
    engine = ChatEngine(s, now=0.0)
    now = 0.0
    for i, chunk in enumerate(chunks):
        engine.receive_data(chunk, now)
        if i < len(ticks):
            now += ticks[i]
            engine.handle_timer(now)
        engine.data_to_send()
        while engine.next_action() is not None:
            pass
    assert engine.exit_status in (None, 0, 3, 4, 5, 6)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet="AB-\\^$'\"cdpKNqT0178 rntsbU", max_size=8), max_size=8))
def test_random_scripts_compile_or_fail_cleanly(words: list[str]) -> None:
    try:
        s = script(*words, phone=b"12")
    except ChatScriptError:
        return
    engine = ChatEngine(s, now=0.0)
    engine.receive_data(b"AB-AB", 0.0)
    for t in (1.0, 50.0, 100.0, 200.0, 500.0):
        engine.handle_timer(t)


# -- on a real pty, through the shell runner -------------------------------------------------


def _run_on(device: str, engine: ChatEngine) -> int:
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)

    async def run() -> int:
        status, _ = await drive(engine, FdPort(fd))
        return status

    try:
        return asyncio.run(asyncio.wait_for(run(), 10))
    finally:
        os.close(fd)


def test_modemsim_dial_through_runner() -> None:
    with ModemSim() as modem:
        s = ChatScript.from_file(str(VECTORS / "dial.chat"), read_file=read_file, phone=b"5551234")
        engine = ChatEngine(s, now=time.monotonic())
        assert _run_on(modem.device, engine) == 0
        assert modem.commands == ["ATZ", "ATDT5551234"]
        assert modem.online


@pytest.mark.parametrize(("result", "status"), [("BUSY", 4), ("NO CARRIER", 5), ("NO DIALTONE", 6)])
def test_modemsim_failures_through_runner(result: str, status: int) -> None:
    with ModemSim(dial_result=result) as modem:
        s = ChatScript.from_file(str(VECTORS / "dial.chat"), read_file=read_file, phone=b"5551234")
        assert _run_on(modem.device, ChatEngine(s, now=time.monotonic())) == status


def test_runner_timeout_on_silent_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner's part of a timeout: it arms the loop for exactly the engine's deadline (again
    # at each turn: the same deadline), and hands the engine the loop's time when it fires,
    # never before the deadline. (How long the timeout is, is the engine's: see the sans-IO
    # tests above.) No wall-clock bound.
    armed: list[float] = []
    fired: list[tuple[float, float | None]] = []

    async def run(fd: int) -> int:
        loop = asyncio.get_running_loop()
        engine = ChatEngine(script("", "ATX9", "NEVER", timeout=1), now=loop.time())
        call_at = loop.call_at

        def spy_call_at(
            when: float,
            callback: Callable[..., object],
            *args: object,
            context: contextvars.Context | None = None,
        ) -> asyncio.TimerHandle:
            if getattr(callback, "__name__", "") == "_on_timer":
                armed.append(when)
            return call_at(when, callback, *args, context=context)

        handle_timer = engine.handle_timer

        def spy_handle_timer(now: float) -> None:
            fired.append((now, engine.get_timer()))
            handle_timer(now)

        monkeypatch.setattr(loop, "call_at", spy_call_at)
        monkeypatch.setattr(engine, "handle_timer", spy_handle_timer)
        status, _ = await drive(engine, FdPort(fd))
        assert engine.get_timer() is None
        return status

    with ModemSim(echo=False) as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            assert asyncio.run(asyncio.wait_for(run(fd), 10)) == 3
        finally:
            os.close(fd)
    ((now, deadline),) = fired
    assert deadline is not None
    assert armed
    assert set(armed) == {deadline}
    assert now >= deadline


def test_cli_chat_on_modem() -> None:
    with ModemSim() as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            cmd = [sys.executable, "-m", "pyppp", "chat", "-V", "-S", "-T", "42"]
            cmd += ["ABORT", "BUSY", "", "ATZ", "OK", "ATDT\\T", "CONNECT", ""]
            proc = subprocess.run(
                cmd, stdin=fd, stdout=fd, stderr=subprocess.PIPE, timeout=20, cwd=ROOT, check=False
            )
        finally:
            os.close(fd)
        assert proc.returncode == 0, proc.stderr
        assert modem.dialled == ["42"]
        assert b"send (ATDT42^M)" in proc.stderr
        assert b" -- got it" in proc.stderr


def test_cli_chat_busy_exit_4() -> None:
    with ModemSim(dial_result="BUSY") as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)
        try:
            cmd = [sys.executable, "-m", "pyppp", "chat", "-S", "ABORT", "BUSY", "", "ATD1"]
            cmd += ["CONNECT", ""]
            proc = subprocess.run(
                cmd, stdin=fd, stdout=fd, stderr=subprocess.PIPE, timeout=20, cwd=ROOT, check=False
            )
        finally:
            os.close(fd)
        assert proc.returncode == 4


def test_cli_usage_error_exit_1() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyppp", "chat", "-f", "/nonexistent/file.chat"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert b"/nonexistent/file.chat -- open failed" in proc.stderr


def test_verbose_keyword_lines_and_long_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pyppp.chat")
    words = ("ABORT", "B", "CLR_ABORT", "B", "REPORT", "R", "CLR_REPORT", "R", "-x", "", "Z")
    engine = ChatEngine(script(*words, verbose=True), now=0)
    engine.receive_data(b"y" * 85 + b"Z", 0)
    assert engine.exit_status == 0
    assert messages(caplog) == [
        "abort on (B)",
        "clear abort on (B)",
        "report (R)",
        "clear report (R)",
        "expect ()",  # "-x": an empty first sub-expect succeeds at once
        "got it",
        "send (^M)",
        "expect (Z)",
        "y" * 80,  # chat logs received text in 80-character pieces
        "yyyyyZ",
        " -- got it",
    ]


def test_unread_bytes_are_bounded_and_counted() -> None:
    engine = ChatEngine(script("", "A\\d", "OK"), now=0)
    engine.receive_data(b"x" * 70000, 0)
    assert engine.dropped == 70000 - 65536
    assert len(engine.leftover) == 65536


def test_cli_on_regular_file_and_pipe(tmp_path: Path) -> None:
    (tmp_path / "in").write_bytes(b"junk OK\r\n")
    with (tmp_path / "in").open("rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "pyppp", "chat", "-S", "", "AT", "OK", "ATH\\c"],
            stdin=stdin,
            capture_output=True,
            timeout=20,
            cwd=ROOT,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"AT\rATH"
    proc = subprocess.run(
        [sys.executable, "-m", "pyppp", "chat", "-S", "-s", "-v", "OK"],
        input=b"nothing",
        capture_output=True,
        timeout=20,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2  # end of input = hang-up (HANGUP ON)
    assert proc.stderr.splitlines()[-1] == b"SIGHUP"


# -- file reading is injected ----------------------------------------------------------------


def test_files_are_read_only_through_the_injected_reader() -> None:
    asked: list[tuple[bytes, int]] = []

    def reader(path: bytes, limit: int) -> bytes:
        asked.append((path, limit))
        if path == b"script.chat":
            return b"'' '@secret'\n"
        if path == b"secret":
            return b"x" * 5000
        raise FileNotFoundError(2, "No such file or directory")

    s = ChatScript.parse_args(["-f", "script.chat"], read_file=reader)
    assert asked == [(b"script.chat", (1 << 20) + 1), (b"secret", 1023)]
    assert ChatEngine(s, now=0).data_to_send() == b"x" * 1023 + b"\r"  # chat's STR_LEN - 1
    with pytest.raises(ChatScriptError, match="missing -- open failed: No such file"):
        ChatScript.parse_args(["-f", "missing"], read_file=reader)
    with pytest.raises(ChatScriptError, match="open failed: no file reader given"):
        ChatScript.from_words(["", "@secret"])


def test_chat_file_size_is_bounded() -> None:
    def reader(path: bytes, limit: int) -> bytes:
        return b"x" * limit

    with pytest.raises(ChatScriptError, match="larger than 1048576 bytes"):
        ChatScript.parse_args(["-f", "/dev/zero"], read_file=reader)


# -- issue P: hostile numbers and file names (regression tests) ------------------------------


@pytest.mark.parametrize(
    "digits", ["9" * 11, "9" * 400, "9" * 5000, "-" + "9" * 400], ids=["11", "400", "5000", "-400"]
)
def test_timeout_keyword_number_too_large_is_a_script_error(digits: str) -> None:
    """P.4: a long digit string after TIMEOUT raised ValueError/OverflowError out of chat."""
    with pytest.raises(ChatScriptError, match="TIMEOUT value too large") as err:
        script("OK", "", "TIMEOUT", digits, "X")
    assert err.value.exit_status == 1


@pytest.mark.parametrize("digits", ["9" * 11, "9" * 400, "9" * 5000], ids=["11", "400", "5000"])
def test_t_option_number_too_large_is_a_script_error(digits: str) -> None:
    with pytest.raises(ChatScriptError, match="-t value too large") as err:
        ChatScript.parse_args(["-t", digits, "OK"])
    assert err.value.exit_status == 1
    with pytest.raises(ChatScriptError, match="-t value too large"):
        ChatScript.parse_args([f"-t{digits}", "OK"])


def test_timeout_at_the_bound_and_leading_zeros_work() -> None:
    engine = ChatEngine(script("TIMEOUT", "0002147483647", "OK"), now=0.0)
    assert engine.get_timer() == 2147483647.0
    assert ChatEngine(script("OK", timeout=2147483647), now=0.0).get_timer() == 2147483647.0
    with pytest.raises(ChatScriptError, match="out of range"):
        script("OK", timeout=10**400)


def test_huge_timeout_never_escapes_receive_data_or_handle_timer() -> None:
    """The TIMEOUT step runs from receive_data / handle_timer: the script is refused first."""
    with pytest.raises(ChatScriptError):
        script("OK", "", "TIMEOUT", "9" * 400, "X")  # would run inside receive_data
    with pytest.raises(ChatScriptError):
        script("", "\\d", "TIMEOUT", "9" * 400, "X")  # would run inside handle_timer


@pytest.mark.parametrize("word", ["@a\x00b", "@\x00", "@ /tmp/x\x00y"])
def test_nul_in_at_file_name_is_a_script_error(word: str) -> None:
    """P.5: a NUL in an ``@file`` name raised ValueError from open()."""
    with pytest.raises(ChatScriptError, match="open failed: file name contains a NUL") as err:
        script("", word)
    assert err.value.exit_status == 1
    with pytest.raises(ChatScriptError, match="open failed"):
        ChatScript.from_text(f"'' '{word}'", read_file=read_file)


def test_nul_in_chat_file_name_is_a_script_error() -> None:
    with pytest.raises(ChatScriptError, match="open failed: file name contains a NUL"):
        ChatScript.parse_args(["-f", "/tmp/a\x00b"], read_file=read_file)


def test_one_large_read_equals_the_same_bytes_in_small_reads() -> None:
    """The holding buffer's bound applies to bytes held, not to the size of one read."""
    data = b"x" * 70000 + b"OK!"
    whole = ChatEngine(script("OK"), now=0)
    whole.receive_data(data, 0)
    parts = ChatEngine(script("OK"), now=0)
    for i in range(0, len(data), 4096):
        parts.receive_data(data[i : i + 4096], 0)
    assert (whole.exit_status, whole.leftover, whole.dropped) == (0, b"!", 0)
    assert (parts.exit_status, parts.leftover, parts.dropped) == (0, b"!", 0)
