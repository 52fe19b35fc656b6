"""Configuration options (RFC 1661 §6) and the negotiator plug-in interface.

An option on the wire is a Type-Length-Value triple. Each control protocol (LCP, IPCP, ...)
declares one small frozen dataclass per option it knows, derived from :class:`Option`, and a
registry mapping the Type to that class. :func:`decode_options` turns a Configure-Request (or
Ack/Nak/Reject) payload into those objects; a Type the protocol does not know, or a known Type
whose value is malformed, becomes an :class:`UnknownOption`, which the negotiator Configure-Rejects
(RFC 1661 §5.4: "Configuration Options which are not recognizable or are not acceptable for
negotiation").

The generic control protocol in :mod:`pyppp.control` knows nothing about any option: it asks a
:class:`Negotiator` (pppd's ``fsm_callbacks``: ``resetci``, ``addci``, ``ackci``, ``nakci``,
``rejci``, ``reqci``) what to request and how to answer.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, Protocol, Self, TypeVar

from pyppp.errors import MalformedPacket
from pyppp.packet import Code

__all__ = [
    "Negotiator",
    "Option",
    "ProtocolOption",
    "Review",
    "UnknownOption",
    "decode_options",
    "encode_options",
    "skip_repeats",
]


class Option:
    """Base class of every typed configuration option.

    Subclasses are ``@dataclass(frozen=True, slots=True)`` classes that set ``TYPE`` and
    implement :meth:`payload`, :meth:`decode` and :meth:`trace`.
    """

    __slots__ = ()
    TYPE: ClassVar[int]

    @property
    def option_type(self) -> int:
        """The Type octet of this option."""
        return self.TYPE

    def payload(self) -> bytes:
        """Return the option's Data field (what follows Type and Length)."""
        raise NotImplementedError

    def encode(self) -> bytes:
        """Return the whole option: Type, Length, Data."""
        data = self.payload()
        return bytes((self.option_type, len(data) + 2)) + data

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Build the option from its Data field.

        Raises:
            MalformedPacket: the Data field has the wrong length or an impossible value.
        """
        raise NotImplementedError

    def trace(self) -> str:
        """Return the text pppd prints inside ``<...>`` for this option (``"mru 1500"``)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class UnknownOption(Option):
    """An option the protocol does not recognise, or a known one with a malformed value.

    Attributes:
        type: the Type octet as received.
        data: the Data field as received.
    """

    type: int
    data: bytes = b""

    @property
    def option_type(self) -> int:
        """The Type octet as received."""
        return self.type

    def payload(self) -> bytes:
        """Return the Data field unchanged, so a Configure-Reject echoes it verbatim."""
        return self.data

    def trace(self) -> str:
        """Return pppd's rendering of an option it does not know: the raw bytes in hex."""
        return " ".join(f"{b:02x}" for b in self.encode())


_U16: Final = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class ProtocolOption(Option):
    """Common shape of the options that name a protocol and add data.

    LCP's Authentication- and Quality-Protocol (RFC 1661 §6.2, §6.3), IPCP's and IPv6CP's
    Compression-Protocol (RFC 1332 §3.2, RFC 5072 §4.2).

    Attributes:
        protocol: the 16-bit protocol number.
        data: the octets after it, kept raw so that every form round-trips exactly.
    """

    protocol: int
    data: bytes = b""
    _NAME: ClassVar[str] = ""

    def payload(self) -> bytes:
        """Return the protocol number followed by the data."""
        return _U16.pack(self.protocol) + self.data

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the Data field: the 2-octet protocol, then whatever follows it.

        Raises:
            MalformedPacket: fewer than two octets.
        """
        if len(payload) < 2:
            raise MalformedPacket(f"{cls._NAME} option with {len(payload)} octets")
        return cls(_U16.unpack_from(payload)[0], bytes(payload[2:]))


def decode_options(
    data: bytes | bytearray | memoryview, codecs: Mapping[int, type[Option]]
) -> list[Option]:
    """Split a Configure-* payload into typed options.

    Args:
        data: the packet's Data field (after Code, Identifier, Length).
        codecs: the protocol's registry, Type -> option class.

    Returns:
        One option per TLV, in order; unknown or malformed ones as :class:`UnknownOption`.

    Raises:
        MalformedPacket: the TLV framing itself is broken (a Length below 2 or past the end),
            so the packet must be silently discarded.
    """
    view = memoryview(data)
    options: list[Option] = []
    offset = 0
    end = len(view)
    while offset < end:
        if end - offset < 2:
            raise MalformedPacket("truncated option header")
        option_type = view[offset]
        length = view[offset + 1]
        if length < 2 or offset + length > end:
            raise MalformedPacket(f"option {option_type} has Length {length}")
        payload = bytes(view[offset + 2 : offset + length])
        codec = codecs.get(option_type)
        option: Option
        if codec is None:
            option = UnknownOption(option_type, payload)
        else:
            try:
                option = codec.decode(payload)
            except MalformedPacket:
                option = UnknownOption(option_type, payload)
        options.append(option)
        offset += length
    return options


def encode_options(options: Sequence[Option]) -> bytes:
    """Concatenate the encodings of ``options``."""
    return b"".join(option.encode() for option in options)


def skip_repeats(
    options: Iterable[Option], last_checked: int, logger: logging.Logger, name: str
) -> Iterator[Option]:
    """The peer's options without the second and later ones of a Type up to ``last_checked``.

    pppd's ``seenci[]`` (ccp.c, ipv6cp.c): it judges only the first of those Types and logs
    ``"<name>: ignoring duplicate configuration option(s)"`` at the first repeat. A generator,
    so that warning comes at the point of the loop where pppd logs it.
    """
    seen: set[int] = set()
    warned = False
    for option in options:
        kind = option.option_type
        if kind <= last_checked:
            if kind in seen:
                if not warned:
                    logger.warning("%s: ignoring duplicate configuration option(s)", name)
                    warned = True
                continue
            seen.add(kind)
        yield option


@dataclass(frozen=True, slots=True)
class Review:
    """A negotiator's verdict on the peer's Configure-Request (pppd's ``reqci`` result).

    Attributes:
        code: ``Code.CONF_ACK`` (RCR+), ``Code.CONF_NAK`` or ``Code.CONF_REJ`` (RCR-).
        options: the options to send back with that code: all of them for an Ack, only the
            Nak'd (with the values we want) or only the rejected ones otherwise.
    """

    code: Code
    options: tuple[Option, ...]


R_co = TypeVar("R_co", covariant=True)


class Negotiator(Protocol[R_co]):
    """What a control protocol plugs into the generic automaton (pppd's ``fsm_callbacks``).

    Negotiation state is held the way pppd holds it: ``want`` (what we would like), ``allow``
    (what we accept from the peer), ``got`` (what the peer has acknowledged of our request) and
    ``his`` (what we acknowledged of the peer's request).
    """

    protocol: ClassVar[int]
    name: ClassVar[str]
    codecs: ClassVar[Mapping[int, type[Option]]]

    def reset(self) -> None:
        """Start a new negotiation: our request goes back to ``want`` (pppd ``resetci``)."""

    def request(self) -> list[Option]:
        """Return the options for our next Configure-Request (pppd ``addci``)."""

    def on_ack(self, options: Sequence[Option]) -> bool:
        """Check a Configure-Ack against what we sent; ``False`` means a bad Ack (ignore it)."""

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        """Adapt our request to a Configure-Nak or (``rejected``) Configure-Reject.

        Returns:
            ``False`` if the packet is bogus (it names options we did not send in the way the
            RFC forbids), in which case it is discarded.
        """

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        """Judge the peer's Configure-Request (pppd ``reqci``).

        Args:
            options: the decoded request.
            reject_if_disagree: Max-Failure Naks have been sent: Configure-Reject what we
                would Nak (RFC 1661 §4.6 "Max-Failure").
        """

    def up(self) -> R_co:
        """This-Layer-Up: negotiation finished; return the result (``got`` and ``his``).

        The control protocol reports it to the link in :class:`~pyppp.control.LayerUp`.
        """

    def down(self) -> None:
        """This-Layer-Down."""


class Attempt(Protocol):
    """What an NCP's request in progress offers :class:`EchoedRequest`: the options it sends."""

    def options(self) -> list[Option]:
        """The Configure-Request options of this attempt, in order."""


A = TypeVar("A", bound=Attempt)


class EchoedRequest(Generic[A]):
    """Our request as IPCP and IPv6CP both keep it: ``request``, ``on_ack``, ``on_nak``.

    These are the Negotiator's methods for pppd's ``addci``, ``ackci`` and ``nakci``/``rejci``.

    The request in progress is ``_got`` (an :class:`Attempt`); a subclass says how a Nak or a
    Reject edits it (``_naked``/``_rejected``, ``None`` for a bogus packet) and keeps
    ``_opened`` (set by ``up``, cleared by ``down``) and ``_logger``.
    """

    name: ClassVar[str]
    _got: A
    _opened: bool
    _logger: logging.Logger

    def request(self) -> list[Option]:
        """Return our Configure-Request options (pppd ``addci``)."""
        return self._got.options()

    def on_ack(self, options: Sequence[Option]) -> bool:
        """Accept a Configure-Ack only if it echoes our request exactly (RFC 1661 §5.2)."""
        if encode_options(options) == encode_options(self._got.options()):
            return True
        self._logger.debug("%s: received bad Ack", self.name)
        return False

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        """Adapt our request to a Configure-Nak or Configure-Reject (pppd ``nakci``/``rejci``).

        Returns:
            ``False`` for a bogus packet (options out of order, values we did not send in a
            Reject, an unsolicited Nak for something already Nak'd): it is discarded.
        """
        result = self._rejected(options) if rejected else self._naked(options)
        if result is None:
            self._logger.debug("%s: received bad %s", self.name, "Reject" if rejected else "Nak")
            return False
        # RFC 1661: a Nak/Reject in Opened restarts negotiation from scratch; the automaton
        # calls reset() for that, so the edit is discarded here as pppd discards it.
        if not self._opened:
            self._got = result
        return True

    def _naked(self, options: Sequence[Option]) -> A | None:
        """Our request edited by a Configure-Nak, or ``None`` if the Nak is bogus."""
        raise NotImplementedError

    def _rejected(self, options: Sequence[Option]) -> A | None:
        """Our request less what a Configure-Reject names, or ``None`` if it is bogus."""
        raise NotImplementedError
