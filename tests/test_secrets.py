"""pppd secrets files: word syntax, best match, indirect secrets, address checks, start-up check."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.aio.secrets import SecretsReader, load_secrets_file, read_file, read_secrets_file
from pyppp.errors import ConfigError
from pyppp.pppd.secrets import (
    MAX_INDIRECT_SECRET_SIZE,
    MAX_SECRETS_FILE_SIZE,
    MAXWORDLEN,
    PeerSecretCheck,
    SecretsFile,
    SecretsProblem,
    can_authenticate_peer,
    get_pap_password,
    have_secret,
    missing_secret_messages,
    null_login,
    some_ip_ok,
    split_words,
)
from tests.pppdconfig import write_private

VECTORS = Path(__file__).parent / "vectors" / "secrets"


def words(text: str) -> list[str]:
    return [w.text for w in split_words(text)]


# --- word syntax (pppd options.c getword) ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b\tc\n d", ["a", "b", "c", "d"]),
        ('"two words" x', ["two words", "x"]),
        ("'single quoted' x", ["single quoted", "x"]),
        ('""', [""]),
        ('a "" b', ["a", "", "b"]),
        ('ab"c d"ef', ["abc def"]),  # quotes may sit inside a word
        ("a#comment\nb", ["a", "b"]),  # '#' ends an unquoted word and starts a comment
        ('"a#b"', ["a#b"]),
        ("# whole line\nx", ["x"]),
        (r"a\ b", ["a b"]),
        (r"\s\t\n\r\a\b\f", [" \t\n\r\a\b\f"]),
        (r"\101\x41\x4a\7", ["AAJ\x07"]),
        (r"\x", ["\x00"]),  # pppd stores the value 0 when no hex digit follows
        (r"\q\"\\", ['q"\\']),
        ("a\\\nb", ["ab"]),  # backslash-newline continues a word
        ('"quote\\"d"', ['quote"d']),
        ("'it''s'", ["its"]),
    ],
)
def test_getword_rules(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_line_flags_follow_pppd() -> None:
    ws = split_words('a b \\\n c\n"x\ny" z\n\n  w # c\n')
    assert [(w.text, w.line, w.starts_line) for w in ws] == [
        ("a", 1, True),
        ("b", 1, False),
        ("c", 2, False),  # continued line: same secrets line
        ("x\ny", 3, True),
        ("z", 4, False),  # the quoted newline does not start a new line
        ("w", 6, True),
    ]


def test_unterminated_quote_and_long_word_are_reported() -> None:
    problems: list[SecretsProblem] = []
    ws = split_words('ok "never closed', source="f", problems=problems)
    assert [w.text for w in ws] == ["ok", "never closed"]
    assert str(problems[0]) == "f:1: quoted word runs to end of file"
    problems.clear()
    ws = split_words("x" * 5000, source="g", problems=problems)
    assert len(ws[0].text) == MAXWORDLEN - 1
    assert problems[0].source == "g:1"
    assert "too long" in problems[0].message


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), max_size=6))
@settings(max_examples=200)
def test_quoted_words_round_trip(items: list[str]) -> None:
    items = [w for w in items if len(w.encode()) < MAXWORDLEN - 1]
    text = " ".join('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in items)
    assert words(text) == items


# --- pppd's own examples ---------------------------------------------------------------------


def test_pppd_man_page_example() -> None:
    parsed = SecretsFile.parse((VECTORS / "pppd-man.chap-secrets").read_text())
    (entry,) = parsed.entries
    assert (entry.client, entry.server, entry.secret) == ("joespc", "server", "joe's secret")
    assert entry.addresses == ("joespc.my.net",)
    assert entry.source == "<string>:3"
    match = parsed.find("joespc", "server")
    assert match is not None
    assert match.secret == "joe's secret"
    assert "joe's secret" not in repr(match)
    assert parsed.find("joespc", "elsewhere") is None
    assert parsed.find("JOESPC", "server") is None  # case is significant


def test_howto_client_line() -> None:
    parsed = SecretsFile.parse((VECTORS / "howto-client.pap-secrets").read_text())
    assert get_pap_password(parsed, "zaphod", None) == "gargleBlaster"
    assert get_pap_password(parsed, "zaphod", "isp") == "gargleBlaster"
    assert get_pap_password(parsed, "arthur", None) is None
    match = parsed.find("zaphod", "")  # CHAP challenge without a name
    assert match is not None
    assert match.score == 2


def test_howto_server_catch_all() -> None:
    parsed = SecretsFile.parse((VECTORS / "howto-server.pap-secrets").read_text())
    match = parsed.find("anyone", "server")
    assert match is not None
    assert match.secret == ""
    assert match.entry.addresses == ("*",)
    assert match.score == 0
    assert null_login(parsed, "server") is not None


def test_best_match_scoring() -> None:
    parsed = SecretsFile.parse((VECTORS / "best-match.chap-secrets").read_text(), path="bm")
    cases = {
        ("zaphod", "server"): "zaphod-server",
        ("zaphod", "other"): "zaphod-wild",  # first of two equal scores
        ("nobody", "server"): "wild-server",
        ("nobody", "other"): "wild-wild",
        ("arthur", "server"): "two words",
        ("ford", "server"): 'quote"d \\ back',
        (None, "server"): "zaphod-server",  # None matches any client: best is fully named
        ("zaphod", None): "zaphod-server",
    }
    for (client, server), secret in cases.items():
        match = parsed.find(client, server)
        assert match is not None, (client, server)
        assert match.secret == secret, (client, server)
    match = parsed.find("zaphod", "server")
    assert match is not None
    assert match.entry.addresses == ("10.0.0.2", "10.0.1.0/24", "!10.0.1.7")
    assert match.entry.options == ("ms-dns", "10.0.0.53")
    assert match.entry.source == "bm:7"


def test_named_client_beats_named_server_and_order_does_not_matter() -> None:
    text_a = "* server by-server\nzaphod * by-client\n"
    text_b = "zaphod * by-client\n* server by-server\n"
    for text in (text_a, text_b):
        match = SecretsFile.parse(text).find("zaphod", "server")
        assert match is not None
        assert match.secret == "by-client"


def test_hostile_file_never_crashes_and_reports_lines() -> None:
    parsed = SecretsFile.parse((VECTORS / "hostile.chap-secrets").read_text(), path="h")
    assert parsed.entries == ()
    messages = [str(p) for p in parsed.problems]
    assert "h:2: incomplete line (needs client, server and secret), ignored" in messages
    assert "h:3: incomplete line (needs client, server and secret), ignored" in messages
    assert "h:4: quoted word runs to end of file" in messages


def test_binary_file_round_trips_bytes() -> None:
    raw = (VECTORS / "binary.chap-secrets").read_bytes()
    parsed = SecretsFile.parse(raw.decode("utf-8", "surrogateescape"))
    first, second = parsed.entries
    assert first.client == "bin\x00ary"
    assert first.server.encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert first.secret == "AA"
    assert first.addresses == ("ok", "continued")
    assert (second.client, second.server, second.secret, second.addresses) == (
        "c",
        "s",
        "s2",
        ("10.0.0.1",),
    )


@given(st.text())
@settings(max_examples=300)
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = SecretsFile.parse(text)
    for entry in parsed.entries:
        assert isinstance(entry.secret, str)
    parsed.find("a", "b")
    parsed.find(None, None, read_secret=False)


@given(st.binary(max_size=400))
@settings(max_examples=150)
def test_arbitrary_bytes_load_never_raises(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = write_private(tmp_path_factory.mktemp("s") / "chap-secrets", data)
    parsed = load_secrets_file(path, logger=logging.getLogger("test.secrets"))
    parsed.find("x", "y")


# --- files on disk ---------------------------------------------------------------------------


def test_load_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_secrets_file(tmp_path / "nope")
    assert str(info.value).startswith(str(tmp_path / "nope") + ": can't read secrets file")
    assert info.value.exit_status == 1


def test_group_or_world_access_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pap-secrets"
    path.write_text("a b c\nlonely\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        load_secrets_file(path)
    assert f"Warning - secret file {path} has world and/or group access" in caplog.messages
    assert f"{path}:2: incomplete line (needs client, server and secret), ignored" in (
        caplog.messages
    )
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        load_secrets_file(path)
    assert not any("has world" in m for m in caplog.messages)


def test_indirect_secret_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = write_private(tmp_path / "good", '  "from a file"  ignored words\n')
    empty = write_private(tmp_path / "empty", "# nothing\n")
    text = (
        f"zaphod server @{good}\n"
        f"ford server @{empty}\n"
        f"ford * fallback\n"
        f"arthur server @{tmp_path / 'missing'}\n"
        "marvin server @login\n"
    )
    secrets = write_private(tmp_path / "chap-secrets", text)
    parsed = load_secrets_file(secrets)  # the shell reads the @/path files too
    match = parsed.find("zaphod", "server")
    assert match is not None
    assert match.secret == "from a file"
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        match = parsed.find("ford", "server")  # the better line is unusable: pppd skips it
        assert match is not None
        assert match.secret == "fallback"
        assert parsed.find("arthur", "server") is None
    assert f"no secret in indirect secret file {empty}" in caplog.messages
    assert f"can't open indirect secret file {tmp_path / 'missing'}" in caplog.messages
    match = parsed.find("marvin", "server")
    assert match is not None
    assert match.secret == "@login"  # not a file: the PAP system-password marker
    # Without read_secret the line counts even if its file is unreadable (have_*_secret).
    assert parsed.find("arthur", "server", read_secret=False) is not None


def test_secrets_reader_rereads_at_each_refresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "chap-secrets"
    reader = SecretsReader(tmp_path)
    source = reader.secrets.chap
    with caplog.at_level(logging.ERROR, logger="pyppp.auth"):
        reader.read_now()
        assert source.find("a", "b") is None
    # pppd's start-up and per-call checks are silent about a missing file (issue J)...
    assert caplog.messages == []

    async def authentication_starts() -> None:
        source.prefetch()  # what an engine does before it looks a secret up
        await asyncio.gather(*reader.pending())

    # ...the read for an authentication is not (pppd get_secret: "Can't open ...").
    with caplog.at_level(logging.ERROR, logger="pyppp.auth"):
        asyncio.run(authentication_starts())
    assert caplog.messages == [caplog.messages[0]]
    assert caplog.messages[0].startswith(f"Can't open chap secret file {path}: ")
    write_private(path, "a b first\n")
    assert source.find("a", "b") is None  # lookups never touch the disk
    reader.read_now()
    match = source.find("a", "b")
    assert match is not None
    assert match.secret == "first"
    path.write_text("a b second\n")
    reader.read_now()
    match = source.find("a", "b")
    assert match is not None
    assert match.secret == "second"


# --- address lists and the start-up check ----------------------------------------------------


@pytest.mark.parametrize(
    ("addresses", "ok"),
    [
        ((), False),
        (("-",), False),
        (("*",), True),
        (("10.0.0.2",), True),
        (("!10.0.0.2",), False),
        (("!10.0.0.2", "10.0.0.0/24"), True),
        (("-", "10.0.0.2"), False),
    ],
)
def test_some_ip_ok(addresses: tuple[str, ...], ok: bool) -> None:
    assert some_ip_ok(addresses) is ok


def test_have_secret_and_lacks_ip() -> None:
    parsed = SecretsFile.parse("zaphod server s 10.0.0.2\nford server s\n* other s -\n")
    assert have_secret(parsed, "zaphod", "server", need_ip=True) == (True, False)
    assert have_secret(parsed, "ford", "server", need_ip=True) == (False, True)
    assert have_secret(parsed, "ford", "server", need_ip=False) == (True, False)
    assert have_secret(parsed, "", "server", need_ip=True) == (True, False)  # "" = unknown
    assert have_secret(parsed, None, "other", need_ip=True) == (False, True)
    assert have_secret(None, "a", "b", need_ip=False) == (False, False)


def server_check(
    *,
    pap: bool = False,
    chap: bool = False,
    login: bool = False,
    pap_secrets: SecretsFile | None = None,
    chap_secrets: SecretsFile | None = None,
    remote_name: str | None = None,
) -> PeerSecretCheck:
    """can_authenticate_peer as host ``server``: nothing required, no secrets unless given."""
    return can_authenticate_peer(
        require_pap=pap,
        require_chap=chap,
        login=login,
        pap_secrets=pap_secrets,
        chap_secrets=chap_secrets,
        our_name="server",
        remote_name=remote_name,
    )


def test_can_authenticate_peer_and_pppd_messages() -> None:
    no_ip = SecretsFile.parse("zaphod server s\n")
    check = server_check(pap=True, chap=True, pap_secrets=no_ip)
    assert check == PeerSecretCheck(False, True)
    assert missing_secret_messages(check) == [
        "The remote system is required to authenticate itself",
        "but I couldn't find any suitable secret (password) for it to use to do so.",
        "(None of the available passwords would let it use an IP address.)",
    ]
    assert missing_secret_messages(PeerSecretCheck(False), remote_name="isp")[0] == (
        "The remote system (isp) is required to authenticate itself"
    )
    assert missing_secret_messages(PeerSecretCheck(False), default_route=True)[:2] == [
        "By default the remote system is required to authenticate itself",
        "(because this system has a default route to the internet)",
    ]
    assert missing_secret_messages(PeerSecretCheck(True)) == []
    # login makes PAP possible without any secret; CHAP needs chap-secrets.
    assert server_check(pap=True, login=True).ok
    good = SecretsFile.parse("* server s *\n")
    assert server_check(chap=True, chap_secrets=good).ok
    assert not server_check(chap=True, login=True, pap_secrets=good).ok
    # remotename narrows the lookup to that client.
    assert not server_check(
        pap=True, pap_secrets=SecretsFile.parse("zaphod server s *\n"), remote_name="ford"
    ).ok


def test_null_login_needs_an_empty_secret() -> None:
    assert null_login(SecretsFile.parse('"" server "" 10.0.0.9\n'), "server") is not None
    assert null_login(SecretsFile.parse('"" server pw 10.0.0.9\n'), "server") is None
    assert null_login(SecretsFile.parse("zaphod server pw\n"), "server") is None
    assert null_login(None, "server") is None


# --- size limits (issue P, defect 8) ---------------------------------------------------------


def test_indirect_secret_file_over_the_limit_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    big = write_private(tmp_path / "big", b"bigSecret\n" + b"#" * MAX_INDIRECT_SECRET_SIZE)
    fits = write_private(
        tmp_path / "fits", b"smallSecret\n" + b"#" * (MAX_INDIRECT_SECRET_SIZE - 20)
    )
    secrets = write_private(
        tmp_path / "chap-secrets", f"zaphod server @{big}\nzaphod * fallback\nford server @{fits}\n"
    )
    parsed = load_secrets_file(secrets)
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        match = parsed.find("zaphod", "server")
    assert match is not None
    assert match.secret == "fallback"  # the oversized file's line is skipped, as unreadable
    assert (
        f"indirect secret file {big} is too large (more than {MAX_INDIRECT_SECRET_SIZE} octets)"
        in caplog.messages
    )
    match = parsed.find("ford", "server")
    assert match is not None
    assert match.secret == "smallSecret"


def test_indirect_secret_from_dev_zero_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    # Before the limit, this line made every lookup read /dev/zero until MemoryError.
    parsed = SecretsFile.parse("zaphod server @/dev/zero\n")
    read = read_file("/dev/zero", MAX_INDIRECT_SECRET_SIZE)
    assert read.too_large
    assert read.data is None
    parsed = parsed.with_indirect({"/dev/zero": read})
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        assert parsed.find("zaphod", "server") is None
    assert any("/dev/zero is too large" in m for m in caplog.messages)


def test_secrets_file_over_the_limit_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_private(
        tmp_path / "chap-secrets", b"zaphod server s3cret *\n" + b"#" * MAX_SECRETS_FILE_SIZE
    )
    with caplog.at_level(logging.ERROR, logger="pyppp.auth"):
        assert read_secrets_file(path) is None
    assert caplog.messages == [
        f"Can't open chap secret file {path}: File too large "
        f"(more than {MAX_SECRETS_FILE_SIZE} octets)"
    ]
    with pytest.raises(ConfigError, match=f"larger than {MAX_SECRETS_FILE_SIZE} octets"):
        load_secrets_file(path)
    path.write_bytes(b"zaphod server s3cret *\n" + b"#" * (MAX_SECRETS_FILE_SIZE - 100))
    parsed = read_secrets_file(path)
    assert parsed is not None
    assert parsed.find("zaphod", "server") is not None


def test_unreadable_names_never_raise() -> None:
    assert read_file("/nonexistent/x", 10).error == "No such file or directory"
    assert read_file("bad\0name", 10).data is None
    parsed = SecretsFile.parse("a b @/\0x\n")
    assert parsed.indirect_paths() == ("/\0x",)
    assert parsed.with_indirect({"/\0x": read_file("/\0x", 10)}).find("a", "b") is None
