r"""chat(8)'s command line and script syntax, compiled into steps for the engine.

A script is a list of words, alternately *expect* and *send*, from chat's command line
(:meth:`ChatScript.parse_args`, :meth:`ChatScript.from_words`) or from a file
(``chat -f``: :meth:`ChatScript.from_text`, :meth:`ChatScript.from_file`). Words in the
expect position may be keywords taking the next word as their argument (``ABORT BUSY``,
``TIMEOUT 10``, ``SAY "..."``); an expect word may carry sub-expects, ``a-b-c``: expect ``a``,
and if it times out send ``b`` and expect ``c``.

The script is compiled once, when it is built, into steps (:attr:`ChatScript.steps`) that
:class:`pyppp.pppd.chat.engine.ChatEngine` runs. Everything chat would reject half-way through
its run (a too-long ABORT string, an unreadable ``@file``, a TIMEOUT value beyond any clock) is
rejected here, before anything is sent, as one :class:`ChatScriptError` with chat's exit status.

Files are never opened here: ``chat -f FILE`` and ``@FILE`` send strings read through the
``read_file`` callable the shell passes in (:data:`FileReader`;
:func:`pyppp.aio.engines.read_file`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from pyppp.errors import ConfigError
from pyppp.util import visible

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "USAGE",
    "ChatScript",
    "ChatScriptError",
    "FileReader",
]

DEFAULT_TIMEOUT: Final = 45
"""chat's default expect timeout in seconds (``DEFAULT_CHAT_TIMEOUT``)."""

MAX_TIMEOUT: Final = 2**31 - 1
"""The largest timeout accepted (chat keeps it in a C ``int``): about 68 years."""

MAX_ABORTS: Final = 50
MAX_REPORTS: Final = 50
STR_LEN: Final = 1024  # chat's longest expect string and match window
FAIL_BUFFER: Final = 50  # ABORT/REPORT strings must fit chat's 50-byte fail buffer (NUL incl.)
MAX_FILE_SIZE: Final = 1 << 20  # a chat -f file larger than this is refused (memory bound)
DELAY_D: Final = 1.0  # \d
DELAY_P: Final = 0.01  # \p: chat's source sleeps 10 ms (its man page says 1/10 s)

KEYWORDS: Final = frozenset(
    {"HANGUP", "ABORT", "CLR_ABORT", "REPORT", "CLR_REPORT", "TIMEOUT", "ECHO", "SAY"}
)

FileReader = Callable[[bytes, int], bytes]
"""``read_file(path, limit)``: at most ``limit`` bytes of the file at ``path``; raises OSError.

The path is the file name's exact bytes (names from a chat file are bytes, and a ``str`` name
is encoded as UTF-8 with ``surrogateescape``, the lossless way back to the bytes of argv).
"""


class ChatScriptError(ConfigError):
    """The chat script or chat's options are invalid (chat exits 1, or 2 for "Too many")."""

    def __init__(self, message: str, *, source: str | None = None, exit_status: int = 1) -> None:
        super().__init__(message, source=source, exit_status=exit_status)


# --------------------------------------------------------------------------------------------
# String handling: chat's escapes, in two stages like chat (so \T/\U and $VAR text is seen by
# the sender's escape stage exactly as chat sees it).


_ATOI: Final = re.compile(rb"[ \t\n\v\f\r]*([+-]?)0*([0-9]*)")
_MAX_DIGITS: Final = len(str(MAX_TIMEOUT))


def _atoi(data: bytes) -> int | None:
    """C ``atoi``: optional blanks and sign, then leading digits; 0 when there are none.

    Returns:
        The number, or None when it does not fit chat's ``int`` (where C's ``atoi`` is
        undefined); a long digit string is refused before it is converted.
    """
    match = _ATOI.match(data)
    assert match is not None  # every part of the pattern may be empty
    sign, digits = match.groups()
    if len(digits) > _MAX_DIGITS:
        return None
    value = int(digits or b"0")
    value = -value if sign == b"-" else value
    return value if -MAX_TIMEOUT - 1 <= value <= MAX_TIMEOUT else None


def _seconds(value: bytes, word: bytes, what: str, source: str | None) -> int:
    """A timeout (``TIMEOUT`` or ``-t``) as chat reads it, or the script error."""
    seconds = _atoi(value)
    if seconds is None:
        shown = visible(word[:32]) + ("..." if len(word) > 32 else "")
        raise ChatScriptError(
            f"{what} value too large ('{shown}'): at most {MAX_TIMEOUT} seconds", source=source
        )
    return seconds


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


class BreakMark:
    r"""A BREAK inside a send string (``\K``, the ``BREAK`` word)."""


BREAK: Final = BreakMark()
Segment = bytes | float | BreakMark
"""One piece of a send string: bytes to write, a pause in seconds, or a BREAK."""


def _send_segments(cleaned: bytes) -> tuple[Segment, ...]:
    """Stage two: split a cleaned send string into bytes, pauses (seconds) and BREAKs."""
    segments: list[Segment] = []
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
            segments.append(BREAK if c == 0x4B else DELAY_D if c == 0x64 else DELAY_P)
        else:
            run.append(c)
    if run:
        segments.append(bytes(run))
    return tuple(segments)


# --------------------------------------------------------------------------------------------
# The compiled script: the steps the engine runs.


@dataclass(frozen=True, slots=True)
class SendStep:
    """Write a send string: its segments in order."""

    segments: tuple[Segment, ...]
    log_text: str  # what "send (%v)" shows


@dataclass(frozen=True, slots=True)
class Alternative:
    """One sub-expect of ``a-b-c``: wait for ``expect``; on a timeout send ``reply``."""

    expect: bytes
    reply: SendStep | None  # sent when this expect times out, then the next alternative runs


@dataclass(frozen=True, slots=True)
class ExpectStep:
    """Wait for one of the alternatives, in order."""

    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True, slots=True)
class SettingStep:
    """A keyword and its argument (``ABORT BUSY``, ``TIMEOUT 10``, ``SAY ...``)."""

    keyword: str  # one of KEYWORDS
    value: bytes  # cleaned argument (raw for ECHO/HANGUP, which compare words)
    seconds: int = 0  # TIMEOUT's number, checked when the script is compiled


Step = ExpectStep | SendStep | SettingStep
"""One compiled step of a script."""


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


def _read(
    read_file: FileReader | None, name: bytes, limit: int, *, shown: str, source: str | None
) -> bytes:
    """Read a file through the shell's reader; every failure is chat's ``open failed``."""
    if b"\x00" in name:  # no file system name holds a NUL (open() would raise ValueError)
        reason = "file name contains a NUL byte"
    elif read_file is None:
        reason = "no file reader given"
    else:
        try:
            return read_file(name, limit)[:limit]
        except OSError as exc:
            reason = exc.strerror or str(exc)
    raise ChatScriptError(f"{shown} -- open failed: {reason}", source=source)


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
        read_file: reads ``@file`` send strings (the shell's :data:`FileReader`); without
            one an ``@file`` word is a script error.

    Raises:
        ChatScriptError: the script is invalid (raised when it is built).
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
    read_file: FileReader | None = field(default=None, repr=False, compare=False)
    steps: tuple[Step, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not -MAX_TIMEOUT - 1 <= self.timeout <= MAX_TIMEOUT:
            raise ChatScriptError(f"timeout {self.timeout} is out of range", source=self.source)
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
    def from_file(cls, path: str, *, read_file: FileReader | None, **options: object) -> ChatScript:
        """Read a chat file (``chat -f path``) through ``read_file``.

        Args:
            path: the file's name.
            read_file: the shell's reader (also used for the file's ``@file`` words).
            **options: any other :class:`ChatScript` field.

        Raises:
            ChatScriptError: ``"<path> -- open failed: <reason>"`` (exit 1), a file larger than
                1 MiB, or a script error.
        """
        name = _as_bytes(path)
        shown = path if path.isprintable() else visible(name)
        data = _read(read_file, name, MAX_FILE_SIZE + 1, shown=shown, source=None)
        if len(data) > MAX_FILE_SIZE:
            raise ChatScriptError(f"{shown} -- file is larger than {MAX_FILE_SIZE} bytes")
        return cls.from_text(data, source=path, read_file=read_file, **options)

    @classmethod
    def parse_args(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        read_file: FileReader | None = None,
    ) -> ChatScript:
        """Parse chat's command line (without the program name).

        Options as chat: ``-e -E -v -V -s -S``, ``-t timeout``, ``-r report-file``, ``-T phone``,
        ``-U phone2``, ``-f chat-file``; flags may be grouped (``-vs``) and an option's value may
        be attached (``-t10``); ``--`` or the first word not starting with ``-`` ends the
        options. With ``-f`` no script words may follow.

        Args:
            argv: the arguments after ``chat``.
            env: the environment used for ``$NAME`` when ``-E`` is given.
            read_file: the shell's reader for ``-f`` and ``@file`` (see :data:`FileReader`).

        Raises:
            ChatScriptError: a usage error (exit status 1) or an invalid script.
        """
        options: dict[str, object] = {"read_file": read_file}
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
                    raw = _as_bytes(value)
                    options["timeout"] = _seconds(raw, raw, "-t", None)
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
            return cls.from_file(chat_file, **options)  # type: ignore[arg-type]
        return cls.from_words(words, **options)


USAGE: Final = (
    "Usage: chat [-e] [-E] [-v] [-V] [-t timeout] [-r report-file]\n"
    "     [-T phone-number] [-U phone-number2] {-f chat-file | chat-script}"
)


def _compile(script: ChatScript) -> tuple[Step, ...]:
    """Turn the words into steps, rejecting what chat would reject (at any point of its run)."""
    subs = _Substitutions(script.phone, script.phone2, script.env)
    steps: list[Step] = []
    read_file = script.read_file
    aborts: list[bytes] = []  # simulated, to apply chat's limits where chat applies them
    reports: list[bytes] = []
    pending_keyword: str | None = None
    src = script.source

    for index, word in enumerate(script.words):
        if index % 2 == 0:  # expect position
            pending_keyword = None
            text = word.decode("latin-1")
            if text in KEYWORDS:
                pending_keyword = text
                continue
            alternatives: list[Alternative] = []
            tokens = _split_subexpects(word)
            for k in range(0, len(tokens), 2):
                expect, _ = _clean(tokens[k], sending=False, subs=subs)
                if len(expect) > STR_LEN:
                    raise ChatScriptError("expect string is too long", source=src)
                reply = (
                    _compile_send(tokens[k + 1], subs, src, read_file)
                    if k + 1 < len(tokens)
                    else None
                )
                alternatives.append(Alternative(expect, reply))
            if alternatives:
                steps.append(ExpectStep(tuple(alternatives)))
            continue
        # send position
        keyword, pending_keyword = pending_keyword, None
        if keyword is None:
            steps.append(_compile_send(word, subs, src, read_file))
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
            steps.append(SettingStep(keyword, value, _seconds(value, word, "TIMEOUT", src)))
            continue
        else:  # ECHO, HANGUP compare the raw word with "ON"/"OFF"
            value = word
        steps.append(SettingStep(keyword, value))
    return tuple(steps)


def _compile_send(
    word: bytes, subs: _Substitutions, source: str, read_file: FileReader | None
) -> SendStep:
    """A send string: ``@file``, ``EOT``, ``BREAK``, escapes, the trailing CR."""
    if word.startswith(b"@"):
        name = word[1:].lstrip(b" \t")
        if name:
            # chat reads at most STR_LEN - 1 bytes of the file and drops one final newline.
            data = _read(read_file, name, STR_LEN - 1, shown=visible(name), source=source)
            word = data[:-1] if data.endswith(b"\n") else data
    if word == b"EOT":
        word = b"^D\\c"
    elif word == b"BREAK":
        word = b"\\K\\c"
    cleaned, quiet = _clean(word, sending=True, subs=subs)
    log_text = "??????" if quiet else visible(cleaned.split(b"\x00", 1)[0])
    return SendStep(_send_segments(cleaned), log_text)
