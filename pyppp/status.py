"""A running link as data: what the control socket, ``pyppp status`` and the metrics show.

Theory of operation
-------------------
Nothing here runs on the data path. The link keeps plain counters (bytes and frames each way,
drops by reason, the keepalive's round trips); when someone asks, :class:`LinkObserver` reads
them, together with what the link's events said (addresses, who authenticated, since when the
network is up), into one frozen :class:`LinkStatus`. The shell serves those records as JSON
lines on a Unix socket (:func:`parse_request` reads the one request there is, :func:`
encode_response` answers) and as Prometheus metrics; ``pyppp status`` reads them back with
:func:`decode_response`, which checks every field, so a record from another version of pyppp
shows what it can instead of crashing the table.

The control protocol (one JSON object per line, UTF-8, both ways)::

    -> {"request": "status"}                     every link of the process
    -> {"request": "status", "link": "ppp0"}     the links whose name or interface is ppp0
    <- {"ok": true, "pyppp": "0.1.0", "pid": 4242, "links": [{...LinkStatus...}, ...]}
    <- {"ok": false, "error": "unknown request 'stop'"}

Unknown members of a request are ignored (a newer client may send more); a line longer than
:data:`REQUEST_LIMIT` octets, or anything that is not such an object, is answered with an
error. Units: octets, seconds, plain integers (ACCMs too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from pyppp.errors import PyPPPError
from pyppp.events import (
    AuthSucceeded,
    Event,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkTerminated,
    NetworkDown,
    NetworkUp,
    Phase,
    Role,
)
from pyppp.link import Link

__all__ = [
    "COMMANDS",
    "PHASE_NAMES",
    "REQUEST_LIMIT",
    "BadRequest",
    "BadStatus",
    "CompressionStatus",
    "Counters",
    "EchoStatus",
    "LcpStatus",
    "LinkObserver",
    "LinkStatus",
    "Request",
    "Response",
    "decode_response",
    "encode_error",
    "encode_request",
    "encode_response",
    "parse_request",
]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

REQUEST_LIMIT: Final = 4096
"""The longest request line the control socket reads, in octets (newline included)."""

COMMANDS: Final = ("status",)
"""The requests the control socket answers."""

_NAME_LIMIT: Final = 255

PHASE_NAMES: Final[Mapping[Phase, str]] = {
    Phase.DEAD: "dead",
    Phase.ESTABLISH: "establish",
    Phase.AUTHENTICATE: "authenticate",
    Phase.NETWORK: "network",
    Phase.TERMINATE: "terminate",
}
"""RFC 1661 §3.2 phases as the status names them; the shell adds ``connecting`` (opening the
device, the connect script) and ``holdoff`` (``persist`` waiting before the next call)."""


class BadRequest(PyPPPError):  # noqa: N818 (it is the answer's wording: "bad request")
    """A control-socket request that cannot be answered; the text says why."""


class BadStatus(PyPPPError):  # noqa: N818
    """A status answer that does not have the expected shape (another pyppp's, or garbage)."""


# -- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One control-socket request.

    Attributes:
        command: what is asked (one of :data:`COMMANDS`).
        link: only the links with this name or interface (``None``: all).
    """

    command: str = "status"
    link: str | None = None


def parse_request(line: bytes) -> Request:
    """Read one request line (with or without its newline).

    Raises:
        BadRequest: too long, not UTF-8 JSON, not an object, or not a request we answer.
    """
    if len(line) > REQUEST_LIMIT:
        raise BadRequest(f"request longer than {REQUEST_LIMIT} octets")
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("a request is UTF-8 text") from None
    except (ValueError, RecursionError):
        raise BadRequest("a request is one JSON object per line") from None
    if not isinstance(value, dict):
        raise BadRequest("a request is one JSON object per line")
    command = value.get("request")
    if not isinstance(command, str):
        raise BadRequest('a request names what it asks: {"request": "status"}')
    if command not in COMMANDS:
        raise BadRequest(f"unknown request {command[:40]!r}")
    link = value.get("link")
    if link is not None and (not isinstance(link, str) or len(link) > _NAME_LIMIT):
        raise BadRequest('"link" is a link or interface name')
    return Request(command, link)


def encode_request(request: Request) -> bytes:
    """The line that asks ``request`` (what ``pyppp status`` sends)."""
    value: dict[str, JsonValue] = {"request": request.command}
    if request.link is not None:
        value["link"] = request.link
    return _line(value)


def _line(value: JsonValue) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode() + b"\n"


# -- the status of one link ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counters:
    """Traffic one way: octets (Information field + protocol, as pppd counts) and frames."""

    bytes: int = 0
    packets: int = 0


@dataclass(frozen=True, slots=True)
class LcpStatus:
    """What LCP negotiated (RFC 1661 §6, RFC 1662 §7.1).

    Attributes:
        mru: the largest packet we accept.
        mtu: the largest packet we send (the peer's MRU, capped by ``mtu``).
        accm_sent, accm_received: the ACCM used on what we send / what the peer sends.
        pfc_sent, pfc_received: Protocol-Field-Compression each way.
        acfc_sent, acfc_received: Address-and-Control-Field-Compression each way.
    """

    mru: int
    mtu: int
    accm_sent: int
    accm_received: int
    pfc_sent: bool
    pfc_received: bool
    acfc_sent: bool
    acfc_received: bool


@dataclass(frozen=True, slots=True)
class CompressionStatus:
    """What CCP's compression does on the link (RFC 1962), read from ``Link.compression_stats``.

    A link gives it once CCP is built in: a ``compression_stats`` property returning this
    record (or ``None`` while no method runs); until then the status has no compression.

    Attributes:
        transmit: the method compressing what we send (``"Deflate 15"``), or ``None``.
        receive: the method decompressing what the peer sends, or ``None``.
        sent_uncompressed: octets handed to the compressor.
        sent_compressed: octets it put on the line for them.
        received_compressed: octets of compressed frames received.
        received_uncompressed: octets they decompressed to.
    """

    transmit: str | None = None
    receive: str | None = None
    sent_uncompressed: int = 0
    sent_compressed: int = 0
    received_compressed: int = 0
    received_uncompressed: int = 0

    @property
    def sent_ratio(self) -> float | None:
        """Uncompressed / compressed octets sent (2.0: half the line time), or ``None``."""
        return _ratio(self.sent_uncompressed, self.sent_compressed)

    @property
    def received_ratio(self) -> float | None:
        """Uncompressed / compressed octets received, or ``None``."""
        return _ratio(self.received_uncompressed, self.received_compressed)


def _ratio(uncompressed: int, compressed: int) -> float | None:
    return uncompressed / compressed if compressed > 0 else None


@dataclass(frozen=True, slots=True)
class EchoStatus:
    """pppd's LCP keepalive (``lcp-echo-interval``) and the round trips it measures.

    Attributes:
        interval: seconds between Echo-Requests.
        pending: Echo-Requests not answered yet (pppd gives up at ``lcp-echo-failure``).
        replies: Echo-Replies received since LCP opened.
        rtt: the last round trip in seconds, or ``None`` before the first reply.
        rtt_average: the round trips smoothed (RFC 6298's SRTT), or ``None``.
    """

    interval: float
    pending: int = 0
    replies: int = 0
    rtt: float | None = None
    rtt_average: float | None = None


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """One link at one moment.

    Attributes:
        name: pppd's ``linkname``, or the interface, or the device: how to ask for it.
        interface: the network interface (``ppp0``), once it exists.
        device: the line (``/dev/ttyS0``, a pyserial URL).
        pid: the process that runs it.
        phase: one of :data:`PHASE_NAMES`' values, ``connecting`` or ``holdoff``.
        peer: the name the peer authenticated with (we are the authenticator), or ``None``.
        peer_auth: the method it used (``PAP``, ``CHAP``...), or ``None``.
        user: the name we authenticated with to the peer, or ``None``.
        user_auth: the method we used, or ``None``.
        ipv4_local, ipv4_remote: IPCP's addresses while IPv4 is up.
        ipv6_local, ipv6_remote: IPv6CP's link-local addresses while IPv6 is up.
        lcp: what LCP negotiated, while it is open.
        compression: CCP's compression, once CCP runs.
        uptime: seconds since the network came up (pppd's connect time), or ``None``.
        sent, received: traffic each way during this call.
        discarded: frames and packets dropped, by reason (only reasons that happened).
        echo: the keepalive, if ``lcp-echo-interval`` is set.
    """

    name: str
    interface: str | None = None
    device: str | None = None
    pid: int = 0
    phase: str = "dead"
    peer: str | None = None
    peer_auth: str | None = None
    user: str | None = None
    user_auth: str | None = None
    ipv4_local: str | None = None
    ipv4_remote: str | None = None
    ipv6_local: str | None = None
    ipv6_remote: str | None = None
    lcp: LcpStatus | None = None
    compression: CompressionStatus | None = None
    uptime: float | None = None
    sent: Counters = field(default_factory=Counters)
    received: Counters = field(default_factory=Counters)
    discarded: Mapping[str, int] = field(default_factory=dict)
    echo: EchoStatus | None = None

    @property
    def errors(self) -> int:
        """Everything discarded, all reasons together."""
        return sum(self.discarded.values())

    def matches(self, name: str) -> bool:
        """Whether ``pyppp status NAME`` means this link (its name or its interface)."""
        return name in (self.name, self.interface)

    def to_json(self) -> dict[str, JsonValue]:
        """The record as the control socket sends it (see the module docstring)."""
        lcp = self.lcp
        compression = self.compression
        echo = self.echo
        return {
            "name": self.name,
            "interface": self.interface,
            "device": self.device,
            "pid": self.pid,
            "phase": self.phase,
            "peer": self.peer,
            "peer_auth": self.peer_auth,
            "user": self.user,
            "user_auth": self.user_auth,
            "ipv4": _pair(self.ipv4_local, self.ipv4_remote),
            "ipv6": _pair(self.ipv6_local, self.ipv6_remote),
            "lcp": None
            if lcp is None
            else {
                "mru": lcp.mru,
                "mtu": lcp.mtu,
                "accm": {"sent": lcp.accm_sent, "received": lcp.accm_received},
                "pfc": {"sent": lcp.pfc_sent, "received": lcp.pfc_received},
                "acfc": {"sent": lcp.acfc_sent, "received": lcp.acfc_received},
            },
            "compression": None
            if compression is None
            else {
                "transmit": compression.transmit,
                "receive": compression.receive,
                "sent": {
                    "uncompressed": compression.sent_uncompressed,
                    "compressed": compression.sent_compressed,
                    "ratio": compression.sent_ratio,
                },
                "received": {
                    "compressed": compression.received_compressed,
                    "uncompressed": compression.received_uncompressed,
                    "ratio": compression.received_ratio,
                },
            },
            "uptime": self.uptime,
            "sent": {"bytes": self.sent.bytes, "packets": self.sent.packets},
            "received": {"bytes": self.received.bytes, "packets": self.received.packets},
            "discarded": dict(self.discarded),
            "errors": self.errors,
            "echo": None
            if echo is None
            else {
                "interval": echo.interval,
                "pending": echo.pending,
                "replies": echo.replies,
                "rtt": echo.rtt,
                "rtt_average": echo.rtt_average,
            },
        }

    @classmethod
    def from_json(cls, value: object) -> LinkStatus:
        """Read a record back, checking every field (unknown members are ignored).

        Raises:
            BadStatus: a member is missing or of the wrong type.
        """
        obj = _object(value, "link")
        ipv4 = _optional_object(obj, "ipv4")
        ipv6 = _optional_object(obj, "ipv6")
        lcp = _optional_object(obj, "lcp")
        compression = _optional_object(obj, "compression")
        echo = _optional_object(obj, "echo")
        discarded = _object(obj.get("discarded", {}), "discarded")
        return cls(
            name=_text(obj, "name"),
            interface=_optional_text(obj, "interface"),
            device=_optional_text(obj, "device"),
            pid=_integer(obj, "pid"),
            phase=_text(obj, "phase"),
            peer=_optional_text(obj, "peer"),
            peer_auth=_optional_text(obj, "peer_auth"),
            user=_optional_text(obj, "user"),
            user_auth=_optional_text(obj, "user_auth"),
            ipv4_local=_optional_text(ipv4, "local") if ipv4 else None,
            ipv4_remote=_optional_text(ipv4, "remote") if ipv4 else None,
            ipv6_local=_optional_text(ipv6, "local") if ipv6 else None,
            ipv6_remote=_optional_text(ipv6, "remote") if ipv6 else None,
            lcp=_lcp_from_json(lcp) if lcp is not None else None,
            compression=_compression_from_json(compression) if compression is not None else None,
            uptime=_optional_number(obj, "uptime"),
            sent=_counters(obj, "sent"),
            received=_counters(obj, "received"),
            discarded={str(k): _integer(discarded, k) for k in discarded},
            echo=None
            if echo is None
            else EchoStatus(
                interval=_number(echo, "interval"),
                pending=_integer(echo, "pending"),
                replies=_integer(echo, "replies"),
                rtt=_optional_number(echo, "rtt"),
                rtt_average=_optional_number(echo, "rtt_average"),
            ),
        )


def _pair(local: str | None, remote: str | None) -> JsonValue:
    if local is None and remote is None:
        return None
    return {"local": local, "remote": remote}


def _lcp_from_json(obj: dict[str, object]) -> LcpStatus:
    accm = _object(obj.get("accm"), "accm")
    pfc = _object(obj.get("pfc"), "pfc")
    acfc = _object(obj.get("acfc"), "acfc")
    return LcpStatus(
        mru=_integer(obj, "mru"),
        mtu=_integer(obj, "mtu"),
        accm_sent=_integer(accm, "sent"),
        accm_received=_integer(accm, "received"),
        pfc_sent=_flag(pfc, "sent"),
        pfc_received=_flag(pfc, "received"),
        acfc_sent=_flag(acfc, "sent"),
        acfc_received=_flag(acfc, "received"),
    )


def _compression_from_json(obj: dict[str, object]) -> CompressionStatus:
    sent = _object(obj.get("sent"), "compression sent")
    received = _object(obj.get("received"), "compression received")
    return CompressionStatus(
        transmit=_optional_text(obj, "transmit"),
        receive=_optional_text(obj, "receive"),
        sent_uncompressed=_integer(sent, "uncompressed"),
        sent_compressed=_integer(sent, "compressed"),
        received_compressed=_integer(received, "compressed"),
        received_uncompressed=_integer(received, "uncompressed"),
    )


def _counters(obj: dict[str, object], key: str) -> Counters:
    way = _object(obj.get(key), key)
    return Counters(bytes=_integer(way, "bytes"), packets=_integer(way, "packets"))


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise BadStatus(f"{what}: not an object")
    return value


def _optional_object(obj: dict[str, object], key: str) -> dict[str, object] | None:
    value = obj.get(key)
    return None if value is None else _object(value, key)


def _text(obj: dict[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise BadStatus(f"{key}: not a string")
    return value


def _optional_text(obj: dict[str, object], key: str) -> str | None:
    return None if obj.get(key) is None else _text(obj, key)


def _integer(obj: dict[str, object], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadStatus(f"{key}: not a count")
    return value


def _number(obj: dict[str, object], key: str) -> float:
    value = obj.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise BadStatus(f"{key}: not a number")
    return float(value)


def _optional_number(obj: dict[str, object], key: str) -> float | None:
    return None if obj.get(key) is None else _number(obj, key)


def _flag(obj: dict[str, object], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise BadStatus(f"{key}: not true or false")
    return value


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """One status answer, as ``pyppp status`` reads it.

    Attributes:
        pid: the answering process.
        version: its pyppp version.
        links: its links.
    """

    pid: int
    version: str
    links: tuple[LinkStatus, ...]


def encode_response(links: Sequence[LinkStatus], *, pid: int, version: str) -> bytes:
    """The answer line to a status request."""
    return _line(
        {"ok": True, "pyppp": version, "pid": pid, "links": [link.to_json() for link in links]}
    )


def encode_error(reason: str) -> bytes:
    """The answer line to a request that cannot be answered."""
    return _line({"ok": False, "error": reason})


def decode_response(line: bytes) -> Response:
    """Read an answer line.

    Raises:
        BadStatus: an error answer (its text), or a line that is not a status answer.
    """
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadStatus("the answer is not JSON") from None
    obj = _object(value, "answer")
    if obj.get("ok") is not True:
        error = obj.get("error")
        raise BadStatus(error if isinstance(error, str) else "the answer is an error")
    links = obj.get("links")
    if not isinstance(links, list):
        raise BadStatus("links: not a list")
    version = obj.get("pyppp")
    return Response(
        pid=_integer(obj, "pid"),
        version=version if isinstance(version, str) else "?",
        links=tuple(LinkStatus.from_json(link) for link in links),
    )


# -- what the events said -----------------------------------------------------------------------


class LinkObserver:
    """Keeps what a link's events said, and reads the link into a :class:`LinkStatus`.

    The shell passes every event of the link to :meth:`observe` (with its clock) and points
    :attr:`link` at the link of the current call (``None`` between calls).

    Args:
        name: how the link is asked for (``linkname``, the interface, or the device).
        device: the line.
        pid: the process.
    """

    def __init__(self, name: str, *, device: str | None = None, pid: int = 0) -> None:
        self.name = name
        self.device = device
        self.pid = pid
        self.interface: str | None = None
        self.link: Link | None = None
        #: What the shell is doing when no link runs (``connecting``, ``holdoff``).
        self.shell_phase = "dead"
        self._ipv4: tuple[str, str] | None = None
        self._ipv6: tuple[str, str | None] | None = None
        self._up_since: float | None = None
        self._auth: dict[Role, AuthSucceeded] = {}

    def observe(self, event: Event, now: float) -> None:
        """Take note of one of the link's events."""
        match event:
            case NetworkUp(local=local, remote=remote):
                self._ipv4 = (str(local), str(remote))
                self._network_up(now)
            case Ipv6Up(local=local, remote=remote):
                self._ipv6 = (str(local), None if remote is None else str(remote))
                self._network_up(now)
            case NetworkDown():
                self._ipv4 = None
            case Ipv6Down():
                self._ipv6 = None
            case AuthSucceeded(role=role):
                self._auth[role] = event
            case LinkDown() | LinkTerminated():
                self._ipv4 = self._ipv6 = None
                self._up_since = None
                self._auth.clear()

    def _network_up(self, now: float) -> None:
        if self._up_since is None:
            self._up_since = now

    def status(self, now: float) -> LinkStatus:
        """The link as it is at ``now`` (the clock :meth:`observe` was given)."""
        link = self.link
        peer = self._auth.get(Role.AUTHENTICATOR)
        user = self._auth.get(Role.PEER)
        ipv4 = self._ipv4
        ipv6 = self._ipv6
        phase = self.shell_phase
        lcp: LcpStatus | None = None
        compression: CompressionStatus | None = None
        sent = received = Counters()
        discarded: dict[str, int] = {}
        echo: EchoStatus | None = None
        if link is not None:
            if link.phase is not Phase.DEAD or phase == "dead":
                phase = PHASE_NAMES[link.phase]
            result = link.lcp_result
            if result is not None:
                lcp = LcpStatus(
                    mru=result.our_mru,
                    mtu=result.mtu,
                    accm_sent=result.peer_accm,
                    accm_received=result.our_accm,
                    pfc_sent=result.tx_pfc,
                    pfc_received=result.rx_pfc,
                    acfc_sent=result.tx_acfc,
                    acfc_received=result.rx_acfc,
                )
            # A link with CCP built in says what its compression does (see CompressionStatus).
            stats_of_ccp = getattr(link, "compression_stats", None)
            if isinstance(stats_of_ccp, CompressionStatus):
                compression = stats_of_ccp
            stats = link.stats
            sent = Counters(stats.bytes_sent, stats.frames_sent)
            received = Counters(stats.bytes_received, stats.frames_received)
            discarded = dict(link.discards)
            keepalive = link.lcp
            if keepalive.echo_interval > 0:
                echo = EchoStatus(
                    interval=keepalive.echo_interval,
                    pending=keepalive.echos_pending,
                    replies=keepalive.echo_replies,
                    rtt=keepalive.echo_rtt,
                    rtt_average=keepalive.echo_rtt_average,
                )
        return LinkStatus(
            name=self.name,
            interface=self.interface,
            device=self.device,
            pid=self.pid,
            phase=phase,
            peer=peer.name if peer is not None else None,
            peer_auth=str(peer.protocol) if peer is not None else None,
            user=user.name if user is not None else None,
            user_auth=str(user.protocol) if user is not None else None,
            ipv4_local=ipv4[0] if ipv4 else None,
            ipv4_remote=ipv4[1] if ipv4 else None,
            ipv6_local=ipv6[0] if ipv6 else None,
            ipv6_remote=ipv6[1] if ipv6 else None,
            lcp=lcp,
            compression=compression,
            uptime=None if self._up_since is None else max(0.0, now - self._up_since),
            sent=sent,
            received=received,
            discarded=discarded,
            echo=echo,
        )
