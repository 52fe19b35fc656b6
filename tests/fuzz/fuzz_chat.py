"""chat(8) scripts and engine, and the Windows direct-cable handshake, on hostile input.

Targets:

* ``chat.argv`` / ``chat.file``: chat's command line and ``-f`` file syntax into the script
  compiler (with ``@file`` and ``-f`` read through a fake reader). Oracle: the script compiles
  or raises ``ChatScriptError`` (nothing else: no ValueError, OverflowError, IndexError); the
  reader is asked for at most chat's limits; a compiled script runs on noise without raising.
* ``chat.engine``: a script built from chat's vocabulary against hostile modem output, fed once
  per timed segment in one read and again in random reads. Oracle: no exception; the same
  bytes sent, actions (ECHO text merged), exit status, leftover and deadlines whatever the
  chunking (the engine handles bytes one at a time); bounded buffers.
* ``windows.server`` / ``windows.client``: both handshake roles, the same comparison. Oracle:
  the same exit status, leftover and counters whatever the chunking; bounded buffers. (The
  server's answer may differ: by design it sends none when PPP follows in the same read.)
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence

from pyppp.pppd.chat.engine import MAX_PENDING, REPORT_BUFFER, ChatEngine, Echo
from pyppp.pppd.chat.script import (
    MAX_FILE_SIZE,
    MAX_TIMEOUT,
    STR_LEN,
    ChatScript,
    ChatScriptError,
    SettingStep,
)
from pyppp.pppd.windows import DccClient, DccServer
from tests.fuzz.harness import FuzzTarget, Input


class _Format(logging.Handler):
    """Formats every record (a bad format string fails the oracle) and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage()


_LOG = logging.Logger("fuzz.chat", logging.DEBUG)
_LOG.addHandler(_Format())

_WORDS: Sequence[str] = (
    "-t", "-f", "-T", "-U", "-r", "-e", "-E", "-v", "-V", "-s", "-S", "-vsS", "--", "-t10",
    "-q", "-", "TIMEOUT", "ABORT", "REPORT", "CLR_ABORT", "CLR_REPORT", "SAY", "ECHO",
    "HANGUP", "ON", "OFF", "@file", "@", "@ x\x00y", "@missing", "9" * 30, "-9" * 12, "0",
    "OK", "", "ATZ\\c", "a-b-c", "ogin:--ogin:", "\\", "^", "^@", "$HOME", "\\T", "\\U",
    "\\N", "\\777", "\\q", "\\d\\p\\K", "x" * 60, "EOT", "BREAK", "CONNECT", "BUSY",
    "NO CARRIER", "'", '"', "#", "\\\"", "2147483648", "2147483647", "00000000000000000001",
)  # fmt: skip

_MODEM: Sequence[bytes] = (
    b"OK", b"\r\n", b"CONNECT 115200", b"BUSY", b"NO CARRIER", b"~\xff\x03", b"ogin:",
    b"ATZ\r", b"\x00", b"\x7f", b"\xcf\xcb", b"CLIENT", b"SERVER", b"CLIENTSERVER", b"~",
    b"a-b", b"x" * 300, b"\xd3ERVER", b"CLI\x00ENT",
)  # fmt: skip


def _word(source: Input) -> str:
    choice = source.uint()
    if choice < 160:
        return _WORDS[choice % len(_WORDS)]
    return source.chunk(40).decode("utf-8", "surrogateescape")


def _reader(content: bytes) -> Callable[[bytes, int], bytes]:
    def read_file(path: bytes, limit: int) -> bytes:
        assert b"\x00" not in path, "a name with a NUL reached the reader"
        assert 0 < limit <= MAX_FILE_SIZE + 1, f"unbounded read ({limit})"
        if b"missing" in path:
            raise FileNotFoundError(2, "No such file or directory")
        return content[:limit]

    return read_file


def _run_timers(
    engine: ChatEngine | DccServer | DccClient, now: float, after: Callable[[], None]
) -> float:
    """Let deadlines pass (at most 30) until the engine waits for nothing; return the time."""
    for _ in range(30):
        deadline = engine.get_timer()
        if deadline is None:
            break
        now = max(now, deadline)
        engine.handle_timer(now)
        after()
    return now


def _exercise(script: ChatScript, noise: bytes) -> None:
    """A compiled script is sane and runs on noise and timers without raising."""
    for step in script.steps:
        if isinstance(step, SettingStep) and step.keyword == "TIMEOUT":
            assert -MAX_TIMEOUT - 1 <= step.seconds <= MAX_TIMEOUT, "unbounded TIMEOUT"
    engine = ChatEngine(script, logger=_LOG, now=0.0)
    now = 0.0
    for i in range(0, max(len(noise), 1), 97):
        engine.receive_data(noise[i : i + 97], now)
        engine.data_to_send()
        while engine.next_action() is not None:
            pass
    now = _run_timers(engine, now, lambda: None)
    engine.connection_lost(now=now)
    engine.terminate("SIGTERM")
    assert engine.done


def _compile(build: Callable[[], ChatScript], source: Input) -> None:
    """The script compiles (then runs on the rest of the input) or is chat's script error."""
    try:
        script = build()
    except ChatScriptError as exc:
        status = exc.exit_status
    else:
        _exercise(script, source.rest())
        return
    assert status in (1, 2), f"chat exits {status} on a script error"


def chat_argv(data: bytes) -> None:
    source = Input(data)
    argv = [_word(source) for _ in range(source.below(14))]
    read_file = _reader(source.chunk(200))
    env = {"HOME": "/root", "X": source.chunk(8).decode("latin-1")}
    _compile(lambda: ChatScript.parse_args(argv, env=env, read_file=read_file), source)


def chat_file(data: bytes) -> None:
    source = Input(data)
    parts: list[str] = []
    for _ in range(source.below(24)):
        parts.append(_word(source))
        parts.append(str(source.pick((" ", "\t", "\n", " '", "' ", ' "', '" ', "\n#", "\\"))))
    text = "".join(parts).encode("utf-8", "surrogateescape")
    read_file = _reader(source.chunk(100))
    echo = bool(source.uint() & 1)
    _compile(
        lambda: ChatScript.from_text(
            text, source="fuzz.chat", read_file=read_file, echo=echo, verbose=True
        ),
        source,
    )


# -- chunking oracles ------------------------------------------------------------------------


def _segments(source: Input) -> list[tuple[float, bytes]]:
    """Timed pieces of line output: (when, bytes), when never decreasing."""
    segments: list[tuple[float, bytes]] = []
    now = 0.0
    for _ in range(1 + source.below(6)):
        now += source.below(8) * 0.5
        out = bytearray()
        for _ in range(source.below(8)):
            choice = source.uint()
            out += _MODEM[choice % len(_MODEM)] if choice < 200 else source.chunk(24)
        segments.append((now, bytes(out)))
    return segments


def _chunks(data: bytes, rng: random.Random) -> list[bytes]:
    if len(data) < 2:
        return [data]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(8))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


class _Run:
    """One engine's trace: what it sent, what it asked for, its deadlines."""

    def __init__(self) -> None:
        self.sent = bytearray()
        self.actions: list[object] = []
        self.deadlines: list[float | None] = []

    def collect(self, engine: ChatEngine | DccServer | DccClient) -> None:
        self.sent += engine.data_to_send()
        while (action := engine.next_action()) is not None:
            last = self.actions[-1] if self.actions else None
            if isinstance(action, Echo) and isinstance(last, Echo):  # one burst or several
                self.actions[-1] = Echo(last.text + action.text)
            else:
                self.actions.append(action)


def _play(
    make: Callable[[], ChatEngine | DccServer | DccClient],
    segments: list[tuple[float, bytes]],
    rng: random.Random | None,
    check: Callable[[ChatEngine | DccServer | DccClient], None],
) -> tuple[ChatEngine | DccServer | DccClient, _Run]:
    engine = make()
    run = _Run()
    run.collect(engine)
    for when, data in segments:
        engine.handle_timer(when)
        run.collect(engine)
        for chunk in [data] if rng is None else _chunks(data, rng):
            engine.receive_data(chunk, when)
            run.collect(engine)
            check(engine)
        run.deadlines.append(engine.get_timer())

    def after_timer() -> None:
        run.collect(engine)
        run.deadlines.append(engine.get_timer())

    _run_timers(engine, segments[-1][0], after_timer)
    return engine, run


_EXPECTS = ("OK", "CONNECT", "ogin:--ogin:", "OK-AT-OK", "", "\\r\\n", "^M", "O\\K", "CLIENT")
_SENDS = ("ATZ", "ATDT\\T", "\\d\\pX", "BREAK", "EOT", "\\c", "x\\Ky", "\\q", "CLIENTSERVER\\c")
_SETTINGS = (
    ("ABORT", "BUSY"), ("ABORT", "NO CARRIER"), ("REPORT", "CONNECT"), ("CLR_REPORT", "CONNECT"),
    ("CLR_ABORT", "BUSY"), ("TIMEOUT", "3"), ("TIMEOUT", "0"), ("ECHO", "ON"), ("ECHO", "OFF"),
    ("HANGUP", "OFF"), ("HANGUP", "ON"), ("SAY", "hello\\n"),
)  # fmt: skip


def chat_engine(data: bytes) -> None:
    source = Input(data)
    words: list[str] = []
    for _ in range(source.below(10)):
        kind = source.below(3)
        if kind == 0:
            words += _SETTINGS[source.below(len(_SETTINGS))]
        else:
            words += [str(source.pick(_EXPECTS)), str(source.pick(_SENDS))]
    timeout, echo = source.below(5), bool(source.uint() & 1)
    script = ChatScript.from_words(
        words, phone=b"5551234", timeout=timeout, echo=echo, verbose=True
    )
    segments = _segments(source)
    rng = random.Random(source.uint(4))

    def check(engine: ChatEngine | DccServer | DccClient) -> None:
        assert isinstance(engine, ChatEngine)
        # Memory: every buffer the line can fill is bounded (private fields, on purpose).
        assert len(engine.leftover) <= MAX_PENDING
        assert len(engine._match) <= STR_LEN
        assert engine._report_buffer is None or len(engine._report_buffer) < REPORT_BUFFER
        assert len(engine._logline) < 80

    def make() -> ChatEngine:
        return ChatEngine(script, logger=_LOG, now=0.0)

    whole, one = _play(make, segments, None, check)
    split, many = _play(make, segments, rng, check)
    assert isinstance(whole, ChatEngine)
    assert isinstance(split, ChatEngine)
    assert bytes(one.sent) == bytes(many.sent), "chat: what is sent depends on chunking"
    assert one.actions == many.actions, "chat: actions depend on chunking"
    assert one.deadlines == many.deadlines, "chat: deadlines depend on chunking"
    assert (whole.exit_status, whole.fail_reason, whole.leftover, whole.dropped) == (
        split.exit_status,
        split.fail_reason,
        split.leftover,
        split.dropped,
    ), "chat: the result depends on chunking"


def _handshake(server: bool) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        source = Input(data)
        gap = source.below(4) * 0.5
        strict = bool(source.uint() & 1)
        attempts = 1 + source.below(4)
        segments = _segments(source)
        rng = random.Random(source.uint(4))

        def make() -> DccServer | DccClient:
            if server:
                return DccServer(timeout=20.0, burst_gap=gap, logger=_LOG, now=0.0)
            return DccClient(
                attempts=attempts, interval=2.0, accept_ppp=not strict, logger=_LOG, now=0.0
            )

        def check(engine: ChatEngine | DccServer | DccClient) -> None:
            assert isinstance(engine, DccServer | DccClient)
            assert len(engine.leftover) <= 65536
            assert len(engine._tail) < 6

        whole, one = _play(make, segments, None, check)
        split, many = _play(make, segments, rng, check)
        assert isinstance(whole, DccServer | DccClient)
        assert isinstance(split, DccServer | DccClient)
        name = whole.role
        assert whole.exit_status == split.exit_status, f"{name}: status depends on chunking"
        assert whole.leftover == split.leftover, f"{name}: leftover depends on chunking"
        assert one.deadlines == many.deadlines, f"{name}: deadlines depend on chunking"
        if isinstance(whole, DccServer):
            assert isinstance(split, DccServer)
            assert whole.clients_seen == split.clients_seen, "server: CLIENT count differs"
        else:
            assert isinstance(split, DccClient)
            assert bytes(one.sent) == bytes(many.sent), "client: what is sent differs"
            assert whole.attempts_made == split.attempts_made

    return run


_ENGINE_SEED = bytes.fromhex("0300 02 0100 0000 0003 0200 0003 0000 0001 0005 01 01 0004")
TARGETS = [
    FuzzTarget(
        "chat.argv",
        chat_argv,
        seeds=[b"\x04\x00\x10\x22\x24\x28", b"\x03\x00\x01\x2c\x26", b"\x02\x00\x01\x1a"],
        max_len=600,
    ),
    FuzzTarget("chat.file", chat_file, seeds=[b"\x06\x00\x10\x00\x11\x00\x22\x03"], max_len=600),
    FuzzTarget("chat.engine", chat_engine, seeds=[_ENGINE_SEED, b""], max_len=800),
    FuzzTarget("windows.server", _handshake(True), seeds=[b"\x00\x01\x00\x00\x03\x00"]),
    FuzzTarget("windows.client", _handshake(False), seeds=[b"\x00\x01\x01\x00\x03\x00"]),
]
