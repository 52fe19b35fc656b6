"""pppd option words and files -> PppOptions (pyppp/pppd/options.py and friends)."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.aio.files import read_limited
from pyppp.cli.pppd import design_flag_words
from pyppp.errors import ConfigError
from pyppp.pppd import hosts as hosts_module
from pyppp.pppd import options as options_module
from pyppp.pppd.dump import dump
from pyppp.pppd.hosts import resolve_address
from pyppp.pppd.options import PppOptions
from pyppp.pppd.optiontable import OPTION_WORDS, OPTIONS, Kind
from pyppp.pppd.values import is_device_word, tty_options_name
from pyppp.pppd.words import Word, command_line_words, parse_words

VECTORS = Path(__file__).parent / "vectors" / "options"


def load_options(device: str | None, argv: list[str], **kwargs: object) -> PppOptions:
    """The pure reader with the shell's file reader, as the CLI calls it."""
    return options_module.load_options(device, argv, read_file=read_limited, **kwargs)  # type: ignore[arg-type]


def options_from_words(words: list[Word], **kwargs: object) -> PppOptions:
    return options_module.options_from_words(words, read_file=read_limited, **kwargs)  # type: ignore[arg-type]


def parse_hosts_file(path: Path) -> dict[str, str]:
    return hosts_module.parse_hosts_file(path, read_file=read_limited)


def words(text: str, source: str = "f") -> list[str]:
    return [w.text for w in parse_words(text, source)]


def opts(text: str, **kwargs: object) -> PppOptions:
    return options_from_words(parse_words(text, "test"), **kwargs)


def error(text: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        opts(text, **kwargs)
    assert info.value.exit_status == 2
    return info.value


# -- word syntax (pppd's getword) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lock auth\tlogin\n", ["lock", "auth", "login"]),
        ("  # a comment\nlock # another\n#last", ["lock"]),
        ("abc#def ghi", ["abc"]),  # '#' ends the word and starts a comment, as in pppd
        ("'a b' \"c d\"", ["a b", "c d"]),
        ('a"b c"d', ["ab cd"]),  # a quoted section inside a word
        ("'#not a comment' x", ["#not a comment", "x"]),
        ('"it\'s" \'say "hi"\'', ["it's", 'say "hi"']),
        ('"" x', ["", "x"]),
        ('x ""', ["x", ""]),  # an empty word at the end of the file (pppd dropped it)
        (r"a\ b", ["a b"]),
        (r"\\ \" \' \#", ["\\", '"', "'", "#"]),
        (r"\a\b\f\n\r\t\s", ["\a\b\f\n\r\t "]),
        (r"\101\x41\x4a\x4A", ["AAJJ"]),
        (r"\1012 \x414", ["A2", "A4"]),  # at most 3 octal / 2 hex digits
        (r"\v\q\^c", ["vq^c"]),  # pppd has no \v or \^c: the character stands for itself
        ("lo\\\nck", ["lock"]),  # backslash-newline inside a word
        ("lock \\\n auth", ["lock", "auth"]),
        ("'a\\\nb'", ["ab"]),
        ("lock\r\nauth\r\n", ["lock", "auth"]),  # CRLF files
        ("\\x7e", ["~"]),
        (r"\377", ["\xff"]),
        (r"\777", ["\xff"]),  # pppd keeps the low 8 bits
        ("a\u00a0b", ["a\u00a0b"]),  # NO-BREAK SPACE is not C white space
        ("", []),
        ("\\", []),
    ],
)
def test_getword(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_word_sources_are_path_and_line() -> None:
    text = "lock\n\n# c\nconnect 'chat\n-v'\nname \\\nzaphod\n"
    assert parse_words(text, "/etc/ppp/options") == [
        Word("lock", "/etc/ppp/options:1"),
        Word("connect", "/etc/ppp/options:4"),
        Word("chat\n-v", "/etc/ppp/options:4"),  # a word is placed on the line it starts
        Word("name", "/etc/ppp/options:6"),
        Word("zaphod", "/etc/ppp/options:7"),
    ]
    assert command_line_words(["/dev/ttyS1", "-detach"]) == [
        Word("/dev/ttyS1", "command line"),
        Word("-detach", "command line"),
    ]


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("lock\nconnect 'chat -v\n\n", "quoted word runs to end of file", 2),
        ('x\n\n"abc', 'missing closing "', 3),
        ("a" * 1024, "word too long", 1),
        ("ok\n" + "'" + "b" * 2000 + "'", "word too long", 2),
        (r"pass\x00word", "NUL character", 1),
        (r"\x", "NUL character", 1),
        (b"name caf\xe9\n".decode("utf-8", "surrogateescape"), "not valid UTF-8", 1),
    ],
)
def test_malformed_words(text: str, fragment: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_words(text, "/etc/ppp/peers/x")
    assert fragment in info.value.message
    assert info.value.source == f"/etc/ppp/peers/x:{line}"
    assert str(info.value).startswith(f"/etc/ppp/peers/x:{line}: ")


def test_undecodable_bytes_in_comments_are_fine() -> None:
    text = b"# r\xe9seau du bureau\nlock\n".decode("utf-8", "surrogateescape")
    assert words(text) == ["lock"]
    assert words(r"\1023 ok") == ["B3", "ok"]


def test_longest_word_is_accepted() -> None:
    assert words("x" * 1023) == ["x" * 1023]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab #'\"\\\n\t:/0x1-+\u2212\udcff"))) | st.text())
def test_any_text_raises_only_config_error(text: str) -> None:
    try:
        found = parse_words(text, "fuzz")
    except ConfigError:
        return
    with contextlib.suppress(ConfigError):
        options_from_words(found, config_dir=Path("/nonexistent/pyppp-test"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*OPTION_WORDS, "1", "0x10", "a:b", ":", "ttyS0"]) | st.text()))
def test_any_command_line_raises_only_config_error(argv: list[str]) -> None:
    argv = [a for a in argv if a not in ("file", "call")]  # no file system lottery
    with contextlib.suppress(ConfigError):
        load_options(None, argv, config_dir=Path("/nonexistent/pyppp-test"))


# -- the Serial-Laplink-HOWTO's files --------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "argv"),
    [("/dev/ttyS1", ["-detach"]), (None, ["/dev/ttyS1", "-detach"]), ("ttyS1", ["nodetach"])],
)
def test_howto_server(device: str | None, argv: list[str]) -> None:
    d = VECTORS / "howto-server"
    o = load_options(device, argv, config_dir=d)
    assert o.device == "/dev/ttyS1"
    assert (o.lock, o.auth, o.login) == (True, True, True)
    assert (o.asyncmap, o.crtscts, o.modem, o.silent) == (0, True, False, True)
    assert (o.require_pap, o.refuse_chap, o.require_chap, o.refuse_pap) == (
        True,
        True,
        False,
        False,
    )
    assert o.speed == 115200
    assert (o.local_ip, o.remote_ip) == ("ppp_laplink_host", "serial_laplink_client")
    assert o.nodetach
    assert o.sources["lock"] == f"{d}/options:2"
    assert o.sources["login"] == f"{d}/options:10"
    assert o.sources["refuse_chap"] == f"{d}/options.ttyS1:17"
    assert o.sources["local_ip"] == f"{d}/options.ttyS1:20"
    assert o.sources["nodetach"] == "command line"
    hosts = parse_hosts_file(d / "hosts")
    assert o.local_ip is not None
    assert o.remote_ip is not None
    assert resolve_address(o.local_ip, hosts) == "192.168.0.1"
    assert resolve_address(o.remote_ip, hosts) == "192.168.1.1"


def test_howto_server_for_windows_clients() -> None:
    o = load_options("/dev/ttyS1", [], config_dir=VECTORS / "howto-server-windows")
    assert o.connect == "chat -v -f /etc/ppp/scripts/winclient.chat"
    assert o.sources["connect"].endswith("options.ttyS1:21")


def test_howto_copied_from_the_pdf_gives_one_clear_error() -> None:
    d = VECTORS / "howto-server-pdf"
    with pytest.raises(ConfigError) as info:
        load_options("/dev/ttyS1", [], config_dir=d)
    err = info.value
    assert err.source == f"{d}/options.ttyS1:17"
    assert err.exit_status == 2
    assert "unrecognized option '\u2212chap'" in err.message
    assert "U+2212 MINUS SIGN" in err.message
    assert "did you mean '-chap'?" in err.message


def test_howto_client() -> None:
    d = VECTORS / "howto-client"
    o = load_options("/dev/ttyS0", ["-detach"], config_dir=d, privileged=False)
    assert (o.lock, o.speed, o.crtscts, o.modem) == (True, 115200, True, False)
    assert (o.name, o.auth, o.nodetach) == ("zaphod", False, True)
    assert o.sources["auth"] == f"{d}/options.ttyS0:6"


def test_howto_client_unquoted_connect_is_explained() -> None:
    d = VECTORS / "howto-client-windows"
    with pytest.raises(ConfigError) as info:
        load_options("/dev/ttyS0", [], config_dir=d)
    assert info.value.source == f"{d}/options.ttyS0:7"
    assert info.value.message == (
        "unrecognized option '-v' (if it belongs to the connect command, quote the whole "
        "command: connect 'chat -v ...')"
    )


def test_manpage_isp_example() -> None:
    d = VECTORS / "manpage-isp"
    o = load_options(None, ["call", "isp"], config_dir=d, privileged=False)
    assert (o.device, o.speed, o.crtscts) == ("/dev/ttyS0", 19200, True)
    assert o.connect == "/usr/sbin/chat -v -f /etc/ppp/chat-isp"
    assert o.auth is False  # noauth in the (privileged) call file beats auth in options
    assert o.sources["auth"] == f"{d}/peers/isp:3"
    assert o.sources["device"] == f"{d}/peers/isp:1"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("asyncmap a0000", "asyncmap", 0xA0000),  # pppd(8): escape XON and XOFF
        ("asyncmap 200a0000", "asyncmap", 0x200A0000),  # ... and ^] for telnet
        ("escape ff", "escape", (0xFF,)),  # for rlogin
        ("proxyarp", "proxyarp", True),
    ],
)
def test_manpage_examples(text: str, field: str, value: object) -> None:
    assert getattr(opts(text), field) == value


# -- files, order, file/call -----------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    return tmp_path / "etc-ppp"


def test_order_and_override(etc: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(etc / "options", "holdoff 5\nasyncmap 1\nms-dns 10.0.0.1\ndebug\nescape 11\n")
    write(home / ".ppprc", "holdoff 6\nasyncmap 2\nmaxfail 3\ndebug\n")
    write(etc / "options.ttyS1", "holdoff 7\nasyncmap 4\nms-dns 10.0.0.2\nescape 13,ff\n")
    o = load_options(
        "/dev/ttyS1", ["holdoff", "8", "ms-dns", "10.0.0.3"], config_dir=etc, home=home
    )
    assert o.holdoff == 8
    assert o.sources["holdoff"] == "command line"
    assert o.maxfail == 3
    assert o.sources["maxfail"] == f"{home}/.ppprc:3"
    assert o.asyncmap == 7  # asyncmap options are ORed together (pppd(8))
    assert o.ms_dns == ("10.0.0.2", "10.0.0.3")  # the last two given
    assert o.sources["ms_dns[0]"] == f"{etc}/options.ttyS1:3"
    assert o.debug == 2
    assert o.escape == (0x11, 0x13, 0xFF)
    # options.<tty> is read after ~/.ppprc, so it overrides it; the command line wins.
    o = load_options("/dev/ttyS1", [], config_dir=etc, home=home)
    assert o.holdoff == 7
    assert o.sources["holdoff"] == f"{etc}/options.ttyS1:1"
    # No home: ~/.ppprc is not read at all.
    assert load_options(None, [], config_dir=etc).holdoff == 5


def test_missing_files_are_skipped(etc: Path, tmp_path: Path) -> None:
    o = load_options("/dev/ttyS9", [], config_dir=etc, home=tmp_path / "nobody")
    assert o == PppOptions(device="/dev/ttyS9", sources=o.sources)
    assert dict(o.sources) == {"device": "command line"}


def test_unreadable_options_file_is_a_warning(etc: Path) -> None:
    (etc / "options").mkdir(parents=True)  # reading a directory fails with EISDIR
    o = load_options(None, ["lock"], config_dir=etc)
    assert o.lock
    assert o.warnings == (f"Warning: can't open options file {etc}/options: Is a directory",)


def test_file_and_call_expand_in_place(etc: Path, tmp_path: Path) -> None:
    inc = write(tmp_path / "inc", "mru 1000\nuser bob\n")
    write(etc / "peers" / "work", "mru 1200\nfile " + str(inc) + "\nremotename work\n")
    o = load_options(None, ["mru", "296", "call", "work", "user", "alice"], config_dir=etc)
    assert (o.mru, o.user, o.remotename) == (1000, "alice", "work")
    assert o.sources["mru"] == f"{inc}:1"
    o = load_options(None, ["call", "work", "mru", "296"], config_dir=etc)
    assert o.mru == 296
    # the same file twice, one after the other, is not a loop
    assert load_options(None, ["file", str(inc), "file", str(inc)], config_dir=etc).mru == 1000


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "..", ""])
def test_call_name_may_not_escape_peers(name: str, etc: Path) -> None:
    with pytest.raises(ConfigError, match=r"call option value may not contain \.\. or start"):
        load_options(None, ["call", name], config_dir=etc)


def test_missing_file_and_call_are_errors(etc: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_options(None, ["file", str(tmp_path / "nope")], config_dir=etc)
    assert info.value.message == (
        f"Can't open options file {tmp_path}/nope: No such file or directory"
    )
    assert info.value.source == "command line"
    with pytest.raises(ConfigError, match=r"Can't open options file .*/peers/isp"):
        load_options(None, ["call", "isp"], config_dir=etc)


def test_argument_must_come_from_the_same_file(etc: Path) -> None:
    write(etc / "peers" / "x", "lock\nmru\n")
    with pytest.raises(ConfigError) as info:
        load_options(None, ["call", "x", "1500"], config_dir=etc)
    assert info.value.message == "too few parameters for option 'mru'"
    assert info.value.source == f"{etc}/peers/x:2"


def test_device_may_not_change_in_tty_options(etc: Path) -> None:
    write(etc / "options.ttyS1", "lock\n/dev/ttyS2\n")
    with pytest.raises(ConfigError, match=r"the device name \(/dev/ttyS2\) may not be changed"):
        load_options("ttyS1", [], config_dir=etc)


@pytest.mark.parametrize(
    ("device", "name"),
    [
        ("/dev/ttyS1", "options.ttyS1"),
        ("ttyS1", "options.ttyS1"),
        ("ttyUSB0", "options.ttyUSB0"),
        ("/dev/serial/by-id/x", "options.serial.by-id.x"),
        ("/dev/pts/3", "options.pts.3"),
        ("/tmp/ptyA", "options..tmp.ptyA"),  # pppd: no /dev/ to strip, slashes become dots
        ("/dev/tty", None),
        ("rfc2217://host:2006", None),
        ("socket://localhost:7000", None),
        (None, None),
    ],
)
def test_tty_options_name(device: str | None, name: str | None) -> None:
    assert tty_options_name(device) == name


def test_tty_options_file_for_by_id_device(etc: Path) -> None:
    write(etc / "options.serial.by-id.usb-FTDI-if00", "crtscts\n")
    assert load_options("/dev/serial/by-id/usb-FTDI-if00", [], config_dir=etc).crtscts
    write(etc / "options.ttyUSB0", "xonxoff\n")
    assert load_options(None, ["ttyUSB0"], config_dir=etc).xonxoff


def test_url_device_reads_no_tty_file(etc: Path) -> None:
    o = load_options(None, ["rfc2217://host:2006", "115200"], config_dir=etc)
    assert (o.device, o.speed) == ("rfc2217://host:2006", 115200)


@pytest.mark.parametrize(
    ("word", "device"),
    [
        ("/dev/ttyS0", True),
        ("ttyS0", True),
        ("ttyACM0", True),
        ("rfcomm0", True),
        ("loop://", True),
        ("10.0.0.1:10.0.0.2", False),
        ("115200", False),
        ("lock", False),
    ],
)
def test_is_device_word(word: str, device: bool) -> None:
    assert is_device_word(word) is device


# -- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        ("self", "includes itself"),
        ("loop-a", "includes itself"),
        ("unterminated", "quoted word runs to end of file"),
        ("binary", ""),
    ],
)
def test_hostile_vectors(call: str, fragment: str) -> None:
    d = VECTORS / "hostile"
    with pytest.raises(ConfigError) as info:
        load_options(None, ["call", call], config_dir=d)
    assert fragment in info.value.message
    assert info.value.source is not None
    assert info.value.source.startswith(f"{d}/peers/")


def test_self_inclusion_names_the_chain() -> None:
    d = VECTORS / "hostile"
    with pytest.raises(ConfigError) as info:
        load_options(None, ["call", "loop-a"], config_dir=d)
    assert info.value.message == (
        f"options file {d}/peers/loop-a includes itself "
        f"({d}/peers/loop-a -> {d}/peers/loop-b -> {d}/peers/loop-a)"
    )
    assert info.value.source == f"{d}/peers/loop-b:2"


def test_deep_nesting_is_an_error(etc: Path) -> None:
    for i in range(40):
        write(etc / "peers" / f"p{i}", f"call p{i + 1}\n")
    write(etc / "peers" / "p40", "lock\n")
    with pytest.raises(ConfigError, match="too many nested options files"):
        load_options(None, ["call", "p0"], config_dir=etc)
    assert load_options(None, ["call", "p30"], config_dir=etc).lock


def test_huge_files_and_lines(etc: Path) -> None:
    write(etc / "peers" / "line", "lock " + "x" * 200_000 + "\n")
    with pytest.raises(ConfigError, match="word too long"):
        load_options(None, ["call", "line"], config_dir=etc)
    write(etc / "peers" / "big", "lock\n" * 300_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_options(None, ["call", "big"], config_dir=etc)
    write(etc / "peers" / "comments", ("#" + "y" * 1000 + "\n") * 500 + "lock\n")
    assert load_options(None, ["call", "comments"], config_dir=etc).lock


# -- the option table ------------------------------------------------------------------------


def read_word_vector() -> list[tuple[str, str, str]]:
    rows = []
    for line in (VECTORS / "pppd-option-words.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            word, status, origin = line.split("\t")
            rows.append((word, status, origin))
    return rows


STATUS = {Kind.NOOP: "noop", Kind.NOOP_ARG: "noop", Kind.UNSUPPORTED: "unsupported"}
PPPD_249_WORDS = [row for row in read_word_vector() if row[2].startswith("2.4.9")]


def test_word_vector_holds_all_of_pppd_249() -> None:
    # The 2.4.9 man page's OPTIONS and the 2.4.9 option tables, counted when the list was made.
    words = {w for w, _, origin in PPPD_249_WORDS if not w.startswith("<")}
    assert len(words) == 256
    for word in ("noipx", "ipx-network", "kdebug", "demand", "pty", "notty", "updetach"):
        assert word in words


@pytest.mark.parametrize(("word", "status", "origin"), read_word_vector())
def test_every_pppd_word_is_known(word: str, status: str, origin: str) -> None:
    """Implemented, a documented no-op, or refused with its reason: never silently ignored."""
    assert status in {"supported", "noop", "unsupported", "wild", "absent"}
    if status == "wild":
        return
    if status == "absent":
        # Not in Debian's build of pppd 2.4.9 either: pyppp need not know it; if it does, the
        # entry must be a proper one.
        if word in OPTION_WORDS:
            assert OPTION_WORDS[word].help
        return
    spec = OPTION_WORDS[word]
    assert STATUS.get(spec.kind, "supported") == status
    assert spec.help
    assert not spec.extension


def test_table_covers_only_pppd_words_and_marked_extensions() -> None:
    listed = {w for w, _, _ in read_word_vector()}
    extra = {w for w, spec in OPTION_WORDS.items() if w not in listed}
    assert {w for w in extra if not OPTION_WORDS[w].extension} == set()
    assert extra == {
        "windows",
        "nowindows",
        "masquerade",
        "nomasquerade",
        "pcap",
        "metrics",
        "control",
        "nocontrol",
        "adaptive-mtu",
        "noadaptive-mtu",
        "ip-pool",
        "radius-config-file",
        "avpair",
        "map-to-ttyname",
        "map-to-ifname",
        "ccp-restart",
        "ccp-max-configure",
        "ccp-max-terminate",
        "ccp-max-failure",
        "mppe-prefer-stateful",
    }


@pytest.mark.parametrize(
    "word", sorted(w for w, s in OPTION_WORDS.items() if s.kind in (Kind.NOOP, Kind.NOOP_ARG))
)
def test_noops_are_accepted_recorded_and_dumped(word: str) -> None:
    spec = OPTION_WORDS[word]
    argv = [word, "1"] if spec.kind is Kind.NOOP_ARG else [word]
    o = options_from_words(command_line_words(argv))
    assert o.noops == (spec.name,)
    assert "no-op" in dump(o)[-1]
    assert dump(o)[-1].startswith(" ".join([spec.name, *argv[1:]]) + "\t\t# (from command line)")


def test_table_is_consistent() -> None:
    all_words = [w for spec in OPTIONS for w in spec.words]
    assert len(all_words) == len(set(all_words)), "a word appears twice"
    names = {f.name for f in dataclasses.fields(PppOptions)}
    for spec in OPTIONS:
        assert spec.help
        if spec.kind in (
            Kind.NOOP,
            Kind.NOOP_ARG,
            Kind.UNSUPPORTED,
            Kind.FILE,
            Kind.CALL,
            Kind.UA_FILE,
            Kind.PRIVGROUP,
        ):
            assert spec.field is None
        else:
            assert spec.field in names, spec
            for also, _ in spec.also:
                assert also in names


def test_pppd_defaults() -> None:
    o = PppOptions()
    # options.c, fsm.h (DEFTIMEOUT 3, DEFMAXCONFREQS 10, DEFMAXTERMREQS 2, DEFMAXNAKLOOPS 5),
    # upap.h (UPAP_DEFTIMEOUT 3, UPAP_DEFREQTIME 30), chap-new.c (3 s, 10 transmits).
    assert (o.holdoff, o.maxfail, o.connect_delay) == (30, 10, 1000)
    assert (o.lcp_restart, o.lcp_max_configure, o.lcp_max_terminate, o.lcp_max_failure) == (
        3,
        10,
        2,
        5,
    )
    assert (o.ipcp_restart, o.ipcp_max_configure, o.ipcp_max_terminate, o.ipcp_max_failure) == (
        3,
        10,
        2,
        5,
    )
    assert (o.lcp_echo_interval, o.lcp_echo_failure) == (0, 0)
    assert (o.mru, o.asyncmap, o.auth, o.crtscts, o.modem) == (None, 0, None, None, True)
    assert (o.pap_restart, o.pap_max_authreq, o.pap_timeout) == (3, 10, 30)
    assert (o.chap_restart, o.chap_max_challenge, o.chap_interval) == (3, 10, 0)
    assert (o.pcomp, o.accomp, o.magic, o.hide_password) == (True, True, True, True)
    assert dict(o.sources) == {}


BRIEF_TEXT = (  # the brief's list of everyday words (word=argument)
    "lock auth login crtscts local silent +pap -chap noauth -detach nodetach kdebug=1 "
    "debug defaultroute nodefaultroute replacedefaultroute proxyarp persist nopersist "
    "holdoff=5 maxfail=0 mru=1500 mtu=1500 lcp-echo-interval=30 lcp-echo-failure=4 "
    "lcp-restart=3 lcp-max-configure=10 lcp-max-terminate=2 lcp-max-failure=5 "
    "ipcp-restart=3 ipcp-max-configure=10 ipcp-max-terminate=2 ipcp-max-failure=5 "
    "pap-restart=3 pap-max-authreq=10 pap-timeout=0 chap-restart=3 chap-max-challenge=10 "
    "chap-interval=60 ms-dns=10.0.0.53 ms-wins=10.0.0.54 usepeerdns escape=11,13 passive "
    "noipdefault ipcp-accept-local ipcp-accept-remote ipparam=x logfile=/tmp/log idle=60 "
    "maxconnect=3600 connect-delay=500 disconnect=true init=true connect=true xonxoff "
    "nocrtscts -crtscts modem default-asyncmap -am nopcomp -pc noaccomp -ac nomagic novj -vj "
    "noccp nodeflate -deflate nobsdcomp -bsdcomp noipv6 -ipv6 require-pap +pap require-chap "
    "+chap refuse-pap -pap refuse-chap -chap refuse-mschap refuse-mschap-v2 refuse-eap "
    "hide-password show-password ifname=ppp9 unit=3 dump dryrun updetach linkname=lab "
    "user=zaphod password=secret remotename=server name=box asyncmap=0"
)
BRIEF_WORDS = BRIEF_TEXT.split()


@pytest.mark.parametrize("item", BRIEF_WORDS)
def test_everyday_options_are_accepted(item: str) -> None:
    word, _, argument = item.partition("=")
    o = options_from_words(command_line_words([word, argument] if argument else [word]))
    assert o.sources or o.noops


@pytest.mark.parametrize(
    "word", sorted(w for w, s in OPTION_WORDS.items() if s.kind is Kind.UNSUPPORTED)
)
def test_unsupported_options_fail_clearly(word: str) -> None:
    with pytest.raises(ConfigError) as info:
        options_from_words(command_line_words([word, "x"]))
    assert info.value.message.startswith(f"the '{word}' option is not supported by pyppp (")
    assert info.value.exit_status == 2


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("mru 0x200", "mru", 512),
        ("holdoff 010", "holdoff", 8),  # C strtoul base 0: octal, as in pppd
        ("holdoff +7", "holdoff", 7),
        ("maxfail 0", "maxfail", 0),
        ("asyncmap a0000", "asyncmap", 0xA0000),
        ("asyncmap 0x000A0000", "asyncmap", 0xA0000),
        ("asyncmap FFFFFFFF", "asyncmap", 0xFFFFFFFF),
        ("asyncmap 1 asyncmap 2", "asyncmap", 3),
        ("default-asyncmap", "asyncmap", 0xFFFFFFFF),
        ("default-asyncmap asyncmap 0", "asyncmap", 0xFFFFFFFF),
        ("escape 11,13,ff", "escape", (0x11, 0x13, 0xFF)),
        ("escape 0x7d,0x7E", "escape", (0x7D, 0x7E)),
        ("debug debug -d", "debug", 3),
        ("kdebug 7", "noop_args", {"kdebug": "7"}),
        ("115200", "speed", 115200),
        ("10.0.0.1:10.0.0.2", "remote_ip", "10.0.0.2"),
        (":10.0.0.2", "remote_ip", "10.0.0.2"),
        ("10.0.0.1:", "local_ip", "10.0.0.1"),
        (":", "local_ip", None),
        ("connect 'chat -v -f /etc/ppp/chat'", "connect", "chat -v -f /etc/ppp/chat"),
        ("password ''", "password", ""),
        ("updetach", "nodetach", False),
        ("nodetach updetach", "updetach", True),
        ("require-chap", "auth", True),
        ("noauth require-pap", "auth", True),
        ("local modem", "modem", True),
        ("windows", "windows", True),
        ("novj -vj noccp", "vj", False),
        ("novjccomp", "vjccomp", False),
        ("-vjccomp", "vjccomp", False),
        ("vj-max-slots 4", "vj_max_slots", 4),
        ("", "vj", True),
        ("noccp", "ccp", False),
        ("-ccp", "ccp", False),
    ],
)
def test_values(text: str, field: str, value: object) -> None:
    assert getattr(opts(text), field) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mru 1500k", "invalid numeric parameter '1500k' for mru option"),
        ("mru abc", "invalid numeric parameter 'abc' for mru option"),
        ("mru 09", "invalid numeric parameter '09' for mru option"),
        ("asyncmap zz", "invalid numeric parameter 'zz' for asyncmap option"),
        ("asyncmap 123456789", "numeric parameter '123456789' for asyncmap option is too large"),
        ("mru 64", "mru value must be between 128 and 16384"),
        ("mtu 20000", "mtu value must be between 128 and 16384"),
        ("vj-max-slots 1", "vj-max-slots value must be between 2 and 16"),
        ("vj-max-slots 17", "vj-max-slots value must be between 2 and 16"),
        ("holdoff -1", "holdoff value must be >= 0"),
        ("lcp-restart 0", "lcp-restart value must be >= 1"),
        ("mru", "too few parameters for option 'mru'"),
        ("lock user", "too few parameters for option 'user'"),
        ("escape 20", "can't escape character 0x20"),
        ("escape 5e", "can't escape character 0x5e"),
        ("escape 100", "can't escape character 0x100"),
        ("escape 11,,zz", "escape parameter contains invalid hex number 'zz'"),
        ("ms-dns 300.1.1.1", "unknown host: 300.1.1.1 (for ms-dns)"),
        ("ms-dns a b", "unrecognized option 'b'"),
        ("127.0.0.1:10.0.0.2", "bad local IP address 127.0.0.1"),
        ("10.0.0.1:224.0.0.1", "bad remote IP address 224.0.0.1"),
        ("10.0.0.1:-x", "unknown host: -x (for remote IP address)"),
        ("0", "invalid speed 0"),
        ("foo", "unrecognized option 'foo'"),
        ("detach", "unrecognized option 'detach'"),  # pppd has no such word either
        ("\u2212detach", "did you mean '-detach'?"),
        ("\u2013chap", "U+2013 EN DASH where pppd needs an ASCII '-'"),
        ("\u2018noauth\u2019", "U+2018 LEFT SINGLE QUOTATION MARK"),
        ("\u00e115200", "non-ASCII character U+00E1 LATIN SMALL LETTER A WITH ACUTE"),
        ("connect 'chat \u2212v \u2212f x'", "contains U+2212 MINUS SIGN before a flag"),
        ("init '\u2013f'", "init command '\u2013f' contains U+2013 EN DASH"),
    ],
)
def test_value_errors(text: str, message: str) -> None:
    err = error(text)
    assert message in err.message
    assert err.source == "test:1"


def test_typographic_characters_in_plain_strings_are_kept() -> None:
    # a name or password may hold any text; only commands are checked for pasted dashes
    assert opts("remotename caf\u00e9\u2212bar").remotename == "caf\u00e9\u2212bar"


# -- privilege -------------------------------------------------------------------------------


def test_privileged_options(etc: Path, tmp_path: Path) -> None:
    write(etc / "options", "name host\n")
    write(etc / "peers" / "isp", "noauth\nlinkname isp\n")
    user_file = write(tmp_path / "mine", "noauth\n")
    o = load_options(None, ["call", "isp"], config_dir=etc, privileged=False)
    assert (o.name, o.auth, o.linkname) == ("host", False, "isp")
    with pytest.raises(ConfigError) as info:
        load_options(None, ["noauth"], config_dir=etc, privileged=False)
    assert info.value.message == "using the noauth option requires root privilege"
    assert info.value.source == "command line"
    with pytest.raises(ConfigError, match="requires root privilege"):
        load_options(None, ["file", str(user_file)], config_dir=etc, privileged=False)
    home = tmp_path / "home"
    write(home / ".ppprc", "ifname ppp7\n")
    with pytest.raises(ConfigError, match="using the ifname option requires root"):
        load_options(None, [], config_dir=etc, home=home, privileged=False)
    assert load_options(None, [], config_dir=etc, home=home).ifname == "ppp7"


# -- design flags, dump, hosts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ("pap", ["auth", "require-pap"]),
        ("chap", ["auth", "require-chap"]),
        ("login", ["auth", "require-pap", "login"]),
        ("none", ["noauth"]),
    ],
)
def test_design_flags(auth: str, expected: list[str]) -> None:
    extra = design_flag_words(auth=auth)
    assert [w.text for w in extra] == expected
    o = load_options("ttyS1", [], config_dir=Path("/nonexistent"), extra=extra)
    assert o.auth is (auth != "none")
    assert o.sources["auth"] == f"--auth {auth}"


def test_design_flags_user_password_windows() -> None:
    extra = design_flag_words(user="zaphod", password="gargle Blaster", windows=True)
    o = load_options(None, ["user", "x"], config_dir=Path("/nonexistent"), extra=extra)
    assert (o.user, o.password, o.windows) == ("zaphod", "gargle Blaster", True)
    assert (o.sources["user"], o.sources["windows"]) == ("--user", "--windows")
    with pytest.raises(ConfigError, match="--auth must be one of"):
        design_flag_words(auth="eap")


def test_dump() -> None:
    text = (
        "/dev/ttyS1 115200 lock local debug debug asyncmap a0000 user 'zaphod b'\n"
        "password secret connect 'chat -v' 10.0.0.1:10.0.0.2 ms-dns 10.0.0.53\n"
        "ms-dns 10.0.0.54 noipx escape 11,ff nocrtscts updetach\n"
    )
    assert dump(opts(text)) == [
        "pppd options in effect:",
        "/dev/ttyS1\t\t# (from test:1)",
        "115200\t\t# (from test:1)",
        # words that set more than their own field come first (see pyppp/pppd/dump.py)
        "updetach\t\t# (from test:3)",
        "nocrtscts\t\t# (from test:3)",
        "lock\t\t# (from test:1)",
        "local\t\t# (from test:1)",
        'connect "chat -v"\t\t# (from test:2)',
        "asyncmap a0000\t\t# (from test:1)",
        "escape 11,ff\t\t# (from test:3)",
        "debug debug\t\t# (from test:1)",
        'user "zaphod b"\t\t# (from test:1)',
        "password ??????\t\t# (from test:2)",
        "10.0.0.1:10.0.0.2\t\t# (from test:2)",
        "ms-dns 10.0.0.53\t\t# (from test:2)",
        "ms-dns 10.0.0.54\t\t# (from test:3)",
        "noipx\t\t# (from test:3) no-op: pyppp never negotiates IPXCP",
    ]


def test_dump_values() -> None:
    text = "mru 296 holdoff 0 remotename 'a\\nb' ipparam '' auth noauth crtscts"
    assert dump(opts(text))[1:] == [
        "crtscts\t\t# (from test:1)",
        "holdoff 0\t\t# (from test:1)",
        'ipparam ""\t\t# (from test:1)',
        "mru 296\t\t# (from test:1)",
        "noauth\t\t# (from test:1)",
        'remotename "a\\nb"\t\t# (from test:1)',
    ]


def test_error_previews_show_bytes() -> None:
    with pytest.raises(ConfigError) as info:
        parse_words(b"lock ab\xff\x01c\n".decode("utf-8", "surrogateescape"), "f")
    assert info.value.message.startswith("word is not valid UTF-8 text (ab\\xff\\x01c)")


def test_unreadable_file_and_hosts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Can't open options file .*: Is a directory"):
        load_options(None, ["file", str(tmp_path)], config_dir=tmp_path)
    with pytest.raises(ConfigError, match="Can't read hosts file"):
        parse_hosts_file(tmp_path)


def test_dump_separate_addresses() -> None:
    lines = dump(opts("10.0.0.1:\n:10.0.0.2\n"))
    assert lines[1:] == ["10.0.0.1:\t\t# (from test:1)", ":10.0.0.2\t\t# (from test:2)"]


def test_hosts(tmp_path: Path) -> None:
    hosts_file = write(
        tmp_path / "hosts",
        "# comment\n127.0.0.1 localhost\n192.168.0.1 Host_A alias # trailing\n"
        "10.0.0.9 host_a\n::1 ip6-localhost\nnot-an-ip name\nbroken\n",
    )
    hosts = parse_hosts_file(hosts_file)
    assert hosts == {"localhost": "127.0.0.1", "host_a": "192.168.0.1", "alias": "192.168.0.1"}
    assert resolve_address("HOST_A", hosts) == "192.168.0.1"  # first line wins, any case
    assert resolve_address("10.1.2.3", hosts) == "10.1.2.3"
    assert resolve_address("unknown", hosts) is None
    assert parse_hosts_file(tmp_path / "missing") == {}


# -- Debian's own /etc/ppp/options -----------------------------------------------------------


def test_debian_stock_options_file_works_unchanged(tmp_path: Path) -> None:
    etc = tmp_path / "ppp"
    etc.mkdir()
    (etc / "options").write_bytes((VECTORS / "debian-12-options").read_bytes())
    o = load_options("/dev/ttyS0", [], config_dir=etc)
    # asyncmap 0, auth, crtscts, lock, hide-password, modem, lcp-echo-*, noipx
    assert (o.asyncmap, o.auth, o.crtscts, o.lock, o.modem) == (0, True, True, True, True)
    assert (o.lcp_echo_interval, o.lcp_echo_failure, o.hide_password) == (30, 4, True)
    assert o.noops == ("noipx",)
    assert o.sources["noop:noipx"] == f"{etc / 'options'}:300"  # Debian's line 297
    assert any(line.startswith("noipx\t\t# (from ") for line in dump(o))


# -- words that read files, change privilege or the scripts' environment --------------------------


def test_plus_ua_reads_user_and_password(tmp_path: Path) -> None:
    ua = write(tmp_path / "ua", "zaphod\ngargle Blaster\n")
    o = load_options(None, ["+ua", str(ua)], config_dir=tmp_path)
    assert (o.user, o.password) == ("zaphod", "gargle Blaster")
    with pytest.raises(ConfigError, match="unable to open user login data file"):
        load_options(None, ["+ua", str(tmp_path / "none")], config_dir=tmp_path)
    one_line = write(tmp_path / "short", "zaphod")
    with pytest.raises(ConfigError, match="unable to read user login data file") as info:
        load_options(None, ["+ua", str(one_line)], config_dir=tmp_path)
    assert "gargle" not in str(info.value)


def test_privgroup_makes_a_member_privileged(etc: Path) -> None:
    write(etc / "options", "privgroup dialout\n")
    member = load_options(
        None, ["noauth"], config_dir=etc, privileged=False, in_group="dialout".__eq__
    )
    assert member.auth is False
    with pytest.raises(ConfigError, match="using the noauth option requires root privilege"):
        load_options(None, ["noauth"], config_dir=etc, privileged=False, in_group=lambda g: False)


def test_set_and_unset_as_pppd(etc: Path, tmp_path: Path) -> None:
    write(etc / "options", "set LOCKED=admin unset HOME\n")
    user_file = write(tmp_path / "mine", "set LOCKED=me set MINE=1 set HOME=/x\n")
    o = load_options(None, ["file", str(user_file)], config_dir=etc, privileged=False)
    # An unprivileged source cannot override a privileged set/unset (pppd user_setenv).
    assert o.script_env == (("LOCKED", "admin"), ("HOME", None), ("MINE", "1"))
    for text, message in (
        ("set NOEQUALS", "missing = in name=value: NOEQUALS"),
        ("set =x", "missing variable name: =x"),
        ("unset A=1", "unexpected = in name: A=1"),
    ):
        assert message in error(text).message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pty cat /dev/ttyS1", "pty option precludes specifying device name"),
        ("notty pty cat", "pty option is incompatible with notty option"),
        ("socket h:1 notty", "socket option is incompatible with pty and notty"),
        ("demand notty", "demand-dialling is incompatible with notty"),
        ("demand", "connect script is required for demand-dialling"),
    ],
)
def test_pppds_consistency_checks(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        options_module.check_options(opts(text))
    assert message in info.value.message
    assert info.value.exit_status == 2


def test_demand_implies_persist_and_netmask_is_checked() -> None:
    assert opts("demand").persist
    assert not opts("demand nopersist").persist
    assert opts("netmask 255.255.255.0").netmask == "255.255.255.0"
    assert "invalid netmask value 'x'" in error("netmask x").message
    assert "invalid mo-direction value 'up'" in error("mo-direction up").message
