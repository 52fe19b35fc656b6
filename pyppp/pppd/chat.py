r"""chat(8) engine, sans-IO: bytes and ``now`` in; bytes, actions and deadlines out.

Theory of operation
-------------------
chat(8) runs a script of *expect/send* pairs on a serial line: wait for a string (with a
timeout), then send one, and so on. Words in the *expect* position may be keywords that take
the following word as their argument (``ABORT BUSY``, ``TIMEOUT 10``, ``SAY "..."``); an
expect word may carry sub-expects, ``a-b-c``: expect ``a``, and if it times out send ``b`` and
expect ``c``. pppd's users write these scripts; this module runs them unchanged.

The script is compiled once (:class:`ChatScript` -> a list of steps, checking what chat would
only reject half-way through the call), then :class:`ChatEngine` executes the steps:

* bytes from the line go in through :meth:`ChatEngine.receive_data`; what to write comes out of
  :meth:`ChatEngine.data_to_send`; side effects the shell performs (BREAK, SAY text, REPORT
  lines, ECHO text, the HANGUP setting) come out of :meth:`ChatEngine.next_action`;
* time exists only as the ``now`` arguments and the :meth:`ChatEngine.get_timer` deadline:
  expect timeouts, ``\d`` (1 s) and ``\p`` (0.01 s) pauses are all deadlines;
* :attr:`ChatEngine.done` / :attr:`ChatEngine.exit_status` report the result with chat's exit
  codes, and :attr:`ChatEngine.leftover` holds the bytes received after the last match (chat
  reads one byte at a time and leaves the rest in the tty; we read in chunks, so we hand the
  rest back, e.g. the first PPP frame).

Matching follows chat: each expect starts with an empty buffer, received bytes are masked to
7 bits, and after every byte the REPORT strings, then the expect string, then the ABORT strings
are compared against the tail of the buffer. The verbose log lines are chat's (``expect
(OK)``, `` -- got it``, ``send (ATZ^M)``, ``alarm``, ``Failed (BUSY)``...).

Deliberate differences from chat, each for a reason:

* Script errors chat finds half-way through (too-long ABORT string, unreadable ``@file``) are
  found when the script is compiled, before anything is sent (:class:`ChatScriptError`).
* A hang-up (``connection_lost``) with ``HANGUP ON`` ends the script with status 2 and the line
  ``SIGHUP``, which is what chat prints when carrier drops; a read of end-of-file on a pipe is
  reported the same way (chat would fall into its timeout path and exit 3).
* A final REPORT that is still collecting characters when the script ends stops at a PPP flag
  (0x7E) instead of swallowing it, so the first frame reaches PPP intact.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from pyppp.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Break",
    "ChatEngine",
    "ChatScript",
    "ChatScriptError",
    "Echo",
    "Hangup",
    "Report",
    "Say",
    "parse_connect_command",
    "visible",
]

DEFAULT_TIMEOUT: Final = 45
"""chat's default expect timeout in seconds (``DEFAULT_CHAT_TIMEOUT``)."""

MAX_ABORTS: Final = 50
MAX_REPORTS: Final = 50
STR_LEN: Final = 1024  # chat's longest expect string and match window
FAIL_BUFFER: Final = 50  # ABORT/REPORT strings must fit chat's 50-byte fail buffer (NUL incl.)
REPORT_BUFFER: Final = 4096
MAX_PENDING: Final = 65536  # bytes held while no expect is reading (bounded; excess counted)
DELAY_D: Final = 1.0  # \d
DELAY_P: Final = 0.01  # \p: chat's source sleeps 10 ms (its man page says 1/10 s)
REPORT_DRAIN_TIMEOUT: Final = 1.0  # chat waits up to 1 s per character to finish a REPORT
PPP_FLAG: Final = 0x7E

_KEYWORDS: Final = frozenset(
    {"HANGUP", "ABORT", "CLR_ABORT", "REPORT", "CLR_REPORT", "TIMEOUT", "ECHO", "SAY"}
)

_log = logging.getLogger("pyppp.chat")


class ChatScriptError(ConfigError):
    """The chat script or chat's options are invalid (chat exits 1, or 2 for "Too many")."""

    def __init__(self, message: str, *, source: str | None = None, exit_status: int = 1) -> None:
        super().__init__(message, source=source, exit_status=exit_status)


# --------------------------------------------------------------------------------------------
# Actions the shell performs. Bytes to write are not actions: they come from data_to_send().


@dataclass(frozen=True, slots=True)
class Break:
    r"""Send a BREAK on the line (``\K`` or the ``BREAK`` send word): ``tcsendbreak(fd, 0)``."""


@dataclass(frozen=True, slots=True)
class Say:
    """``SAY`` text for the user; chat writes it, unchanged, to its standard error."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Echo:
    """Received characters, rendered as chat's ``ECHO ON`` does (``^M`` dropped, ``^X`` form)."""

    text: str


@dataclass(frozen=True, slots=True)
class Report:
    """A completed ``REPORT`` line: the matched string and the characters that followed it.

    chat writes ``"chat:  " + strftime("%b %d %H:%M:%S ") + text`` to the report file (``-r``)
    or to standard error; the shell adds the wall-clock part.
    """

    text: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """``HANGUP ON|OFF``: whether a hang-up of the line ends the script (exit 2, ``SIGHUP``)."""

    enabled: bool


Action = Break | Say | Echo | Report | Hangup


# --------------------------------------------------------------------------------------------
# String handling: chat's escapes, in two stages like chat (so \T/\U and $VAR text is seen by
# the sender's escape stage exactly as chat sees it).


def visible(data: bytes | bytearray) -> str:
    """Render bytes as chat's ``%v`` log format does (``^M`` for CR, ``M-`` for high bit).

    Args:
        data: the bytes to render.

    Returns:
        A printable string; a tab stays a tab.
    """
    out: list[str] = []
    for c in data:
        if c >= 0x80:
            out.append("M-")
            c -= 0x80
        if (c < 0x20 and c != 0x09) or c == 0x7F:
            out.append("^" + chr(c ^ 0x40))
        else:
            out.append(chr(c))
    return "".join(out)


def _echo_char(c: int) -> str:
    """Render one received (7-bit) character as chat's ``character()`` does (ECHO)."""
    if c < 0x20:
        return "^" + chr(c + 0x40)
    if c == 0x7F:
        return "^?"
    return chr(c)


def _atoi(data: bytes) -> int:
    """C ``atoi``: optional blanks and sign, then leading digits; 0 when there are none."""
    s = data.decode("latin-1").lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for ch in s:
        if not ch.isdigit() or not ch.isascii():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def _is_octal(c: int) -> bool:
    return 0x30 <= c <= 0x37


def _is_env_name_char(c: int) -> bool:
    return chr(c).isascii() and (chr(c).isalnum() or c == 0x5F)


@dataclass(frozen=True, slots=True)
class _Substitutions:
    phone: bytes | None
    phone2: bytes | None
    env: Mapping[str, str] | None  # None: -E not given


def _clean(word: bytes, *, sending: bool, subs: _Substitutions) -> tuple[bytes, bool]:
    r"""Stage one of chat's escape handling.

    For an expect string the result is the literal bytes to match. For a send string the
    result still carries ``\d``, ``\p``, ``\K``, ``\\`` and ``\<NUL>`` for the sender
    (stage two, :func:`_send_segments`), plus the trailing CR unless the string ends in ``\c``.

    Returns:
        (result, quiet): ``quiet`` is True when ``\q`` appeared (log ``send (??????)``).
    """
    out = bytearray()
    quiet = False
    add_return = sending
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        i += 1
        if c == 0x5E:  # '^X': a control character; '^' alone at the end is literal
            if i >= n:
                out.append(0x5E)
                break
            ctl = word[i] & 0x1F
            i += 1
            if ctl:
                out.append(ctl)
            continue
        if subs.env is not None and c == 0x24:  # '$NAME' with -E
            start = i
            while i < n and _is_env_name_char(word[i]):
                i += 1
            env_value = subs.env.get(word[start:i].decode("ascii"))
            if env_value is not None:
                out += env_value.encode("utf-8", "surrogateescape")
            continue
        if c != 0x5C:  # not a backslash
            out.append(c)
            continue
        if i >= n:  # a lone trailing backslash: sent as a backslash, never expected
            if sending:
                out += b"\\\\"
            break
        c = word[i]
        i += 1
        ch = chr(c)
        if ch == "b":
            out.append(0x08)
        elif ch == "c":
            if sending and i >= n:
                add_return = False
            else:
                out.append(c)
        elif ch in "\\Kpd":
            if sending:
                out.append(0x5C)
            out.append(c)
        elif ch in "TU":
            phone = subs.phone if ch == "T" else subs.phone2
            if sending and phone is not None:
                out += phone
            else:
                out += b"\\" + bytes([c])
        elif ch == "q":
            quiet = True
        elif ch == "r":
            out.append(0x0D)
        elif ch == "n":
            out.append(0x0A)
        elif ch == "s":
            out.append(0x20)
        elif ch == "t":
            out.append(0x09)
        elif ch == "N":
            out += b"\\\x00" if sending else b"N"
        elif ch == "$" and subs.env is not None:
            out.append(c)
        elif _is_octal(c):
            value = c & 0x07
            for _ in range(2):
                if i < n and _is_octal(word[i]):
                    value = (value << 3) | (word[i] - 0x30)
                    i += 1
            value &= 0xFF  # chat keeps it in a char: \777 wraps
            if value or sending:
                if sending and value in (0x5C, 0):
                    out.append(0x5C)
                out.append(value)
        else:  # any other escaped character stands for itself
            if sending:
                out.append(0x5C)
            out.append(c)
    if add_return:
        out.append(0x0D)
    return bytes(out), quiet


class _BreakMark:
    """A BREAK inside a send string."""


_BREAK: Final = _BreakMark()
_Segment = bytes | float | _BreakMark


def _send_segments(cleaned: bytes) -> tuple[_Segment, ...]:
    """Stage two: split a cleaned send string into bytes, pauses (seconds) and BREAKs."""
    segments: list[_Segment] = []
    run = bytearray()
    i, n = 0, len(cleaned)
    while i < n:
        c = cleaned[i]
        i += 1
        if c != 0x5C:
            run.append(c)
            continue
        if i >= n:
            break
        c = cleaned[i]
        i += 1
        if c in (0x64, 0x70, 0x4B):  # d, p, K
            if run:
                segments.append(bytes(run))
                run.clear()
            segments.append(_BREAK if c == 0x4B else DELAY_D if c == 0x64 else DELAY_P)
        else:
            run.append(c)
    if run:
        segments.append(bytes(run))
    return tuple(segments)


# --------------------------------------------------------------------------------------------
# The compiled script.


@dataclass(frozen=True, slots=True)
class _Send:
    segments: tuple[_Segment, ...]
    log_text: str  # what "send (%v)" shows


@dataclass(frozen=True, slots=True)
class _Alternative:
    expect: bytes
    reply: _Send | None  # sent when this expect times out, then the next alternative runs


@dataclass(frozen=True, slots=True)
class _Expect:
    alternatives: tuple[_Alternative, ...]


@dataclass(frozen=True, slots=True)
class _Setting:
    keyword: str  # one of _KEYWORDS
    value: bytes  # cleaned argument (raw for TIMEOUT/ECHO/HANGUP, which compare words)
    raw: bytes


_Step = _Expect | _Send | _Setting


def _split_subexpects(word: bytes) -> list[bytes]:
    """Split ``a-b-c`` on unescaped dashes as chat's ``expect_strtok`` does.

    A backslash protects the next character (both stay in the token). An empty word yields no
    tokens and a trailing dash adds none, exactly as chat's tokenizer behaves.
    """
    tokens: list[bytes] = []
    current = bytearray()
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c == 0x5C:
            current += word[i : i + 2]
            i += 2
            continue
        if c == 0x2D:
            tokens.append(bytes(current))
            current.clear()
        else:
            current.append(c)
        i += 1
    if current:
        tokens.append(bytes(current))
    return tokens


def _words_from_text(data: bytes, source: str) -> list[bytes]:
    """Split a chat file into words: words split on blanks, ``'...'``/``"..."`` quoting, ``#``.

    A line whose first character is ``#`` is a comment. Inside quotes a backslash protects the
    next character (the escape itself is kept for the string handling). A closing quote ends the
    word even if no blank follows.
    """
    words: list[bytes] = []
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if line.startswith(b"#"):
            continue
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c in (0x20, 0x09):
                i += 1
                continue
            if c in (0x22, 0x27):
                quote = c
                i += 1
                start = i
                while True:
                    if i >= n:
                        raise ChatScriptError(
                            f"unterminated quote (line {lineno})", source=f"{source}:{lineno}"
                        )
                    if line[i] == quote:
                        break
                    i += 2 if line[i] == 0x5C and i + 1 < n else 1
                words.append(line[start:i])
                i += 1
            else:
                start = i
                while i < n and line[i] not in (0x20, 0x09):
                    i += 1
                words.append(line[start:i])
    return words


def _as_bytes(word: str | bytes) -> bytes:
    return word if isinstance(word, bytes) else word.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class ChatScript:
    r"""A chat script and chat's options, as ``chat [options] script`` or ``chat -f file``.

    Attributes:
        words: the script words, alternately expect and send.
        timeout: ``-t`` (seconds; 0 or less means no timeout until a ``TIMEOUT`` keyword).
        echo: ``-e``.
        verbose: ``-v`` (log the conversation).
        stderr_verbose: ``-V``.
        use_stderr: ``-s`` (log messages to standard error).
        use_syslog: not ``-S``.
        phone: ``-T`` (substituted for ``\T`` in send strings).
        phone2: ``-U`` (``\U``).
        report_file: ``-r``.
        env: the environment for ``$NAME`` substitution when ``-E`` is given, else None.
        source: where the script came from (a file name, or ``"<args>"``).
    """

    words: tuple[bytes, ...]
    timeout: int = DEFAULT_TIMEOUT
    echo: bool = False
    verbose: bool = False
    stderr_verbose: bool = False
    use_stderr: bool = False
    use_syslog: bool = True
    phone: bytes | None = None
    phone2: bytes | None = None
    report_file: str | None = None
    env: Mapping[str, str] | None = field(default=None, compare=False)
    source: str = "<args>"
    steps: tuple[_Step, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _compile(self))

    @classmethod
    def from_words(cls, words: Iterable[str | bytes], **options: object) -> ChatScript:
        """Build a script from expect/send words (chat's command-line form).

        Args:
            words: the script words.
            **options: any other :class:`ChatScript` field.

        Raises:
            ChatScriptError: the script is invalid.
        """
        return cls(tuple(_as_bytes(w) for w in words), **options)  # type: ignore[arg-type]

    @classmethod
    def from_text(
        cls, text: str | bytes, source: str = "<script>", **options: object
    ) -> ChatScript:
        """Build a script from the text of a chat file (``chat -f`` syntax).

        Args:
            text: the file's contents.
            source: its name, for error messages.
            **options: any other :class:`ChatScript` field.

        Raises:
            ChatScriptError: unterminated quote, or an invalid script.
        """
        words = _words_from_text(_as_bytes(text), source)
        return cls(tuple(words), source=source, **options)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: str, **options: object) -> ChatScript:
        """Read a chat file (``chat -f path``).

        Raises:
            ChatScriptError: ``"<path> -- open failed: <reason>"`` (exit 1) or a script error.
        """
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ChatScriptError(f"{path} -- open failed: {exc.strerror or exc}") from None
        return cls.from_text(data, source=path, **options)

    @classmethod
    def parse_args(cls, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> ChatScript:
        """Parse chat's command line (without the program name).

        Options as chat: ``-e -E -v -V -s -S``, ``-t timeout``, ``-r report-file``, ``-T phone``,
        ``-U phone2``, ``-f chat-file``; flags may be grouped (``-vs``) and an option's value may
        be attached (``-t10``); ``--`` or the first word not starting with ``-`` ends the
        options. With ``-f`` no script words may follow.

        Args:
            argv: the arguments after ``chat``.
            env: the environment used for ``$NAME`` when ``-E`` is given.

        Raises:
            ChatScriptError: a usage error (exit status 1) or an invalid script.
        """
        options: dict[str, object] = {}
        chat_file: str | None = None
        use_env = False
        i = 0
        args = list(argv)
        while i < len(args):
            arg = args[i]
            if arg == "--":
                i += 1
                break
            if not arg.startswith("-") or arg == "-":
                break
            i += 1
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                if letter in "eEvVsS":
                    key = {
                        "e": "echo",
                        "v": "verbose",
                        "V": "stderr_verbose",
                        "s": "use_stderr",
                    }.get(letter)
                    if key:
                        options[key] = True
                    elif letter == "S":
                        options["use_syslog"] = False
                    else:
                        use_env = True
                    continue
                if letter not in "ftrTU":
                    raise ChatScriptError(f"unknown option -{letter}\n{USAGE}")
                if j < len(arg):
                    value = arg[j:]
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise ChatScriptError(f"option -{letter} needs a value\n{USAGE}")
                j = len(arg)
                if letter == "f":
                    chat_file = value
                elif letter == "t":
                    options["timeout"] = _atoi(value.encode())
                elif letter == "r":
                    options["report_file"] = value
                elif letter == "T":
                    options["phone"] = _as_bytes(value)
                else:
                    options["phone2"] = _as_bytes(value)
        if use_env:
            options["env"] = dict(env) if env is not None else {}
        words = args[i:]
        if chat_file is not None:
            if words:
                raise ChatScriptError(f"-f and script words are mutually exclusive\n{USAGE}")
            return cls.from_file(chat_file, **options)
        return cls.from_words(words, **options)


USAGE: Final = (
    "Usage: chat [-e] [-E] [-v] [-V] [-t timeout] [-r report-file]\n"
    "     [-T phone-number] [-U phone-number2] {-f chat-file | chat-script}"
)


def _compile(script: ChatScript) -> tuple[_Step, ...]:
    """Turn the words into steps, rejecting what chat would reject (at any point of its run)."""
    subs = _Substitutions(script.phone, script.phone2, script.env)
    steps: list[_Step] = []
    aborts: list[bytes] = []  # simulated, to apply chat's limits where chat applies them
    reports: list[bytes] = []
    pending_keyword: str | None = None
    src = script.source

    for index, word in enumerate(script.words):
        if index % 2 == 0:  # expect position
            pending_keyword = None
            text = word.decode("latin-1")
            if text in _KEYWORDS:
                pending_keyword = text
                continue
            alternatives: list[_Alternative] = []
            tokens = _split_subexpects(word)
            for k in range(0, len(tokens), 2):
                expect, _ = _clean(tokens[k], sending=False, subs=subs)
                if len(expect) > STR_LEN:
                    raise ChatScriptError("expect string is too long", source=src)
                reply = _compile_send(tokens[k + 1], subs, src) if k + 1 < len(tokens) else None
                alternatives.append(_Alternative(expect, reply))
            if alternatives:
                steps.append(_Expect(tuple(alternatives)))
            continue
        # send position
        keyword, pending_keyword = pending_keyword, None
        if keyword is None:
            steps.append(_compile_send(word, subs, src))
            continue
        if keyword in ("ABORT", "CLR_ABORT", "REPORT", "CLR_REPORT"):
            value, _ = _clean(word, sending=False, subs=subs)
            what = "REPORT" if keyword == "CLR_REPORT" else keyword
            if len(value) + 1 > FAIL_BUFFER:
                raise ChatScriptError(
                    f"Illegal or too-long {what} string ('{visible(word)}')", source=src
                )
            table = aborts if "ABORT" in keyword else reports
            if keyword.startswith("CLR_"):
                table[:] = [s for s in table if s != value]
            else:
                if len(table) >= (MAX_ABORTS if keyword == "ABORT" else MAX_REPORTS):
                    raise ChatScriptError(f"Too many {keyword} strings", exit_status=2)
                table.append(value)
        elif keyword == "SAY":
            # chat cleans SAY text as a send string (so it gets the CR unless \c) and writes
            # it as it is; pauses and BREAKs mean nothing on standard error.
            cleaned, _ = _clean(word, sending=True, subs=subs)
            value = b"".join(s for s in _send_segments(cleaned) if isinstance(s, bytes))
        elif keyword == "TIMEOUT":
            value, _ = _clean(word, sending=False, subs=subs)
        else:  # ECHO, HANGUP compare the raw word with "ON"/"OFF"
            value = word
        steps.append(_Setting(keyword, value, word))
    return tuple(steps)


def _compile_send(word: bytes, subs: _Substitutions, source: str) -> _Send:
    """A send string: ``@file``, ``EOT``, ``BREAK``, escapes, the trailing CR."""
    if word.startswith(b"@"):
        name = word[1:].lstrip(b" \t")
        if name:
            try:
                with open(name, "rb") as f:
                    data = f.read(STR_LEN - 1)
            except OSError as exc:
                raise ChatScriptError(
                    f"{visible(name)} -- open failed: {exc.strerror or exc}", source=source
                ) from None
            word = data[:-1] if data.endswith(b"\n") else data
    if word == b"EOT":
        word = b"^D\\c"
    elif word == b"BREAK":
        word = b"\\K\\c"
    cleaned, quiet = _clean(word, sending=True, subs=subs)
    log_text = "??????" if quiet else visible(cleaned.split(b"\x00", 1)[0])
    return _Send(_send_segments(cleaned), log_text)


# --------------------------------------------------------------------------------------------
# The engine.


class _Phase(Enum):
    RUNNING = "running"  # between steps
    EXPECT = "expect"  # reading for an expect string
    SEND = "send"  # writing a send string (may pause on \d, \p, \K)
    DRAIN = "drain"  # the script ended while a REPORT was collecting characters
    DONE = "done"


class ChatEngine:
    """Runs a :class:`ChatScript` (sans-IO).

    The shell loop: after each call, write :meth:`data_to_send` to the line, *then* perform
    every :meth:`next_action` (so a BREAK follows the bytes before it; the engine holds the
    bytes after a BREAK until :meth:`handle_timer` is called at or after :meth:`get_timer`),
    and call :meth:`handle_timer` when the deadline passes. Stop when :attr:`done`.

    Args:
        script: the compiled script.
        now: the caller's monotonic clock; the script starts at once.
        logger: where chat's log lines go (verbose ones at INFO, fatal errors at ERROR).
    """

    def __init__(
        self, script: ChatScript, now: float, *, logger: logging.Logger | None = None
    ) -> None:
        self.script = script
        self.logger = logger or _log
        self._verbose = script.verbose or script.stderr_verbose
        self._steps: deque[_Step] = deque(script.steps)
        self._phase = _Phase.RUNNING
        self._timeout = script.timeout
        self._echo = script.echo
        self._echo_need_lf = False
        self._hangup = True
        self._aborts: list[bytes] = []
        self._reports: list[bytes | None] = []
        self._report_buffer: bytearray | None = None  # not None while gathering
        self._out = bytearray()
        self._actions: deque[Action] = deque()
        self._pending = bytearray()  # received, not yet read by an expect
        self._dropped = 0
        self._deadline: float | None = None
        # current expect
        self._alternatives: tuple[_Alternative, ...] = ()
        self._alt_index = 0
        self._match = bytearray()
        self._logline = bytearray()
        # current send
        self._segments: deque[_Segment] = deque()
        self._send_is_reply = False
        self.exit_status: int | None = None
        """chat's exit status once :attr:`done`: 0 ok, 1 bad script, 2 I/O error or signal,
        3 timeout, 4 + n the n-th (0-based) ABORT string matched."""
        self.fail_reason: str | None = None
        """The ABORT string that matched, or the fatal error, for the caller's message."""
        self._advance(now)

    # -- public API ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the script has ended (successfully or not)."""
        return self._phase is _Phase.DONE

    @property
    def reading(self) -> bool:
        """True while the script reads the line (an expect, or the end of a REPORT line)."""
        return self._phase in (_Phase.EXPECT, _Phase.DRAIN)

    @property
    def leftover(self) -> bytes:
        """Bytes received and not read by the script (after the last match), for PPP."""
        return bytes(self._pending)

    @property
    def dropped(self) -> int:
        """Bytes discarded because nothing read them and the holding buffer was full."""
        return self._dropped

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line. Never raises on any input.

        Args:
            data: the bytes, any length (may be empty).
            now: the caller's clock.
        """
        if not data:
            return
        room = MAX_PENDING - len(self._pending)
        if len(data) > room:
            self._dropped += len(data) - max(room, 0)
            self.logger.debug("chat: %d received bytes dropped (buffer full)", self._dropped)
            data = data[: max(room, 0)]
        self._pending += data
        if self._phase in (_Phase.EXPECT, _Phase.DRAIN):
            self._advance(now)

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes to write to the line."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_action(self) -> Action | None:
        """Return the next side effect for the shell, or None."""
        return self._actions.popleft() if self._actions else None

    def get_timer(self) -> float | None:
        """Return the absolute deadline at which :meth:`handle_timer` must be called."""
        return None if self.done else self._deadline

    def handle_timer(self, now: float) -> None:
        """Handle the deadline: an expect timeout, the end of a pause, a BREAK's turn."""
        if self._deadline is None or now < self._deadline or self.done:
            return
        self._deadline = None
        if self._phase is _Phase.EXPECT:
            if self._verbose:
                self.logger.info("alarm")
            self._expect_failed(3, now)
        elif self._phase is _Phase.DRAIN:
            self._finish_report()
            self._phase = _Phase.DONE
        self._advance(now)

    def connection_lost(self, now: float, reason: str = "SIGHUP") -> None:
        """The line hung up or reached end-of-file.

        With ``HANGUP ON`` (the default) the script ends with status 2 and ``reason`` logged,
        as chat does on SIGHUP. With ``HANGUP OFF`` (a call-back script) it is ignored and the
        current expect runs into its timeout.
        """
        if self.done:
            return
        if self._hangup:
            self.terminate(reason, 2)
        else:
            self.logger.debug("chat: hangup ignored (HANGUP OFF)")

    def terminate(self, reason: str, exit_status: int = 2) -> None:
        """End the script at once as chat's ``fatal()`` does (a signal, a write error...).

        Args:
            reason: the error line (``"SIGINT"``, ``"write failed: ..."``).
            exit_status: chat's exit status (2 for I/O errors and signals).
        """
        if self.done:
            return
        self.logger.error("%s", reason)
        self.fail_reason = reason
        self._finish(exit_status, drain=False)

    # -- the machine ---------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Run steps until the script must wait for bytes, a deadline or has ended."""
        while True:
            phase = self._phase
            if phase is _Phase.SEND:
                if not self._run_send(now):
                    return
                if self._send_is_reply:
                    self._start_alternative(self._alt_index + 1, now)
                else:
                    self._phase = _Phase.RUNNING
            elif phase is _Phase.EXPECT:
                if not self._read_expect(now):
                    return
            elif phase is _Phase.DRAIN:
                self._read_drain(now)
                return
            elif phase is _Phase.DONE:
                return
            else:
                if not self._steps:
                    self._finish(0, drain=True)
                    if self._phase is _Phase.DRAIN:
                        self._deadline = now + REPORT_DRAIN_TIMEOUT
                    continue
                self._run_step(self._steps.popleft(), now)

    def _run_step(self, step: _Step, now: float) -> None:
        if isinstance(step, _Expect):
            self._alternatives = step.alternatives
            self._start_alternative(0, now)
        elif isinstance(step, _Send):
            self._start_send(step, reply=False)
        else:
            self._apply_setting(step)

    def _apply_setting(self, step: _Setting) -> None:
        verbose = self._verbose
        keyword, value = step.keyword, step.value
        if keyword == "ABORT":
            self._aborts.append(value)
            if verbose:
                self.logger.info("abort on (%s)", visible(value))
        elif keyword == "CLR_ABORT":
            before = len(self._aborts)
            self._aborts = [s for s in self._aborts if s != value]
            for _ in range(before - len(self._aborts)):
                if verbose:
                    self.logger.info("clear abort on (%s)", visible(value))
        elif keyword == "REPORT":
            self._reports.append(value)
            if verbose:
                self.logger.info("report (%s)", visible(value))
        elif keyword == "CLR_REPORT":
            kept = [s for s in self._reports if s != value]
            for _ in range(len(self._reports) - len(kept)):
                if verbose:
                    self.logger.info("clear report (%s)", visible(value))
            self._reports = kept
        elif keyword == "TIMEOUT":
            timeout = _atoi(value)
            self._timeout = timeout if timeout > 0 else DEFAULT_TIMEOUT
            if verbose:
                self.logger.info("timeout set to %d seconds", self._timeout)
        elif keyword == "ECHO":
            self._echo = value == b"ON"
        elif keyword == "HANGUP":
            self._hangup = value != b"OFF"
            self._actions.append(Hangup(self._hangup))
        else:  # SAY
            self._actions.append(Say(value))

    # -- expect --------------------------------------------------------------------------------

    def _start_alternative(self, index: int, now: float) -> None:
        if index >= len(self._alternatives):
            # "a-b" with a timed-out "a": chat sends "b" and, with nothing left to expect,
            # carries on as if the expect had succeeded.
            self._phase = _Phase.RUNNING
            return
        self._alt_index = index
        expect = self._alternatives[index].expect
        if self._verbose:
            self.logger.info("expect (%s)", visible(expect))
        if not expect:
            if self._verbose:
                self.logger.info("got it")
            self._phase = _Phase.RUNNING
            return
        self._match.clear()
        self._logline.clear()
        self._phase = _Phase.EXPECT
        self._deadline = now + self._timeout if self._timeout > 0 else None

    def _read_expect(self, now: float) -> bool:
        """Consume pending bytes for the current expect; True when the expect is over."""
        expect = self._alternatives[self._alt_index].expect
        verbose = self._verbose
        match = self._match
        pending = self._pending
        consumed = 0
        result: int | None = None  # None: still waiting; 0: matched; 4+n: ABORT n
        for raw in pending:
            consumed += 1
            c = raw & 0x7F
            if self._echo:
                self._echo_byte(c)
            if verbose:
                if c == 0x0A:
                    self.logger.info("%s", visible(self._logline))
                    self._logline.clear()
                else:
                    self._logline.append(c)
                    if len(self._logline) >= 80:
                        self.logger.info("%s", visible(self._logline))
                        self._logline.clear()
            match.append(c)
            self._report_byte(c)
            if match.endswith(expect):
                result = 0
                break
            for n, abort in enumerate(self._aborts):
                if abort and match.endswith(abort):
                    result = 4 + n
                    break
            if result is not None:
                break
            if len(match) >= STR_LEN:  # keep the tail that can still complete a match
                del match[: len(match) - (max(len(expect), FAIL_BUFFER) - 1)]
        del pending[:consumed]
        if result is None:
            return False
        self._deadline = None
        if verbose and self._logline:
            self.logger.info("%s", visible(self._logline))
        self._logline.clear()
        if result == 0:
            if verbose:
                self.logger.info(" -- got it")
            self._phase = _Phase.RUNNING
        else:
            if verbose:
                self.logger.info(" -- failed")
            self.fail_reason = visible(self._aborts[result - 4])
            self._expect_failed(result, now)
        return True

    def _expect_failed(self, status: int, now: float) -> None:
        reply = self._alternatives[self._alt_index].reply
        if status == 3 and reply is not None:
            self._start_send(reply, reply=True)
            return
        if self.fail_reason is not None and status >= 4:
            self.logger.info("Failed (%s)", self.fail_reason)
        else:
            self.logger.info("Failed")
        self._finish(status, drain=True)
        if self._phase is _Phase.DRAIN:
            self._deadline = now + REPORT_DRAIN_TIMEOUT

    def _echo_byte(self, c: int) -> None:
        if c == 0x0D:
            return
        text = "\n" if c == 0x0A else _echo_char(c)
        self._echo_need_lf = c != 0x0A
        last = self._actions[-1] if self._actions else None
        if isinstance(last, Echo):  # one action per burst, not per byte
            self._actions[-1] = Echo(last.text + text)
        else:
            self._actions.append(Echo(text))

    def _report_byte(self, c: int) -> None:
        if self._report_buffer is None:
            for n, report in enumerate(self._reports):
                if report and self._match.endswith(report):
                    self._report_buffer = bytearray(report)
                    self._reports[n] = None  # each REPORT string fires once, as in chat
                    break
        elif c >= 0x20 and c != 0x7F:
            if len(self._report_buffer) + 1 < REPORT_BUFFER:
                self._report_buffer.append(c)
        else:
            self._finish_report()

    def _finish_report(self) -> None:
        if self._report_buffer is not None:
            self._actions.append(Report(visible(self._report_buffer)))
            self._report_buffer = None

    # -- send ----------------------------------------------------------------------------------

    def _start_send(self, send: _Send, *, reply: bool) -> None:
        if self._verbose:
            self.logger.info("send (%s)", send.log_text)
        self._segments = deque(send.segments)
        self._send_is_reply = reply
        self._phase = _Phase.SEND
        self._deadline = None

    def _run_send(self, now: float) -> bool:
        """Emit segments; False when paused (a delay or a BREAK waiting for the shell)."""
        if self._deadline is not None:
            if now < self._deadline:
                return False
            self._deadline = None
        while self._segments:
            segment = self._segments.popleft()
            if isinstance(segment, bytes):
                self._out += segment
            elif isinstance(segment, float):
                self._deadline = now + segment
                return False
            else:
                self._actions.append(Break())
                # Resume at once, but only through handle_timer, so the shell has written
                # the bytes before the BREAK and sent the BREAK before the bytes after it.
                self._deadline = now
                return False
        return True

    # -- the end -------------------------------------------------------------------------------

    def _finish(self, status: int, *, drain: bool) -> None:
        self.exit_status = status
        if self._echo_need_lf:
            self._actions.append(Echo("\n"))
            self._echo_need_lf = False
        self._deadline = None
        if drain and self._report_buffer is not None:
            self._phase = _Phase.DRAIN
            return
        self._finish_report()
        self._phase = _Phase.DONE

    def _read_drain(self, now: float) -> None:
        """Collect the rest of a REPORT line: up to a control character, 0x7E or 1 s of quiet."""
        buffer = self._report_buffer
        assert buffer is not None
        consumed = 0
        finished = False
        for c in self._pending:
            if c == PPP_FLAG:
                finished = True
                break
            consumed += 1
            c &= 0x7F
            if c < 0x20 or c == 0x7F or len(buffer) + 1 >= REPORT_BUFFER:
                finished = True
                break
            buffer.append(c)
        del self._pending[:consumed]
        if finished:
            self._finish_report()
            self._phase = _Phase.DONE
            self._deadline = None
        elif consumed:
            self._deadline = now + REPORT_DRAIN_TIMEOUT


# --------------------------------------------------------------------------------------------
# pppd's `connect` value -> the built-in chat.

_CHAT_PROGRAMS: Final = frozenset({"chat", "/usr/sbin/chat", "/usr/bin/chat", "/sbin/chat"})
_SHELL_SPECIAL: Final = frozenset("|&;<>()`$*?[]{}~\n")


def _shell_words(cmdline: str) -> list[str] | None:
    """Split a POSIX shell command into words.

    Returns None if it uses anything beyond plain words and quoting (pipes, redirections,
    expansions, globs), which only a shell can run.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(cmdline)
    while i < n:
        ch = cmdline[i]
        if ch in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        in_word = True
        if ch == "'":
            end = cmdline.find("'", i + 1)
            if end < 0:
                return None
            current.append(cmdline[i + 1 : end])
            i = end + 1
        elif ch == '"':
            i += 1
            while i < n and cmdline[i] != '"':
                c = cmdline[i]
                if c in "$`":
                    return None
                if c == "\\" and i + 1 < n and cmdline[i + 1] in '$`"\\\n':
                    current.append(cmdline[i + 1])
                    i += 2
                    continue
                current.append(c)
                i += 1
            if i >= n:
                return None
            i += 1
        elif ch == "\\":
            if i + 1 >= n:
                return None
            current.append(cmdline[i + 1])
            i += 2
        elif ch in _SHELL_SPECIAL or (ch == "#" and not current):
            return None
        else:
            current.append(ch)
            i += 1
    if in_word:
        words.append("".join(current))
    return words


def parse_connect_command(cmdline: str) -> list[str] | None:
    """Recognise a pppd ``connect`` command that just runs chat(8).

    pppd hands its ``connect`` value to ``/bin/sh -c``. When that command is a plain chat
    invocation (``chat ...``, ``/usr/sbin/chat ...``, ``exec chat ...``) pyppp runs the script
    with the built-in engine instead of a process; anything needing a shell (pipes,
    redirections, ``$VAR``, globs) returns None and is run by the shell as pppd would.

    Note on the Serial-Laplink-HOWTO's unquoted line ``connect chat -v -f FILE`` in an options
    file: pppd's option parser splits words on blanks, gives ``connect`` the single word
    ``chat``, and then fails on ``-v`` with ``In file ...: unrecognized option '-v'`` (exit 2).
    So the connect value this function sees for that line is ``"chat"`` alone; the options
    parser decides whether to mirror pppd's error.

    Args:
        cmdline: the ``connect`` option's value.

    Returns:
        chat's argv without the program name, or None when it is not a plain chat command.
    """
    words = _shell_words(cmdline)
    if not words:
        return None
    if words[0] == "exec":
        words = words[1:]
    if not words or words[0] not in _CHAT_PROGRAMS:
        return None
    return words[1:]
