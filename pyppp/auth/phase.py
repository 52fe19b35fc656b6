"""The Authenticate phase (RFC 1661 §3.5): the engines for the directions LCP negotiated.

LCP settles who authenticates whom (its Authentication-Protocol option, each way); the link
hands that to :meth:`AuthPhase.start`, which builds one engine per direction through the
link's :class:`~pyppp.linkconfig.AuthFactory`. Each engine reports into the link's one inbox
(wrapped in :class:`FromEngine`, so the link knows which engine spoke); the link asks
:meth:`AuthPhase.settle` whether a success completes the phase. What the engines send is
flushed by the link in phase order, after LCP and before the NCPs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from pyppp.auth.base import (
    AuthEngine,
    AuthEvent,
    ExternalCheckNeeded,
    ExternalVerdict,
    LoginCheckNeeded,
)
from pyppp.events import AuthMethod, ExternalCheckRequested, LoginCheckRequested, Role
from pyppp.lcp.options import AuthProtocol, ChapAlgorithm
from pyppp.packet import ControlPacket, PPPProtocol

__all__ = ["AUTH_METHODS", "AuthPhase", "EngineFactory", "FromEngine", "MissingEngine"]

AUTH_METHODS: Final[dict[tuple[int, int | None], AuthMethod]] = {
    (PPPProtocol.PAP, None): AuthMethod.PAP,
    (PPPProtocol.CHAP, ChapAlgorithm.MD5): AuthMethod.CHAP,
    (PPPProtocol.CHAP, ChapAlgorithm.MS): AuthMethod.MSCHAP,
    (PPPProtocol.CHAP, ChapAlgorithm.MS_V2): AuthMethod.MSCHAP_V2,
}
"""(LCP Authentication-Protocol, CHAP Algorithm) -> the method pppd names in its log."""

EngineFactory = Callable[..., AuthEngine | None]
"""``AuthFactory.authenticator`` or ``AuthFactory.peer``: ``(protocol, *, algorithm=)``."""


@dataclass(frozen=True, slots=True)
class FromEngine:
    """An authentication engine's event, with the engine that reported it."""

    engine: AuthEngine
    event: AuthEvent


@dataclass(frozen=True, slots=True)
class MissingEngine:
    """No engine can run a direction LCP agreed to (pppd would not have agreed)."""

    role: Role
    method: AuthMethod


class AuthPhase:
    """The running authentication engines of one link (see the module docstring).

    Args:
        report: the link's inbox; every engine's events arrive there as :class:`FromEngine`.
    """

    def __init__(self, report: Callable[[FromEngine], None]) -> None:
        self._report = report
        self.engines: list[AuthEngine] = []
        self._pending: set[Role] = set()
        self._login_engines: dict[int, AuthEngine] = {}
        self._external_engines: dict[int, AuthEngine] = {}

    def start(
        self, wanted: Sequence[tuple[Role, AuthProtocol | None, EngineFactory | None]]
    ) -> MissingEngine | None:
        """Build an engine for each direction that has an Authentication-Protocol.

        Args:
            wanted: (role, what LCP negotiated for it or ``None``, the factory's builder).

        Returns:
            ``None`` when every direction has an engine (possibly none at all: see
            :attr:`running`), to be started by :meth:`begin`; otherwise the first direction
            nothing can run, and no engine is kept.
        """
        self.stop()
        for role, option, make in wanted:
            if option is None:
                continue
            protocol = option.protocol
            algorithm = option.algorithm
            if make is None:
                engine = None
            elif algorithm is None or algorithm == ChapAlgorithm.MD5:
                engine = make(protocol)
            else:
                engine = make(protocol, algorithm=algorithm)
            if engine is None:
                self.engines = []
                self._pending = set()
                return MissingEngine(role, AUTH_METHODS.get((protocol, algorithm), AuthMethod.CHAP))
            engine.bind(functools.partial(self._wrap, engine))
            self.engines.append(engine)
            self._pending.add(role)
        return None

    def begin(self, now: float) -> None:
        """Start every engine :meth:`start` built (the link is in the Authenticate phase)."""
        for engine in self.engines:
            engine.start(now)

    @property
    def running(self) -> bool:
        """True while at least one engine is running."""
        return bool(self.engines)

    def _wrap(self, engine: AuthEngine, event: AuthEvent) -> None:
        self._report(FromEngine(engine, event))

    def settle(self, role: Role) -> bool:
        """Record ``role``'s success; return True when no direction is left to succeed."""
        self._pending.discard(role)
        return not self._pending

    def owns(self, engine: AuthEngine) -> bool:
        """Whether ``engine`` is still running (a stopped engine's last words are moot)."""
        return engine in self.engines

    def for_protocol(self, protocol: int) -> list[AuthEngine]:
        """The engines of ``protocol`` (PAP, CHAP): both roles may run the same one."""
        return [engine for engine in self.engines if engine.protocol == protocol]

    def receive(self, protocol: int, packet: ControlPacket, now: float) -> None:
        """Give a decoded packet of ``protocol`` to every engine that runs it."""
        for engine in self.for_protocol(protocol):
            engine.receive(packet, now)

    def expect_login(self, request_id: int, engine: AuthEngine) -> None:
        """Remember which engine waits for the system's answer to ``request_id``."""
        self._login_engines[request_id] = engine

    def login_result(self, request_id: int, ok: bool, now: float) -> None:
        """Pass the system's answer to the engine that asked (ignored if it has stopped)."""
        engine = self._login_engines.pop(request_id, None)
        if engine is not None:
            engine.login_result(request_id, ok, now)

    def expect(
        self, event: LoginCheckNeeded | ExternalCheckNeeded, engine: AuthEngine
    ) -> LoginCheckRequested | ExternalCheckRequested:
        """Remember the engine that waits for the shell's answer; return the link's event."""
        if isinstance(event, LoginCheckNeeded):
            self._login_engines[event.request_id] = engine
            return LoginCheckRequested(event.request_id, event.user, event.password)
        self._external_engines[event.request_id] = engine
        return ExternalCheckRequested(event)

    def external_result(self, request_id: int, verdict: ExternalVerdict, now: float) -> None:
        """Pass the outside server's answer to the engine that asked (ignored if stopped)."""
        engine = self._external_engines.pop(request_id, None)
        if engine is not None:
            engine.external_result(request_id, verdict, now)

    def timers(self) -> Iterator[float | None]:
        """Every engine's next deadline."""
        return (engine.get_timer() for engine in self.engines)

    def handle_timer(self, now: float) -> None:
        """Run the engines whose deadline has passed."""
        for engine in list(self.engines):
            deadline = engine.get_timer()
            if deadline is not None and now >= deadline:
                engine.handle_timer(now)

    def packets(self) -> Iterator[tuple[int, ControlPacket]]:
        """What the engines queued to send, as (protocol, packet), in engine order."""
        for engine in self.engines:
            for packet in engine.packets_to_send():
                yield engine.protocol, packet

    def stop(self, flush: Callable[[int, ControlPacket], None] | None = None) -> None:
        """Stop every engine, first giving ``flush`` what they still had queued.

        pppd sends the final Authenticate-Nak/Failure before lcp_close's Terminate-Request,
        so the link flushes what an engine queued along with its failure before dropping it.
        """
        if flush is not None:
            for protocol, packet in self.packets():
                flush(protocol, packet)
        for engine in self.engines:
            engine.stop()
        self.engines = []
        self._pending = set()
        self._login_engines.clear()
        self._external_engines.clear()
