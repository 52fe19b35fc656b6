r"""pppd's secrets files (``/etc/ppp/pap-secrets``, ``/etc/ppp/chap-secrets``), read as pppd does.

Theory of operation
-------------------
A secrets file is a sequence of *words* split by pppd's option-word rules (``getword()`` in
pppd's ``options.c``): whitespace separates words, ``"`` or ``'`` quote a section (so ``""`` is
an empty word), ``#`` outside quotes starts a comment, and a backslash escapes the next
character (``\n \r \t \s \a \b \f``, ``\ooo`` octal, ``\xHH`` hex, backslash-newline is a
line continuation). A *line* is the run of words from a word that starts a physical line to the
next such word, so a continued line or a quoted newline does not end it.

Each line is ``client server secret [address ...] [-- option ...]``; lines with fewer than three
words are ignored (pppd ignores them silently; we also record a problem with file and line).
``*`` as client or server matches any name. A secret ``@/path`` is read from the first word of
that file when the line is used. The best match wins (pppd ``scan_authfile``): a line scores
2 when its client is not ``*`` and 1 when its server is not ``*``; only a strictly better score
replaces an earlier match, so among equal scores the first line wins.

The address words restrict which IP addresses the authenticated peer may use (pppd
``set_allowed_addrs`` / ``auth_ip_addr``); IPCP parses them with
`pyppp.ipcp.negotiator.AddressPolicy`. Words after ``--`` are extra pppd options for that peer.

Nothing here raises on file *content*: a hostile or broken file yields fewer entries and a list
of `SecretsProblem` (file and line). File names, names and secrets are kept as ``str`` decoded
with ``surrogateescape``, so any byte sequence round-trips to the exact bytes pppd would have
used.

Nothing here reads a file either. The shell (`pyppp.aio.secrets`) reads a secrets file and the
``@/path`` files its lines name, off the event loop, at most `MAX_SECRETS_FILE_SIZE` and
`MAX_INDIRECT_SECRET_SIZE` octets of each, and hands what it got over as `FileRead` values;
`SecretsFile.from_read` judges them with pppd's messages ("Can't open chap secret file ...",
"Warning - secret file ... has world and/or group access") and `SecretsFile.with_indirect`
attaches the indirect files, whose messages come when a lookup uses their line, as pppd's do.
`LiveSecrets` is what the engines look up in: the shell replaces its contents after each read.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol

from pyppp.pppd.words import getwords

__all__ = [
    "MAXSECRETLEN",
    "MAXWORDLEN",
    "MAX_INDIRECT_SECRET_SIZE",
    "MAX_SECRETS_FILE_SIZE",
    "FileRead",
    "LiveSecrets",
    "PeerSecretCheck",
    "SecretEntry",
    "SecretMatch",
    "SecretsFile",
    "SecretsProblem",
    "SecretsSource",
    "Word",
    "can_authenticate_peer",
    "get_pap_password",
    "have_secret",
    "missing_secret_messages",
    "null_login",
    "some_ip_ok",
    "split_words",
]

_LOG: Final = logging.getLogger("pyppp.auth")

MAXWORDLEN: Final = 1024
"""pppd's word buffer (``MAXWORDLEN``): longer words are truncated with a warning."""

MAXSECRETLEN: Final = 256
"""pppd's longest usable secret (``MAXSECRETLEN``); longer CHAP secrets are cut with an error."""

MAX_SECRETS_FILE_SIZE: Final = 4 << 20
"""The largest pap-secrets/chap-secrets pyppp reads (octets); a larger one is not used.

pppd has no limit; this one keeps a mistaken or hostile file (a device, a huge log) from
filling memory. 4 MiB is some 80,000 lines.
"""

MAX_INDIRECT_SECRET_SIZE: Final = 64 << 10
"""The most of an ``@/path`` secret file pyppp reads (octets); a larger one is not used.

Only its first word counts (at most `MAXWORDLEN` octets), so ``@/dev/zero`` is refused, not
read until memory runs out.
"""

NONWILD_SERVER: Final = 1
NONWILD_CLIENT: Final = 2

_ENCODING: Final = "utf-8"
_ERRORS: Final = "surrogateescape"

# C isspace() in the "C" locale: what ends a word in pppd.


@dataclass(frozen=True, slots=True)
class SecretsProblem:
    """Something wrong in a secrets file that pppd would silently tolerate.

    Attributes:
        source: ``"path:line"`` of the offending word or line.
        message: what is wrong, in one line.
    """

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a secrets or options file.

    Attributes:
        text: the word after quote and escape processing.
        line: 1-based line on which the word starts.
        starts_line: a newline came before the word (pppd's ``newline`` flag); the first word of
            the file also counts as starting a line.
    """

    text: str
    line: int
    starts_line: bool


def split_words(
    text: str, *, source: str = "<string>", problems: list[SecretsProblem] | None = None
) -> list[Word]:
    """Split text into words with pppd's ``getword()`` rules.

    Args:
        text: the file contents.
        source: file name used in problem reports.
        problems: if given, warnings (unterminated quote, overlong word) are appended to it.

    Returns:
        The words, in order. Never raises on any input.
    """
    words: list[Word] = []
    for raw in getwords(text):
        word = raw.text
        if raw.unterminated and problems is not None:
            problems.append(
                SecretsProblem(f"{source}:{raw.line}", "quoted word runs to end of file")
            )
        if len(word.encode(_ENCODING, _ERRORS)) >= MAXWORDLEN:
            if problems is not None:
                problems.append(
                    SecretsProblem(
                        f"{source}:{raw.line}", f"word too long ({word[:20]}...), truncated"
                    )
                )
            word = word.encode(_ENCODING, _ERRORS)[: MAXWORDLEN - 1].decode(_ENCODING, "ignore")
        words.append(Word(word, raw.line, raw.starts_line))
    return words


@dataclass(frozen=True, slots=True)
class SecretEntry:
    """One line of a secrets file.

    Attributes:
        client: the client name, or ``"*"``.
        server: the server name, or ``"*"``.
        secret: the secret word as written (``"@/path"`` is not resolved yet; ``"@login"``
            means "check the system password database" for PAP).
        addresses: the acceptable-address words, up to ``--``.
        options: the extra pppd option words after ``--``.
        source: ``"path:line"``.
    """

    client: str
    server: str
    secret: str
    addresses: tuple[str, ...]
    options: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """The best line for a lookup, with its secret resolved.

    Attributes:
        entry: the matching line.
        secret: the secret to use (read from the file for ``@/path``; ``""`` when the lookup
            did not ask for the secret).
        score: pppd's match score: 2 for a named client, plus 1 for a named server.
    """

    entry: SecretEntry
    secret: str
    score: int

    def __repr__(self) -> str:  # never show a secret in a repr/traceback
        return f"SecretMatch(entry={self.entry.source!r}, secret=<hidden>, score={self.score})"


class SecretsSource(Protocol):
    """Something the authentication engines can look secrets up in."""

    def prefetch(self) -> None:
        """An exchange has begun that will look a secret up soon (after a round trip).

        A source backed by a file re-reads it now, off the caller's thread, so the lookup
        sees the file as it is then (pppd reads it at the lookup); a snapshot does nothing.
        """
        ...

    def find(
        self, client: str | None, server: str | None, *, read_secret: bool = True
    ) -> SecretMatch | None:
        """Return the best line for ``client`` on ``server`` (``None`` matches any name).

        Args:
            client: the client name, or ``None`` for "any".
            server: the server name, or ``None`` for "any".
            read_secret: resolve ``@/path`` secrets (lines whose file cannot be read are then
                skipped, as pppd does).
        """
        ...


def _entries_from_words(
    words: Sequence[Word], source: str, problems: list[SecretsProblem]
) -> list[SecretEntry]:
    entries: list[SecretEntry] = []
    lines: list[list[Word]] = []
    for word in words:
        if word.starts_line or not lines:
            lines.append([word])
        else:
            lines[-1].append(word)
    for group in lines:
        where = f"{source}:{group[0].line}"
        if len(group) < 3:
            problems.append(
                SecretsProblem(where, "incomplete line (needs client, server and secret), ignored")
            )
            continue
        rest = [w.text for w in group[3:]]
        if "--" in rest:
            cut = rest.index("--")
            addresses, options = tuple(rest[:cut]), tuple(rest[cut + 1 :])
        else:
            addresses, options = tuple(rest), ()
        entries.append(
            SecretEntry(group[0].text, group[1].text, group[2].text, addresses, options, where)
        )
    return entries


@dataclass(frozen=True, slots=True)
class FileRead:
    """One file as the shell read it, for the pure code to judge (pppd's checks and messages).

    Attributes:
        path: the file name.
        data: the contents, or ``None`` when the file could not be read or was too large.
        error: why it could not be opened or read (``strerror``), if so.
        too_large: it holds more than the limit the shell read it with.
        mode: the ``st_mode`` of the opened file (``None`` if unknown).
        stat_error: why ``fstat`` failed, if it did (pppd warns "cannot stat secret file").
    """

    path: str
    data: bytes | None = None
    error: str | None = None
    too_large: bool = False
    mode: int | None = None
    stat_error: str | None = None

    def __repr__(self) -> str:  # the contents are secrets
        return f"FileRead({self.path!r}, {len(self.data or b'')} octets)"


def _text(data: bytes) -> str:
    return data.decode(_ENCODING, _ERRORS)


def _access_warning(read: FileRead, logger: logging.Logger) -> None:
    # pppd check_access(): a secrets file should be readable by root only.
    if read.stat_error is not None:
        logger.warning("cannot stat secret file %s: %s", read.path, read.stat_error)
    elif read.mode is not None and read.mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("Warning - secret file %s has world and/or group access", read.path)


_CANT_OPEN: Final[dict[str, str]] = {
    "pap": "Can't open PAP password file %s: %s",
    "chap": "Can't open chap secret file %s: %s",
}


class SecretsFile:
    """A parsed secrets file: a snapshot of one read (see `LiveSecrets` for the current one).

    Attributes:
        path: where it was read from (``None`` for text given directly).
        entries: the usable lines, in file order.
        problems: what was wrong with the other lines and words.
    """

    def __init__(
        self,
        entries: Iterable[SecretEntry],
        *,
        path: str | None = None,
        problems: Iterable[SecretsProblem] = (),
        indirect: Mapping[str, FileRead] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.path = path
        self.entries: tuple[SecretEntry, ...] = tuple(entries)
        self.problems: tuple[SecretsProblem, ...] = tuple(problems)
        self.indirect: Mapping[str, FileRead] = MappingProxyType(dict(indirect or {}))
        """The ``@/path`` secret files the shell read for this snapshot, by path."""
        self.logger = logger or _LOG

    def __repr__(self) -> str:
        return f"SecretsFile(path={self.path!r}, entries={len(self.entries)})"

    @classmethod
    def parse(
        cls, text: str, *, path: str | None = None, logger: logging.Logger | None = None
    ) -> SecretsFile:
        """Parse secrets-file text. Never raises on any text.

        ``@/path`` secrets are resolved only from files attached with `with_indirect`; until
        then their lines are skipped as unreadable.

        Args:
            text: the contents.
            path: the file name used in problem reports (``"<string>"`` if not given).
            logger: where lookups log (indirect-secret warnings).
        """
        source = path or "<string>"
        problems: list[SecretsProblem] = []
        words = split_words(text, source=source, problems=problems)
        entries = _entries_from_words(words, source, problems)
        return cls(entries, path=path, problems=problems, logger=logger)

    @classmethod
    def from_read(
        cls,
        read: FileRead,
        *,
        kind: str = "chap",
        logger: logging.Logger | None = None,
        report_unreadable: bool = True,
    ) -> SecretsFile | None:
        """Judge and parse what the shell read, logging as pppd does at each read.

        Args:
            read: the file as read (at most `MAX_SECRETS_FILE_SIZE` octets).
            kind: ``"pap"`` or ``"chap"``: selects pppd's "Can't open ..." wording.
            logger: where pppd's lines (and the content problems, with file and line) go.
            report_unreadable: print pppd's "Can't open ..." line for a file that cannot be
                read. pppd's start-up and per-call checks (``have_pap_secret``...) are silent
                about it; only the lookup of an authentication (``get_secret``) says it.

        Returns:
            The parsed file, or ``None`` (after pppd's error line) when it cannot be used.
        """
        log = logger or _LOG
        if read.data is None:
            reason = read.error or "unreadable"
            if read.too_large:
                reason = f"{os.strerror(errno.EFBIG)} (more than {MAX_SECRETS_FILE_SIZE} octets)"
            if report_unreadable or read.too_large:
                log.error(_CANT_OPEN.get(kind, _CANT_OPEN["chap"]), read.path, reason)
            return None
        _access_warning(read, log)
        parsed = cls.parse(_text(read.data), path=read.path, logger=log)
        for problem in parsed.problems:
            log.warning("%s", problem)
        return parsed

    def prefetch(self) -> None:
        """Nothing to do: a snapshot does not change."""

    def indirect_paths(self) -> tuple[str, ...]:
        """The files named by ``@/path`` secrets, in file order, each once."""
        paths = (e.secret[1:] for e in self.entries if e.secret.startswith("@/"))
        return tuple(dict.fromkeys(paths))

    def with_indirect(self, reads: Mapping[str, FileRead]) -> SecretsFile:
        """This snapshot with the ``@/path`` files the shell read (see `indirect_paths`)."""
        return SecretsFile(
            self.entries,
            path=self.path,
            problems=self.problems,
            indirect=reads,
            logger=self.logger,
        )

    def find(
        self, client: str | None, server: str | None, *, read_secret: bool = True
    ) -> SecretMatch | None:
        """Return the best line for ``client`` on ``server``, as pppd's ``scan_authfile``.

        Args:
            client: the client name; ``None`` matches any line.
            server: the server name; ``None`` matches any line.
            read_secret: resolve ``@/path`` secrets; an unreadable or empty secret file makes
                pppd skip that line ("can't open indirect secret file %s").

        Returns:
            The best match, or ``None``.
        """
        best: SecretMatch | None = None
        for entry in self.entries:
            score = 0
            if entry.client != "*":
                if client is not None and entry.client != client:
                    continue
                score |= NONWILD_CLIENT
            if entry.server != "*":
                if server is not None and entry.server != server:
                    continue
                score |= NONWILD_SERVER
            if best is not None and score <= best.score:
                continue
            secret = ""
            if read_secret:
                resolved = self._resolve_secret(entry.secret)
                if resolved is None:
                    continue
                secret = resolved
            best = SecretMatch(entry, secret, score)
        return best

    def _resolve_secret(self, word: str) -> str | None:
        if not word.startswith("@/"):
            return word
        path = word[1:]
        read = self.indirect.get(path)
        if read is not None and read.too_large:
            self.logger.warning(
                "indirect secret file %s is too large (more than %d octets)",
                path,
                MAX_INDIRECT_SECRET_SIZE,
            )
            return None
        if read is None or read.data is None:
            self.logger.warning("can't open indirect secret file %s", path)
            return None
        _access_warning(read, self.logger)
        words = split_words(_text(read.data), source=path)
        if not words:
            self.logger.warning("no secret in indirect secret file %s", path)
            return None
        return words[0].text


class LiveSecrets:
    """The current contents of one secrets file: what the engines look secrets up in.

    The shell replaces the snapshot each time it reads the file again (see
    `pyppp.aio.secrets.SecretsReader` for when), so an edited file applies to the next
    authentication without a restart; lookups never touch the disk.

    Args:
        path: the file (for messages).
        kind: ``"pap"`` or ``"chap"``.
        current: the first snapshot, if already read (``None``: unreadable or not read yet).
        on_prefetch: what `prefetch` calls: the shell's "read this file again soon".
    """

    def __init__(
        self,
        path: str,
        *,
        kind: str = "chap",
        current: SecretsFile | None = None,
        on_prefetch: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.current = current
        self.on_prefetch = on_prefetch

    def __repr__(self) -> str:
        return f"LiveSecrets({self.path!r}, kind={self.kind!r}, current={self.current!r})"

    def prefetch(self) -> None:
        """Ask the shell to read the file again (see `SecretsSource.prefetch`)."""
        if self.on_prefetch is not None:
            self.on_prefetch()

    def replace(self, snapshot: SecretsFile | None) -> None:
        """Use a new read of the file (``None``: it could not be read)."""
        self.current = snapshot

    def find(
        self, client: str | None, server: str | None, *, read_secret: bool = True
    ) -> SecretMatch | None:
        """Look up in the current snapshot, as `SecretsFile.find`; ``None`` if there is none."""
        current = self.current
        return None if current is None else current.find(client, server, read_secret=read_secret)


# ---------------------------------------------------------------------------------------------
# Address restrictions: parsed for IPCP by pyppp.ipcp.negotiator.AddressPolicy.from_words


def some_ip_ok(words: Iterable[str]) -> bool:
    """Return True if an address list allows at least one address (pppd ``some_ip_ok``)."""
    for word in words:
        if word.startswith("-"):
            return False
        if not word.startswith("!"):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# The questions pppd asks of its secrets files (auth.c)


def have_secret(
    source: SecretsSource | None, client: str | None, server: str | None, *, need_ip: bool
) -> tuple[bool, bool]:
    """Is there a line we could use for ``client`` on ``server``? (pppd ``have_chap_secret``).

    An empty client or server name means "not known yet" and matches any line.

    Returns:
        ``(found, lacks_ip)``: ``lacks_ip`` is True when a line was found but, with
        ``need_ip``, it lets the peer use no IP address at all.
    """
    if source is None:
        return False, False
    if client == "":
        client = None
    elif server == "":
        server = None
    match = source.find(client, server, read_secret=False)
    if match is None:
        return False, False
    if need_ip and not some_ip_ok(match.entry.addresses):
        return False, True
    return True, False


def get_pap_password(
    source: SecretsSource | None, user: str, remote_name: str | None
) -> str | None:
    """The password for authenticating ourselves with PAP (pppd ``get_pap_passwd``).

    Args:
        source: the pap-secrets file.
        user: our name (pppd's ``user``).
        remote_name: the peer's name if known (``remotename`` option), else any server.
    """
    if source is None:
        return None
    match = source.find(user, remote_name or None)
    return None if match is None else match.secret


def null_login(source: SecretsSource | None, our_name: str) -> SecretMatch | None:
    """A peer that refuses to authenticate is treated as PAP user ``""`` password ``""``.

    pppd ``null_login``: allowed when pap-secrets has a line for client ``""`` (or ``*``) on
    our name whose secret is empty; that line's addresses then restrict the peer.
    """
    if source is None:
        return None
    match = source.find("", our_name)
    return match if match is not None and match.secret == "" else None


@dataclass(frozen=True, slots=True)
class PeerSecretCheck:
    """Result of `can_authenticate_peer`.

    Attributes:
        ok: some usable secret (or ``login``) exists.
        lacks_ip: a secret exists but none of them lets the peer use an IP address.
    """

    ok: bool
    lacks_ip: bool = False


def can_authenticate_peer(
    *,
    require_pap: bool,
    require_chap: bool,
    login: bool,
    pap_secrets: SecretsSource | None,
    chap_secrets: SecretsSource | None,
    our_name: str,
    remote_name: str | None = None,
) -> PeerSecretCheck:
    """Start-up check: could we authenticate the peer at all? (pppd ``auth_check_options``).

    Args:
        require_pap: PAP is among the protocols we will ask for.
        require_chap: CHAP is among the protocols we will ask for.
        login: the ``login`` option (system passwords make PAP possible without secrets).
        pap_secrets: the pap-secrets file.
        chap_secrets: the chap-secrets file.
        our_name: our name (``name`` option, default host name).
        remote_name: the ``remotename`` option, if given.
    """
    lacks_ip = False
    if require_pap:
        if login:
            return PeerSecretCheck(True)
        found, lacks = have_secret(pap_secrets, remote_name, our_name, need_ip=True)
        if found:
            return PeerSecretCheck(True)
        lacks_ip |= lacks
    if require_chap:
        found, lacks = have_secret(chap_secrets, remote_name, our_name, need_ip=True)
        if found:
            return PeerSecretCheck(True)
        lacks_ip |= lacks
    return PeerSecretCheck(False, lacks_ip)


def missing_secret_messages(
    check: PeerSecretCheck, *, remote_name: str | None = None, default_route: bool = False
) -> list[str]:
    """Return pppd's errors when ``auth`` is in force but no secret can be used (exit status 1).

    Args:
        check: the result of `can_authenticate_peer`.
        remote_name: the ``remotename`` option, if given.
        default_route: authentication is required only because the system has a default route.

    Returns:
        The lines to print, in order; empty if ``check.ok``.
    """
    if check.ok:
        return []
    if default_route:
        lines = [
            "By default the remote system is required to authenticate itself",
            "(because this system has a default route to the internet)",
        ]
    elif remote_name:
        lines = [f"The remote system ({remote_name}) is required to authenticate itself"]
    else:
        lines = ["The remote system is required to authenticate itself"]
    lines.append("but I couldn't find any suitable secret (password) for it to use to do so.")
    if check.lacks_ip:
        lines.append("(None of the available passwords would let it use an IP address.)")
    return lines
