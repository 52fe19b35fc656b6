"""IPv6CP (the negotiator on the generic automaton) fed hostile packets and timer expiries.

Oracles, after every step: nothing but ``AssertionError`` escapes; the protocol is Opened, or
at rest (Initial/Starting/Closed/Stopped), or has a timer armed, so it can never hang in a
negotiating state; every packet it sends decodes and stays within the peer's MRU; every
This-Layer-Up result is either pppd's failure or two distinct non-zero identifiers. The outbox
is drained each step and never holds more than a handful of packets (memory bounded).
"""

from __future__ import annotations

import logging

from pyppp.control import ControlProtocol, LayerUp
from pyppp.errors import MalformedPacket
from pyppp.fsm import FsmConfig, State
from pyppp.ipv6cp.negotiator import ZERO_IDENTIFIER, Ipv6cpConfig, Ipv6cpNegotiator, Ipv6cpResult
from pyppp.ipv6cp.options import CODECS
from pyppp.options import decode_options
from pyppp.packet import Code, ControlPacket
from pyppp.util import seeded_rng
from tests.fuzz.harness import FuzzTarget, Input

_AT_REST = frozenset({State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED})
_CODES = [1, 1, 1, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 0, 0xFF]
_IDENTIFIERS = [
    ZERO_IDENTIFIER,
    bytes.fromhex("0000000000000001"),
    bytes.fromhex("0000000000000002"),
    b"\xff" * 8,
]
_MAX_OUTBOX = 4
_QUIET = logging.getLogger("pyppp.fuzz.ipv6cp")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _config(source: Input) -> Ipv6cpConfig:
    flags = source.uint()
    local = _IDENTIFIERS[1 + (flags & 3) % 3] if flags & 4 else None
    remote = _IDENTIFIERS[1 + (flags >> 3 & 3) % 3] if flags & 0x20 else None
    return Ipv6cpConfig(
        local=local,
        remote=remote,
        accept_local=bool(flags & 0x40),
        accept_remote=bool(flags & 0x80),
        send_identifier=not source.uint() & 1,
        no_remote=bool(source.uint() & 1),
    )


def _options(source: Input) -> bytes:
    """A list of options: mostly well-formed Interface-Identifiers, some garbage."""
    out = bytearray()
    for _ in range(source.below(4)):
        kind = source.below(6)
        if kind < 3:
            identifier = source.pick([*_IDENTIFIERS, source.take(8).ljust(8, b"\x00")])
            assert isinstance(identifier, bytes)
            out += b"\x01\x0a" + identifier
        elif kind == 3:
            out += b"\x02\x04" + source.take(2).ljust(2, b"\0")
        else:
            out += source.chunk(12)
    return bytes(out)


def run(data: bytes) -> None:
    source = Input(data)
    mru = 64 + source.below(1500)
    control = ControlProtocol(
        Ipv6cpNegotiator(_config(source), seeded_rng(source.uint(2)), logger=_QUIET),
        FsmConfig(max_configure=3, max_failure=2, restart_interval=1.0),
        logger=_QUIET,
    )
    control.set_peer_mru(mru)
    now = 0.0
    control.open(now)
    control.up(now)
    request_id, request = 0, b""
    while source.remaining:
        op = source.below(16)
        if op in (0, 1):
            deadline = control.get_timer()
            now = max(now, deadline if deadline is not None else now + 1.0)
            control.handle_timer(now)
        elif op == 2:
            control.receive(source.chunk(40), now)  # raw bytes, any length
        elif op == 15:
            control.close("fuzz", now)
        elif op == 14:
            control.open(now)
        elif op in (3, 4, 5, 6):  # the peer Acks our request as it stands (the way to Opened)
            control.receive(ControlPacket(Code.CONF_ACK, request_id, request).encode(), now)
        else:
            code = source.pick(_CODES)
            assert isinstance(code, int)
            identifier = request_id if code in (2, 3, 4) and source.uint() & 1 else source.uint()
            control.receive(ControlPacket(code, identifier, _options(source)).encode(), now)
        sent = control.packets_to_send()
        assert len(sent) <= _MAX_OUTBOX, f"{len(sent)} packets from one input"
        for packet in sent:
            encoded = packet.encode()
            assert len(encoded) <= max(mru, 1500), "a packet larger than the peer's MRU"
            if packet.code == Code.CONF_REQ:
                request_id, request = packet.identifier, packet.data
            if packet.code in (Code.CONF_REQ, Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ):
                try:
                    decode_options(packet.data, CODECS)
                except MalformedPacket as exc:  # pragma: no cover - an oracle failure
                    raise AssertionError(f"we sent undecodable options: {exc}") from exc
        while (event := control.next_event()) is not None:
            if isinstance(event, LayerUp):
                result = event.result
                assert isinstance(result, Ipv6cpResult)
                if result.failure is None:
                    assert result.local not in (None, ZERO_IDENTIFIER)
                    assert result.local != result.remote
        state = control.state
        assert state is State.OPENED or state in _AT_REST or control.get_timer() is not None, (
            f"stuck in {state.name} without a timer"
        )


TARGETS = [
    FuzzTarget(
        "ipv6cp.automaton",
        run,
        seeds=[
            # mru, config (random identifiers), rng seed; the peer's ConfReq <addr
            # fe80::1122:3344:5566:7788>; an Ack of ours: Opened.
            bytes.fromhex("0100 00 00 00 0001 0007 0000 05 0001 0000 1122334455667788 0004 0003"),
            # ipv6 ::1,::2 (flags 0x25), then a Nak of ours with ::2, a timeout, a Reject.
            bytes.fromhex("05dc 25 00 00 0102 0007 0006 00 0001 0000 0000000000000002 0002 0000"),
            bytes.fromhex("0040 e5 01 01 ffff 0007 000a 00 0002 0005 07 0003 0001 0003"),
        ],
        max_len=400,
    )
]
