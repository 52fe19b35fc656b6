"""Interoperability matrix, MS-CHAP scenarios: pyppp against Debian's real pppd 2.4.9.

M1. pppd ``require-mschap-v2`` authenticates ``pyppp dial`` (the secret from chap-secrets):
    mutual authentication, ping; a wrong secret: pppd exits 11, pyppp 19.
M2. pppd ``require-mschap`` (MS-CHAP v1) authenticates ``pyppp dial``: ping.
M3. pppd as an MS-CHAPv2 client of ``pyppp serve require-mschap-v2``: pppd checks pyppp's
    Authenticator Response (``S=``), ping; a wrong secret: pppd exits 19, pyppp 11.

Same shape as ``test_matrix_basic.py`` (its helpers, two guests at once, pyppp started right
after QEMU); the MPPE rows are in ``test_matrix_mppe.py``.
"""

from __future__ import annotations

import pytest

from pyppp.errors import ExitStatus

from .test_matrix_basic import (
    BASE,
    StartGuest,
    StartPyppp,
    finish_by_pppd,
    finish_by_pyppp,
    ping_guest_to_host,
    ping_host_to_guest,
    pppd_calls_twice,
    pyppp_dials,
    pyppp_dials_twice,
    scenario,
)
from .test_matrix_more import pppd_link_up

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

# "S=" and RFC 2759's 40 upper-case hex digits.
AUTH_RESPONSE = r"S=[0-9A-F]{40}"


def test_m1_pppd_requires_mschap_v2_from_pyppp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """M1: pppd ``require-mschap-v2`` <- ``pyppp dial``; a wrong secret fails on both sides."""
    with scenario("M1. pppd require-mschap-v2 <- pyppp dial (MS-CHAPv2 peer)") as row:
        guest_args = [*BASE, "auth", "require-mschap-v2", "name", "pppd", "10.99.14.1:10.99.14.2"]
        good, good_peer, bad, bad_peer = pyppp_dials_twice(
            pppd_guest, pyppp_process, guest_args, "pyppp pppd s3cret-v2 *\n"
        )

        row.link_up = pppd_link_up(good, 40)
        good_peer.wait_log(r"rcvd \[LCP ConfReq id=0x\w+ .*<auth chap MS-v2>", 1)
        good_peer.wait_log(r'rcvd \[CHAP Challenge id=0x\w+ <[0-9a-f]{32}>, name = "pppd"\]', 1)
        good_peer.wait_log(r'sent \[CHAP Response id=0x\w+ <[0-9a-f]{98}>, name = "pyppp"\]', 1)
        good.wait_log(rf'sent \[CHAP Success id=0x\w+ "{AUTH_RESPONSE} M=Access granted"\]', 1)
        assert good.wait_event("AUTH-UP", 5).fields.get("peer") == "pyppp"
        good_peer.wait_log(r"^CHAP authentication succeeded$", 5)  # the S= was pppd's
        ping_host_to_guest(good_peer, "10.99.14.1", 2)

        assert bad.wait(40) == ExitStatus.PEER_AUTH_FAILED
        bad.wait_log(r"Peer pyppp failed CHAP authentication", 1)
        bad.wait_log(r'sent \[CHAP Failure id=0x\w+ "E=691 R=1 C=[0-9a-f]{32} V=0', 1)
        assert bad_peer.wait(30) == ExitStatus.AUTH_TOPEER_FAILED
        bad_peer.wait_log(r"MS-CHAP authentication failed: Access denied", 1)
        bad_peer.wait_log(r"^CHAP authentication failed$", 1)

        status = finish_by_pppd(good, good_peer)
        row.notes.append(
            "MS-CHAPv2 out (secret from chap-secrets, S= checked), ping; wrong secret: pppd "
            f"exit 11, pyppp exit 19; pppd TERM -> pyppp exit {status}"
        )


def test_m2_pppd_requires_mschap_v1_from_pyppp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """M2: pppd ``require-mschap`` <- ``pyppp dial``."""
    with scenario("M2. pppd require-mschap <- pyppp dial (MS-CHAP peer)") as row:
        guest, peer = pyppp_dials(
            pppd_guest,
            pyppp_process,
            [*BASE, "auth", "require-mschap", "name", "pppd", "10.99.14.5:10.99.14.6"],
            "pyppp pppd s3cret-v1 *\n",
        )
        row.link_up = pppd_link_up(guest, 40)
        peer.wait_log(r"rcvd \[LCP ConfReq id=0x\w+ .*<auth chap MS>", 1)
        peer.wait_log(r'rcvd \[CHAP Challenge id=0x\w+ <[0-9a-f]{16}>, name = "pppd"\]', 1)
        guest.wait_log(r'sent \[CHAP Success id=0x\w+ "Access granted"\]', 1)
        peer.wait_log(r"CHAP authentication succeeded: Access granted", 5)
        ping_host_to_guest(peer, "10.99.14.5", 2)
        status = finish_by_pppd(guest, peer)
        row.notes.append(f"MS-CHAP (v1) out, ping; pppd TERM -> pyppp exit {status}")


def test_m3_pyppp_serves_mschap_v2_to_pppd(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """M3: pppd as an MS-CHAPv2 client -> ``pyppp serve require-mschap-v2``."""
    with scenario("M3. pppd MS-CHAPv2 peer -> pyppp serve require-mschap-v2") as row:
        good, good_peer, bad, bad_peer = pppd_calls_twice(
            pppd_guest,
            pyppp_process,
            user="zaphod",
            secrets="chap-secrets",
            passwords=("s3cret", "not-the-secret"),
            ours="zaphod * s3cret *\n",
            addresses=("10.99.14.9:10.99.14.10", "10.99.14.13:10.99.14.14"),
            words=["require-mschap-v2"],
        )

        row.link_up = pppd_link_up(good, 40)
        good.wait_log(r"rcvd \[LCP ConfReq id=0x\w+ .*<auth chap MS-v2>", 1)
        good.wait_log(rf'rcvd \[CHAP Success id=0x\w+ "{AUTH_RESPONSE} M=Access granted"\]', 1)
        good.wait_log(r"CHAP authentication succeeded", 1)  # pppd checked our S=
        good_peer.wait_log(r'rcvd \[CHAP Response id=0x\w+ <[0-9a-f]{98}>, name = "zaphod"\]', 1)
        good_peer.wait_log(r"Peer zaphod authenticated with CHAP", 5)
        ping_guest_to_host(good, "10.99.14.9", 2)

        assert bad.wait(40) == ExitStatus.AUTH_TOPEER_FAILED
        bad.wait_log(r"MS-CHAP authentication failed: Access denied", 1)
        bad.wait_log(r'rcvd \[CHAP Failure id=0x\w+ "E=691 R=0 C=[0-9a-f]{32} V=0 M=Access', 1)
        assert bad_peer.wait(30) == ExitStatus.PEER_AUTH_FAILED
        bad_peer.wait_log(r"Peer zaphod failed CHAP authentication", 1)

        pppd_status = finish_by_pyppp(good, good_peer)
        row.notes.append(
            "MS-CHAPv2 in (pppd checks S=), ping; wrong secret: pppd exit 19 (E=691 R=0), "
            f"pyppp exit 11; pyppp TERM -> pppd exit {pppd_status}"
        )
