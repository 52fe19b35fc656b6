"""Two NCP negotiators talking without the automaton: request, review, Ack/Nak/Reject, until
both are Acked. Shared by the IPCP and IPv6CP negotiator tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyppp.options import Negotiator, Option, decode_options, encode_options
from pyppp.packet import Code

ACK, NAK, REJ = Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ
NAMES = {ACK: "ConfAck", NAK: "ConfNak", REJ: "ConfRej"}


def trace(options: Sequence[Option]) -> str:
    """The options as pppd's trace prints them: ``<addr 10.0.0.1> <ms-dns1 0.0.0.0>``."""
    return " ".join(f"<{o.trace()}>" for o in options)


@dataclass
class Talk:
    """Two negotiators exchanging requests until both are Acked (no automaton, no timers).

    Every exchange goes through the byte codec of ``a``'s protocol; ``lines`` records it as
    pppd's trace would (``a sent [IPCP ConfReq <addr 0.0.0.0>]``). A side that has sent
    ``max_failure`` Naks Configure-Rejects instead (RFC 1661 Max-Failure). With ``up`` both
    negotiators are told This-Layer-Up once both are Acked.
    """

    a: Negotiator[Any]
    b: Negotiator[Any]
    lines: list[str] = field(default_factory=list)
    max_rounds: int = 12
    max_failure: int = 5
    up: bool = True

    def wire(self, options: Sequence[Option]) -> list[Option]:
        """What the peer decodes of ``options``."""
        return decode_options(encode_options(options), self.a.codecs)

    def run(self) -> bool:
        """Talk for at most ``max_rounds`` rounds; whether both requests were Acked."""
        name = self.a.name
        acked = {"a": False, "b": False}
        naks = {"a": 0, "b": 0}
        self.a.reset()
        self.b.reset()
        for _ in range(self.max_rounds):
            for me, peer, tag, other in ((self.a, self.b, "a", "b"), (self.b, self.a, "b", "a")):
                if acked[tag]:
                    continue
                request = self.wire(me.request())
                self.lines.append(f"{tag} sent [{name} ConfReq {trace(request)}]")
                review = peer.review(request, reject_if_disagree=naks[other] >= self.max_failure)
                reply = self.wire(review.options)
                self.lines.append(f"{tag} rcvd [{name} {NAMES[review.code]} {trace(reply)}]")
                if review.code is ACK:
                    assert me.on_ack(reply)
                    acked[tag] = True
                else:
                    naks[other] += review.code is NAK
                    assert me.on_nak(reply, rejected=review.code is REJ)
            if all(acked.values()):
                if self.up:
                    self.a.up()
                    self.b.up()
                return True
        return False
