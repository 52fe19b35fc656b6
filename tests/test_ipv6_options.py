"""pppd's IPv6 words (ipv6cp.c's option list), noip, masquerade: parsing, dump, LinkConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyppp.errors import ConfigError
from pyppp.ipv6cp.negotiator import Ipv6cpConfig
from pyppp.linkconfig import LinkConfig
from pyppp.pppd.dump import dump
from pyppp.pppd.options import options_from_words
from pyppp.pppd.optiontable import OPTION_WORDS
from pyppp.pppd.session import remotenumber_identifier
from pyppp.pppd.words import command_line_words
from tests.pppdconfig import link_config_from_words

ONE = bytes.fromhex("0000000000000001")


def opts(*words: str):  # type: ignore[no-untyped-def]
    return options_from_words(command_line_words(words))


def config(tmp_path: Path, *words: str, hwaddr: bytes | None = None) -> LinkConfig:
    return link_config_from_words(tmp_path, words, hwaddr=hwaddr)


def test_ipv6cp_is_on_by_default_as_in_pppd_2_4_9(tmp_path: Path) -> None:
    assert opts().ipv6
    assert config(tmp_path).ipv6cp == Ipv6cpConfig()


@pytest.mark.parametrize(
    ("words", "enabled"),
    [
        (("noipv6",), False),
        (("-ipv6",), False),
        (("noipv6", "+ipv6"), True),
        # pppd setifaceid: giving identifiers turns IPv6 on again...
        (("noipv6", "ipv6", "::1,"), True),
        # ...unless noipv6 comes later.
        (("ipv6", "::1,", "noipv6"), False),
    ],
)
def test_noipv6_and_plus_ipv6(tmp_path: Path, words: tuple[str, ...], enabled: bool) -> None:
    assert opts(*words).ipv6 is enabled
    assert (config(tmp_path, *words).ipv6cp is not None) is enabled


def test_ipv6_identifiers(tmp_path: Path) -> None:
    o = opts("ipv6", "::1,::dead:beef")
    assert (o.ipv6_local, o.ipv6_remote) == ("::1", "::dead:beef")
    c = config(tmp_path, "ipv6", "::1,::dead:beef", "ipv6cp-accept-local", "ipv6cp-accept-remote")
    assert c.ipv6cp == Ipv6cpConfig(
        local=ONE,
        remote=bytes.fromhex("00000000deadbeef"),
        accept_local=True,
        accept_remote=True,
    )
    assert opts("ipv6", ",::2").ipv6_local is None
    assert opts("ipv6", "::2").ipv6_remote is None
    assert opts("ipv6", "::1,").ipv6_remote is None


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("fe80::1,", r"Illegal interface identifier \(local\): fe80::1 \(an IPv6 address"),
        (",2001:db8::1", r"Illegal interface identifier \(remote\): 2001:db8::1 \(an IPv6"),
        ("::,", r"Illegal interface identifier \(local\): :: \(zero is no identifier"),
        ("1,", r"Illegal interface identifier \(local\): 1 \(not an identifier"),
        (",10.0.0.1", r"Illegal interface identifier \(remote\): 10\.0\.0\.1 \(not an"),
    ],
)
def test_bad_identifiers_are_one_clear_line_and_exit_2(argument: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        opts("ipv6", argument)
    assert info.value.exit_status == 2
    assert "\n" not in str(info.value)


def test_flags_and_counters(tmp_path: Path) -> None:
    words = (
        "ipv6cp-noremote",
        "ipv6cp-nosendip",
        "ipv6cp-restart",
        "7",
        "ipv6cp-max-configure",
        "4",
        "ipv6cp-max-terminate",
        "3",
        "ipv6cp-max-failure",
        "2",
    )
    c = config(tmp_path, *words)
    assert c.ipv6cp == Ipv6cpConfig(no_remote=True, send_identifier=False)
    fsm = c.ipv6cp_fsm
    assert (fsm.restart_interval, fsm.max_configure, fsm.max_terminate, fsm.max_failure) == (
        7.0,
        4,
        3,
        2,
    )
    assert opts("ipv6cp-nosend").ipv6cp_nosend


def test_use_ipaddr_takes_the_ipv4_addresses(tmp_path: Path) -> None:
    c = config(tmp_path, "10.99.0.1:10.99.0.2", "ipv6cp-use-ipaddr")
    assert c.ipv6cp is not None
    assert c.ipv6cp.local == bytes.fromhex("000000000a630001")
    assert c.ipv6cp.remote == bytes.fromhex("000000000a630002")
    # Explicit identifiers win (pppd's order).
    c = config(tmp_path, "10.99.0.1:10.99.0.2", "ipv6cp-use-ipaddr", "ipv6", "::1,")
    assert c.ipv6cp is not None
    assert (c.ipv6cp.local, c.ipv6cp.remote) == (ONE, bytes.fromhex("000000000a630002"))


def test_use_persistent_takes_the_mac(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    c = config(tmp_path, "ipv6cp-use-persistent", hwaddr=bytes.fromhex("001122334455"))
    assert c.ipv6cp is not None
    # RFC 2472 §4.1 as pppd's eui48_to_eui64 does it: 0x02 ORed into the first octet.
    assert c.ipv6cp.local == bytes.fromhex("021122fffe334455")
    c = config(tmp_path, "ipv6cp-use-persistent")
    assert c.ipv6cp is not None
    assert c.ipv6cp.local is None  # random, as pppd after its error line
    assert "ipv6cp: no persistent id can be found" in caplog.messages


def test_noip_runs_no_ipcp(tmp_path: Path) -> None:
    assert config(tmp_path, "noip").ipcp is None
    assert config(tmp_path, "-ip").ipcp is None
    assert config(tmp_path).ipcp is not None


def test_defaultroute6_and_masquerade_are_privileged() -> None:
    for word in ("defaultroute6", "masquerade"):
        assert OPTION_WORDS[word].privileged
        with pytest.raises(ConfigError, match="requires root privilege"):
            options_from_words(command_line_words([word]), privileged=False)
    assert opts("defaultroute6", "nodefaultroute6").defaultroute6 is False
    assert opts("masquerade").masquerade
    assert OPTION_WORDS["masquerade"].extension
    assert not OPTION_WORDS["ipv6"].extension


@pytest.mark.parametrize(
    ("number", "identifier"),
    [
        # pppd 2.5.3 ipv6_check_options: a MAC (EUI-48 to EUI-64, 0x02 ORed in) ...
        ("00:11:22:33:44:55", "021122fffe334455"),
        ("0:1:2:a:b:c", "020102fffe0a0b0c"),
        ("1:2:3:4:5:6:7:8", "030203fffe040506"),  # sscanf takes six numbers first, as pppd
        # ... an IPv4 address in the low 32 bits, an IPv6 address's low 64 bits ...
        ("10.99.0.2", "000000000a630002"),
        ("2001:db8::1:2", "0000000000010002"),
        # ... a telephone number, '+' skipped, as a 64-bit number.
        ("+4930123456", f"{4930123456:016x}"),
        ("5551234", f"{5551234:016x}"),
        # Nothing usable, or zero: negotiated instead.
        ("0", None),
        ("0.0.0.0", None),
        ("555-1234", None),
        ("", None),
        ("18446744073709551616", None),  # strtoull's ERANGE
        ("fe80::1%eth0", None),
    ],
)
def test_remotenumber_identifier(number: str, identifier: str | None) -> None:
    expected = bytes.fromhex(identifier) if identifier is not None else None
    assert remotenumber_identifier(number) == expected


def test_use_remotenumber_sets_the_peer_identifier(tmp_path: Path) -> None:
    words = ("remotenumber", "10.99.0.2", "ipv6cp-use-remotenumber")
    c = config(tmp_path, *words)
    assert c.ipv6cp is not None
    assert (c.ipv6cp.local, c.ipv6cp.remote) == (None, bytes.fromhex("000000000a630002"))
    # Only with the word, only when remotenumber is given, and `ipv6 ,B` wins (pppd's order),
    # ahead of ipv6cp-use-ipaddr.
    assert config(tmp_path, "remotenumber", "10.99.0.2").ipv6cp == Ipv6cpConfig()
    assert config(tmp_path, "ipv6cp-use-remotenumber").ipv6cp == Ipv6cpConfig()
    c = config(tmp_path, *words, "ipv6", ",::9")
    assert c.ipv6cp is not None
    assert c.ipv6cp.remote == bytes.fromhex("0000000000000009")
    c = config(tmp_path, *words, "10.99.0.1:10.99.0.7", "ipv6cp-use-ipaddr")
    assert c.ipv6cp is not None
    assert (c.ipv6cp.local, c.ipv6cp.remote) == (
        bytes.fromhex("000000000a630001"),
        bytes.fromhex("000000000a630002"),
    )


def test_script_paths_and_route_metric() -> None:
    o = opts()
    assert (o.ipv6_up_script, o.ipv6_down_script, o.defaultroute6_metric) == (None, None, 0)
    o = opts(
        "ipv6-up-script",
        "/opt/up6",
        "ipv6-down-script",
        "/opt/down6",
        "defaultroute6-metric",
        "300",
    )
    assert (o.ipv6_up_script, o.ipv6_down_script, o.defaultroute6_metric) == (
        "/opt/up6",
        "/opt/down6",
        300,
    )
    assert opts("defaultroute6-metric", "-1").defaultroute6_metric == -1  # as pppd's limit
    with pytest.raises(ConfigError, match="defaultroute6-metric"):
        opts("defaultroute6-metric", "-2")
    for word in ("ipv6-up-script", "ipv6-down-script", "defaultroute6-metric"):
        assert OPTION_WORDS[word].privileged
        assert not OPTION_WORDS[word].extension
        with pytest.raises(ConfigError, match="requires root privilege"):
            options_from_words(command_line_words([word, "1"]), privileged=False)


def test_dump_reads_back() -> None:
    words = (
        "noip",
        "ipv6",
        "::1,::dead:beef",
        "ipv6cp-accept-local",
        "ipv6cp-use-ipaddr",
        "ipv6cp-use-remotenumber",
        "ipv6cp-noremote",
        "ipv6cp-nosendip",
        "ipv6cp-restart",
        "5",
        "defaultroute6",
        "defaultroute6-metric",
        "300",
        "ipv6-up-script",
        "/opt/up6",
        "ipv6-down-script",
        "/opt/down6",
        "masquerade",
    )
    o = opts(*words)
    lines = dump(o)
    assert "ipv6 ::1,::dead:beef\t\t# (from command line)" in lines
    assert "ipv6cp-nosend\t\t# (from command line)" in lines
    assert "masquerade\t\t# (from command line) pyppp extension" in lines
    assert "noip\t\t# (from command line)" in lines
    again = opts(*(w for line in lines[1:] for w in line.split("\t")[0].split()))
    for name in (
        "ip",
        "ipv6",
        "ipv6_local",
        "ipv6_remote",
        "ipv6cp_accept_local",
        "ipv6cp_use_ipaddr",
        "ipv6cp_use_remotenumber",
        "ipv6cp_noremote",
        "ipv6cp_nosend",
        "ipv6cp_restart",
        "defaultroute6",
        "defaultroute6_metric",
        "ipv6_up_script",
        "ipv6_down_script",
        "masquerade",
    ):
        assert getattr(again, name) == getattr(o, name), name
    assert "defaultroute6-metric 300\t\t# (from command line)" in lines
    assert "ipv6-up-script /opt/up6\t\t# (from command line)" in lines
    separate = dump(options_from_words([*command_line_words(["ipv6", ",::2"])]))
    assert "ipv6 ,::2\t\t# (from command line)" in separate
    assert "noipv6\t\t# (from command line)" in dump(opts("noipv6"))


@pytest.mark.parametrize("argument", ["fe80::1,", ",2001:db8::2", "::1,nonsense"])
def test_the_cli_says_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argument: str
) -> None:
    from pyppp.cli import main

    status = main(["dial", "/dev/null", "--config-dir", str(tmp_path), "ipv6", argument])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Illegal interface identifier" in err[0]
