"""What ``usepeerdns`` produces once IPCP is up: pppd's resolv.conf text and script variables.

Pure helpers: the shell writes the file and runs the scripts. pppd (``ipcp.c``
``create_resolv``) writes ``/etc/ppp/resolv.conf`` with one ``nameserver A`` line per non-zero
address the peer gave, primary first, and only when ``usepeerdns`` is set and the peer gave at
least one; it exports ``DNS1``/``DNS2`` to ``ip-up`` whenever the peer supplied them, and
``USEPEERDNS=1`` under the same condition as the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Final

__all__ = ["RESOLV_CONF_PATH", "ip_script_env", "resolv_conf_text"]

RESOLV_CONF_PATH: Final = "/etc/ppp/resolv.conf"
"""Where pppd writes the peer's name servers (``_PATH_RESOLV``); /etc/resolv.conf is untouched."""

_UNSPECIFIED: Final = IPv4Address(0)


def resolv_conf_text(dns: Sequence[IPv4Address | None]) -> str:
    r"""Return the contents pppd writes to its resolv.conf.

    Args:
        dns: the peer's name servers, primary first; ``None`` and 0.0.0.0 entries are skipped.

    Returns:
        ``"nameserver 10.0.0.53\n"`` lines, or ``""`` when there is nothing to write (pppd then
        leaves the file alone).
    """
    return "".join(f"nameserver {a}\n" for a in dns if a is not None and a != _UNSPECIFIED)


def ip_script_env(
    local: IPv4Address,
    remote: IPv4Address | None,
    *,
    dns1: IPv4Address | None = None,
    dns2: IPv4Address | None = None,
    usepeerdns: bool = False,
) -> dict[str, str]:
    """Return the variables pppd adds to the environment of ``ip-pre-up``/``ip-up``/``ip-down``.

    Args:
        local: our negotiated address (``IPLOCAL``).
        remote: the peer's address (``IPREMOTE``), omitted when ``None``.
        dns1: the primary name server the peer gave (``DNS1``), if any.
        dns2: the secondary name server the peer gave (``DNS2``), if any.
        usepeerdns: the ``usepeerdns`` option; with a name server it adds ``USEPEERDNS=1``.

    Returns:
        Name -> value, in the order pppd sets them.
    """
    env = {"IPLOCAL": str(local)}
    if remote is not None and remote != _UNSPECIFIED:
        env["IPREMOTE"] = str(remote)
    have_dns = False
    for name, address in (("DNS1", dns1), ("DNS2", dns2)):
        if address is not None and address != _UNSPECIFIED:
            env[name] = str(address)
            have_dns = True
    if usepeerdns and have_dns:
        env["USEPEERDNS"] = "1"
    return env
