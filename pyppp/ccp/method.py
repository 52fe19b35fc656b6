"""What a CCP compression method plugs in: a policy for its option, and its engines.

CCP (RFC 1962) negotiates each direction separately: every Configure-Request lists, in
decreasing preference, the methods its sender can *decompress*, and the first option of the
request the other end acknowledged is the method used for that direction (pppd's
``go->method`` / ``ho->method``; Linux's ``ppp_ccp_peek`` reads only that first option). The
generic :class:`~pyppp.ccp.negotiator.CcpNegotiator` walks the options and hands each to the
:class:`MethodPolicy` owning its Type; a method (Deflate here, MPPE next) is one policy plus
the engines it makes:

* a :class:`Compressor` turns one outgoing frame's protocol and payload into the Information
  of a compressed datagram (protocol 0x00FD), or leaves it alone;
* a :class:`Decompressor` undoes that, is told of every frame that arrived uncompressed (so its
  history advances as the peer's compressor's did), and raises :class:`DecompressError` on
  what it cannot decompress: ``fatal`` closes CCP as pppd does ("Lost compression sync"),
  otherwise a Reset-Request resynchronises both ends.

Engines are sans-IO: bytes in, bytes out, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pyppp.options import Option
from pyppp.packet import Code

__all__ = [
    "CcpMethod",
    "Compressor",
    "DecompressError",
    "Decompressor",
    "MethodPolicy",
    "Verdict",
]


class DecompressError(Exception):
    """A compressed datagram could not be decompressed (Linux's DECOMP_ERROR/FATALERROR).

    Attributes:
        fatal: the decompressor cannot go on (pppd closes CCP); otherwise a Reset-Request
            resets both ends.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class Compressor(Protocol):
    """Compresses what we send with one negotiated method."""

    def compress(self, protocol: int, payload: bytes) -> bytes | None:
        """The Information field (after 0x00FD) of the compressed datagram for this frame.

        Returns:
            ``None`` to send the frame as it is (a protocol the method leaves alone, or data
            that would not shrink); the method's state has still advanced for it.
        """
        ...

    def reset(self) -> None:
        """Start afresh (the peer's Reset-Request, answered by our Reset-Ack)."""
        ...


class Decompressor(Protocol):
    """Decompresses what the peer sends with one negotiated method."""

    def decompress(self, information: bytes) -> tuple[int, bytes]:
        """The protocol and payload carried by one compressed datagram.

        Raises:
            DecompressError: it cannot be decompressed.
        """
        ...

    def incompressible(self, protocol: int, payload: bytes) -> None:
        """A frame arrived uncompressed: let the history advance as the sender's did."""
        ...

    def reset(self) -> None:
        """Start afresh (the peer's Reset-Ack)."""
        ...


@dataclass(frozen=True, slots=True)
class CcpMethod:
    """One method as negotiated for one direction.

    Attributes:
        option: the option that was acknowledged (the first of its request).
        policy: the policy that owns it (it builds the engines and names the method).
    """

    option: Option
    policy: MethodPolicy

    def name(self, other: CcpMethod | None = None) -> str:
        """Pppd's name of it ("Deflate (15)"; with ``other``, "Deflate (15/9)")."""
        return self.policy.describe(self.option, other.option if other is not None else None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A policy's answer to one option of the peer's request: Ack, Nak (with ours) or Reject."""

    code: Code
    option: Option


class MethodPolicy(Protocol):
    """One compression method's negotiation (its share of pppd's ``ccp_*ci`` functions).

    Attributes:
        types: the option Types this policy answers.
    """

    types: frozenset[int]

    def reset(self) -> None:
        """A new negotiation: our request goes back to what we want (pppd ``resetci``)."""
        ...

    def request(self) -> Sequence[Option]:
        """Our options for this method, most preferred first; empty when not asking for it."""
        ...

    def on_nak(self, option: Option) -> None:
        """The peer Nak'd one of our options of this method with ``option`` (pppd ``nakci``)."""
        ...

    def on_reject(self, option: Option) -> None:
        """The peer rejected ``option``, exactly as we sent it (pppd ``rejci``)."""
        ...

    def review(self, option: Option, *, first: bool, reject_if_disagree: bool) -> Verdict:
        """Judge one option of the peer's request (pppd ``reqci``)."""
        ...

    def describe(self, ours: Option, other: Option | None) -> str:
        """Name ``ours`` as pppd's ``method_name`` (``other``: the other direction's option)."""
        ...

    def compressor(self, option: Option) -> Compressor:
        """The engine compressing what we send to a peer that asked for ``option``."""
        ...

    def decompressor(self, option: Option, mru: int) -> Decompressor:
        """The engine decompressing what the peer sends us under ``option``."""
        ...
