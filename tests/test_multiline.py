"""Several lines in one process, without namespaces: the pool, the CLI's checks, the gate, logs."""

from __future__ import annotations

import logging
import subprocess
import sys
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.aio.logs import LogSetup
from pyppp.aio.multiline import DetachGate, line_label, line_loggers, raise_fd_limit
from pyppp.cli.pppd import check_lines, split_devices
from pyppp.errors import ConfigError
from pyppp.pppd.options import PppOptions, check_options, options_from_words
from pyppp.pppd.pool import MAX_POOL, AddressPool, parse_pool
from pyppp.pppd.words import parse_words

# -- the pool --------------------------------------------------------------------------------


def test_pool_hands_out_lowest_free_and_takes_back() -> None:
    pool = AddressPool.from_text("10.99.16.10-10.99.16.12")
    assert (pool.size, pool.free, str(pool)) == (3, 3, "10.99.16.10-10.99.16.12")
    got = [pool.take(f"line{i}") for i in range(3)]
    assert got == [
        IPv4Address("10.99.16.10"),
        IPv4Address("10.99.16.11"),
        IPv4Address("10.99.16.12"),
    ]
    assert pool.take("line3") is None  # exhausted
    assert pool.holder(IPv4Address("10.99.16.11")) == "line1"
    pool.release(IPv4Address("10.99.16.11"))
    pool.release(IPv4Address("10.99.16.99"))  # not ours: nothing happens
    assert pool.free == 1
    assert pool.take("line4") == IPv4Address("10.99.16.11")


def test_pool_single_address() -> None:
    assert parse_pool("10.99.16.5") == (IPv4Address("10.99.16.5"),) * 2


@pytest.mark.parametrize(
    "text", ["10.99.16.10-", "x-10.0.0.1", "10.0.0.9-10.0.0.1", "10.0.0.0-10.2.0.0", "::1-::2"]
)
def test_pool_bad_ranges(text: str) -> None:
    with pytest.raises(ConfigError, match="ip-pool"):
        parse_pool(text)


@given(st.integers(1, 64), st.lists(st.tuples(st.booleans(), st.integers(0, 80)), max_size=200))
def test_pool_never_hands_out_an_address_twice(size: int, steps: list[tuple[bool, int]]) -> None:
    pool = AddressPool(
        IPv4Address("10.99.16.0"), IPv4Address(int(IPv4Address("10.99.16.0")) + size - 1)
    )
    mine: set[IPv4Address] = set()
    for take, which in steps:
        if take:
            address = pool.take("x")
            assert (address is None) == (len(mine) == size)
            if address is not None:
                assert address not in mine
                mine.add(address)
        elif mine:
            address = sorted(mine)[which % len(mine)]
            pool.release(address)
            mine.discard(address)
        assert pool.free == size - len(mine)
    assert size <= MAX_POOL


def test_ip_pool_word_is_checked() -> None:
    options = options_from_words(parse_words("ip-pool 10.99.16.10-10.99.16.20", "cmd"))
    assert options.ip_pool == "10.99.16.10-10.99.16.20"
    check_options(options)
    bad = options_from_words(parse_words("ip-pool 10.99.16.20-10.99.16.10", "cmd"))
    with pytest.raises(ConfigError, match="comes before"):
        check_options(bad)


# -- the command line ------------------------------------------------------------------------


def test_split_devices() -> None:
    assert split_devices("/dev/ttyS0", ["ttyS1", "/dev/ttyUSB0", "debug", "ttyS3"]) == (
        ["/dev/ttyS0", "ttyS1", "/dev/ttyUSB0"],
        ["debug", "ttyS3"],
    )
    assert split_devices(None, ["debug"]) == ([], ["debug"])
    assert split_devices("/dev/ttyS0", ["10.0.0.1:"]) == (["/dev/ttyS0"], ["10.0.0.1:"])


def _line(device: str, *words: str) -> PppOptions:
    return options_from_words(parse_words(" ".join((device, *words)), "cmd"))


def test_check_lines_accepts_distinct_lines() -> None:
    check_lines([_line("/dev/ttyS0"), _line("/dev/ttyS1", "ifname", "a"), _line("/dev/ttyS2")])
    check_lines([_line("/dev/ttyS0", "ifname", "dial%d"), _line("/dev/ttyS1", "ifname", "dial%d")])


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([("/dev/ttyS0",), ("/dev/ttyS0",)], "same line"),
        ([("/dev/ttyS0", "ifname", "x"), ("/dev/ttyS1", "ifname", "x")], "ifname"),
        ([("/dev/ttyS0", "linkname", "x"), ("/dev/ttyS1", "linkname", "x")], "linkname"),
        ([("/dev/ttyS0", "updetach"), ("/dev/ttyS1",)], "updetach"),
        ([("/dev/ttyS0", "ip-pool", "10.0.0.1-10.0.0.9"), ("/dev/ttyS1",)], "one pool"),
    ],
)
def test_check_lines_refuses(lines: list[tuple[str, ...]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_lines([_line(*words) for words in lines])


# -- the process's parts ---------------------------------------------------------------------


class _FakeDetacher:
    def __init__(self) -> None:
        self.pending = True
        self.calls = 0

    def detach(self) -> None:
        self.calls += 1
        self.pending = False


def test_detach_gate_waits_for_every_line() -> None:
    logs = LogSetup(syslog=False, foreground=False)
    try:
        fake = _FakeDetacher()
        gate = DetachGate(fake, 3, logs)  # type: ignore[arg-type]
        first, second, third = gate.line(0), gate.line(1), gate.line(2)
        first.detach()
        first.detach()  # the same line twice counts once
        second.detach()
        assert fake.calls == 0
        assert third.pending
        third.detach()
        assert fake.calls == 1
        assert not first.pending
    finally:
        logs.close()


def test_line_loggers_prefix_every_message(caplog: pytest.LogCaptureFixture) -> None:
    assert line_label("/dev/pts/3") == "pts/3"
    assert line_label("rfc2217://h:1") == "rfc2217://h:1"
    logger, trace = line_loggers(7, "pts/3%x")
    logging.getLogger("pyppp").propagate = True
    with caplog.at_level(logging.DEBUG, logger="pyppp"):
        logger.info("Connect: %s <--> %s", "ppp0", "/dev/pts/3")
        trace.debug("rcvd [LCP ConfReq id=0x1]")
    assert [r.getMessage() for r in caplog.records] == [
        "pts/3%x: Connect: ppp0 <--> /dev/pts/3",
        "pts/3%x: rcvd [LCP ConfReq id=0x1]",
    ]
    line_loggers(7, "again")  # made again (persist of a test process): one prefix only
    with caplog.at_level(logging.INFO, logger="pyppp"):
        caplog.clear()
        logger.info("x")
    assert caplog.records[0].getMessage() == "again: x"


def test_fd_limit_covers_the_lines(caplog: pytest.LogCaptureFixture) -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        limit = raise_fd_limit(16, logging.getLogger("pyppp.test"))
        assert limit >= 64 + 12 * 16 or before[1] < 64 + 12 * 16
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


_LOW_LIMIT = """
import logging, resource, sys
from pyppp.aio.multiline import raise_fd_limit
resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))
logging.basicConfig(stream=sys.stdout, format="%(message)s")
print(raise_fd_limit(64, logging.getLogger("t")))
"""


def test_fd_limit_warns_when_the_hard_limit_is_too_low() -> None:
    # In a child: a hard limit once lowered cannot be raised again without CAP_SYS_RESOURCE.
    out = subprocess.run(
        [sys.executable, "-c", _LOW_LIMIT], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        "64 lines may need 832 file descriptors, the limit is 100 (raise it: ulimit -n)",
        "100",
    ]
