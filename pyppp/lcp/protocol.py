"""LCP's codes beyond Configure/Terminate/Code-Reject, and pppd's echo keepalive.

RFC 1661 §5.7-5.9 give LCP four more codes: Protocol-Reject, Echo-Request, Echo-Reply and
Discard-Request (RFC 1570 adds Identification and Time-Remaining). In the automaton they are
the RXJ and RXR events; this module turns them into those events and performs the ``ser``
action. It also runs pppd's keepalive (``lcp-echo-interval`` / ``lcp-echo-failure``): an
Echo-Request every interval while LCP is open; when ``failure`` of them are outstanding at the
next tick, the peer is declared dead (pppd ``LcpLinkFailure``).

Besides the four This-Layer events, LCP reports :class:`~pyppp.control.ProtocolRejected`,
:class:`~pyppp.control.PeerDead` and :class:`~pyppp.control.LoopedBack` through the same channel.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Final

from pyppp.control import ControlProtocol, LoopedBack, PeerDead, ProtocolRejected, Report
from pyppp.fsm import FsmConfig, FsmEvent
from pyppp.lcp.negotiator import LcpNegotiator, LcpResult
from pyppp.lcp.options import MagicNumber
from pyppp.options import Option
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.util import NOTICE, earliest

__all__ = ["LcpControlProtocol"]

_MAGIC: Final = struct.Struct("!I")
_PROTOCOL: Final = struct.Struct("!H")


class LcpControlProtocol(ControlProtocol[LcpResult]):
    """The LCP instance of the automaton, with Echo, Discard and Protocol-Reject.

    Args:
        negotiator: the LCP option policy.
        config: automaton counters and flags.
        echo_interval: seconds between keepalive Echo-Requests (0: off, pppd's default).
        echo_failure: unanswered Echo-Requests after which the peer is dead (0: never).
        report: where events go (see :class:`~pyppp.control.ControlProtocol`).
        logger: where pppd's lines go.

    Attributes:
        echos_pending: keepalive Echo-Requests sent and not yet answered.
        echo_rtt: the round trip of the last answered keepalive Echo-Request, in seconds on
            the caller's clock (``None`` until one is answered; keepalives need
            ``echo_interval``). It includes the time the request waited for the line.
        echo_rtt_average: those round trips smoothed (RFC 6298's SRTT, gain 1/8).
        echo_replies: keepalive Echo-Requests answered since LCP opened.
    """

    negotiator: LcpNegotiator

    def __init__(
        self,
        negotiator: LcpNegotiator,
        config: FsmConfig | None = None,
        *,
        echo_interval: float = 0.0,
        echo_failure: int = 0,
        traffic: Callable[[], int] | None = None,
        report: Report | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(negotiator, config, report=report, logger=logger)
        self.echo_interval = echo_interval
        self.echo_failure = echo_failure
        # pppd lcp-echo-adaptive: a count of frames received, to skip echoes while traffic flows.
        self._traffic = traffic
        self._traffic_seen = 0
        self.echos_pending = 0
        self._echo_deadline: float | None = None
        self._echo_identifier = 0
        # Keepalive round trips: when each outstanding Echo-Request left, by Identifier (so
        # at most 256 entries), and what the replies measured.
        self._echo_sent: dict[int, float] = {}
        self.echo_rtt: float | None = None
        self.echo_rtt_average: float | None = None
        self.echo_replies = 0

    # -- This-Layer-Up/Down: the peer's MRU and the keepalive -----------------------------------
    def this_layer_up(self, result: LcpResult, now: float) -> None:
        """LCP opened: Rejects fit the peer's MRU; the keepalive starts."""
        self.set_peer_mru(result.peer_mru)
        self.start_keepalive(now)

    def this_layer_down(self, now: float) -> None:
        """LCP left Opened: no more keepalive."""
        self.stop_keepalive()

    def start_keepalive(self, now: float) -> None:
        """(Re)start sending Echo-Requests if ``lcp-echo-interval`` is set."""
        self.echos_pending = 0
        self._echo_identifier = 0
        self._echo_sent.clear()
        self.echo_rtt = self.echo_rtt_average = None
        self.echo_replies = 0
        if self.echo_interval > 0:
            # pppd lcp_echo_lowerup -> LcpEchoCheck: the first Echo-Request goes out at once,
            # then one per interval (so 4 failures take 4 intervals, not 5).
            self._echo_tick(now)

    def stop_keepalive(self) -> None:
        """Stop the keepalive."""
        self._echo_deadline = None
        self._echo_sent.clear()

    def get_timer(self) -> float | None:
        """The earlier of the Restart timer and the next keepalive tick."""
        return earliest((super().get_timer(), self._echo_deadline))

    def handle_timer(self, now: float) -> None:
        """Run the Restart timer and the keepalive."""
        super().handle_timer(now)
        if self._echo_deadline is None or now < self._echo_deadline:
            return
        if not self.is_opened:
            self._echo_deadline = None
            return
        self._echo_tick(now)

    def _echo_tick(self, now: float) -> None:
        # pppd LcpSendEchoRequest: check the outstanding count first, then send the next one.
        if self.echo_failure and self.echos_pending >= self.echo_failure:
            # pppd lcp.c LcpLinkFailure
            self.logger.info("No response to %d echo-requests", self.echos_pending)
            self.logger.log(NOTICE, "Serial link appears to be disconnected.")
            # The link closes LCP (and records pppd's status 15) on PeerDead, so the phase,
            # the exit status and the reason are set in one place.
            unanswered, self.echos_pending = self.echos_pending, 0
            self._echo_deadline = None
            self.report(PeerDead(unanswered))
            return
        if self._traffic is not None:
            # pppd: "only send the echo request if no traffic was received since the last one"
            received = self._traffic()
            if received != self._traffic_seen:
                self._traffic_seen = received
                self._echo_deadline = now + self.echo_interval
                return
        self.send(
            ControlPacket(Code.ECHO_REQ, self._echo_identifier, _MAGIC.pack(self._our_magic()))
        )
        self._echo_sent[self._echo_identifier] = now
        self._echo_identifier = (self._echo_identifier + 1) & 0xFF
        self.echos_pending += 1
        self._echo_deadline = now + self.echo_interval

    def _our_magic(self) -> int:
        result = self.negotiator.result
        return result.our_magic if result is not None else 0

    def nak_is_never_reject(self, option: Option) -> bool:
        """Keep a Nak of our Magic-Number a Nak, however many came in a row.

        pppd ``lcp_nakci`` ignores ``treat_as_reject``: counting those Naks is how a
        looped-back line is detected (``lcp_loopbackfail``, 10), which dropping the option
        after Max-Failure (5) Naks would hide.
        """
        return isinstance(option, MagicNumber)

    def _receive_configure_nak(self, packet: ControlPacket, now: float) -> None:
        super()._receive_configure_nak(packet, now)
        negotiator = self.negotiator
        if negotiator.looped_back and negotiator.loops == negotiator.config.loopback_fail:
            # pppd lcp_nakci: the peer keeps Nak'ing our magic number with our own value.
            # Reported once, when the run of Naks reaches the limit.
            self.report(LoopedBack())

    # -- Protocol-Reject -----------------------------------------------------------------------
    def send_protocol_reject(self, protocol: int, information: bytes) -> None:
        """Reject a protocol we do not run (RFC 1661 §5.7; only while LCP is Opened).

        The Rejected-Information "MUST be truncated to comply with the peer's established MRU".
        """
        if not self.is_opened:
            return
        room = max(0, self._peer_mru - 4 - _PROTOCOL.size)
        data = _PROTOCOL.pack(protocol) + information[:room]
        self.send(ControlPacket(Code.PROT_REJ, self.next_identifier(), data))

    # -- extended codes ------------------------------------------------------------------------
    def receive_extended(self, packet: ControlPacket, now: float) -> FsmEvent | None:
        """Map LCP's extension codes onto RXJ/RXR (RFC 1661 §4.3)."""
        match packet.code:
            case Code.PROT_REJ:
                if len(packet.data) < _PROTOCOL.size:
                    self._discard("short Protocol-Reject")
                    return FsmEvent.RXR
                (rejected,) = _PROTOCOL.unpack_from(packet.data)
                if not self.is_opened:
                    # RFC 1661 §5.7: "Protocol-Reject packets can only be sent in the LCP
                    # Opened state"; anything else is silently discarded.
                    self._discard("Protocol-Reject outside Opened")
                    return FsmEvent.RXR
                if rejected == PPPProtocol.LCP:
                    self.logger.warning("Protocol-Reject for LCP received")
                    return FsmEvent.RXJ_MINUS
                self.report(ProtocolRejected(rejected))
                return FsmEvent.RXJ_PLUS

            case Code.ECHO_REP:
                self._receive_echo_reply(packet, now)
                return FsmEvent.RXR
            case Code.ECHO_REQ | Code.DISC_REQ | Code.IDENTIFICATION | Code.TIME_REMAINING:
                return FsmEvent.RXR
        return None

    def _receive_echo_reply(self, packet: ControlPacket, now: float) -> None:
        if not self.is_opened or len(packet.data) < _MAGIC.size:
            return
        (magic,) = _MAGIC.unpack_from(packet.data)
        result = self.negotiator.result
        if result is not None and magic != 0 and magic == result.our_magic:
            # pppd: "appear to have received our own echo-reply!" (a looped-back line)
            self.logger.warning("appear to have received our own echo-reply!")
            return
        self.echos_pending = 0
        # RFC 1661 §5.8: the Identifier of an Echo-Reply is copied from the Echo-Request.
        sent = self._echo_sent.pop(packet.identifier, None)
        if sent is not None:
            # Older requests still outstanding were lost (or their replies are late): the
            # line answers in order, so they can no longer say anything true about it.
            self._echo_sent.clear()
            self._measured(max(0.0, now - sent))

    def _measured(self, rtt: float) -> None:
        """Keep one round trip: the last, and a smoothed average (RFC 6298's SRTT, gain 1/8)."""
        self.echo_rtt = rtt
        average = self.echo_rtt_average
        self.echo_rtt_average = rtt if average is None else average + (rtt - average) / 8
        self.echo_replies += 1

    def send_echo_reply(self, request: ControlPacket, now: float) -> None:
        """The ``ser`` action: answer with our Magic-Number and the request's data.

        The automaton's RXR event stands for Echo-Request, Echo-Reply and Discard-Request alike
        (RFC 1661 §4.3), but only an Echo-Request is answered (§4.4 "ser ... acknowledges the
        reception of an Echo-Request packet"); answering an Echo-Reply would bounce replies
        between two such peers for ever.
        """
        if request.code != Code.ECHO_REQ:
            return
        if len(request.data) < _MAGIC.size:
            self._discard("short Echo-Request")
            return
        data = _MAGIC.pack(self._our_magic()) + request.data[_MAGIC.size :]
        self.send(ControlPacket(Code.ECHO_REP, request.identifier, data))
