"""pppd's options and secrets files -> LinkConfig: what pppd decides at start-up."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pyppp.aio.files import read_limited
from pyppp.auth.chap import ChapAuthenticator, ChapPeer
from pyppp.ccp.deflate import DeflateConfig
from pyppp.ccp.negotiator import CcpConfig
from pyppp.errors import ConfigError
from pyppp.events import AuthMethod
from pyppp.lcp.options import ChapAlgorithm
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.options import load_options
from pyppp.pppd.session import SessionAuth, local_name
from tests.pppdconfig import link_config_from_words, write_private


def make(tmp_path: Path, words: list[str], *, pap: str | None = None, chap: str | None = None,
         hosts: str = "") -> LinkConfig:  # fmt: skip
    for name, text in (("pap-secrets", pap), ("chap-secrets", chap)):
        if text is not None:
            write_private(tmp_path / name, text)
    return link_config_from_words(tmp_path, words, hosts=hosts)


def test_noauth_client_with_pap_secret_can_do_pap_only(tmp_path: Path) -> None:
    config = make(tmp_path, ["noauth", "user", "zaphod"], pap="zaphod * gargleBlaster\n")
    assert config.lcp.require_auth == ()
    assert config.lcp.allow_auth == (PPPProtocol.PAP,)


def test_password_option_allows_both(tmp_path: Path) -> None:
    config = make(tmp_path, ["user", "zaphod", "password", "x"])
    assert set(config.lcp.allow_auth) == {PPPProtocol.PAP, PPPProtocol.CHAP}


def test_refuse_words_are_honoured(tmp_path: Path) -> None:
    refuse_all_chap = ["refuse-chap", "refuse-mschap", "refuse-mschap-v2"]
    config = make(tmp_path, ["user", "zaphod", "password", "x", *refuse_all_chap])
    assert config.lcp.allow_auth == (PPPProtocol.PAP,)
    # pppd: refuse-chap refuses CHAP with MD5 only; MS-CHAP stays possible.
    config = make(tmp_path, ["user", "zaphod", "password", "x", "refuse-chap"])
    assert config.lcp.allow_auth == (PPPProtocol.CHAP, PPPProtocol.PAP)
    assert config.lcp.allow_chap_algorithms == (ChapAlgorithm.MS_V2, ChapAlgorithm.MS)


def test_auth_asks_only_for_protocols_with_secrets(tmp_path: Path) -> None:
    # pppd auth_reset: CHAP dropped without chap-secrets; PAP kept thanks to pap-secrets.
    config = make(tmp_path, ["auth"], pap="zaphod griis gargleBlaster *\n")
    assert config.lcp.require_auth == (PPPProtocol.PAP,)


def test_auth_prefers_chap_when_both_exist(tmp_path: Path) -> None:
    config = make(tmp_path, ["auth"], pap="zaphod * x *\n", chap="zaphod * y *\n")
    assert config.lcp.require_auth == (PPPProtocol.CHAP, PPPProtocol.PAP)


def test_auth_without_any_secret_stops_like_pppd(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make(tmp_path, ["auth", "require-pap"])
    assert info.value.exit_status == 1
    assert "required to authenticate itself" in str(info.value)
    assert "couldn't find any suitable secret" in str(info.value)


def test_login_makes_pap_possible_without_secrets(tmp_path: Path) -> None:
    # The HOWTO: `auth login` with the catch-all line checks system passwords.
    config = make(tmp_path, ["auth", "login", "+pap", "-chap"], pap='* * "" *\n')
    assert config.lcp.require_auth == (PPPProtocol.PAP,)


def test_login_with_chap_alone_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CHAP never sends the password"):
        make(tmp_path, ["auth", "login", "require-chap"], chap="* * x *\n")


def test_addresses_resolved_through_hosts_file(tmp_path: Path) -> None:
    hosts = "192.168.0.1 ppp_laplink_host\n192.168.1.1 serial_laplink_client\n"
    config = make(tmp_path, ["ppp_laplink_host:serial_laplink_client"], hosts=hosts)
    assert config.ipcp is not None
    assert config.ipcp.local == IPv4Address("192.168.0.1")
    assert config.ipcp.remote == IPv4Address("192.168.1.1")


def test_unknown_host_is_an_option_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make(tmp_path, ["nosuchhost:10.0.0.2"])
    assert info.value.exit_status == 2


def test_timers_counters_and_limits_reach_the_link(tmp_path: Path) -> None:
    words = [
        "lcp-restart", "1", "lcp-max-configure", "4", "lcp-echo-interval", "5",
        "lcp-echo-failure", "3", "passive", "idle", "60", "maxconnect", "600",
        "escape", "11,13", "ms-dns", "10.99.0.53", "debug", "debug", "show-password",
    ]  # fmt: skip
    config = make(tmp_path, words)
    assert config.lcp_fsm.restart_interval == 1.0
    assert config.lcp_fsm.max_configure == 4
    assert config.lcp_fsm.passive
    assert (config.echo_interval, config.echo_failure) == (5.0, 3)
    assert (config.idle, config.max_connect) == (60.0, 600.0)
    assert config.escape == frozenset({0x11, 0x13})
    assert config.ipcp is not None
    assert config.ipcp.ms_dns == (IPv4Address("10.99.0.53"),)
    assert config.trace_echo
    assert config.show_password
    assert config.defer_network_log


def test_selftest_command_passes(capsys: pytest.CaptureFixture[str]) -> None:
    from pyppp.cli import main

    assert main(["selftest", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "MB/s" in out


# -- MS-CHAP (RFC 2433, RFC 2759) -------------------------------------------------------------

MD5, MS, MS_V2 = ChapAlgorithm.MD5, ChapAlgorithm.MS, ChapAlgorithm.MS_V2


@pytest.mark.parametrize(
    ("words", "algorithms"),
    [
        (["require-mschap-v2"], (MS_V2,)),
        (["+mschap"], (MS,)),
        (["require-mschap", "require-chap"], (MD5, MS)),
        (["require-mschap", "require-mschap-v2", "require-chap"], (MD5, MS_V2, MS)),
        (["auth"], (MD5, MS_V2, MS)),  # pppd: `auth` alone asks for every CHAP flavour
    ],
)
def test_chap_flavours_required_in_pppds_order(
    tmp_path: Path, words: list[str], algorithms: tuple[ChapAlgorithm, ...]
) -> None:
    config = make(tmp_path, words, chap="zaphod griis s3cret *\n")
    assert config.lcp.require_auth == (PPPProtocol.CHAP,)
    assert config.lcp.chap_algorithms == algorithms


def test_every_flavour_is_allowed_unless_refused(tmp_path: Path) -> None:
    config = make(tmp_path, ["user", "zaphod"], chap="zaphod * s3cret\n")
    assert config.lcp.allow_auth == (PPPProtocol.CHAP,)
    assert config.lcp.allow_chap_algorithms == (MD5, MS_V2, MS)
    config = make(tmp_path, ["user", "zaphod", "refuse-mschap-v2", "-mschap"])
    assert config.lcp.allow_chap_algorithms == (MD5,)


def test_login_with_ms_chap_alone_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make(tmp_path, ["auth", "login", "require-mschap-v2"], chap="* * x *\n")
    assert str(info.value).startswith(
        "login cannot be used with require-mschap-v2 alone: MS-CHAP never sends the password"
    )


def test_ms_chap_engines_get_pppds_words(tmp_path: Path) -> None:
    words = ["require-mschap-v2", "chapms-strip-domain", "chap-timeout", "7", "chap-interval", "9"]
    config = make(tmp_path, words, chap="zaphod griis s3cret *\n")
    assert config.auth is not None
    auth = config.auth.authenticator(PPPProtocol.CHAP, algorithm=MS_V2)
    peer = config.auth.peer(PPPProtocol.CHAP, algorithm=MS_V2)
    assert isinstance(auth, ChapAuthenticator)
    assert isinstance(peer, ChapPeer)
    assert (auth.method, auth.strip_domain, auth.interval) == (AuthMethod.MSCHAP_V2, True, 9.0)
    assert (peer.method, peer.timeout) == (AuthMethod.MSCHAP_V2, 7.0)


# -- pppd words that change start-up decisions --------------------------------------------------


def test_name_domain_and_usehostname(tmp_path: Path) -> None:
    def our(words: list[str]) -> str:
        options = load_options("/dev/ttyS1", words, read_file=read_limited, config_dir=tmp_path)
        return local_name(options, "griis")

    assert our([]) == "griis"
    assert our(["domain", "example.org"]) == "griis.example.org"  # pppd setdomain
    assert our(["domain", ".example.org"]) == "griis.example.org"
    assert our(["name", "box"]) == "box"
    assert our(["name", "box", "usehostname", "domain", "lan"]) == "griis.lan"


def test_allow_number_is_a_prefix_as_in_pppd(tmp_path: Path) -> None:
    config = make(tmp_path, ["allow-number", "555*", "remotenumber", "5551234", "noauth"])
    assert isinstance(config, LinkConfig)
    make(tmp_path, ["allow-number", "555", "remotenumber", "5559", "noauth"])  # atoi-style prefix
    with pytest.raises(ConfigError) as info:
        make(tmp_path, ["allow-number", "555*", "remotenumber", "4441234", "noauth"])
    assert info.value.exit_status == 21  # pppd EXIT_CNID_AUTH_FAILED
    assert str(info.value) == "calling number 4441234 is not authorized"


def test_allow_ip_limits_an_unauthenticated_peer(tmp_path: Path) -> None:
    config = make(tmp_path, ["noauth", "allow-ip", "10.99.7.0/24"])
    assert config.ipcp is not None
    assert config.ipcp.allowed_remote.permits(IPv4Address("10.99.7.9"))
    assert not config.ipcp.allowed_remote.permits(IPv4Address("10.99.8.9"))
    anyone = make(tmp_path, ["noauth"])
    assert anyone.ipcp is not None
    assert anyone.ipcp.allowed_remote.permits(IPv4Address("10.99.8.9"))


def test_noip_and_lcp_words_reach_the_link(tmp_path: Path) -> None:
    config = make(tmp_path, ["noip", "receive-all", "lcp-echo-adaptive", "noauth"])
    assert config.ipcp is None
    assert config.require_network  # pppd closes the link: "No network protocols running"
    assert (config.receive_all, config.echo_adaptive) == (True, True)


def test_no_error_for_secrets_files_not_needed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # pppd's start-up checks (have_pap_secret...) are silent about files that are not there.
    caplog.set_level(logging.DEBUG)
    make(tmp_path, ["noauth", "user", "zaphod", "password", "x"])
    make(tmp_path, ["noauth", "user", "zaphod"])
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_chap_timeout_and_papcrypt_reach_the_engines(tmp_path: Path) -> None:
    config = make(
        tmp_path,
        ["auth", "require-pap", "papcrypt", "chap-timeout", "7", "user", "zaphod", "password", "x"],
        pap="* * x *\n",
    )
    assert isinstance(config.auth, SessionAuth)
    peer = config.auth.peer(PPPProtocol.CHAP)
    assert peer is not None
    assert peer.timeout == 7.0  # type: ignore[attr-defined]
    authenticator = config.auth.authenticator(PPPProtocol.PAP)
    assert authenticator is not None
    assert authenticator.papcrypt  # type: ignore[attr-defined]


def test_ccp_with_deflate_15_is_pppds_default(tmp_path: Path) -> None:
    config = make(tmp_path, ["noauth"])
    assert config.ccp == CcpConfig(deflate=DeflateConfig(15, 15, rfc=True, draft=True))
    assert make(tmp_path, ["noauth", "noccp"]).ccp is None


@pytest.mark.parametrize(
    ("words", "deflate"),
    [
        (["deflate", "12"], DeflateConfig(12, 12)),
        (["deflate", "15,9", "nodeflatedraft"], DeflateConfig(15, 9, draft=False)),
        (["deflate", "8"], DeflateConfig(9, 9)),  # pppd: "changed to 9 to avoid zlib bug"
        (["deflate", "0,15"], DeflateConfig(0, 15)),
        (["nodeflate"], None),
        (["-deflate"], None),
        (["deflate", "0"], None),
    ],
)
def test_deflate_words_reach_ccp(
    tmp_path: Path, words: list[str], deflate: DeflateConfig | None
) -> None:
    config = make(tmp_path, ["noauth", *words])
    assert config.ccp == CcpConfig(deflate=deflate)


def test_ccp_counters_reach_its_automaton(tmp_path: Path) -> None:
    words = ["noauth", "ccp-restart", "2", "ccp-max-configure", "4"]
    words += ["ccp-max-terminate", "3", "ccp-max-failure", "6"]
    fsm = make(tmp_path, words).ccp_fsm
    assert (fsm.restart_interval, fsm.max_configure, fsm.max_terminate, fsm.max_failure) == (
        2.0,
        4,
        3,
        6,
    )


@pytest.mark.parametrize("text", ["16", "7", "x", "15,", "15,16"])
def test_bad_deflate_values_are_pppds_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="deflate option"):
        make(tmp_path, ["noauth", "deflate", text])
