"""Access rules of ``pyppp share`` (pyppp.share.access): the policy and hosts files, no sockets."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.share.access import (
    LOOPBACK,
    AccessPolicy,
    load_hosts_file,
    parse_hosts_file,
    peer_of,
    unmap_address,
)
from pyppp.share.config import ShareConfig

A = ipaddress.ip_address
N = ipaddress.ip_network


def test_default_policy_is_loopback_only() -> None:
    policy = AccessPolicy()
    assert policy.check(A("127.0.0.1"))[0]
    assert policy.check(A("127.1.2.3"))[0]
    assert policy.check(A("::1"))[0]
    assert policy.check(None)[0]  # Unix-domain peer: this host
    assert policy.check(A("::ffff:127.0.0.1"))[0]
    assert policy.check(A("10.0.0.1")) == (False, "not in the allow list")
    assert policy.loopback_only


def test_deny_beats_allow() -> None:
    policy = AccessPolicy(allow=(N("10.99.0.0/16"),), deny=(N("10.99.5.0/24"),))
    assert policy.check(A("10.99.1.1"))[0]
    assert policy.check(A("10.99.5.7")) == (False, "denied by --deny 10.99.5.0/24")
    assert not policy.check(A("127.0.0.1"))[0]  # --allow replaces the loopback default
    assert not policy.loopback_only


HOSTS_ALLOW = """\
# comment
sshd: ALL
pyppp-share: 10.99.0.0/255.255.0.0 EXCEPT 10.99.9.0/24 EXCEPT 10.99.9.9
pyppp-share, other : 10.98. , [fd00::]/8
ALL EXCEPT pyppp-share: 10.97.0.1
pyppp-share: 10.96.0.0/16 : spawn echo hi : deny
pyppp-share: .example.com KNOWN \\
   10.95.0.1
bogus line without separator
"""


def test_hosts_allow_subset(caplog: pytest.LogCaptureFixture) -> None:
    rules = tuple(parse_hosts_file(HOSTS_ALLOW, "hosts.allow"))
    assert len(rules) == 6
    assert rules[5].source == "hosts.allow:7"
    warnings = " ".join(caplog.messages)
    assert "'.example.com' is not supported" in warnings
    assert "'KNOWN' is not supported" in warnings
    assert "missing ':' separator" in warnings
    deny_all = tuple(parse_hosts_file("ALL: ALL\n", "hosts.deny"))
    policy = AccessPolicy(hosts_allow=rules, hosts_deny=deny_all)
    granted = {ip: policy.check(A(ip))[0] for ip in [
        "10.99.1.1", "10.99.9.1", "10.99.9.9", "10.98.3.4", "fd00::5", "10.97.0.1",
        "10.96.1.1", "10.95.0.1", "127.0.0.1", "10.1.1.1",
    ]}  # fmt: skip
    assert granted == {
        "10.99.1.1": True,
        "10.99.9.1": False,  # EXCEPT
        "10.99.9.9": True,  # EXCEPT (EXCEPT)
        "10.98.3.4": True,  # n.n.n. prefix, second daemon-list form
        "fd00::5": True,
        "10.97.0.1": False,  # ALL EXCEPT pyppp-share: not for us
        "10.96.1.1": False,  # ": deny" option in hosts.allow
        "10.95.0.1": True,  # continuation line
        "127.0.0.1": False,  # hosts.deny ALL: ALL beats the loopback default
        "10.1.1.1": False,
    }


def test_local_pattern_means_loopback() -> None:
    rules = tuple(parse_hosts_file("pyppp-share: LOCAL\n", "x"))
    assert AccessPolicy(allow=(), hosts_allow=rules).check(A("127.0.0.1"))[0]
    assert not AccessPolicy(allow=(), hosts_allow=rules).check(A("10.0.0.1"))[0]


@given(st.text(max_size=300))
def test_hosts_parser_never_raises(text: str) -> None:
    policy = AccessPolicy(hosts_allow=tuple(parse_hosts_file(text, "fuzz")))
    policy.check(A("10.0.0.1"))
    policy.check(A("::1"))


def test_mapped_ipv4_is_judged_as_ipv4() -> None:
    assert unmap_address(A("::ffff:10.99.0.1")) == A("10.99.0.1")
    assert unmap_address(A("fd00::1")) == A("fd00::1")
    policy = AccessPolicy(allow=(N("10.99.0.0/16"),))
    assert policy.check(A("::ffff:10.99.0.1")) == (True, "allowed by 10.99.0.0/16")


def test_peer_of() -> None:
    assert peer_of(("127.0.0.1", 4000)) == (A("127.0.0.1"), "127.0.0.1:4000")
    assert peer_of(("::ffff:10.99.0.1", 5, 0, 0)) == (A("10.99.0.1"), "10.99.0.1:5")
    assert peer_of(("fe80::1%eth0", 7, 0, 2)) == (A("fe80::1"), "[fe80::1]:7")
    assert peer_of(("not-an-address", 7)) == (None, "not-an-address:7")
    assert peer_of("") == (None, "local")  # Unix-domain socket
    assert peer_of(None) == (None, "local")


def test_load_hosts_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # tcpd: a missing file has no rules
    assert load_hosts_file(tmp_path / "missing", Path.read_bytes) == ()
    assert not caplog.messages
    path = tmp_path / "hosts.allow"
    path.write_bytes(b"pyppp-share: 10.99.0.0/16\n\xff\xfe: ALL\n")  # bad UTF-8 is no error
    rules = load_hosts_file(path, Path.read_bytes)
    assert [r.source for r in rules] == [f"{path}:1", f"{path}:2"]
    with caplog.at_level(logging.ERROR, logger="pyppp.share"):
        assert load_hosts_file(tmp_path, Path.read_bytes) == ()  # a directory: unreadable
    assert caplog.messages == [f"Can't read {tmp_path}: Is a directory"]


def test_config_policy_reads_the_files_each_time(tmp_path: Path) -> None:
    allow = tmp_path / "hosts.allow"
    config = ShareConfig("/dev/null", allow=(), hosts_allow=allow)
    assert not config.policy(Path.read_bytes).check(A("10.99.0.1"))[0]
    allow.write_text("pyppp-share: 10.99.\n")
    assert config.policy(Path.read_bytes).check(A("10.99.0.1")) == (True, f"rule at {allow}:1")
    assert not config.policy(Path.read_bytes).loopback_only
    assert ShareConfig("/dev/null").policy(Path.read_bytes) == AccessPolicy(allow=LOOPBACK)


def test_policy_reads_only_through_the_injected_reader() -> None:
    # The pure layer opens no file: what it knows of hosts files comes from `read`.
    files = {Path("/etc/hosts.allow"): b"pyppp-share: 10.99.\n"}
    asked: list[Path] = []

    def read(path: Path) -> bytes:
        asked.append(path)
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    config = ShareConfig(
        "/dev/null", allow=(), hosts_allow=Path("/etc/hosts.allow"), hosts_deny=Path("/x/deny")
    )
    assert config.reads_files
    assert config.policy(read).check(A("10.99.0.1")) == (True, "rule at /etc/hosts.allow:1")
    assert asked == [Path("/etc/hosts.allow"), Path("/x/deny")]
    assert not ShareConfig("/dev/null").reads_files
    assert ShareConfig("/dev/null").policy(read) == AccessPolicy(allow=LOOPBACK)
    assert len(asked) == 2  # no hosts files configured: nothing read
