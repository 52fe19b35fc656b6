"""``masquerade``'s bookkeeping against a model of libnftables' JSON API (no root needed).

The real kernel is exercised by tests/e2e/test_ipv6.py; here: the exact commands sent, that
removal deletes only our table, that forwarding comes back as it was, also when several links
masquerade at once or a killed pyppp left its table behind, and the one clear error line when
the binding is missing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from pyppp.aio import masquerade as masq_module
from pyppp.aio.masquerade import Masquerade, MasqueradeError, load_nftables

PEER = IPv4Address("10.99.1.2")


class FakeNft:
    """Tables by name, each a list of rule comments; answers as libnftables' json_cmd does."""

    def __init__(self, ruleset: dict[str, list[str]] | None = None) -> None:
        self.tables: dict[str, list[str]] = ruleset or {}
        self.commands: list[dict[str, Any]] = []
        self.fail_next: str | None = None

    def set_json_output(self, value: bool) -> bool:
        return True

    def json_cmd(self, json_root: Mapping[str, Any]) -> tuple[int, Any, str]:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            return 1, "", error
        items: list[dict[str, Any]] = [{"metainfo": {"version": "1.0.6"}}]
        staged = {k: list(v) for k, v in self.tables.items()}
        for command in json_root["nftables"]:
            self.commands.append(command)
            ((verb, what),) = command.items()
            if verb == "list" and "tables" in what:
                items += [{"table": {"family": "ip", "name": n}} for n in staged]
                items.append({"table": {"family": "inet", "name": "filter"}})
            elif verb == "list":
                name = what["table"]["name"]
                if name not in staged:
                    return 1, "", "Error: No such file or directory"
                items += [{"rule": {"table": name, "comment": c}} for c in staged[name]]
            elif verb == "add" and "table" in what:
                staged.setdefault(what["table"]["name"], [])
            elif verb == "add" and "rule" in what:
                staged[what["rule"]["table"]].append(what["rule"].get("comment", ""))
            elif verb == "delete" and staged.pop(what["table"]["name"], None) is None:
                return 1, "", "Error: No such file or directory"
        self.tables = staged
        return 0, {"nftables": items}, ""


def make(tmp_path: Path, nft: FakeNft, forwarding: str = "0") -> tuple[Masquerade, Path]:
    forward = tmp_path / "ip_forward"
    forward.write_text(forwarding + "\n")
    m = Masquerade(forward_path=forward)
    m._nft = nft
    return m, forward


def test_start_adds_one_table_and_turns_forwarding_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nft = FakeNft({"other-table": []})
    m, forward = make(tmp_path, nft)
    caplog.set_level("INFO")
    m.start("ppp0", PEER)
    assert m.active
    assert forward.read_text() == "1\n"
    add = [c["add"] for c in nft.commands if "add" in c]
    assert add[0] == {"table": {"family": "ip", "name": "pyppp-ppp0"}}
    assert add[1]["chain"] == {
        "family": "ip",
        "table": "pyppp-ppp0",
        "name": "postrouting",
        "type": "nat",
        "hook": "postrouting",
        "prio": 100,
        "policy": "accept",
    }
    rule = add[2]["rule"]
    assert rule["expr"][0]["match"]["right"] == "10.99.1.2"
    assert rule["expr"][1] == {
        "match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "ppp0"}
    }
    assert rule["expr"][2] == {"masquerade": None}
    assert rule["comment"] == "pyppp masquerade; ip_forward was 0"
    assert "Masquerading 10.99.1.2 out of every interface but ppp0" in caplog.text

    m.stop()
    assert not m.active
    assert nft.tables == {"other-table": []}  # nothing else touched
    assert forward.read_text() == "0\n"
    m.stop()  # idempotent: nothing more is sent
    assert sum(1 for c in nft.commands if "delete" in c) == 1


def test_forwarding_already_on_is_left_alone(tmp_path: Path) -> None:
    m, forward = make(tmp_path, FakeNft(), forwarding="1")
    forward.write_text("1\n")
    m.start("ppp0", PEER)
    m.stop()
    assert forward.read_text() == "1\n"


def test_two_links_the_last_one_restores(tmp_path: Path) -> None:
    nft = FakeNft()
    first, forward = make(tmp_path, nft)
    first.start("ppp0", PEER)
    second = Masquerade(forward_path=forward)
    second._nft = nft
    second.start("ppp1", IPv4Address("10.99.2.2"))
    # The second found forwarding on (the first did it) but records the original.
    assert nft.tables["pyppp-ppp1"] == ["pyppp masquerade; ip_forward was 0"]
    first.stop()
    assert forward.read_text() == "1\n"  # ppp1 still needs it
    second.stop()
    assert forward.read_text() == "0\n"
    assert nft.tables == {}


def test_a_killed_pyppps_table_is_replaced_and_its_record_kept(tmp_path: Path) -> None:
    nft = FakeNft({"pyppp-ppp0": ["pyppp masquerade; ip_forward was 0"]})
    m, forward = make(tmp_path, nft, forwarding="1")  # the dead one had turned it on
    m.start("ppp0", PEER)
    assert nft.tables == {"pyppp-ppp0": ["pyppp masquerade; ip_forward was 0"]}
    m.stop()
    assert forward.read_text() == "0\n"


def test_nftables_refusing_is_one_error_and_leaves_nothing(tmp_path: Path) -> None:
    nft = FakeNft()
    m, forward = make(tmp_path, nft)
    nft.fail_next = "Error: Could not process rule: Operation not permitted\n"
    with pytest.raises(MasqueradeError, match="Operation not permitted") as info:
        m.start("ppp0", PEER)
    assert info.value.exit_status == 1
    assert not m.active
    assert forward.read_text() == "0\n"


def test_missing_binding_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nftables", None)  # import nftables -> ImportError
    monkeypatch.setattr(masq_module, "DEBIAN_BINDING", tmp_path / "absent")
    with pytest.raises(MasqueradeError) as info:
        load_nftables()
    message = str(info.value)
    assert message == (
        "masquerade needs nftables' Python binding: apt-get install nftables python3-nftables"
    )


def test_debian_binding_is_found_from_any_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "nftables"
    package.mkdir()
    (package / "__init__.py").write_text("from .nftables import *\n")
    (package / "nftables.py").write_text("class Nftables:\n    pass\n")
    monkeypatch.setitem(sys.modules, "nftables", None)
    monkeypatch.setattr(masq_module, "DEBIAN_BINDING", package)
    monkeypatch.setattr(importlib, "import_module", _refuse)  # the module's importlib
    module = load_nftables()
    assert module.Nftables.__name__ == "Nftables"
    monkeypatch.delitem(sys.modules, "nftables.nftables", raising=False)


def _refuse(name: str) -> None:
    raise ImportError(name)
