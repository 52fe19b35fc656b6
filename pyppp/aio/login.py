"""System password checks for pppd's ``login`` option (the shell side of PAP ``login``).

pppd's ``login`` option (or a ``@login`` secret in pap-secrets) makes the PAP authenticator also
check the peer's user name and password against the system: through PAM with service name
``ppp`` on Linux. The sans-IO PAP authenticator asks for this with a
`pyppp.events.LoginCheckRequested` event; the driver runs `check_login` in a thread (it
blocks: PAM modules may sleep after a failure) and answers with
``authenticator.login_result(request_id, ok, now)``.

Backends, in order:

1. **PAM** through python-pam (``pip install python-pam``; extra ``pyppp[pam]``): account
   management is checked too, as pppd does. Service ``ppp`` reads ``/etc/pam.d/ppp`` (Debian's
   ppp package installs one; without it PAM uses ``/etc/pam.d/other``).
2. **Fallback** when python-pam is not installed: the hash in ``/etc/shadow`` (or
   ``/etc/passwd``) compared with crypt(3) through Python's ``crypt`` module (present up to
   Python 3.12, deprecated). Locked (``!``/``*``) and empty hashes never match. Needs root to
   read ``/etc/shadow``.
3. Neither available: `check_login` raises `LoginUnavailable` with a clear message; the
   authenticator must then be told ``ok=False`` (refuse, never accept).

CHAP never reaches the system password database: the authenticator only sees an MD5 hash of
the password, so ``login`` applies to PAP only (see `login_option_problem`).
"""

from __future__ import annotations

import hmac
import importlib
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Final

from pyppp.errors import PyPPPError

__all__ = [
    "DEFAULT_SERVICE",
    "LoginUnavailable",
    "check_login",
    "crypt_check",
    "login_backend",
    "login_option_problem",
]

DEFAULT_SERVICE: Final = "ppp"
"""pppd's PAM service name."""

_LOG: Final = logging.getLogger("pyppp.auth")


class LoginUnavailable(PyPPPError):  # noqa: N818 (reads as a state, like MalformedPacket)
    """No way to check system passwords here (neither python-pam nor crypt(3) usable)."""


def _import(name: str) -> ModuleType | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(name)
    except ImportError:
        return None


def login_backend() -> str | None:
    """Return ``"pam"``, ``"shadow"`` or ``None``: which backend `check_login` would use."""
    if _import("pam") is not None:
        return "pam"
    if _import("crypt") is not None:
        return "shadow"
    return None


def check_login(
    user: str,
    password: str,
    service: str = DEFAULT_SERVICE,
    *,
    logger: logging.Logger | None = None,
) -> bool:
    """Check a user name and password against the system (blocking: run it in a thread).

    Args:
        user: the name the PAP peer sent.
        password: the password it sent (never logged).
        service: the PAM service name (pppd uses ``ppp``).
        logger: where the reason for a refusal is logged (debug level).

    Returns:
        True if the system accepts the user and password (PAM: authentication and account).

    Raises:
        LoginUnavailable: neither PAM nor the shadow/crypt fallback can be used.
    """
    log = logger or _LOG
    if not user or "\x00" in user or "\x00" in password:
        return False  # C APIs would silently truncate at the NUL
    pam_module = _import("pam")
    if pam_module is not None:
        handle = pam_module.pam()
        ok = bool(handle.authenticate(user, password, service=service))
        if not ok:
            log.debug("PAM refused %s (service %s): %s", user, service, handle.reason)
        return ok
    crypt_module = _import("crypt")
    if crypt_module is None:
        raise LoginUnavailable(
            "the login option needs python-pam (pip install python-pam) or Python's crypt "
            "module to check system passwords"
        )
    hashed = _system_hash(user)
    if hashed is None:
        log.debug("no usable password hash for %s", user)
        return False
    return _crypt_equal(crypt_module.crypt, password, hashed)


def _system_hash(user: str) -> str | None:
    for path in (Path("/etc/shadow"), Path("/etc/passwd")):
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 2 and fields[0] == user:
                hashed = fields[1]
                if hashed in ("x", "*") and path.name == "passwd":
                    break  # the real hash is in /etc/shadow (unreadable to us)
                if not hashed or hashed[0] in "!*":
                    return None  # locked or passwordless: never a match
                return hashed
    return None


def _crypt_equal(crypt: Callable[[str, str], str | None], password: str, hashed: str) -> bool:
    try:
        computed = crypt(password, hashed)
    except (OSError, ValueError):
        return False
    return computed is not None and hmac.compare_digest(computed.encode(), hashed.encode())


def crypt_check(password: str, hashed: str) -> bool:
    """Compare a PAP password with a crypt(3) hash from pap-secrets (pppd ``papcrypt``).

    Pass this as ``crypt_check`` to `pyppp.auth.pap.PapAuthenticator`. Returns False when
    Python's ``crypt`` module is unavailable (then only plain-text secrets match).
    """
    crypt_module = _import("crypt")
    if crypt_module is None or not hashed:
        return False
    return _crypt_equal(crypt_module.crypt, password, hashed)


def login_option_problem(
    *, login: bool, require_pap: bool, require_chap: bool, chap_word: str = "require-chap"
) -> str | None:
    """Explain when ``login`` cannot do what the user expects (for the CLI to print).

    CHAP (and MS-CHAP) peers prove knowledge of a secret without sending it, so they can only
    be checked against chap-secrets, never against system passwords (pppd silently ignores
    ``login`` for CHAP).

    Args:
        login: the ``login`` option.
        require_pap: ``require-pap`` was given.
        require_chap: a ``require-chap`` or ``require-mschap[-v2]`` word was given.
        chap_word: which one (named in the line).

    Returns:
        One error line, or ``None`` when the combination is fine.
    """
    if not login or not require_chap:
        return None
    flavour = "CHAP" if chap_word == "require-chap" else "MS-CHAP"
    if require_pap:
        return (
            f"login checks PAP passwords only: peers that authenticate with {flavour} are "
            "checked against chap-secrets, not against system passwords"
        )
    return (
        f"login cannot be used with {chap_word} alone: {flavour} never sends the password, so "
        "it cannot be checked against system passwords (use require-pap, or put the secrets "
        "in chap-secrets)"
    )
