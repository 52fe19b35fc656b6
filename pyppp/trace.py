"""pppd-style packet traces: ``sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x5bb51eb9>]``.

pppd users read these lines, and tools parse them, so the grammar is pppd's ``format_packet``
and per-protocol ``printpkt`` functions, reproduced from their documented output:

* ``[<PROTO> <Code> id=0x<hex> <fields...>]``; an unknown code prints ``code=0x<hex>``;
* options of a Configure-* packet each as `` <text>``; an option the protocol does not know
  prints its bytes in hex inside ``< ...>``;
* Terminate-Request/Ack print their reason as a quoted string; Echo and Discard print
  ``magic=0x<hex>``; bytes left over print as `` %.2x`` (32 at most, then `` ...``);
* a packet of a protocol with no printer prints ``[proto=0x<hex>]`` plus its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from pyppp.errors import MalformedPacket
from pyppp.options import Option, UnknownOption, decode_options
from pyppp.packet import Code, ControlPacket, PPPProtocol, protocol_name
from pyppp.util import print_string

__all__ = ["format_packet", "print_string", "register_printer"]

# pppd lcp.c lcp_codenames, and fsm codes for the NCPs (ipcp/ipv6cp/ccp use the first seven).
CODE_NAMES: Final[Mapping[int, str]] = {
    Code.CONF_REQ: "ConfReq",
    Code.CONF_ACK: "ConfAck",
    Code.CONF_NAK: "ConfNak",
    Code.CONF_REJ: "ConfRej",
    Code.TERM_REQ: "TermReq",
    Code.TERM_ACK: "TermAck",
    Code.CODE_REJ: "CodeRej",
    Code.PROT_REJ: "ProtRej",
    Code.ECHO_REQ: "EchoReq",
    Code.ECHO_REP: "EchoRep",
    Code.DISC_REQ: "DiscReq",
    Code.IDENTIFICATION: "Ident",
    Code.TIME_REMAINING: "TimeRem",
}
_NCP_CODES: Final = range(1, 8)
_CCP_EXTRA: Final[Mapping[int, str]] = {14: "ResetReq", 15: "ResetAck"}

Printer = Callable[[bytes, bool], str]
"""Formats a whole packet of one protocol; the bool is ``show_password``."""

_printers: dict[int, Printer] = {}
_codecs: dict[int, Mapping[int, type[Option]]] = {}


def register_printer(protocol: int, printer: Printer) -> None:
    """Install the trace printer of a protocol that is not an option-negotiating one."""
    _printers[protocol] = printer


def _load_builtin() -> None:
    if _codecs:
        return
    # Imported here: the option modules are plug-ins, and trace must not depend on them at
    # import time (each can be used alone).
    from pyppp.ipcp.options import CODECS as IPCP_CODECS
    from pyppp.lcp.options import CODECS as LCP_CODECS

    _codecs[PPPProtocol.LCP] = LCP_CODECS
    _codecs[PPPProtocol.IPCP] = IPCP_CODECS
    from pyppp.ipv6cp.options import CODECS as IPV6CP_CODECS

    _codecs[PPPProtocol.IPV6CP] = IPV6CP_CODECS
    from pyppp.ccp.options import CODECS as CCP_CODECS

    _codecs[PPPProtocol.CCP] = CCP_CODECS
    from pyppp.auth.base import trace_body

    for protocol, auth_name in ((PPPProtocol.PAP, "PAP"), (PPPProtocol.CHAP, "CHAP")):
        _printers.setdefault(protocol, _auth_printer(protocol, auth_name, trace_body))


def _auth_printer(protocol: int, name: str, body: Callable[..., str]) -> Printer:
    def printer(information: bytes, show_password: bool) -> str:
        try:
            packet = ControlPacket.decode(information)
        except MalformedPacket:
            if protocol == PPPProtocol.PAP and information[:1] == b"\x01" and not show_password:
                # Its bytes may hold a password: never in a log line.
                return f"[{name}] <{len(information)} octets, malformed, hidden>"
            return f"[{name}]{_hex_tail(information)}"
        return f"[{name} {body(protocol, packet, show_password=show_password)}]"

    return printer


def _hex_tail(data: bytes) -> str:
    text = "".join(f" {b:02x}" for b in data[:32])
    return text + " ..." if len(data) > 32 else text


def _format_option(option: Option) -> str:
    if isinstance(option, UnknownOption):
        return f"< {option.trace()}>"
    return f"<{option.trace()}>"


def _format_control(protocol: int, name: str, information: bytes) -> str:
    try:
        packet = ControlPacket.decode(information)
    except MalformedPacket:
        # pppd format_packet: when printpkt refuses a packet, the name alone, then the bytes.
        return f"[{name}]{_hex_tail(information)}"
    code_name = CODE_NAMES.get(packet.code) if packet.code in _NCP_CODES else None
    if protocol == PPPProtocol.LCP:
        code_name = CODE_NAMES.get(packet.code)
    elif protocol == PPPProtocol.CCP:
        code_name = code_name or _CCP_EXTRA.get(packet.code)
    parts = [f"[{name}", f" {code_name}" if code_name else f" code=0x{packet.code:x}"]
    parts.append(f" id=0x{packet.identifier:x}")
    data = packet.data
    if code_name is None:
        parts.append(_hex_tail(data))
    elif packet.code in (Code.CONF_REQ, Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ):
        try:
            options = decode_options(data, _codecs.get(protocol, {}))
        except MalformedPacket:
            parts.append(_hex_tail(data))
        else:
            parts.extend(" " + _format_option(option) for option in options)
    elif packet.code in (Code.TERM_REQ, Code.TERM_ACK):
        if data and 0x20 <= data[0] < 0x7F:
            parts.append(" " + print_string(data))
        else:
            parts.append(_hex_tail(data))
    elif packet.code in (Code.ECHO_REQ, Code.ECHO_REP, Code.DISC_REQ) and len(data) >= 4:
        parts.append(f" magic=0x{int.from_bytes(data[:4], 'big'):x}")
        parts.append(_hex_tail(data[4:]))
    elif packet.code == Code.IDENTIFICATION and len(data) >= 4:
        parts.append(f" magic=0x{int.from_bytes(data[:4], 'big'):x}")
        if len(data) > 4:
            parts.append(" " + print_string(data[4:]))
    elif packet.code == Code.TIME_REMAINING and len(data) >= 8:
        parts.append(f" magic=0x{int.from_bytes(data[:4], 'big'):x}")
        parts.append(f" seconds={int.from_bytes(data[4:8], 'big')}")
        if len(data) > 8:
            parts.append(" " + print_string(data[8:]))
    else:
        parts.append(_hex_tail(data))
    parts.append("]")
    return "".join(parts)


def format_packet(protocol: int, information: bytes, *, show_password: bool = False) -> str:
    """Return pppd's rendering of one packet, brackets included (without ``sent``/``rcvd``).

    Never raises, whatever the bytes.
    """
    _load_builtin()
    printer = _printers.get(protocol)
    if printer is not None:
        return printer(information, show_password)
    name = protocol_name(protocol)
    if protocol in _codecs and name is not None:
        return _format_control(protocol, name, information)
    if name is not None:
        return f"[{name} data]{_hex_tail(information[:8])}"
    return f"[proto=0x{protocol:x}]{_hex_tail(information)}"
