"""System password checks for ``login``: real PAM and the shadow fallback (root), and helpers.

The root tests create a throw-away system user and a PAM service file for a test-only service
name using pam_unix (Debian package libpam-modules), and remove both afterwards, also on failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyppp.aio import login
from pyppp.aio.login import (
    LoginUnavailable,
    check_login,
    crypt_check,
    login_backend,
    login_option_problem,
)

USER = "pyppp-pamtest"
PASSWORD = "Corr3ct-H0rse-pyppp"
SERVICE = "pyppp-test"
PAM_FILE = Path("/etc/pam.d") / SERVICE
PAM_UNIX = (
    "/lib/x86_64-linux-gnu/security/pam_unix.so",
    "/usr/lib/x86_64-linux-gnu/security/pam_unix.so",
)


def _root_setup_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if importlib.util.find_spec("pam") is None:
        return "python-pam not installed"
    if not Path("/etc/pam.d").is_dir():
        return "/etc/pam.d missing"
    if not any(Path(p).exists() for p in PAM_UNIX) and not list(
        Path("/").glob("usr/lib/*/security/pam_unix.so")
    ):
        return "pam_unix.so missing (apt-get install libpam-modules)"
    if shutil.which("useradd") is None or shutil.which("chpasswd") is None:
        return "useradd/chpasswd missing"
    return None


def _remove_user() -> None:
    subprocess.run(["userdel", USER], capture_output=True, check=False)


@pytest.fixture
def system_user() -> Iterator[str]:
    problem = _root_setup_problem()
    if problem is not None:
        pytest.skip(problem)
    _remove_user()  # a leftover from an interrupted run
    try:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["chpasswd"], input=f"{USER}:{PASSWORD}\n".encode(), check=True, capture_output=True
        )
        # nodelay: pam_unix otherwise sleeps ~2 s after each failure.
        PAM_FILE.write_text(
            "# pyppp test service; removed by tests/test_login_pam.py\n"
            "auth     required pam_unix.so nodelay\n"
            "account  required pam_unix.so\n"
        )
        yield USER
    finally:
        with contextlib.suppress(FileNotFoundError):
            PAM_FILE.unlink()
        _remove_user()


@pytest.mark.root
def test_real_pam(system_user: str) -> None:
    assert check_login(system_user, PASSWORD, service=SERVICE)
    assert not check_login(system_user, PASSWORD + "x", service=SERVICE)
    assert not check_login(system_user, "", service=SERVICE)
    assert not check_login("pyppp-no-such-user", PASSWORD, service=SERVICE)


@pytest.mark.root
def test_shadow_fallback(system_user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("crypt") is None:
        pytest.skip("no crypt module in this Python")
    real_import = login._import
    monkeypatch.setattr(login, "_import", lambda name: None if name == "pam" else real_import(name))
    assert login_backend() == "shadow"
    assert check_login(system_user, PASSWORD)
    assert not check_login(system_user, "wrong")
    assert not check_login("pyppp-no-such-user", PASSWORD)
    subprocess.run(["usermod", "--lock", system_user], check=True, capture_output=True)
    assert not check_login(system_user, PASSWORD)  # a locked account never matches


# --- no root needed --------------------------------------------------------------------------


def test_backend_detection_and_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert login_backend() in ("pam", "shadow", None)
    monkeypatch.setattr(login, "_import", lambda name: None)
    assert login_backend() is None
    with pytest.raises(LoginUnavailable, match="python-pam"):
        check_login("someone", "pw")


def test_nul_bytes_and_empty_user_are_refused_without_asking() -> None:
    assert not check_login("", "pw")
    assert not check_login("root", "pw\x00more")
    assert not check_login("ro\x00ot", "pw")


def test_crypt_check() -> None:
    crypt_module = login._import("crypt")
    if crypt_module is None:
        assert not crypt_check("pw", "$6$salt$hash")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hashed = crypt_module.crypt(
            "gargleBlaster", crypt_module.mksalt(crypt_module.METHOD_SHA512)
        )
    assert crypt_check("gargleBlaster", hashed)
    assert not crypt_check("gargleblaster", hashed)
    assert not crypt_check("gargleBlaster", "")
    assert not crypt_check("x", "not a hash at all")


def test_login_option_problem() -> None:
    assert login_option_problem(login=False, require_pap=False, require_chap=True) is None
    assert login_option_problem(login=True, require_pap=True, require_chap=False) is None
    only_chap = login_option_problem(login=True, require_pap=False, require_chap=True)
    assert only_chap is not None
    assert only_chap.startswith("login cannot be used with require-chap alone")
    both = login_option_problem(login=True, require_pap=True, require_chap=True)
    assert both is not None
    assert both.startswith("login checks PAP passwords only")


def test_login_option_problem_names_the_ms_chap_word() -> None:
    only = login_option_problem(
        login=True, require_pap=False, require_chap=True, chap_word="require-mschap-v2"
    )
    assert only is not None
    assert only.startswith(
        "login cannot be used with require-mschap-v2 alone: MS-CHAP never sends the password"
    )
