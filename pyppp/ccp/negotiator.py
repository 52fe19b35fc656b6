"""CCP negotiation policy (RFC 1962), plugged into the generic automaton as pppd's ccp.c.

Theory of operation
-------------------
A CCP Configure-Request lists the methods its sender is willing to *decompress*, most
preferred first; each end's request is negotiated on its own, so the two directions may end
up with different methods or windows, or one direction with none. The method of a direction
is the first option of the request that was acknowledged (pppd's ``go->method`` and
``ho->method``; the kernel reads only that first option).

This negotiator knows nothing about any method: it holds an ordered list of
:class:`~pyppp.ccp.method.MethodPolicy` plug-ins (the order of our request, pppd's: MPPE,
Deflate, BSD-Compress, Predictor) and hands each option to the policy owning its Type:

* our request is the concatenation of the policies' requests; an Ack must echo it (pppd also
  takes an Ack of its first option alone, its "first/fast ack");
* a Nak's options go to the policies of the Types we asked for (others are ignored, as pppd
  does); a Reject must name options exactly as we sent them (else the packet is bogus);
* in the peer's request, an option of a Type no policy owns is Rejected: anything unknown,
  and BSD-Compress (21) or Predictor-1/2 (1, 2) when no method we run comes before them (they
  would be the method used). After one, they are acknowledged: only the first acknowledged
  option is ever used, and a Reject would cost Linux's peer the packets it compresses in the
  extra round trip (see :meth:`CcpNegotiator.review`). A duplicate of a Type up to
  Deflate's is skipped with pppd's warning.

At This-Layer-Up the result names the method of each direction and pppd's log line
("Deflate (15) compression enabled"; "Deflate (15/9)" when the windows differ, ours first; "X
/ Y", "X receive", "X transmit" otherwise). Nothing here raises on peer input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final

from pyppp.ccp.deflate import DeflateConfig, DeflatePolicy
from pyppp.ccp.method import CcpMethod, MethodPolicy
from pyppp.ccp.mppe import MppeConfig, MppePolicy
from pyppp.ccp.options import CODECS, DEFLATE, BsdCompress, Predictor1
from pyppp.options import Option, Review, encode_options, skip_repeats
from pyppp.packet import Code, PPPProtocol
from pyppp.util import NOTICE

__all__ = ["CcpConfig", "CcpNegotiator", "CcpResult", "method_policies"]

_ACK, _NAK, _REJ = Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ
# Methods pppd offers that pyppp does not implement (Predictor2 is a Predictor1).
_NEVER_USED: Final = (BsdCompress, Predictor1)
# pppd's seenci[]: duplicates of Types up to Deflate's are skipped.
_LAST_CHECKED_TYPE: Final = DEFLATE


@dataclass(frozen=True, slots=True)
class CcpConfig:
    """The CCP part of pppd's options: which methods run, each with its own configuration.

    Attributes:
        deflate: Deflate's words (``deflate N[,M]``, ``nodeflatedraft``), or ``None`` for
            ``nodeflate``.
        mppe: MPPE's words when MPPE is required (``require-mppe*``), else ``None``; MPPE
            then runs alone (pppd: "MPPE is not compatible with other compression types").
    """

    deflate: DeflateConfig | None = field(default_factory=DeflateConfig)
    mppe: MppeConfig | None = None


def method_policies(config: CcpConfig, logger: logging.Logger | None = None) -> list[MethodPolicy]:
    """The policies ``config`` runs, in the order of our request (pppd's preference)."""
    if config.mppe is not None:
        return [MppePolicy(config.mppe, logger)]
    policies: list[MethodPolicy] = []
    if config.deflate is not None:
        policies.append(DeflatePolicy(config.deflate))
    return policies


@dataclass(frozen=True, slots=True)
class CcpResult:
    """What CCP settled at This-Layer-Up.

    Attributes:
        receive: the method the peer compresses with toward us (our acknowledged request's
            first option), or ``None``.
        transmit: the method we compress with (the peer's acknowledged request's first
            option), or ``None``.
        messages: pppd's ``(level, line)`` log lines.
    """

    receive: CcpMethod | None
    transmit: CcpMethod | None
    messages: tuple[tuple[int, str], ...]


class CcpNegotiator:
    """The CCP plug-in of the generic automaton (implements :class:`pyppp.options.Negotiator`).

    Args:
        policies: the methods we run, in the order of our request (pppd's preference).
        logger: where debug and warning lines go.
    """

    protocol: ClassVar[int] = PPPProtocol.CCP
    name: ClassVar[str] = "CCP"
    codecs: ClassVar[Mapping[int, type[Option]]] = CODECS

    def __init__(
        self, policies: Sequence[MethodPolicy], logger: logging.Logger | None = None
    ) -> None:
        self.policies = tuple(policies)
        self._logger = logger or logging.getLogger("pyppp.ccp")
        self._by_type: dict[int, MethodPolicy] = {}
        for policy in self.policies:
            for option_type in policy.types:
                self._by_type[option_type] = policy
        self._his: tuple[Option, ...] = ()
        self.reset()

    @property
    def wants_compression(self) -> bool:
        """Whether we ask for any method at all (pppd opens CCP silently otherwise)."""
        return bool(self.request())

    # -- Negotiator protocol -----------------------------------------------------------------

    def reset(self) -> None:
        """Start a new negotiation (pppd ``ccp_resetci``)."""
        for policy in self.policies:
            policy.reset()
        self._his = ()

    def request(self) -> list[Option]:
        """Our Configure-Request: every policy's options, in preference order (``addci``)."""
        return [option for policy in self.policies for option in policy.request()]

    def on_ack(self, options: Sequence[Option]) -> bool:
        """An Ack must echo our request (or, as pppd allows, its first option alone)."""
        ours = self.request()
        acked = encode_options(options)
        if acked == encode_options(ours) or (ours and acked == ours[0].encode()):
            return True
        self._logger.debug("CCP: received bad Ack")
        return False

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        """Adapt our request to a Configure-Nak or -Reject (pppd ``ccp_nakci``/``ccp_rejci``).

        Returns:
            ``False`` for a Reject naming what we did not send as we sent it.
        """
        ours = {option.encode(): option for option in self.request()}
        if rejected:
            if any(option.encode() not in ours for option in options):
                self._logger.debug("CCP: received bad Reject")
                return False
            for option in options:
                self._by_type[option.option_type].on_reject(option)
            return True
        asked = {option.option_type for option in ours.values()}
        for option in options:
            if option.option_type in asked:
                self._by_type[option.option_type].on_nak(option)
        return True

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        """Judge the peer's Configure-Request (pppd ``ccp_reqci``)."""
        self._his = ()
        code = _ACK
        reply: list[Option] = []
        accepted: list[Option] = []
        unique = skip_repeats(options, _LAST_CHECKED_TYPE, self._logger, "CCP")
        for index, option in enumerate(unique):
            policy = self._by_type.get(option.option_type)
            verdict: Code
            answer: Option
            if policy is None and accepted and isinstance(option, _NEVER_USED):
                # A method we do not run, after one we do: the first acknowledged option is
                # the one we compress with (pppd's ho->method, Linux's ppp_ccp_peek), so this
                # one is never used and acknowledging it costs nothing, where a Reject costs
                # a round trip during which Linux drops what it compresses (its CCP is not
                # up yet: "compressor dropped pkt"): pppd acknowledges such options too.
                verdict, answer = _ACK, option
            elif policy is None:
                verdict, answer = _REJ, option
            else:
                judged = policy.review(
                    option, first=index == 0, reject_if_disagree=reject_if_disagree
                )
                verdict, answer = judged.code, judged.option
            if verdict is _ACK:
                accepted.append(option)
                if code is _ACK:
                    reply.append(option)
            elif verdict is _NAK:
                if code is _ACK:
                    code, reply = _NAK, []
                if code is _NAK:
                    reply.append(answer)
            else:
                if code is not _REJ:
                    code, reply = _REJ, []
                reply.append(option)
        if code is _ACK:
            self._his = tuple(accepted)
        self._logger.debug("CCP: returning Configure-%s", code.name.split("_")[1].title())
        return Review(code, tuple(reply))

    def up(self) -> CcpResult:
        """This-Layer-Up: the method of each direction and pppd's line (``ccp_up``)."""
        ours = self.request()
        receive = CcpMethod(ours[0], self._by_type[ours[0].option_type]) if ours else None
        his = self._his
        transmit = CcpMethod(his[0], self._by_type[his[0].option_type]) if his else None
        line: str | None = None
        if receive is not None and transmit is not None:
            if receive.option.option_type == transmit.option.option_type:
                line = f"{receive.name(transmit)} compression enabled"
            else:
                line = f"{receive.name()} / {transmit.name()} compression enabled"
        elif receive is not None:
            line = f"{receive.name()} receive compression enabled"
        elif transmit is not None:
            line = f"{transmit.name()} transmit compression enabled"
        messages = ((NOTICE, line),) if line is not None else ()
        return CcpResult(receive, transmit, messages)

    def down(self) -> None:
        """This-Layer-Down."""
