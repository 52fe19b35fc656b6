"""pyppp's ``masquerade``: the peer shares this host's other interfaces, through the kernel's NAT.

The Serial-Laplink-HOWTO's "Internet through the serial port" (its section 5 sends the reader to
the IP-Masquerade HOWTO and iptables; FreeBSD's user-ppp has ``nat enable yes``) in one word.
While IPCP is up:

* a nftables table of pyppp's own, ``ip pyppp-<ifname>``, holds one NAT chain (``type nat hook
  postrouting priority srcnat``) with one rule: ``ip saddr <peer> oifname != "<ifname>"
  masquerade``, so the peer's packets leave every other interface with that interface's address;
* IPv4 forwarding is on (``net.ipv4.ip_forward``).

When IPCP goes down, and on every exit path, the whole table is deleted (nothing else in the
ruleset is touched) and forwarding is set back to what it was. Several links may masquerade at
once (several pyppp processes, each with its own interface): the rule's comment records the
forwarding setting found before the first of them (a later table copies it from an earlier
one), so the last one to go restores the original. A table left by a pyppp that was killed is
replaced by the next link on the same interface, which inherits its record.

Only the peer's IPv4 address is masqueraded: IPv6CP gives the peer a link-local address only.
A host firewall that drops forwarded packets (a ``forward`` chain with policy drop, or
iptables' ``FORWARD`` policy ``DROP`` as Docker sets it) still drops them: pyppp does not edit
other tables.

The kernel is driven through libnftables' JSON API with nftables' own Python binding. It is not
on PyPI; Debian ships it as ``python3-nftables`` for the system Python. pyppp imports
``nftables`` from its own environment first (a virtualenv made with
``--system-site-packages``, or a copy installed from nftables' source tree), and otherwise loads
the binding from Debian's ``/usr/lib/python3/dist-packages/nftables`` (:data:`DEBIAN_BINDING`).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Mapping
from ipaddress import IPv4Address
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Protocol

from pyppp.errors import ExitStatus, PyPPPError

__all__ = ["DEBIAN_BINDING", "Masquerade", "MasqueradeError", "load_nftables"]

DEBIAN_BINDING: Final = Path("/usr/lib/python3/dist-packages/nftables")
"""Where Debian's ``python3-nftables`` puts the binding (found even from another Python)."""

IP_FORWARD: Final = Path("/proc/sys/net/ipv4/ip_forward")
_TABLE_PREFIX: Final = "pyppp-"
_RECORD: Final = "pyppp masquerade; ip_forward was "
_MISSING: Final = (
    "masquerade needs nftables' Python binding: apt-get install nftables python3-nftables"
)


class MasqueradeError(PyPPPError):
    """NAT could not be set up (pppd's fatal status 1 when it happens at start-up)."""

    exit_status = ExitStatus.FATAL_ERROR


class _Nftables(Protocol):
    def json_cmd(self, json_root: Mapping[str, Any]) -> tuple[int, Any, str]: ...
    def set_json_output(self, value: bool) -> bool: ...


def load_nftables() -> ModuleType:
    """Import nftables' binding (see the module docstring for where it is looked for).

    Raises:
        MasqueradeError: it is nowhere (one clear line saying what to install).
    """
    try:
        return importlib.import_module("nftables")
    except ImportError:
        pass
    init = DEBIAN_BINDING / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "nftables", init, submodule_search_locations=[str(DEBIAN_BINDING)]
    )
    if not init.is_file() or spec is None or spec.loader is None:
        raise MasqueradeError(_MISSING)
    module = importlib.util.module_from_spec(spec)
    sys.modules["nftables"] = module  # its __init__ imports its submodule relatively
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a broken install, or libnftables.so.1 missing
        del sys.modules["nftables"]
        raise MasqueradeError(f"{_MISSING} ({exc})") from exc
    return module


class Masquerade:
    """Masquerades one peer address while its link is up (see the module docstring).

    Args:
        logger: where the lines go.
        forward_path: the forwarding sysctl (tests may point elsewhere).
    """

    def __init__(
        self, logger: logging.Logger | None = None, *, forward_path: Path = IP_FORWARD
    ) -> None:
        self.logger = logger or logging.getLogger("pyppp")
        self.forward_path = forward_path
        self._nft: _Nftables | None = None
        self._table: str | None = None
        self._original = "0"

    @property
    def active(self) -> bool:
        """Whether our table is in place."""
        return self._table is not None

    def _kernel(self) -> _Nftables:
        if self._nft is None:
            nft: _Nftables = load_nftables().Nftables()
            nft.set_json_output(True)
            self._nft = nft
        return self._nft

    def _run(self, *commands: Mapping[str, Any]) -> Any:
        rc, output, error = self._kernel().json_cmd({"nftables": list(commands)})
        if rc != 0:
            raise MasqueradeError(f"nftables: {error.strip() or f'error {rc}'}")
        return output

    def _records(self) -> dict[str, str]:
        """Map each pyppp masquerade table now in the ruleset to the forwarding value it records."""
        output = self._run({"list": {"tables": None}})
        names = [
            item["table"]["name"]
            for item in (output or {}).get("nftables", [])
            if "table" in item
            and item["table"].get("family") == "ip"
            and str(item["table"].get("name", "")).startswith(_TABLE_PREFIX)
        ]
        records: dict[str, str] = {}
        for name in names:
            listed = self._run({"list": {"table": {"family": "ip", "name": name}}})
            for item in (listed or {}).get("nftables", []):
                comment = str(item.get("rule", {}).get("comment", ""))
                if comment.startswith(_RECORD):
                    records[name] = comment.removeprefix(_RECORD)
        return records

    def start(self, ifname: str, peer: IPv4Address) -> None:
        """Masquerade ``peer`` out of every interface but ``ifname``, and forward IPv4.

        Raises:
            MasqueradeError: nftables refused (nothing is left half done).
        """
        self.stop()
        table = f"{_TABLE_PREFIX}{ifname}"
        records = self._records()
        if table in records:  # left by a pyppp that was killed: ours now
            self._run({"delete": {"table": {"family": "ip", "name": table}}})
        current = self._read_forwarding()
        original = next(iter(records.values()), current)
        rule = {
            "family": "ip",
            "table": table,
            "chain": "postrouting",
            "comment": f"{_RECORD}{original}",
            "expr": [
                {
                    "match": {
                        "op": "==",
                        "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                        "right": str(peer),
                    }
                },
                {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": ifname}},
                {"masquerade": None},
            ],
        }
        chain = {
            "family": "ip",
            "table": table,
            "name": "postrouting",
            "type": "nat",
            "hook": "postrouting",
            "prio": 100,  # srcnat
            "policy": "accept",
        }
        # One transaction: the table appears whole or not at all.
        self._run(
            {"add": {"table": {"family": "ip", "name": table}}},
            {"add": {"chain": chain}},
            {"add": {"rule": rule}},
        )
        self._table, self._original = table, original
        if current != "1":
            try:
                self.forward_path.write_text("1\n")
            except OSError as exc:
                self.stop()
                raise MasqueradeError(f"Couldn't turn on IPv4 forwarding: {exc}") from exc
        self.logger.info(
            "Masquerading %s out of every interface but %s (nftables table ip %s)",
            peer,
            ifname,
            table,
        )

    def stop(self) -> None:
        """Delete our table; the last pyppp table to go restores forwarding. Idempotent."""
        table = self._table
        if table is None:
            return
        self._table = None
        try:
            self._run({"delete": {"table": {"family": "ip", "name": table}}})
        except MasqueradeError as exc:
            self.logger.error("Couldn't remove nftables table ip %s: %s", table, exc)
        try:
            others = self._records()
        except MasqueradeError:
            others = {}
        if not others and self._read_forwarding() != self._original:
            try:
                self.forward_path.write_text(f"{self._original}\n")
            except OSError as exc:
                self.logger.error("Couldn't restore IPv4 forwarding: %s", exc)
        self.logger.info("Masquerading ended (nftables table ip %s removed)", table)

    def _read_forwarding(self) -> str:
        try:
            return self.forward_path.read_text().strip() or "0"
        except OSError:
            return "0"
