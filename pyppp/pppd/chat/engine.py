r"""chat(8)'s engine, sans-IO: bytes and ``now`` in; bytes, actions and deadlines out.

:class:`ChatEngine` runs the steps of a compiled :class:`~pyppp.pppd.chat.script.ChatScript`:

* bytes from the line go in through :meth:`ChatEngine.receive_data`; what to write comes out of
  :meth:`ChatEngine.data_to_send`; side effects the shell performs (BREAK, SAY text, REPORT
  lines, ECHO text, the HANGUP setting: a :data:`ChatAction`) come out of
  :meth:`ChatEngine.next_action`;
* time exists only as the ``now`` arguments and the :meth:`ChatEngine.get_timer` deadline:
  expect timeouts, ``\d`` (1 s) and ``\p`` (0.01 s) pauses are all deadlines;
* :attr:`ChatEngine.done` / :attr:`ChatEngine.exit_status` report the result with chat's exit
  codes, and :attr:`ChatEngine.leftover` holds the bytes received after the last match (chat
  reads one byte at a time and leaves the rest in the tty; we read in chunks, so we hand the
  rest back, e.g. the first PPP frame).

Matching follows chat: each expect starts with an empty buffer, received bytes are masked to
7 bits, and after every byte the REPORT strings, then the expect string, then the ABORT strings
are compared against the tail of the buffer. Bytes are handled one at a time in order, so the
result does not depend on how the line's bytes were split into reads. The verbose log lines are
chat's (``expect (OK)``, `` -- got it``, ``send (ATZ^M)``, ``alarm``, ``Failed (BUSY)``...).

Deliberate differences from chat, each for a reason:

* Script errors chat finds half-way through (too-long ABORT string, unreadable ``@file``) are
  found when the script is compiled, before anything is sent
  (:class:`~pyppp.pppd.chat.script.ChatScriptError`).
* A hang-up (``connection_lost``) with ``HANGUP ON`` ends the script with status 2 and the line
  ``SIGHUP``, which is what chat prints when carrier drops; a read of end-of-file on a pipe is
  reported the same way (chat would fall into its timeout path and exit 3).
* A final REPORT that is still collecting characters when the script ends stops at a PPP flag
  (0x7E) instead of swallowing it, so the first frame reaches PPP intact.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pyppp.pppd.chat.script import (
    DEFAULT_TIMEOUT,
    FAIL_BUFFER,
    STR_LEN,
    Alternative,
    ChatScript,
    ExpectStep,
    Segment,
    SendStep,
    SettingStep,
    Step,
)
from pyppp.util import visible

__all__ = ["Break", "ChatAction", "ChatEngine", "Echo", "Hangup", "Report", "Say"]

REPORT_BUFFER: Final = 4096
MAX_PENDING: Final = 65536  # bytes held while no expect is reading (bounded; excess counted)
REPORT_DRAIN_TIMEOUT: Final = 1.0  # chat waits up to 1 s per character to finish a REPORT
PPP_FLAG: Final = 0x7E

_log = logging.getLogger("pyppp.chat")


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


ChatAction = Break | Say | Echo | Report | Hangup
"""A side effect of the script for the shell (bytes to write are not actions)."""


# --------------------------------------------------------------------------------------------
# The engine.


def _echo_char(c: int) -> str:
    """Render one received (7-bit) character as chat's ``character()`` does (ECHO)."""
    if c < 0x20:
        return "^" + chr(c + 0x40)
    if c == 0x7F:
        return "^?"
    return chr(c)


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
        logger: where chat's log lines go (verbose ones at INFO, fatal errors at ERROR).
        now: the caller's monotonic clock; the script starts at once.
    """

    def __init__(
        self, script: ChatScript, *, logger: logging.Logger | None = None, now: float
    ) -> None:
        self.script = script
        self.logger = logger or _log
        self._verbose = script.verbose or script.stderr_verbose
        self._steps: deque[Step] = deque(script.steps)
        self._phase = _Phase.RUNNING
        self._timeout = script.timeout
        self._echo = script.echo
        self._echo_need_lf = False
        self._hangup = True
        self._aborts: list[bytes] = []
        self._reports: list[bytes | None] = []
        self._report_buffer: bytearray | None = None  # not None while gathering
        self._out = bytearray()
        self._actions: deque[ChatAction] = deque()
        self._pending = bytearray()  # received, not yet read by an expect
        self._dropped = 0
        self._deadline: float | None = None
        # current expect
        self._alternatives: tuple[Alternative, ...] = ()
        self._alt_index = 0
        self._match = bytearray()
        self._logline = bytearray()
        # current send
        self._segments: deque[Segment] = deque()
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
        while data:
            # Hold at most MAX_PENDING bytes, and let an expect read them before taking more:
            # one large read gives the same result as the same bytes in small reads.
            room = MAX_PENDING - len(self._pending)
            if room <= 0:
                self._dropped += len(data)
                self.logger.debug("chat: %d received bytes dropped (buffer full)", self._dropped)
                return
            self._pending += data[:room]
            data = data[room:]
            if self._phase in (_Phase.EXPECT, _Phase.DRAIN):
                self._advance(now)

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes to write to the line."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_action(self) -> ChatAction | None:
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

    def connection_lost(self, reason: str = "SIGHUP", *, now: float) -> None:
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

    def _run_step(self, step: Step, now: float) -> None:
        if isinstance(step, ExpectStep):
            self._alternatives = step.alternatives
            self._start_alternative(0, now)
        elif isinstance(step, SendStep):
            self._start_send(step, reply=False)
        else:
            self._apply_setting(step)

    def _apply_setting(self, step: SettingStep) -> None:
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
            self._timeout = step.seconds if step.seconds > 0 else DEFAULT_TIMEOUT
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

    def _start_send(self, send: SendStep, *, reply: bool) -> None:
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
