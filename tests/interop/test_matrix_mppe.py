"""Interoperability matrix, MPPE scenarios: pyppp against Debian's pppd 2.4.9 and ppp_mppe.

E1. pppd ``require-mschap-v2 require-mppe-128`` authenticates ``pyppp dial require-mppe-128``:
    MPPE 128-bit stateless both ways (the guest kernel's ``ppp_mppe`` encrypts and decrypts),
    1000-octet pings both ways, TCP both ways checked by SHA-256.
E2. pppd as an MS-CHAPv2 client with ``require-mppe-128`` -> ``pyppp serve require-mschap-v2
    require-mppe-128``: the same traffic, the keys of the other role.
E3. pppd ``mppe-stateful``, pyppp ``mppe-stateful mppe-prefer-stateful``: stateful MPPE both
    ways (pppd only accepts it; pyppp asks), 1000-octet pings and TCP across the 256-packet
    key changes.
E4. MPPE required but not possible: pppd ``require-mppe-128`` with PAP: both close, no IP.

Same helpers as ``test_matrix_mschap.py``.
"""

from __future__ import annotations

import secrets

import pytest

from pyppp.errors import ExitStatus

from .harness import PppdGuest
from .pyppp_proc import PypppProcess, guest_run
from .test_matrix_basic import (
    BASE,
    StartGuest,
    StartPyppp,
    finish_by_pyppp,
    ping_host_to_guest,
    pyppp_dials,
    scenario,
    tcp_guest_to_host,
    tcp_host_to_guest,
)
from .test_matrix_more import pppd_link_up

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

SIZE = 256 * 1024


def ping_1000_guest_to_host(guest: PppdGuest, address: str, n: int = 5) -> None:
    """1000-octet pings from the guest: every one must come back."""
    r = guest_run(guest, f"ping -c {n} -s 1000 -w 20 {address}", timeout=40)
    assert r.status == 0, r.text
    assert f"{n} packets transmitted, {n} packets received, 0% packet loss" in r.text, r.text


def traffic(
    guest: PppdGuest,
    peer: PypppProcess,
    guest_ip: str,
    our_ip: str,
    port: int,
    size: int = SIZE,
) -> None:
    """1000-octet pings both ways, then TCP both ways by SHA-256."""
    ping_1000_guest_to_host(guest, our_ip)
    ping_host_to_guest(peer, guest_ip, 5, size=1000)
    guest_run(guest, f"head -c {size} /dev/urandom >/tmp/tx")
    assert tcp_guest_to_host(guest, peer, our_ip, "/tmp/tx", port) == size
    tcp_host_to_guest(guest, peer, guest_ip, secrets.token_bytes(size), port + 1)


def finish_mppe_by_pppd(guest: PppdGuest, peer: PypppProcess) -> int:
    """SIGTERM pppd; return pyppp's exit status.

    With MPPE, pppd's SIGTERM takes CCP down first, whose ``ccp_down`` closes LCP again with
    "MPPE disabled" (its Terminate-Request says so), and pppd exits at once, often before our
    Terminate-Ack reaches it: unlike ``finish_by_pppd``, that Ack is checked on our side.
    """
    guest.signal_pppd("TERM")
    assert guest.wait(30) == ExitStatus.USER_REQUEST
    status = peer.wait(30)
    peer.wait_log(r"LCP terminated by peer", 1)
    peer.wait_log(r"sent \[LCP TermAck", 1)
    return status


def encrypted_only(guest: PppdGuest, peer: PypppProcess, method: str) -> None:
    """Both sides say MPPE is on, and pyppp saw no IP in clear."""
    guest.wait_log(rf"{method} compression enabled", 5)
    peer.wait_log(rf"{method} compression enabled", 5)
    log = "\n".join(guest.pppd_log())
    assert "Lost compression sync" not in log
    assert "MPPE disabled" not in log


def test_e1_pppd_requires_mppe_128_from_pyppp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """E1: pppd ``require-mschap-v2 require-mppe-128`` <- ``pyppp dial require-mppe-128``."""
    with scenario("E1. pppd require-mschap-v2 require-mppe-128 <- pyppp dial") as row:
        guest, peer = pyppp_dials(
            pppd_guest,
            pyppp_process,
            [*BASE, "auth", "require-mschap-v2", "require-mppe-128", "name", "pppd",
             "10.99.31.1:10.99.31.2"],
            "pyppp pppd s3cret-e1 *\n",
            words=["require-mppe-128"],
        )  # fmt: skip
        row.link_up = pppd_link_up(guest, 60)
        peer.wait_log(r"sent \[CCP ConfReq id=0x\w+ <mppe \+H -M \+S -L -D -C>\]", 5)
        peer.wait_log(r"rcvd \[CCP ConfAck id=0x\w+ <mppe \+H -M \+S -L -D -C>\]", 5)
        encrypted_only(guest, peer, "MPPE 128-bit stateless")
        traffic(guest, peer, "10.99.31.1", "10.99.31.2", 5101)
        status = finish_mppe_by_pppd(guest, peer)
        row.notes.append(
            "MS-CHAPv2 + MPPE 128-bit stateless both ways (kernel ppp_mppe), 1000-octet pings "
            f"both ways, TCP 256 KiB each way (SHA-256 ok); pppd TERM -> pyppp exit {status}"
        )


def test_e2_pyppp_serves_mppe_128_to_pppd(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """E2: pppd MS-CHAPv2 client ``require-mppe-128`` -> ``pyppp serve``."""
    with scenario("E2. pppd MS-CHAPv2 + require-mppe-128 -> pyppp serve") as row:
        secrets_line = "zaphod * s3cret-e2 *\n"
        guest = pppd_guest(
            [*BASE, "noauth", "user", "zaphod", "require-mppe-128"],
            files={"/etc/ppp/chap-secrets": secrets_line},
        )
        peer = pyppp_process(
            "serve",
            guest.device,
            ["debug", "require-mschap-v2", "require-mppe-128", "10.99.31.5:10.99.31.6"],
            files={"chap-secrets": secrets_line},
        )
        row.link_up = pppd_link_up(guest, 60)
        encrypted_only(guest, peer, "MPPE 128-bit stateless")
        traffic(guest, peer, "10.99.31.6", "10.99.31.5", 5103)
        status = finish_by_pyppp(guest, peer)
        row.notes.append(
            "MS-CHAPv2 (pyppp authenticator) + MPPE 128-bit stateless, 1000-octet pings both "
            f"ways, TCP 256 KiB each way (SHA-256 ok); pyppp TERM -> pppd exit {status}"
        )


def test_e3_stateful_mppe(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """E3: stateful MPPE both ways (pppd ``mppe-stateful``, pyppp asks for it)."""
    with scenario("E3. pppd mppe-stateful <- pyppp dial mppe-prefer-stateful") as row:
        guest, peer = pyppp_dials(
            pppd_guest,
            pyppp_process,
            [*BASE, "auth", "require-mschap-v2", "require-mppe-128", "mppe-stateful",
             "name", "pppd", "10.99.31.9:10.99.31.10"],
            "pyppp pppd s3cret-e3 *\n",
            words=["require-mppe-128", "mppe-stateful", "mppe-prefer-stateful"],
        )  # fmt: skip
        row.link_up = pppd_link_up(guest, 60)
        # Stateful both ways: pppd acknowledged our request, and took our Nak's suggestion.
        peer.wait_log(r"rcvd \[CCP ConfAck id=0x\w+ <mppe -H -M \+S -L -D -C>\]", 5)
        peer.wait_log(r"sent \[CCP ConfAck id=0x\w+ <mppe -H -M \+S -L -D -C>\]", 5)
        guest.wait_log(r"rcvd \[CCP ConfNak id=0x\w+ <mppe -H -M \+S -L -D -C>\]", 1)
        encrypted_only(guest, peer, "MPPE 128-bit stateful")
        # 1 MiB each way: well over 256 packets in each direction, so the flag packets'
        # key changes happen on both sides.
        traffic(guest, peer, "10.99.31.9", "10.99.31.10", 5105, size=1024 * 1024)
        status = finish_mppe_by_pppd(guest, peer)
        row.notes.append(
            "MPPE 128-bit stateful both ways (rekeying every 256 packets), 1000-octet pings, "
            f"TCP 1 MiB each way (SHA-256 ok); pppd TERM -> pyppp exit {status}"
        )


def test_e4_mppe_required_without_ms_chap(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """E4: ``require-mppe-128`` with PAP: no keys, so no link (pppd and pyppp agree)."""
    with scenario("E4. pyppp serve require-pap require-mppe-128 <- pppd (no MS-CHAP)") as row:
        guest = pppd_guest(
            [*BASE, "noauth", "user", "zaphod", "password", "s3cret", "require-mppe-128"],
        )
        peer = pyppp_process(
            "serve",
            guest.device,
            ["debug", "require-pap", "require-mppe-128", "10.99.31.13:10.99.31.14"],
            files={"pap-secrets": "zaphod * s3cret *\n"},
        )
        peer.wait_log(r"MPPE required, but MS-CHAP\[v2\] auth not performed\.", 60)
        status = peer.wait(30)
        guest.wait(30)
        assert not [line for line in peer.log() if "IPCP" in line and line.startswith("sent")]
        row.notes.append(
            f"MPPE required after PAP: pyppp closes before CCP (exit {status}), no IPCP sent"
        )
