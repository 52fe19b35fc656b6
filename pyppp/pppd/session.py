"""From pppd's options to a ready :class:`~pyppp.linkconfig.LinkConfig` (``auth_check_options``).

This is where pppd's option words become protocol policy: which authentication we require and
can perform (and whether the secrets files make that possible), our name and user name,
addresses resolved through ``/etc/hosts``, counters and timers, keepalive and limits. The
secrets files come read (`Secrets`, kept current by `pyppp.aio.secrets.SecretsReader`); the
hosts file is read here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv6Address
from pathlib import Path
from typing import Final

from pyppp.auth.base import AuthEngine, AuthenticatorEngine, LoginThrottle
from pyppp.auth.chap import ChapAuthenticator, ChapPeer, mschap_available
from pyppp.auth.pap import PapAuthenticator, PapPeer
from pyppp.ccp.deflate import DeflateConfig
from pyppp.ccp.mppe import MppeConfig
from pyppp.ccp.negotiator import CcpConfig
from pyppp.errors import ConfigError, ExitStatus
from pyppp.fsm import FsmConfig
from pyppp.ipcp.negotiator import AddressPolicy, IpcpConfig
from pyppp.ipv6cp.negotiator import Ipv6cpConfig
from pyppp.lcp.negotiator import LcpConfig
from pyppp.lcp.options import ChapAlgorithm
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.hosts import parse_hosts_file, resolve_address
from pyppp.pppd.options import FileReader, PppOptions
from pyppp.pppd.secrets import (
    LiveSecrets,
    can_authenticate_peer,
    get_pap_password,
    have_secret,
    missing_secret_messages,
)
from pyppp.util import Rng

__all__ = ["Secrets", "SessionAuth", "build_link_config", "chap_words", "remotenumber_identifier"]

_ALL_CHAP: Final = (ChapAlgorithm.MD5, ChapAlgorithm.MS_V2, ChapAlgorithm.MS)
"""pppd's CHAP algorithms in its order of preference (``CHAP_DIGEST``: MD5 first)."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """pppd's two secrets files, as last read by the shell (`pyppp.aio.secrets`)."""

    pap: LiveSecrets
    chap: LiveSecrets


def local_name(options: PppOptions, hostname: str) -> str:
    """Our name for authentication (pppd ``our_name``): ``name``, else the host name.

    ``domain`` is appended to the host name (pppd ``setdomain``); ``usehostname`` insists on
    the host name even when ``name`` is given.
    """
    if options.domain:
        hostname = f"{hostname}.{options.domain.lstrip('.')}"
    if options.name and not options.usehostname:
        return options.name
    return hostname


def number_allowed(options: PppOptions) -> bool:
    """Whether ``remotenumber`` is one of the ``allow-number`` entries (pppd ``auth_number``).

    As in pppd each entry is a case-insensitive prefix (a trailing ``*`` is dropped first), and
    with no ``allow-number`` every number is allowed.
    """
    if not options.allow_number:
        return True
    number = (options.remotenumber or "").lower()
    return any(number.startswith(entry.removesuffix("*").lower()) for entry in options.allow_number)


class SessionAuth:
    """Builds PAP/CHAP engines for a link from pppd's options (an ``AuthFactory``)."""

    def __init__(
        self,
        options: PppOptions,
        secrets: Secrets,
        *,
        our_name: str,
        user: str,
        rng: Rng,
        throttle: LoginThrottle,
        crypt_check: Callable[[str, str], bool] | None = None,
        logger: logging.Logger | None,
    ) -> None:
        self.options = options
        self.secrets = secrets
        self.our_name = our_name
        self.user = user
        self.rng = rng
        self.throttle = throttle
        self.crypt_check = crypt_check
        self.logger = logger
        #: The network interface's name, once the shell has created it: pppd's ``login``
        #: logs "user %s logged in on tty %s intf %s" during authentication.
        self.ifname = ""

    def authenticator(
        self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5
    ) -> AuthEngine | None:
        """The engine that checks the peer (we required ``protocol`` and the peer agreed)."""
        options = self.options
        engine = self._authenticator(protocol, algorithm)
        if engine is not None and options.plugin is not None:
            engine.external = True  # radius.so decides (pppd's pap_auth_hook/chap_verify_hook)
        return engine

    def _authenticator(self, protocol: int, algorithm: int) -> AuthenticatorEngine | None:
        options = self.options
        if protocol == PPPProtocol.PAP:
            return PapAuthenticator(
                self.our_name,
                self.secrets.pap,
                login=options.login,
                papcrypt=options.papcrypt,
                crypt_check=self.crypt_check,
                timeout=float(options.pap_timeout),
                throttle=self.throttle,
                device=options.device or "",
                ifname=self.ifname,
                unit=options.unit or 0,
                logger=self.logger,
            )
        if protocol == PPPProtocol.CHAP:
            return ChapAuthenticator(
                self.our_name,
                self.secrets.chap,
                rng=self.rng,
                algorithm=algorithm,
                interval=float(options.chap_interval),
                restart=float(options.chap_restart),
                max_challenge=options.chap_max_challenge,
                remote_name=options.remotename,
                strip_domain=options.chapms_strip_domain,
                unit=options.unit or 0,
                logger=self.logger,
            )
        return None

    def peer(self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5) -> AuthEngine | None:
        """The engine that authenticates us (the peer asked for ``protocol``)."""
        options = self.options
        if protocol == PPPProtocol.PAP:
            return PapPeer(
                self.user,
                options.password,
                secrets=self.secrets.pap,
                remote_name=options.remotename,
                restart=float(options.pap_restart),
                max_authreq=options.pap_max_authreq,
                logger=self.logger,
            )
        if protocol == PPPProtocol.CHAP:
            return ChapPeer(
                self.user,
                options.password,
                secrets=self.secrets.chap,
                remote_name=options.remotename,
                algorithm=algorithm,
                rng=self.rng,
                timeout=float(options.chap_timeout),
                logger=self.logger,
            )
        return None


def chap_words(options: PppOptions) -> dict[str, ChapAlgorithm]:
    """The ``require-*`` CHAP words given, each with its algorithm (in pppd's order).

    Args:
        options: the parsed options.
    """
    given = (
        ("require-chap", options.require_chap, ChapAlgorithm.MD5),
        ("require-mschap-v2", options.require_mschap_v2, ChapAlgorithm.MS_V2),
        ("require-mschap", options.require_mschap, ChapAlgorithm.MS),
    )
    return {word: algorithm for word, wanted, algorithm in given if wanted}


def _address(text: str | None, hosts: dict[str, str], what: str) -> IPv4Address | None:
    if not text:
        return None
    resolved = resolve_address(text, hosts)
    if resolved is None:
        raise ConfigError(f"unknown host {text!r} in {what} address")
    try:
        return IPv4Address(resolved)
    except AddressValueError as exc:
        raise ConfigError(f"bad {what} IP address {text!r}") from exc


def _eui48_to_eui64(mac: bytes) -> bytes:
    # RFC 2472 §4.1 as pppd's eui48_to_eui64: the universal/local bit ORed in (not flipped).
    return bytes((mac[0] | 0x02, *mac[1:3], 0xFF, 0xFE, *mac[3:]))


_MAC_PREFIX: Final = re.compile(r"\s*([0-9A-Fa-f]+)" + r":\s*([0-9A-Fa-f]+)" * 5)


def remotenumber_identifier(number: str) -> bytes | None:
    """Return the peer's identifier as pppd 2.5's ``ipv6cp-use-remotenumber`` reads ``number``.

    In pppd's order: a MAC address (six colon-separated hex numbers at the start, as its
    ``sscanf`` reads them: each octet the low 8 bits of its number) as RFC 2472's EUI-64; an
    IPv4 address in the low 32 bits; an IPv6 address's low 64 bits; a telephone number (an
    optional ``+``, then decimal digits) as a 64-bit number.

    Args:
        number: the ``remotenumber`` option's text.

    Returns:
        The identifier, or ``None`` when ``number`` is none of these or gives zero (the
        identifier is then negotiated, as pppd does).
    """
    found: bytes | None = None
    if (mac := _MAC_PREFIX.match(number)) is not None:
        found = _eui48_to_eui64(bytes(int(group, 16) & 0xFF for group in mac.groups()))
    else:
        try:
            found = bytes(4) + IPv4Address(number).packed
        except ValueError:
            try:
                if "%" in number:  # a scope: Python reads it, inet_pton does not
                    raise ValueError(number)
                found = IPv6Address(number).packed[8:]
            except ValueError:
                digits = number.removeprefix("+")
                if digits.isascii() and digits.isdigit() and int(digits) < 1 << 64:
                    found = int(digits).to_bytes(8, "big")
    return found if found is not None and any(found) else None


def _ccp_config(options: PppOptions) -> CcpConfig:
    """CCP's methods from pppd's words: Deflate unless ``nodeflate`` (or ``deflate 0``).

    A ``require-mppe*`` word makes MPPE the only method (pppd: "MPPE is not compatible with
    other compression types").
    """
    if options.mppe_40 or options.mppe_128:
        if not mschap_available():
            raise ConfigError("MPPE needs the pycryptodome package (RC4)")
        return CcpConfig(
            deflate=None,
            mppe=MppeConfig(
                bits_40=options.mppe_40,
                bits_128=options.mppe_128,
                stateful=options.mppe_stateful,
                prefer_stateful=options.mppe_stateful and options.mppe_prefer_stateful,
            ),
        )
    want, allow = options.deflate_want, options.deflate_allow
    if not want and not allow:
        return CcpConfig(deflate=None)
    return CcpConfig(
        deflate=DeflateConfig(want_size=want, allow_size=allow, draft=options.deflate_draft)
    )


def _ipv6cp_config(
    options: PppOptions,
    local: IPv4Address | None,
    remote: IPv4Address | None,
    hwaddr: bytes | None,
    logger: logging.Logger | None,
) -> Ipv6cpConfig:
    """The identifiers pppd's ``ipv6_check_options`` picks, in its order of preference.

    ``ipv6 <local>,<remote>`` first; then ``ipv6cp-use-persistent`` (our identifier from the
    Ethernet MAC address, RFC 2472 §4.1's EUI-48 to EUI-64 as pppd does it); then pppd 2.5's
    ``ipv6cp-use-remotenumber`` (the peer's from ``remotenumber``, see
    :func:`remotenumber_identifier`); then ``ipv6cp-use-ipaddr`` (each identifier from the
    IPv4 address given for that end, in its low 32 bits); whatever is still unknown is
    negotiated (ours made up at random).
    """

    def identifier(text: str | None) -> bytes | None:
        return IPv6Address(text).packed[8:] if text else None

    ours = identifier(options.ipv6_local)
    theirs = identifier(options.ipv6_remote)
    if ours is None and options.ipv6cp_use_persistent:
        if hwaddr is not None and len(hwaddr) == 6:
            ours = _eui48_to_eui64(hwaddr)
        else:
            # pppd ipv6cp.c ether_to_eui64 (and it falls back to a random identifier)
            (logger or logging.getLogger("pyppp")).error("ipv6cp: no persistent id can be found")
    if theirs is None and options.ipv6cp_use_remotenumber and options.remotenumber:
        theirs = remotenumber_identifier(options.remotenumber)
    if options.ipv6cp_use_ipaddr:
        if ours is None and local is not None and int(local):
            ours = bytes(4) + local.packed
        if theirs is None and remote is not None and int(remote):
            theirs = bytes(4) + remote.packed
    return Ipv6cpConfig(
        local=ours,
        remote=theirs,
        accept_local=options.ipv6cp_accept_local,
        accept_remote=options.ipv6cp_accept_remote,
        send_identifier=not options.ipv6cp_nosend,
        no_remote=options.ipv6cp_noremote,
    )


def build_link_config(
    options: PppOptions,
    *,
    secrets: Secrets,
    rng: Rng,
    hostname: str,
    read_file: FileReader,
    hosts_file: Path = Path("/etc/hosts"),
    throttle: LoginThrottle | None = None,
    crypt_check: Callable[[str, str], bool] | None = None,
    logger: logging.Logger | None = None,
    hwaddr: bytes | None = None,
) -> LinkConfig:
    """Turn pppd's options into a link configuration, checking what pppd checks at start-up.

    Args:
        options: the parsed options.
        secrets: the secrets files.
        rng: random source for CHAP challenges.
        hostname: the system's host name (pppd's default ``name``).
        read_file: reads the hosts file (the shell passes :func:`pyppp.aio.files.read_limited`).
        hosts_file: where ``local:remote`` names are looked up.
        throttle: the process-wide PAP failure counter (it survives reconnections).
        crypt_check: compares a password with a crypt(3) hash from pap-secrets (shell).
        logger: where pppd's lines go.
        hwaddr: the first Ethernet MAC address, for ``ipv6cp-use-persistent`` (the shell
            reads it; ``None`` if there is none).

    Raises:
        ConfigError: pppd would refuse to start (status 1 or 2, as pppd).
    """
    our_name = local_name(options, hostname)
    user = options.user or our_name
    if not number_allowed(options):
        # pppd auth_check_options: warn("calling number %q is not authorized"), exit 21.
        raise ConfigError(
            f"calling number {options.remotenumber or ''} is not authorized",
            exit_status=ExitStatus.CNID_AUTH_FAILED,
        )
    # pppd requires authentication by default only when the system has a default route; a
    # serial-line tool cannot see that reliably, so pyppp requires it only when asked (`auth`).
    auth = bool(options.auth)
    chap_given = chap_words(options)
    if any(a != ChapAlgorithm.MD5 for a in chap_given.values()) and not mschap_available():
        word = next(w for w, a in chap_given.items() if a != ChapAlgorithm.MD5)
        raise ConfigError(f"{word} needs the pycryptodome package (MD4 and DES)")
    # pppd: without require-* words, `auth` asks for CHAP (every algorithm) or PAP.
    explicit = options.require_pap or bool(chap_given)
    algorithms = _ALL_CHAP if mschap_available() else (ChapAlgorithm.MD5,)
    chap_algorithms = tuple(a for a in _ALL_CHAP if a in chap_given.values()) or algorithms
    require: list[int] = []
    if auth and options.plugin is not None:
        # radius.so: the server knows the users; no secrets file needs to (pppd's
        # pap_check_hook/chap_check_hook answer "yes").
        want_chap = bool(chap_given) or not explicit
        want_pap = options.require_pap or not explicit
        require = [p for p, w in ((PPPProtocol.CHAP, want_chap), (PPPProtocol.PAP, want_pap)) if w]
    elif auth:
        want_chap = bool(chap_given) or not explicit
        want_pap = options.require_pap or not explicit
        if options.login and chap_given and not options.require_pap:
            word = next(iter(chap_given))
            flavour = "CHAP" if word == "require-chap" else "MS-CHAP"
            raise ConfigError(
                f"login cannot be used with {word} alone: {flavour} never sends the password, "
                "so it cannot be checked against system passwords (use require-pap, or put the "
                "secrets in chap-secrets)"
            )
        check = can_authenticate_peer(
            require_pap=want_pap,
            require_chap=want_chap,
            login=options.login,
            pap_secrets=secrets.pap,
            chap_secrets=secrets.chap,
            our_name=our_name,
            remote_name=options.remotename,
        )
        if not check.ok:
            lines = missing_secret_messages(check, remote_name=options.remotename)
            raise ConfigError(" ".join(lines), exit_status=ExitStatus.FATAL_ERROR)
        # pppd auth_reset: stop asking for a protocol no secret supports.
        for protocol, wanted in ((PPPProtocol.CHAP, want_chap), (PPPProtocol.PAP, want_pap)):
            if (
                wanted
                and can_authenticate_peer(
                    require_pap=protocol == PPPProtocol.PAP,
                    require_chap=protocol == PPPProtocol.CHAP,
                    login=options.login,
                    pap_secrets=secrets.pap,
                    chap_secrets=secrets.chap,
                    our_name=our_name,
                    remote_name=options.remotename,
                ).ok
            ):
                require.append(protocol)
    # What we can do when the peer asks us to authenticate (pppd auth_reset).
    allow: list[int] = []
    refused = {
        ChapAlgorithm.MD5: options.refuse_chap,
        ChapAlgorithm.MS: options.refuse_mschap,
        ChapAlgorithm.MS_V2: options.refuse_mschap_v2,
    }
    allow_chap = tuple(a for a in algorithms if not refused[a])
    if allow_chap and (
        options.password or have_secret(secrets.chap, user, options.remotename, need_ip=False)[0]
    ):
        allow.append(PPPProtocol.CHAP)
    if not options.refuse_pap and (
        options.password or get_pap_password(secrets.pap, user, options.remotename) is not None
    ):
        allow.append(PPPProtocol.PAP)

    hosts = parse_hosts_file(hosts_file, read_file=read_file)
    local = _address(options.local_ip, hosts, "local")
    remote = _address(options.remote_ip, hosts, "remote")
    ms_dns = tuple(a for d in options.ms_dns if (a := _address(d, hosts, "ms-dns")) is not None)
    ms_wins = tuple(a for w in options.ms_wins if (a := _address(w, hosts, "ms-wins")) is not None)
    lcp = LcpConfig(
        mru=options.mru if options.mru is not None else 1500,
        mtu=options.mtu,
        asyncmap=options.asyncmap,
        default_asyncmap=options.default_asyncmap,
        pcomp=options.pcomp,
        accomp=options.accomp,
        magic=options.magic,
        require_auth=tuple(require),
        chap_algorithms=chap_algorithms,
        allow_auth=tuple(allow),
        allow_chap_algorithms=allow_chap or (ChapAlgorithm.MD5,),
        refuse_pap=options.refuse_pap,
        refuse_chap=options.refuse_chap,
        refuse_mschap=options.refuse_mschap,
        refuse_mschap_v2=options.refuse_mschap_v2,
    )
    ipcp = IpcpConfig(
        local=None if options.noipdefault and local is None else local,
        remote=remote,
        accept_local=options.ipcp_accept_local,
        accept_remote=options.ipcp_accept_remote,
        ms_dns=ms_dns,
        ms_wins=ms_wins,
        usepeerdns=options.usepeerdns,
        usepeerwins=options.usepeerwins,
        send_address=not (options.nosendip or options.ipcp_no_address),
        allow_address=not options.ipcp_no_address,
        old_addresses=not options.ipcp_no_addresses,
        noremoteip=options.noremoteip,
        vj=options.vj,
        vj_max_slot_id=options.vj_max_slots - 1,
        vj_compress_slot_id=options.vjccomp,
        # pppd link_established: without `auth`, `allow-ip` lists what the peer may use.
        allowed_remote=(
            AddressPolicy.from_words(options.allow_ip, unit=options.unit or 0, logger=logger)
            if options.allow_ip and not auth
            else AddressPolicy.any()
        ),
        unit=options.unit or 0,
    )
    factory = SessionAuth(
        options,
        secrets,
        our_name=our_name,
        user=user,
        rng=rng,
        throttle=throttle or LoginThrottle(),
        logger=logger,
    )
    if not options.ccp and (options.mppe_40 or options.mppe_128):
        # pppd would then run IP unencrypted; a required encryption must not vanish silently.
        raise ConfigError("MPPE is required but noccp turns CCP off")
    return LinkConfig(
        lcp=lcp,
        lcp_fsm=FsmConfig(
            restart_interval=float(options.lcp_restart),
            max_configure=options.lcp_max_configure,
            max_terminate=options.lcp_max_terminate,
            max_failure=options.lcp_max_failure,
            passive=options.passive,
            silent=options.silent,
        ),
        ipcp=ipcp if options.ip else None,
        ipcp_fsm=FsmConfig(
            restart_interval=float(options.ipcp_restart),
            max_configure=options.ipcp_max_configure,
            max_terminate=options.ipcp_max_terminate,
            max_failure=options.ipcp_max_failure,
        ),
        ipv6cp=_ipv6cp_config(options, local, remote, hwaddr, logger) if options.ipv6 else None,
        ipv6cp_fsm=FsmConfig(
            restart_interval=float(options.ipv6cp_restart),
            max_configure=options.ipv6cp_max_configure,
            max_terminate=options.ipv6cp_max_terminate,
            max_failure=options.ipv6cp_max_failure,
        ),
        ccp=_ccp_config(options) if options.ccp else None,
        ccp_fsm=FsmConfig(
            restart_interval=float(options.ccp_restart),
            max_configure=options.ccp_max_configure,
            max_terminate=options.ccp_max_terminate,
            max_failure=options.ccp_max_failure,
        ),
        auth=factory,
        echo_interval=float(options.lcp_echo_interval),
        echo_failure=options.lcp_echo_failure,
        escape=frozenset(options.escape),
        receive_all=options.receive_all,
        echo_adaptive=options.lcp_echo_adaptive,
        require_network=True,
        adaptive_mtu=options.adaptive_mtu,
        idle=float(options.idle),
        max_connect=float(options.maxconnect),
        show_password=not options.hide_password,
        trace_echo=options.debug >= 2,
        defer_network_log=True,
    )
