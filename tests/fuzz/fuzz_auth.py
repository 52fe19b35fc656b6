"""PAP, CHAP-MD5, MS-CHAP and MS-CHAPv2 engines in both roles, and the secrets-file parser.

Engine targets run a real peer and a real authenticator back to back through a hostile
channel: the input decides, packet by packet, to pass, drop, corrupt, truncate, duplicate or
replace each packet, to inject a forged one, or to let time pass. Oracles:

* nothing raises; every packet an engine sends decodes and re-encodes to itself;
* each engine reports at most one verdict (a success, then maybe a re-challenge's failure);
  an engine that has not decided keeps a timer (it never stalls: it decides or times out);
* with an untouched channel and the right secret both sides succeed, and an MS-CHAP
  success carries MPPE keys that mirror each other;
* the output queue stays bounded (a burst of packets gets at most one answer each).

The secrets target parses arbitrary text, attaches arbitrary ``@/path`` reads, and checks the
best-match rule against a brute-force scan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyppp.auth.base import AuthEngine, AuthEvent, AuthFailure, AuthSuccess, LoginCheckNeeded
from pyppp.auth.chap import CHALLENGE, FAILURE, RESPONSE, SUCCESS, ChapAuthenticator, ChapPeer
from pyppp.auth.mschap import MsChapV2Digest, failure_text
from pyppp.auth.pap import AUTH_ACK, AUTH_NAK, AUTH_REQ, PapAuthenticator, PapPeer
from pyppp.lcp.options import ChapAlgorithm
from pyppp.packet import ControlPacket
from pyppp.pppd.secrets import (
    NONWILD_CLIENT,
    NONWILD_SERVER,
    FileRead,
    SecretsFile,
)
from pyppp.util import seeded_rng
from tests.fuzz.harness import FuzzTarget, Input

_SECRETS = SecretsFile.parse(
    'zaphod server gargleBlaster *\nford server "" 10.0.0.0/24\n* * wildcard\n'
)
_LOG = logging.getLogger("pyppp.fuzz.auth")


class _Counted:
    """An engine's inputs since its output was last drained: each may get one answer."""

    def __init__(self) -> None:
        self.inputs: dict[AuthEngine, int] = {}

    def note(self, engine: AuthEngine) -> None:
        self.inputs[engine] = self.inputs.get(engine, 0) + 1

    def drain(self, engine: AuthEngine) -> list[ControlPacket]:
        packets = engine.packets_to_send()
        allowed = self.inputs.pop(engine, 0)
        assert len(packets) <= allowed, f"{len(packets)} packets for {allowed} inputs"
        for packet in packets:
            assert ControlPacket.decode(packet.encode()) == packet, "a packet does not round-trip"
        return packets


def _events(engine: AuthEngine, seen: list[AuthEvent]) -> None:
    while (event := engine.next_event()) is not None:
        seen.append(event)


def _verdicts(events: list[AuthEvent]) -> tuple[int, int]:
    return (
        sum(isinstance(e, AuthSuccess) for e in events),
        sum(isinstance(e, AuthFailure) for e in events),
    )


def _make(kind: str, algorithm: int, password: str) -> tuple[AuthEngine, AuthEngine]:
    if kind == "pap":
        peer: AuthEngine = PapPeer("zaphod", password, logger=_LOG)
        auth: AuthEngine = PapAuthenticator("server", _SECRETS, timeout=30.0, logger=_LOG)
        return peer, auth
    peer = ChapPeer("zaphod", password, algorithm=algorithm, rng=seeded_rng(2), logger=_LOG)
    auth = ChapAuthenticator(
        "server",
        _SECRETS,
        rng=seeded_rng(1),
        algorithm=algorithm,
        interval=30.0,
        logger=_LOG,
    )
    return peer, auth


def _forged(source: Input, kind: str) -> ControlPacket:
    codes = (AUTH_REQ, AUTH_ACK, AUTH_NAK) if kind == "pap" else (CHALLENGE, RESPONSE, SUCCESS)
    code = source.pick((*codes, FAILURE, 0, 5, 255))
    assert isinstance(code, int)
    return ControlPacket(code, source.uint(), source.chunk(120))


def _channel(source: Input, packet: ControlPacket, kind: str) -> list[ControlPacket]:
    """What reaches the other side when ``packet`` is sent; ``[packet]`` means untouched."""
    action = source.below(10)
    if action <= 4:
        return [packet]
    if action == 5:
        return []
    if action == 6:
        return [packet, packet]
    data = bytearray(packet.data)
    if action == 7 and data:
        data[source.below(len(data))] ^= 1 << source.below(8)
    elif action == 8:
        del data[source.below(len(data) + 1) :]
    else:
        return [_forged(source, kind)]
    return [ControlPacket(packet.code, packet.identifier, bytes(data))]


def _engines(kind: str, algorithm: int) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        source = Input(data)
        right = source.below(4) != 0
        peer, auth = _make(kind, algorithm, "gargleBlaster" if right else "hunter2")
        events: dict[AuthEngine, list[AuthEvent]] = {peer: [], auth: []}
        now = 0.0
        counted = _Counted()
        for engine in (peer, auth):
            engine.start(now)
            counted.note(engine)

        def deliver(engine: AuthEngine, packet: ControlPacket) -> None:
            engine.receive(packet, now)
            counted.note(engine)

        tampered = False
        for _ in range(40):
            if not source.remaining:
                break
            for src, dst in ((peer, auth), (auth, peer)):
                for packet in counted.drain(src):
                    delivered = _channel(source, packet, kind)
                    tampered |= delivered != [packet]
                    for arriving in delivered:
                        deliver(dst, arriving)
                        if source.below(8) == 0:  # the other role's engine sees it too
                            deliver(src, arriving)
                            tampered = True
            if source.below(4) == 0:
                deadlines = [t for t in (peer.get_timer(), auth.get_timer()) if t is not None]
                if deadlines:
                    now = min(deadlines)
                    for engine in (peer, auth):
                        engine.handle_timer(now)
                        counted.note(engine)
            if source.below(16) == 0:
                deliver(auth, _forged(source, kind))
                deliver(peer, _forged(source, kind))
                tampered = True
            for engine in (peer, auth):
                _events(engine, events[engine])
        for engine in (peer, auth):
            counted.drain(engine)
            _events(engine, events[engine])
            for event in events[engine]:
                assert not isinstance(event, LoginCheckNeeded), "no login was asked for"
            successes, failures = _verdicts(events[engine])
            assert successes <= 1, f"{engine!r} succeeded {successes} times"
            assert failures <= 1, f"{engine!r} failed {failures} times"
            if not successes and not failures:
                assert engine.get_timer() is not None, f"{engine!r} undecided and without a timer"
        if not tampered and right and events[auth] and events[peer]:
            assert _verdicts(events[auth]) == (1, 0), "the right secret was refused"
            assert _verdicts(events[peer]) == (1, 0), "the peer refused a good verdict"
            ours = next(e for e in events[peer] if isinstance(e, AuthSuccess))
            theirs = next(e for e in events[auth] if isinstance(e, AuthSuccess))
            if algorithm != ChapAlgorithm.MD5 and kind == "chap":
                assert ours.mppe_keys is not None
                assert theirs.mppe_keys is not None
                assert ours.mppe_keys.send_key == theirs.mppe_keys.recv_key
                assert ours.mppe_keys.recv_key == theirs.mppe_keys.send_key

    return run


_PAP_SEED = bytes.fromhex("01" + "00" * 40)
_CHAP_SEED = bytes.fromhex("02" + "00" * 60)


def secrets_parser(data: bytes) -> None:
    source = Input(data)
    text = source.chunk(400).decode("utf-8", "surrogateescape")
    parsed = SecretsFile.parse(text, path="fuzz")
    reads = {}
    for path in parsed.indirect_paths():
        choice = source.below(4)
        if choice == 0:
            reads[path] = FileRead(path, error="No such file or directory")
        elif choice == 1:
            reads[path] = FileRead(path, too_large=True)
        else:
            reads[path] = FileRead(path, source.chunk(60), mode=source.uint(2))
    parsed = parsed.with_indirect(reads)
    names = [
        None,
        "",
        "*",
        *{e.client for e in parsed.entries},
        *{e.server for e in parsed.entries},
    ]
    for _ in range(4):
        client = source.pick(names)
        server = source.pick(names)
        assert client is None or isinstance(client, str)
        assert server is None or isinstance(server, str)
        match = parsed.find(client, server, read_secret=False)
        # The brute-force best match: the first line with the highest score.
        best = None
        for entry in parsed.entries:
            if entry.client != "*" and client is not None and entry.client != client:
                continue
            if entry.server != "*" and server is not None and entry.server != server:
                continue
            score = (NONWILD_CLIENT if entry.client != "*" else 0) | (
                NONWILD_SERVER if entry.server != "*" else 0
            )
            if best is None or score > best[1]:
                best = (entry, score)
        assert (match is None) == (best is None), "find() and the scan disagree"
        if match is not None and best is not None:
            assert match.entry is best[0], "not pppd's best line"
            assert match.score == best[1]
        resolved = parsed.find(client, server)
        if resolved is not None:
            assert resolved.entry in parsed.entries
            assert "<hidden>" in repr(resolved)


_ANSWER = MsChapV2Digest(_LOG, lambda why: None).respond(
    1, bytes(16), b"zaphod", b"gargleBlaster", seeded_rng(3)
)


def mschap_messages(data: bytes) -> None:
    text, _known = failure_text(data)
    assert isinstance(text, str)
    assert "\n" not in text
    digest = MsChapV2Digest(_LOG, lambda why: None)
    assert digest.check_success(None, data) is False  # nothing was answered
    expected = _ANSWER.authenticator_response
    assert expected is not None
    ok = digest.check_success(_ANSWER, data)
    assert ok == (
        data[:2] == b"S="
        and data[2:42].upper() == expected[2:]
        and (len(data) == 42 or data[42:].startswith((b" M=", b"M=")))
    ), "the S= check is not RFC 2759's"


TARGETS = [
    FuzzTarget("auth.pap", _engines("pap", 0), seeds=[_PAP_SEED], max_len=300),
    FuzzTarget("auth.chap_md5", _engines("chap", ChapAlgorithm.MD5), seeds=[_CHAP_SEED]),
    FuzzTarget("auth.mschap", _engines("chap", ChapAlgorithm.MS), seeds=[_CHAP_SEED]),
    FuzzTarget("auth.mschap_v2", _engines("chap", ChapAlgorithm.MS_V2), seeds=[_CHAP_SEED]),
    FuzzTarget(
        "auth.secrets_parser",
        secrets_parser,
        seeds=[b"\x00\x40zaphod server s *\n* * @/x\nford * '' -- ms-dns 1.2.3.4\n"],
        max_len=600,
    ),
    FuzzTarget(
        "auth.mschap_messages",
        mschap_messages,
        seeds=[
            b"E=691 R=0 C=00112233445566778899aabbccddeeff V=0 M=Access denied",
            (_ANSWER.authenticator_response or b"") + b" M=Access granted",
        ],
        max_len=300,
    ),
]
