"""The observability words: ``pcap FILE``, ``metrics [HOST:]PORT``, ``nocontrol``/``control``."""

from __future__ import annotations

import pytest

from pyppp.errors import ConfigError, ExitStatus
from pyppp.pppd.dump import dump
from pyppp.pppd.options import options_from_words
from pyppp.pppd.values import parse_listen_address
from pyppp.pppd.words import parse_words


def _options(text: str, *, privileged: bool = True):  # type: ignore[no-untyped-def]
    return options_from_words(parse_words(text, "test"), privileged=privileged)


def test_defaults_are_a_control_socket_and_nothing_else() -> None:
    options = _options("")
    assert options.control is True
    assert options.metrics is None
    assert options.pcap is None


def test_the_words_set_their_fields_and_dump_reads_back() -> None:
    options = _options("pcap /tmp/line.pcap metrics 0.0.0.0:9100 nocontrol")
    assert (options.pcap, options.metrics, options.control) == (
        "/tmp/line.pcap",
        "0.0.0.0:9100",
        False,
    )
    text = "\n".join(line.split("\t")[0] for line in dump(options)[1:])
    again = _options(text)
    assert (again.pcap, again.metrics, again.control) == ("/tmp/line.pcap", "0.0.0.0:9100", False)
    assert _options("nocontrol control").control is True


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("9100", ("127.0.0.1", 9100)),
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:9100", ("::1", 9100)),
        ("[::]:1", ("::", 1)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_listen_addresses(text: str, address: tuple[str, int]) -> None:
    assert parse_listen_address(text, "metrics", "test") == address


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (":9100", "say which address"),
        ("0", "1 to 65535"),
        ("65536", "1 to 65535"),
        ("host:http", "1 to 65535"),
        ("::1:9100", r"\[ADDRESS\]:PORT"),
        ("[nothex]:9100", "bad IPv6"),
        ("bad_host!:9100", "unknown host"),
        ("", "1 to 65535"),
    ],
)
def test_bad_listen_addresses_are_option_errors(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        _options(f"metrics '{text}'")
    assert caught.value.exit_status == ExitStatus.OPTION_ERROR


@pytest.mark.parametrize("word", ["pcap /tmp/x.pcap", "metrics 9100"])
def test_they_are_privileged_as_pppd_words_that_open_files_or_ports(word: str) -> None:
    with pytest.raises(ConfigError, match="requires root privilege"):
        _options(word, privileged=False)
