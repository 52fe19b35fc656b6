"""Link configurations for library use, without pppd's files.

``pyppp serve``/``dial`` build their :class:`~pyppp.linkconfig.LinkConfig` from pppd's option words
and secrets files; a program that wants a PPP peer in its tests can use :func:`simple_config`
instead::

    server = simple_config(local="10.99.0.1", remote="10.99.0.2", require_pap={"zaphod": "pw"})
    client = simple_config(user="zaphod", password="pw")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address

from pyppp.auth.base import AuthEngine, LoginThrottle
from pyppp.auth.chap import ChapAuthenticator, ChapPeer
from pyppp.auth.pap import PapAuthenticator, PapPeer
from pyppp.errors import ConfigError, LocalProtocolError
from pyppp.fsm import FsmConfig
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.ipv6cp.negotiator import Ipv6cpConfig
from pyppp.lcp.negotiator import LcpConfig
from pyppp.lcp.options import ChapAlgorithm
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.secrets import SecretsFile
from pyppp.util import Rng

__all__ = ["StaticAuth", "simple_config"]


def _no_rng(n: int) -> bytes:
    raise LocalProtocolError("this configuration has no random source (pass rng=)")


def _quote(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class StaticAuth:
    """An ``AuthFactory`` with the secrets in memory instead of pap-secrets/chap-secrets.

    Args:
        users: name -> secret of the peers we accept (authenticator role).
        user: what we authenticate as when the peer asks (peer role).
        password: our secret for that.
        our_name: our name in CHAP challenges and secrets lookups.
        rng: random source for CHAP challenges.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        user: str | None = None,
        password: str | None = None,
        our_name: str = "pyppp",
        rng: Rng,
    ) -> None:
        lines = [f"{_quote(name)} * {_quote(secret)} *" for name, secret in (users or {}).items()]
        self.secrets = SecretsFile.parse("\n".join(lines) + "\n", path="<memory>")
        self.user = user or our_name
        self.password = password
        self.our_name = our_name
        self.rng = rng
        self.throttle = LoginThrottle()

    def authenticator(
        self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5
    ) -> AuthEngine | None:
        """The engine that checks the peer (``algorithm``: the CHAP algorithm LCP settled)."""
        if protocol == PPPProtocol.PAP:
            return PapAuthenticator(self.our_name, self.secrets, throttle=self.throttle)
        if protocol == PPPProtocol.CHAP:
            return ChapAuthenticator(self.our_name, self.secrets, rng=self.rng, algorithm=algorithm)
        return None

    def peer(self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5) -> AuthEngine | None:
        """The engine that authenticates us (``algorithm``: the CHAP algorithm LCP settled)."""
        if protocol == PPPProtocol.PAP:
            return PapPeer(self.user, self.password)
        if protocol == PPPProtocol.CHAP:
            return ChapPeer(self.user, self.password, algorithm=algorithm, rng=self.rng)
        return None


def simple_config(
    *,
    local: str | None = None,
    remote: str | None = None,
    require_pap: Mapping[str, str] | None = None,
    require_chap: Mapping[str, str] | None = None,
    user: str | None = None,
    password: str | None = None,
    chap_algorithms: Sequence[int] = (ChapAlgorithm.MD5,),
    rng: Rng | None = None,
    echo_interval: float = 0.0,
    echo_failure: int = 0,
    passive: bool = False,
    restart_interval: float = 3.0,
    ipv6: bool = False,
) -> LinkConfig:
    """A link configuration from a few keyword arguments.

    Args:
        local: our IPv4 address (``None``: learn it from the peer).
        remote: the peer's IPv4 address (``None``: let the peer choose).
        require_pap: name -> secret of peers allowed in with PAP.
        require_chap: name -> secret of peers allowed in with CHAP.
        user: the name we authenticate as if the peer asks.
        password: our secret if the peer asks (``None``: we cannot authenticate).
        chap_algorithms: the CHAP algorithms to ask for (``require_chap``) and to answer
            with, best first: `ChapAlgorithm.MD5`, ``MS_V2`` (MS-CHAPv2), ``MS`` (MS-CHAP).
        rng: random source for CHAP challenges (and MS-CHAPv2's Peer-Challenge); required
            with ``require_chap`` or MS-CHAPv2 (magic numbers use the link's own rng).
        echo_interval: seconds between LCP Echo-Requests (pppd ``lcp-echo-interval``).
        echo_failure: unanswered echoes before the peer is dead (``lcp-echo-failure``).
        passive: wait for the peer instead of giving up after Max-Configure.
        restart_interval: the Restart timer (pppd ``lcp-restart``).
        ipv6: also run IPv6CP (random link-local identifiers) and carry IPv6.

    Raises:
        ConfigError: ``require_chap`` (or an MS-CHAPv2 peer) without ``rng``; an unknown
            CHAP algorithm.
    """
    require: list[int] = []
    users: dict[str, str] = {}
    if require_chap:
        require.append(PPPProtocol.CHAP)
        users.update(require_chap)
    if require_pap:
        require.append(PPPProtocol.PAP)
        users.update(require_pap)
    allow = [PPPProtocol.CHAP, PPPProtocol.PAP] if password is not None else []
    if require_chap and rng is None:
        # CHAP challenges must be unpredictable, or a recorded Response can be replayed.
        raise ConfigError("require_chap needs rng= (os.urandom, say) for its challenges")
    if ChapAlgorithm.MS_V2 in chap_algorithms and password is not None and rng is None:
        raise ConfigError("MS-CHAPv2 needs rng= (os.urandom, say) for its Peer-Challenge")
    auth = StaticAuth(users=users, user=user, password=password, rng=rng or _no_rng)
    fsm = FsmConfig(restart_interval=restart_interval, passive=passive)
    return LinkConfig(
        lcp=LcpConfig(
            require_auth=tuple(require),
            chap_algorithms=tuple(chap_algorithms),
            allow_auth=tuple(allow),
            allow_chap_algorithms=tuple(chap_algorithms),
        ),
        lcp_fsm=fsm,
        ipcp=IpcpConfig(
            local=IPv4Address(local) if local else None,
            remote=IPv4Address(remote) if remote else None,
        ),
        ipcp_fsm=FsmConfig(restart_interval=restart_interval),
        ipv6cp=Ipv6cpConfig() if ipv6 else None,
        ipv6cp_fsm=FsmConfig(restart_interval=restart_interval),
        auth=auth,
        echo_interval=echo_interval,
        echo_failure=echo_failure,
    )
