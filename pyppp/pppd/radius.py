"""RADIUS (RFC 2865/2866) as pppd's radius plugin does it: configuration, requests, policy.

pppd loads ``radius.so`` (``plugin radius.so``) and reads radiusclient's configuration
(``radius-config-file``, default ``/etc/radiusclient/radiusclient.conf``): ``authserver`` and
``acctserver`` name the servers (``host[:port][:secret]``, several separated by commas or
blanks: the first that answers is used), the ``servers`` file holds the shared secrets
(``host secret`` per line), ``radius_timeout`` and ``radius_retries`` the retransmissions.
pyppp accepts the same files; other radiusclient keys (``dictionary``, ``seqfile``,
``login_radius``...) mean nothing here and are accepted with a debug line.

This module is pure: it turns an authentication request (:class:`~pyppp.auth.base.
ExternalCheckNeeded`) into the attributes pppd's plugin sends, and a server's reply into a
verdict and the session limits to honour; the packet codec is pyrad's and the socket is
:mod:`pyppp.aio.radius`'s. Secrets and passwords never appear in ``repr()`` or log lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from typing import Final

from pyppp.auth.base import ExternalCheckNeeded, ExternalVerdict, MppeKeys
from pyppp.errors import ConfigError, ExitStatus
from pyppp.events import AuthMethod

__all__ = [
    "ACCT_PORT",
    "AUTH_PORT",
    "DEFAULT_CONFIG",
    "AccessAcceptError",
    "Attributes",
    "NasInfo",
    "RadiusConfig",
    "RadiusGrant",
    "RadiusServer",
    "SaltDecrypt",
    "Unhide",
    "access_request",
    "accounting_request",
    "interpret_accept",
    "parse_avpair",
    "parse_radiusclient_conf",
    "parse_servers_file",
    "terminate_cause",
]

DEFAULT_CONFIG: Final = Path("/etc/radiusclient/radiusclient.conf")
"""pppd's radius plugin's default ``radius-config-file``."""

AUTH_PORT: Final = 1812
ACCT_PORT: Final = 1813

Attributes = list[tuple[str, object]]
"""Attributes by their RFC names (pyrad's dictionary names), in the order they are sent."""

_IGNORED_KEYS: Final = frozenset(
    {
        "dictionary",
        "seqfile",
        "mapfile",
        "default_realm",
        "login_tries",
        "login_timeout",
        "nologin",
        "issue",
        "login_radius",
        "login_local",
        "radius_deadtime",
        "bindaddr",
        "clientdebug",
        "radius_conf",
    }
)


_USED_KEYS: Final = frozenset(
    {"authserver", "acctserver", "servers", "radius_timeout", "radius_retries"}
    | {"nas_identifier", "nas_ip"}
)


@dataclass(frozen=True, slots=True)
class RadiusServer:
    """One server: where, and the shared secret (hidden from ``repr``)."""

    host: str
    port: int
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RadiusConfig:
    """radiusclient.conf as pyppp uses it.

    Attributes:
        auth_servers: tried in order (the next on timeout).
        acct_servers: the same for accounting.
        timeout: seconds to wait for an answer before a retransmission (``radius_timeout``).
        retries: transmissions to one server before the next (``radius_retries``).
        nas_identifier: NAS-Identifier (``nas_identifier``; default: the host name).
        nas_ip: NAS-IP-Address (``nas_ip``), if given.
    """

    auth_servers: tuple[RadiusServer, ...]
    acct_servers: tuple[RadiusServer, ...] = ()
    timeout: float = 5.0
    retries: int = 3
    nas_identifier: str | None = None
    nas_ip: IPv4Address | None = None


def parse_servers_file(text: str, source: str) -> dict[str, str]:
    """Read radiusclient's ``servers`` file: ``host secret`` per line -> {host: secret}.

    Raises:
        ConfigError: a line with one word only.
    """
    secrets: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 2:
            raise ConfigError("a server without a secret", source=f"{source}:{number}")
        secrets.setdefault(words[0], words[1])
    return secrets


def _servers(
    value: str, default_port: int, secrets: Mapping[str, str], source: str
) -> tuple[RadiusServer, ...]:
    servers = []
    for item in value.replace(",", " ").split():
        host, _, rest = item.partition(":")
        port_text, _, secret = rest.partition(":")
        try:
            port = int(port_text) if port_text else default_port
        except ValueError as exc:
            raise ConfigError(f"bad port in {item!r}", source=source) from exc
        secret = secret or secrets.get(host) or secrets.get(f"{host}:{port}") or ""
        if not secret:
            message = f"no secret for RADIUS server {host} in the servers file"
            raise ConfigError(message, source=source)
        servers.append(RadiusServer(host, port, secret))
    return tuple(servers)


def parse_radiusclient_conf(
    text: str,
    source: str,
    *,
    read_file: Callable[[Path], str],
    logger: logging.Logger | None = None,
) -> RadiusConfig:
    """Read radiusclient.conf (and the ``servers`` file it names).

    Args:
        text: the file's text.
        source: its path, for messages.
        read_file: reads the servers file (the shell injects it).
        logger: where ignored keys are mentioned (debug).

    Raises:
        ConfigError: no ``authserver``, a server without a secret, a bad number.
    """
    log = logger or logging.getLogger("pyppp.radius")
    values: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split(None, 1)
        if not words:
            continue
        key, value = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
        where = f"{source}:{number}"
        if key in _IGNORED_KEYS:
            log.debug("%s: radiusclient key %s means nothing to pyppp", where, key)
            continue
        if key not in _USED_KEYS:
            log.debug("%s: unknown radiusclient key %s ignored", where, key)
            continue
        values[key] = (value, where)
    secrets: dict[str, str] = {}
    if "servers" in values:
        path, where = values["servers"]
        try:
            secrets = parse_servers_file(read_file(Path(path)), path)
        except OSError as exc:
            message = f"can't read the servers file {path}: {exc.strerror}"
            raise ConfigError(message, source=where) from exc
    if "authserver" not in values:
        raise ConfigError("no authserver", source=source)
    auth = _servers(values["authserver"][0], AUTH_PORT, secrets, values["authserver"][1])
    if not auth:
        raise ConfigError("authserver names no server", source=values["authserver"][1])
    acct: tuple[RadiusServer, ...] = ()
    if "acctserver" in values:
        acct = _servers(values["acctserver"][0], ACCT_PORT, secrets, values["acctserver"][1])
    try:
        timeout = float(values["radius_timeout"][0]) if "radius_timeout" in values else 5.0
        retries = int(values["radius_retries"][0]) if "radius_retries" in values else 3
        nas_ip = IPv4Address(values["nas_ip"][0]) if "nas_ip" in values else None
    except (ValueError, AddressValueError) as exc:
        raise ConfigError(f"bad value: {exc}", source=source) from exc
    if timeout <= 0 or retries < 1:
        raise ConfigError("radius_timeout and radius_retries must be positive", source=source)
    return RadiusConfig(
        auth_servers=auth,
        acct_servers=acct,
        timeout=timeout,
        retries=retries,
        nas_identifier=values["nas_identifier"][0] if "nas_identifier" in values else None,
        nas_ip=nas_ip,
    )


def parse_avpair(text: str) -> tuple[str, str]:
    """Parse pppd radius's ``avpair Name=Value`` (an attribute added to every request).

    Raises:
        ConfigError: no ``=``.
    """
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise ConfigError(f"avpair: expected Name=Value, not {text!r}")
    return name.strip(), value.strip()


@dataclass(frozen=True, slots=True)
class NasInfo:
    """What the requests say about us and the line (pppd radius.c's attributes).

    Attributes:
        identifier: NAS-Identifier.
        port: NAS-Port (the line's index, or the tty's number with ``map-to-ttyname``).
        ip: NAS-IP-Address, if known.
        calling_station: Calling-Station-Id (pppd's ``remotenumber``), if known.
        called_station: Called-Station-Id, if known.
        avpairs: ``avpair`` words: further attributes by name.
    """

    identifier: str
    port: int
    ip: IPv4Address | None = None
    calling_station: str | None = None
    called_station: str | None = None
    avpairs: tuple[tuple[str, str], ...] = ()


def _common(user: str, nas: NasInfo) -> Attributes:
    attributes: Attributes = [
        ("User-Name", user),
        ("NAS-Identifier", nas.identifier),
        ("NAS-Port", nas.port),
        ("NAS-Port-Type", "Async"),
        ("Service-Type", "Framed-User"),
        ("Framed-Protocol", "PPP"),
    ]
    if nas.ip is not None:
        attributes.append(("NAS-IP-Address", str(nas.ip)))
    if nas.calling_station:
        attributes.append(("Calling-Station-Id", nas.calling_station))
    if nas.called_station:
        attributes.append(("Called-Station-Id", nas.called_station))
    return attributes


def access_request(check: ExternalCheckNeeded, nas: NasInfo) -> Attributes:
    """The Access-Request attributes pppd's plugin sends for this authentication.

    PAP: User-Password (the codec hides it with the shared secret, RFC 2865 §5.2). CHAP-MD5:
    CHAP-Password (Identifier + Response) and CHAP-Challenge (RFC 2865 §5.3, §5.40).
    MS-CHAP (v1): MS-CHAP-Challenge and MS-CHAP-Response (RFC 2548 §2.1.3); MS-CHAPv2:
    MS-CHAP-Challenge and MS-CHAP2-Response (§2.3.2). Both put the Identifier and the Flags
    octet first, where PPP's Response value has the flags last (pppd: "The idiots use a
    different field order in RADIUS than PPP").

    Raises:
        ValueError: an MS-CHAP response of the wrong size, or a method RADIUS cannot check.
    """
    attributes = _common(check.user, nas)
    if check.method is AuthMethod.PAP:
        attributes.append(("User-Password", check.password))
    elif check.method is AuthMethod.CHAP:
        attributes.append(("CHAP-Password", bytes([check.identifier]) + check.response))
        attributes.append(("CHAP-Challenge", check.challenge))
    elif check.method is AuthMethod.MSCHAP:
        if len(check.response) != 49:
            raise ValueError("MS-CHAP Response value is not 49 octets")
        lm_and_nt, use_nt = check.response[:48], check.response[48]
        attributes.append(("MS-CHAP-Challenge", check.challenge))
        attributes.append(("MS-CHAP-Response", bytes([check.identifier, use_nt]) + lm_and_nt))
    elif check.method is AuthMethod.MSCHAP_V2:
        if len(check.response) != 49:
            raise ValueError("MS-CHAPv2 Response value is not 49 octets")
        peer_challenge, reserved = check.response[:16], check.response[16:24]
        nt_response, flags = check.response[24:48], check.response[48]
        attributes.append(("MS-CHAP-Challenge", check.challenge))
        attributes.append(
            (
                "MS-CHAP2-Response",
                bytes([check.identifier, flags]) + peer_challenge + reserved + nt_response,
            )
        )
    else:
        raise ValueError(f"RADIUS cannot check {check.method}")
    attributes.extend(nas.avpairs)
    return attributes


class AccessAcceptError(ValueError):
    """An Access-Accept that cannot be honoured: the call is refused (pppd's radius plugin).

    pppd's ``radius_setparams`` fails on a malformed MS-MPPE key and the caller is refused
    with the message; this is that message ("RADIUS: bad MS-MPPE-Send-Key attribute").
    """


Unhide = Callable[[bytes], bytes]
"""Undoes RFC 2865 §5.2's hiding of one value (``pyppp.aio.radius.unhide`` bound to the reply:
pyrad's cipher, with the shared secret and the request's authenticator)."""

SaltDecrypt = Callable[[bytes], bytes]
"""Undoes RFC 2548 §2.4.2's salt encryption of one value (salt included) and returns the key
without its length octet and padding: pyrad's ``Packet.SaltDecrypt`` on the reply, with the
request's Request Authenticator and the shared secret. It may raise on a malformed value."""

MPPE_KEY_SIZE: Final = 16
"""Octets of the MS-MPPE-Send-Key and -Recv-Key pyppp takes (pppd radius.c: 16, no other)."""

_SALTED_SIZE: Final = 2 + 32
"""Salt, then the key's length octet, the 16 octets and padding to 32 (RFC 2548 §2.4.2)."""

_MSCHAP_KEYS_SIZE: Final = 32
"""MS-CHAP-MPPE-Keys: LM key (8), the NT password hash's hash (16), padding (8), hidden."""

_POLICY_ALLOWED: Final = 1
_POLICY_REQUIRED: Final = 2
_TYPES_RC4_40: Final = 2
_TYPES_RC4_128: Final = 4


@dataclass(frozen=True, slots=True)
class RadiusGrant:
    """What an Access-Accept gives the call (pppd radius.c ``radius_setparams``).

    Attributes:
        framed_ip: Framed-IP-Address: the peer's address (takes precedence over ``ip-pool``);
            255.255.255.254 (the NAS chooses) and 255.255.255.255 (the peer chooses) leave it
            to us, as RFC 2865 §5.8 says.
        framed_mtu: Framed-MTU: the interface's largest packet.
        session_timeout: Session-Timeout: the call ends after this many seconds.
        idle_timeout: Idle-Timeout: the call ends after this many idle seconds.
        interim_interval: Acct-Interim-Interval: seconds between Interim-Update records.
        class_: Class, sent back in every accounting request (RFC 2865 §5.25).
        mschap2_success: MS-CHAP2-Success's ``S=...`` string (MS-CHAPv2).
        mppe_keys: MS-MPPE-Send-Key and -Recv-Key, decrypted, with the strengths
            MS-MPPE-Encryption-Types leaves (``None``: no keys, or MS-MPPE-Encryption-Policy
            absent or 0, which is pppd's "no keys").
    """

    framed_ip: IPv4Address | None = None
    framed_mtu: int | None = None
    session_timeout: int | None = None
    idle_timeout: int | None = None
    interim_interval: int | None = None
    class_: bytes | None = None
    mschap2_success: bytes | None = None
    mppe_keys: MppeKeys | None = field(default=None, repr=False)

    def verdict(self) -> ExternalVerdict:
        """The authenticator's verdict: accepted, with the peer's address and MPPE keys."""
        return ExternalVerdict(
            True,
            addresses=(str(self.framed_ip),) if self.framed_ip is not None else ("*",),
            message=self.mschap2_success,
            mppe_keys=self.mppe_keys,
        )


def _first(attributes: Mapping[str, Sequence[object]], name: str) -> object | None:
    values = attributes.get(name)
    return values[0] if values else None


def _positive(value: object | None) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _mschap_keys(
    value: object, unhide: Unhide | None, challenge: bytes, log: logging.Logger
) -> MppeKeys:
    """MS-CHAP-MPPE-Keys to MS-CHAP (v1)'s start key (pppd ``radius_setmppekeys``)."""
    bad = AccessAcceptError("RADIUS: bad MS-CHAP-MPPE-Keys attribute")
    if not isinstance(value, bytes) or len(value) != _MSCHAP_KEYS_SIZE:
        size = len(value) if isinstance(value, bytes) else -1
        log.debug("RADIUS: Incorrect attribute length (%d) for MS-CHAP-MPPE-Keys", size)
        raise bad
    if unhide is None:
        log.debug("RADIUS: MS-CHAP-MPPE-Keys without the request's authenticator to unhide it")
        raise bad
    # Here, not at the top: pyppp.auth.mschap needs pycryptodome, which the core does
    # without until MS-CHAP runs (and an MS-CHAP caller is why we are here).
    from pyppp.auth.mschap import mppe_keys_v1_hashed

    # pppd: "The 'key' returned is just the NTPasswordHashHash, which the NAS (us) doesn't
    # need; we only need the start key." The LM key (the first 8 octets) is not used.
    return mppe_keys_v1_hashed(unhide(value)[8:24], challenge)


def _mppe_key(
    name: str, value: object, salt_decrypt: SaltDecrypt | None, log: logging.Logger
) -> bytes:
    """One MS-MPPE-Send-Key or -Recv-Key, checked as pppd's ``radius_setmppekeys2`` does."""
    bad = AccessAcceptError(f"RADIUS: bad {name} attribute")
    if not isinstance(value, bytes) or len(value) != _SALTED_SIZE:
        size = len(value) if isinstance(value, bytes) else -1
        log.debug("RADIUS: Incorrect attribute length (%d) for %s", size, name)
        raise bad
    if not value[0] & 0x80:
        # RFC 2548 §2.4.2: "The most significant bit (leftmost) of the Salt field MUST be set".
        log.debug("RADIUS: Illegal salt value for %s attribute", name)
        raise bad
    if salt_decrypt is None:
        log.debug("RADIUS: %s without the request's authenticator to decrypt it", name)
        raise bad
    try:
        key = salt_decrypt(value)
    except Exception as exc:  # the codec's refusal of a hostile value
        log.debug("RADIUS: %s does not decrypt: %s", name, exc)
        raise bad from None
    if len(key) != MPPE_KEY_SIZE:
        # A wrong secret shows here too: the length octet decrypts to garbage.
        log.debug("RADIUS: Incorrect key length (%d) for %s attribute", len(key), name)
        raise bad
    return key


def _mppe_keys(
    attributes: Mapping[str, Sequence[object]],
    salt_decrypt: SaltDecrypt | None,
    unhide: Unhide | None,
    mschap_challenge: bytes | None,
    log: logging.Logger,
) -> MppeKeys | None:
    """The MPPE keys under MS-MPPE-Encryption-Policy/-Types, as pppd reads them.

    MS-MPPE-Send/Recv-Key (MS-CHAPv2) or, for an MS-CHAP (v1) caller, MS-CHAP-MPPE-Keys.
    pppd takes the keys only when a non-zero Encryption-Policy came with them ("Note that if
    the policy value was '0' we don't set the key!"); Encryption-Types 2 (RC4 40-bit only)
    or 4 (128-bit only), under policy 1 or 2, takes the other strength away, and any other
    value changes nothing (``mppe_set_enc_types``). Policy 2 (required) does not turn MPPE on
    where the line's options do not require it, in pppd or here.
    """
    raw = {name: _first(attributes, name) for name in ("MS-MPPE-Send-Key", "MS-MPPE-Recv-Key")}
    keys = {
        name: _mppe_key(name, value, salt_decrypt, log)
        for name, value in raw.items()
        if value is not None
    }
    v1: MppeKeys | None = None
    hashed = _first(attributes, "MS-CHAP-MPPE-Keys")
    if hashed is not None and mschap_challenge is not None:
        v1 = _mschap_keys(hashed, unhide, mschap_challenge, log)
    elif hashed is not None:
        # pppd would derive MS-CHAP (v1) keys for any caller; they fit no other method.
        log.debug("RADIUS: MS-CHAP-MPPE-Keys for a caller that is not MS-CHAP (v1): not used")
    policy = _first(attributes, "MS-MPPE-Encryption-Policy")
    if not (keys or v1) or not isinstance(policy, int) or policy == 0:
        if keys or v1:
            log.debug("RADIUS: MPPE keys without an MS-MPPE-Encryption-Policy: not used")
        return None
    if len(keys) == 2:
        chosen = MppeKeys(
            send_key=keys["MS-MPPE-Send-Key"],  # RFC 2548 §2.4.2: for packets the NAS sends
            recv_key=keys["MS-MPPE-Recv-Key"],  # §2.4.3: for packets the NAS receives
        )
    elif v1 is not None:
        chosen = v1
    else:
        # pppd would run with the missing direction's key left at zero: no keys instead.
        (name,) = keys
        log.warning("RADIUS: %s came alone: no MPPE keys for this call", name)
        return None
    types = _first(attributes, "MS-MPPE-Encryption-Types")
    restricted = policy in (_POLICY_ALLOWED, _POLICY_REQUIRED) and isinstance(types, int)
    return replace(
        chosen,
        allow_40=not (restricted and types == _TYPES_RC4_128),
        allow_128=not (restricted and types == _TYPES_RC4_40),
    )


def interpret_accept(
    attributes: Mapping[str, Sequence[object]],
    *,
    salt_decrypt: SaltDecrypt | None = None,
    unhide: Unhide | None = None,
    mschap_challenge: bytes | None = None,
    logger: logging.Logger | None = None,
) -> RadiusGrant:
    """Read an Access-Accept's attributes (decoded by name) into a :class:`RadiusGrant`.

    Args:
        attributes: the reply's attributes by name; MS-MPPE-Send-Key, -Recv-Key and
            MS-CHAP-MPPE-Keys as they came (hidden), the others decoded.
        salt_decrypt: decrypts the first two (pyrad's, bound to the request).
        unhide: unhides MS-CHAP-MPPE-Keys (:data:`Unhide`, bound to the request).
        mschap_challenge: MS-CHAP (v1) callers only: the challenge we sent, from which
            MS-CHAP-MPPE-Keys' password hash makes the start key.
        logger: where the reasons for a refusal are given (debug).

    Raises:
        AccessAcceptError: an MPPE key attribute that is malformed, does not decrypt to 16
            octets or cannot be decrypted: the call is refused, as pppd refuses it.
    """
    log = logger or logging.getLogger("pyppp.radius")
    address: IPv4Address | None = None
    raw = _first(attributes, "Framed-IP-Address")
    if raw is not None:
        try:
            address = IPv4Address(str(raw))
        except AddressValueError:
            address = None
        if address in (IPv4Address("255.255.255.254"), IPv4Address("255.255.255.255")):
            address = None
    success = _first(attributes, "MS-CHAP2-Success")
    class_ = _first(attributes, "Class")
    mtu = _positive(_first(attributes, "Framed-MTU"))
    return RadiusGrant(
        framed_ip=address,
        framed_mtu=mtu if mtu is None or mtu >= 64 else None,
        session_timeout=_positive(_first(attributes, "Session-Timeout")),
        idle_timeout=_positive(_first(attributes, "Idle-Timeout")),
        interim_interval=_positive(_first(attributes, "Acct-Interim-Interval")),
        class_=class_ if isinstance(class_, bytes) else None,
        # MS-CHAP2-Success: the Identifier octet, then "S=" and 40 hex digits (RFC 2548).
        mschap2_success=success[1:] if isinstance(success, bytes) and len(success) > 1 else None,
        mppe_keys=_mppe_keys(attributes, salt_decrypt, unhide, mschap_challenge, log),
    )


_TERMINATE: Final[Mapping[int, str]] = {
    ExitStatus.USER_REQUEST: "User-Request",
    ExitStatus.HANGUP: "Lost-Carrier",
    ExitStatus.PEER_DEAD: "Lost-Service",
    ExitStatus.IDLE_TIMEOUT: "Idle-Timeout",
    ExitStatus.CONNECT_TIME: "Session-Timeout",
    ExitStatus.OK: "User-Request",
}


def terminate_cause(exit_status: int | None) -> str:
    """Acct-Terminate-Cause for pppd's exit status (pppd radius.c's mapping)."""
    if exit_status is None:
        return "NAS-Error"
    return _TERMINATE.get(exit_status, "NAS-Error")


def accounting_request(
    status: str,
    *,
    session_id: str,
    user: str,
    nas: NasInfo,
    framed_ip: IPv4Address | None,
    session_time: int = 0,
    octets_in: int = 0,
    octets_out: int = 0,
    packets_in: int = 0,
    packets_out: int = 0,
    cause: str | None = None,
    class_: bytes | None = None,
) -> Attributes:
    """An Accounting-Request's attributes (RFC 2866): ``Start``, ``Interim-Update``, ``Stop``.

    Octet counts above 2^32 carry their high part in Acct-Input/Output-Gigawords (RFC 2869).
    """
    attributes = _common(user, nas)
    attributes += [
        ("Acct-Status-Type", status),
        ("Acct-Session-Id", session_id),
        ("Acct-Authentic", "RADIUS"),
    ]
    if framed_ip is not None:
        attributes.append(("Framed-IP-Address", str(framed_ip)))
    if class_ is not None:
        attributes.append(("Class", class_))
    if status != "Start":
        attributes += [
            ("Acct-Session-Time", session_time),
            ("Acct-Input-Octets", octets_in & 0xFFFFFFFF),
            ("Acct-Output-Octets", octets_out & 0xFFFFFFFF),
            ("Acct-Input-Gigawords", octets_in >> 32),
            ("Acct-Output-Gigawords", octets_out >> 32),
            ("Acct-Input-Packets", packets_in & 0xFFFFFFFF),
            ("Acct-Output-Packets", packets_out & 0xFFFFFFFF),
        ]
    if status == "Stop" and cause is not None:
        attributes.append(("Acct-Terminate-Cause", cause))
    attributes.extend(nas.avpairs)
    return attributes
