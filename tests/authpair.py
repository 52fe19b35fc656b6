"""Two authentication engines back to back: drain their events, pump their packets, keep secrets
out of the logs. Shared by the PAP, CHAP, MS-CHAP and secrets-reader tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

import pytest

from pyppp.auth.base import AuthEngine, AuthEvent, AuthFailure, Role
from pyppp.packet import ControlPacket, PPPProtocol


def drain(engine: AuthEngine) -> list[AuthEvent]:
    """Every event the engine has queued, oldest first."""
    out = []
    while (event := engine.next_event()) is not None:
        out.append(event)
    return out


def pump(
    a: AuthEngine,
    b: AuthEngine,
    now: float,
    tamper: Callable[[ControlPacket], ControlPacket] | None = None,
) -> list[ControlPacket]:
    """Deliver packets both ways until both are quiet; return everything that crossed.

    ``tamper`` (if given) rewrites each packet on its way, after it left its sender."""
    seen = []
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            for packet in src.packets_to_send():
                if tamper is not None:
                    packet = tamper(packet)
                seen.append(packet)
                dst.receive(packet, now)
                moved = True
    return seen


def authenticate(peer: AuthEngine, auth: AuthEngine, now: float = 0.0) -> list[ControlPacket]:
    """Start both engines at ``now``, the authenticator first, and `pump` until both are quiet;
    return everything that crossed."""
    auth.start(now)
    peer.start(now)
    return pump(peer, auth, now)


def feed_garbage(engines: Iterable[AuthEngine], packet: ControlPacket, *, later: float) -> None:
    """Start each engine, give it ``packet``, drain it and run its timer at ``later``.

    The property tests' oracle: nothing the peer sends makes an engine raise.
    """
    for engine in engines:
        engine.start(0.0)
        engine.receive(packet, 0.0)
        engine.packets_to_send()
        drain(engine)
        engine.handle_timer(later)


def assert_never_logged(caplog: pytest.LogCaptureFixture, secrets: Iterable[str]) -> Iterator[None]:
    """Body of an autouse fixture: log pyppp at debug during the test, then check that none of
    ``secrets`` reached the log (the quality bar: never log a password)."""
    caplog.set_level(logging.DEBUG, logger="pyppp")
    yield
    for secret in secrets:
        assert secret not in caplog.text


def peer_failed(protocol: PPPProtocol) -> AuthFailure:
    """The peer's event when the authenticator refused us (pppd exit status 19)."""
    return AuthFailure(Role.PEER, protocol, "Failed to authenticate ourselves to peer", 19)


def authenticator_failed(protocol: PPPProtocol) -> AuthFailure:
    """The authenticator's event when it refused the peer (pppd exit status 11)."""
    return AuthFailure(Role.AUTHENTICATOR, protocol, "Authentication failed", 11)
