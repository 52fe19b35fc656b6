"""Modem sharing's pure parts on hostile input: the telnet filter, the hosts files, the session.

Oracles:

* ``share.telnet_chunking``: the filter's output both ways does not depend on where the reads
  were cut (the same client stream in the fuzzer's chunks, cut again, and byte by byte, with
  the modem's chunks at the same places); no more data out than in, plus one held 0xFF.
* ``share.telnet_client``: a stream a telnet client would send (data with 0xFF doubled and CR
  as CR NUL, option requests, subnegotiations, NOP/AYT/BRK) yields exactly the data, one
  refusal per WILL/DO, one answer per AYT, one break per BRK, in any chunking.
* ``share.hosts_parser``: parsing never raises; each rule names a line of the text, in order;
  a rule written back as a line parses to the same rule; the policy decides every address.
* ``share.session``: random interleavings of caller bytes, modem bytes, reads on both sides and
  time, with a model shell: the caller's and the modem's buffers stay bounded, the counters add
  up, there is always a deadline (or an end) when a timeout is configured, a handled deadline
  is never left in the past, a stalled or idle call is ended in time and not before, and
  nothing follows the one ``End``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pyppp.share.access import AccessPolicy, load_hosts_file, parse_hosts_file
from pyppp.share.config import IDLE_LINE, ShareConfig
from pyppp.share.session import (
    Effect,
    End,
    EndReason,
    PauseClient,
    PollLines,
    ResumeClient,
    Session,
    ToClient,
    ToModem,
)
from pyppp.share.telnet import Filtered, TelnetFilter, double_iac
from tests.fuzz.harness import FuzzTarget, Input

IAC, SB, SE, NOP, AYT, BRK = 255, 250, 240, 241, 246, 243
WILL, WONT, DO, DONT = 251, 252, 253, 254
_AYT_ANSWER = b"\r\n[pyppp-share: yes]\r\n"


# -- the telnet filter ---------------------------------------------------------------------------


def _cut(data: bytes, source: Input) -> list[bytes]:
    pieces, i = [], 0
    while i < len(data):
        n = 1 + source.below(16)
        pieces.append(data[i : i + n])
        i += n
    return pieces or [b""]


def _run_filter(events: list[tuple[bool, list[bytes]]]) -> tuple[bytes, bytes, int, bytes, bool]:
    f = TelnetFilter()
    data, reply, breaks, escaped = bytearray(), bytearray(), 0, bytearray()
    for from_client, pieces in events:
        for piece in pieces:
            if from_client:
                out = f.feed(piece)
                data += out.data
                reply += out.reply
                breaks += out.breaks
            else:
                escaped += f.escape(piece)
    return bytes(data), bytes(reply), breaks, bytes(escaped), f.telnet


def telnet_chunking(raw: bytes) -> None:
    source = Input(raw)
    events: list[tuple[bool, bytes]] = []
    while source.remaining and len(events) < 64:
        from_client = source.uint() % 3 != 0
        events.append((from_client, source.chunk(64)))
    whole = _run_filter([(c, [d]) for c, d in events])
    cut = _run_filter([(c, _cut(d, source) if c else [d]) for c, d in events])
    single = _run_filter([(c, [bytes([b]) for b in d] if c else [d]) for c, d in events])
    assert cut == whole, f"re-cut reads change the output: {cut!r} != {whole!r}"
    assert single == whole, f"byte-by-byte reads change the output: {single!r} != {whole!r}"
    sent = sum(len(d) for c, d in events if c)
    assert len(whole[0]) <= sent + 1, "more data out than in"
    if whole[4]:
        modem = b"".join(d for c, d in events if not c)
        assert len(whole[3]) >= len(modem)


def telnet_client(raw: bytes) -> None:
    source = Input(raw)
    stream = bytearray([IAC, WILL, 24])  # a telnet client: it says so first
    data, reply, breaks = bytearray(), bytearray([IAC, DONT, 24]), 0
    while source.remaining:
        kind = source.below(8)
        if kind < 3:
            chunk = source.chunk(32)
            data += chunk
            # NVT: 0xFF doubled; a CR is sent as CR NUL unless it is the CR of CR LF.
            stream += double_iac(chunk).replace(b"\r", b"\r\x00")
        elif kind == 3:
            verb = (WILL, WONT, DO, DONT)[source.below(4)]
            option = source.uint()
            stream += bytes((IAC, verb, option))
            if verb in (WILL, DO):
                reply += bytes((IAC, DONT if verb == WILL else WONT, option))
        elif kind == 4:
            stream += bytes((IAC, SB)) + double_iac(source.chunk(16)) + bytes((IAC, SE))
        elif kind == 5:
            stream += bytes((IAC, AYT))
            reply += _AYT_ANSWER
        elif kind == 6:
            stream += bytes((IAC, BRK))
            breaks += 1
        else:
            stream += bytes((IAC, NOP))
    f = TelnetFilter()
    got, answers, broke = bytearray(), bytearray(), 0
    for piece in _cut(bytes(stream), Input(raw[::-1])):
        out = f.feed(piece)
        got += out.data
        answers += out.reply
        broke += out.breaks
    assert bytes(got) == bytes(data), f"data {bytes(got)!r} != {bytes(data)!r}"
    assert bytes(answers) == bytes(reply), f"answers {bytes(answers)!r} != {bytes(reply)!r}"
    assert broke == breaks


# -- the hosts files -----------------------------------------------------------------------------


def _depth_after(text: str) -> int:
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
    return depth


_ADDRESSES = [
    ipaddress.ip_address(a) for a in ("10.99.1.1", "127.0.0.1", "::1", "fd00::5", "10.98.3.4")
]


def hosts_parser(raw: bytes) -> None:
    def read(path: Path) -> bytes:
        return raw

    rules = load_hosts_file(Path("fuzz"), read)
    lines = raw.decode("utf-8", errors="replace").splitlines()
    numbers = [int(rule.source.rsplit(":", 1)[1]) for rule in rules]
    assert numbers == sorted(set(numbers)), "rules out of order"
    assert all(1 <= n <= len(lines) for n in numbers), "a rule names no line"
    for rule in rules:
        clients = " ".join(rule.clients)
        # A leading comma keeps a '#' word from reading as a comment; the trailing space keeps
        # a word ending in '\' from reading as a continuation.
        line = "," + " ".join(rule.daemons) + " : " + clients
        if _depth_after(clients) == 0:
            line += " : " + {True: "allow", False: "deny", None: "x"}[rule.verdict]
        else:
            assert rule.verdict is None, "an option field after an open bracket"
        again = parse_hosts_file(line + " ", "again")
        assert [(r.daemons, r.clients, r.verdict) for r in again] == [
            (rule.daemons, rule.clients, rule.verdict)
        ], f"{rule} written as {line!r} reads back as {again}"
    policy = AccessPolicy(hosts_allow=rules, hosts_deny=rules[::-1])
    for address in [*_ADDRESSES, None]:
        granted, why = policy.check(address)
        assert isinstance(granted, bool)
        assert why


# -- the session ---------------------------------------------------------------------------------

_MAX_CHUNK = 256  # what _data() makes at most
_REPLY_PER_BYTE = len(_AYT_ANSWER) // 2 + 1  # the largest answer per input byte: AYT's


class _StubRfc2217:
    def feed(self, data: bytes) -> Filtered:
        return Filtered(data)

    def escape(self, data: bytes) -> bytes:
        return double_iac(data)


class _Shell:
    """A model shell: the caller's and the modem's buffers, pause, the clock, the oracles."""

    def __init__(self, source: Input) -> None:
        self.source = source
        knobs = source.uint()
        mode = ("raw", "transparent", "rfc2217", "raw")[knobs & 3]
        self.config = ShareConfig(
            "/dev/fuzz",
            mode=mode,  # type: ignore[arg-type]
            idle=(None, 1.0, 5.0, None)[(knobs >> 2) & 3],
            banner=("hello" if knobs & 16 else None),
            max_backlog=(64, 1024)[(knobs >> 5) & 1],
            stall_timeout=(0.5, 3.0)[(knobs >> 6) & 1],
        )
        self.session = Session(self.config, "fuzz", _StubRfc2217() if mode == "rfc2217" else None)
        self.now = 0.0
        self.client_level = 0  # bytes in the caller's send buffer
        self.modem_level = 0  # bytes waiting for the modem
        self.paused = False
        self.ends: list[End] = []
        self.sent_to_modem = 0
        self.fed_from_modem = 0
        self.droppable_out = 0
        self.last_activity = 0.0
        self.stall_start: float | None = None
        self.progress = False
        self.apply(self.session.start(self.now))

    # The shell's duties.
    def report(self) -> None:
        if self.progress or self.client_level == 0:
            self.stall_start = None
        self.progress = False
        self.apply(self.session.client_backlog(self.client_level, self.now))

    def apply(self, effects: list[Effect], droppable: bool = False) -> None:
        if self.ends:
            assert not effects, f"effects after the end: {effects}"
        wrote_modem = False
        for effect in effects:
            assert not self.ends, f"{effect} after the end"
            if isinstance(effect, ToClient):
                limit = self.config.max_backlog
                if droppable:  # modem data: only what fits below the backlog
                    assert self.client_level + len(effect.data) <= limit, "backlog overrun"
                    self.droppable_out += len(effect.data)
                else:  # telnet answers and notices: while no more than twice the backlog waits
                    assert self.client_level <= 2 * limit, "answers to a caller not reading"
                self.client_level += len(effect.data)
            elif isinstance(effect, ToModem):
                self.modem_level += len(effect.data)
                self.sent_to_modem += len(effect.data)
                wrote_modem = True
            elif isinstance(effect, PauseClient):
                assert not self.paused
                assert self.modem_level > self.config.max_backlog, "paused below the backlog"
                self.paused = True
            elif isinstance(effect, ResumeClient):
                assert self.paused
                assert self.modem_level == 0, "resumed before the modem drained"
                self.paused = False
            elif isinstance(effect, PollLines):
                assert self.config.mode == "rfc2217"
                self.apply(self.session.client_control(self.source.chunk(8), self.now))
            elif isinstance(effect, End):
                self.ends.append(effect)
                self.check_end(effect)
        if wrote_modem and not self.ends:
            self.apply(self.session.modem_backlog(self.modem_level, self.now))
        self.check_bounds()

    def advance(self, dt: float) -> None:
        target = self.now + dt
        for _ in range(10_000):
            deadline = self.session.get_timer()
            if deadline is None or deadline > target:
                break
            assert deadline >= self.now - 1e-9, "a deadline in the past"
            self.now = max(self.now, deadline)
            self.report()
            self.apply(self.session.handle_timer(self.now))
            after = self.session.get_timer()
            assert after is None or after > self.now, "the handled deadline is still due"
        else:
            raise AssertionError("the timer never settles")
        self.now = target
        self.check_liveness()

    # The oracles.
    def check_bounds(self) -> None:
        limit = self.config.max_backlog
        extra = len(IDLE_LINE) + len(self.config.banner or "") + 2
        if self.config.mode == "transparent":
            assert self.client_level <= limit + extra, f"caller's buffer {self.client_level}"
        else:
            bound = 2 * limit + _REPLY_PER_BYTE * _MAX_CHUNK + len(_AYT_ANSWER) + 8 + extra
            assert self.client_level <= bound, f"caller's buffer {self.client_level}"
        assert self.modem_level <= limit + _MAX_CHUNK + 1, f"modem's buffer {self.modem_level}"
        s = self.session
        assert s.to_modem == self.sent_to_modem
        assert s.from_modem == self.fed_from_modem
        if self.config.mode == "transparent":
            assert s.from_modem == s.dropped + self.droppable_out, "modem bytes unaccounted for"

    def check_end(self, end: End) -> None:
        assert len(self.ends) == 1, "two ends"
        if end.reason is EndReason.CLIENT_STALLED:
            assert self.stall_start is not None, "stalled without a stall"
            assert self.now >= self.stall_start + self.config.stall_timeout, "stalled too soon"
        if end.reason is EndReason.IDLE_TIMEOUT:
            assert self.config.idle is not None
            assert self.now >= self.last_activity + self.config.idle, "idle too soon"

    def check_liveness(self) -> None:
        if self.ends:
            assert self.session.get_timer() is None
            return
        if self.config.idle is not None or self.config.mode == "rfc2217":
            assert self.session.get_timer() is not None, "a timeout without a deadline"
        if self.config.idle is not None:
            assert self.now < self.last_activity + self.config.idle, "idle call not ended"
        if self.stall_start is not None:
            # Only data dropped after the last report can be pending; the stall clock is due.
            assert self.now < self.stall_start + self.config.stall_timeout or self.progress, (
                "stalled caller not cut off"
            )

    # The world's moves.
    def client_sends(self, data: bytes) -> None:
        if self.paused or not data:
            return  # a paused transport delivers nothing
        self.report()
        self.last_activity = self.now
        self.apply(self.session.client_data(data, self.now))

    def modem_sends(self, data: bytes) -> None:
        if not data:
            return
        self.report()
        if not self.ends:
            self.fed_from_modem += len(data)
            self.last_activity = self.now
        dropped = self.session.dropped
        self.apply(self.session.modem_data(data, self.now), droppable=True)
        if self.session.dropped > dropped and self.stall_start is None:
            self.stall_start = self.now

    def client_reads(self, n: int) -> None:
        taken = min(n, self.client_level)
        self.client_level -= taken
        self.progress = self.progress or taken > 0

    def modem_takes(self, n: int) -> None:
        if self.modem_level == 0:
            return
        self.modem_level -= min(n, self.modem_level)
        # The shell reports when the modem drains; a report at any level must be harmless.
        self.apply(self.session.modem_backlog(self.modem_level, self.now))


def _data(source: Input) -> bytes:
    # Short inputs must reach full buffers: a length and a pattern, or literal bytes.
    head = source.uint()
    if head & 0x80:
        return source.take(1 + head % 16)
    return source.take(1) * (1 + (head & 0x7F) * 2)


def session(raw: bytes) -> None:
    source = Input(raw)
    shell = _Shell(source)
    while source.remaining:
        op = source.uint() % 8
        if op in (0, 1):
            shell.client_sends(_data(source))
        elif op in (2, 3):
            shell.modem_sends(_data(source))
        elif op in (4, 5):
            n = source.uint()
            amount = n * 8 if n & 1 else n // 8  # big gulps and sips
            (shell.client_reads if op == 4 else shell.modem_takes)(amount)
        elif op == 6:
            shell.advance(source.uint() / 64)  # up to 4 s
        elif source.uint() < 16:
            reason = (EndReason.CLIENT_CLOSED, EndReason.MODEM_HANGUP)[source.uint() & 1]
            shell.apply(shell.session.end(reason, now=shell.now))
    shell.advance(10.0)
    if shell.config.idle is not None:
        assert shell.ends, "an idle call outlived its idle timeout"


TARGETS = [
    FuzzTarget(
        "share.telnet_chunking",
        telnet_chunking,
        seeds=[
            b"\x02\x10AT\xff\xfb\x18\r\x00\xff\xff\x00\x01\x03\xff\xfe",
            b"\x01\x08\r\x00\xff\xfd\x01\r\x00\x00\x02\x04\xff\xff\x7e\x03",
        ],
        max_len=1024,
    ),
    FuzzTarget("share.telnet_client", telnet_client, seeds=[b"\x00\x00\x05AT\r\xff\n\x03\x00"]),
    FuzzTarget(
        "share.hosts_parser",
        hosts_parser,
        seeds=[
            b"pyppp-share: 10.99.0.0/255.255.0.0 EXCEPT 10.99.9.0/24\n"
            b"ALL EXCEPT pyppp-share: [fd00::]/8 : deny\n"
            b"pyppp-share: .example.com KNOWN \\\n   10.95.0.1\n# comment\nbogus\n"
        ],
        max_len=600,
    ),
    FuzzTarget(
        "share.session",
        session,
        seeds=[
            # raw, idle 1 s: AT, OK, a telnet DO, time
            bytes.fromhex("04 00 83 41540d 02 82 4f4b0d 00 82 fffd01 06 20 06 ff"),
            # transparent, backlog 64: the modem floods a caller that does not read, time
            bytes.fromhex("21" + "02 7f 78" * 6 + "06 10 02 7f 78 06 40 04 ff 06 80"),
            # rfc2217, idle 5 s, stall 3 s: polls, a flood, a slow read, the modem drains
            bytes.fromhex("4a" + "02 7f ff" * 12 + "06 40 04 02 06 ff 00 30 aa 05 ff 06 ff"),
            # transparent, backlog 64: the caller outruns the modem, which drains in sips
            bytes.fromhex("01 00 7f 41 05 10 05 1f 05 ff 00 02 41 05 ff"),
            # raw, backlog 64: a caller that asks for options and never reads the answers
            bytes.fromhex("00" + ("00 8e" + "fffd01" * 5 + "06 04") * 10),
        ],
        max_len=512,
    ),
]
