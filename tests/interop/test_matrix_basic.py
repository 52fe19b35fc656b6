"""Interoperability matrix, scenarios 1-5: pyppp against Debian's real pppd 2.4.9.

Each scenario runs the real pppd in a QEMU guest (``harness.py``) and ``pyppp serve`` or
``pyppp dial`` as a real process in a network namespace of its own (``pyppp_proc.py``), on the
two ends of one serial line (the guest's ttyS1, a pty on this host). Every scenario asserts on
both sides' logs and exit statuses, and on real traffic (ping, TCP transfers checked with
SHA-256), then records its row of ``RESULTS.md`` (``results.py``).

1. ``pyppp dial`` -> pppd ``noauth``: ping both ways, TCP both ways, LCP without
   retransmissions after the first exchange, 20 s of ``lcp-echo-interval 1``.
2. pppd as PAP client -> ``pyppp serve --auth pap``; wrong password refused (exits 19 / 11).
3. CHAP-MD5 both ways, right and wrong secrets.
4. ``pyppp serve --auth login``: a real system user checked through PAM.
5. Unusual LCP: ``asyncmap``/``escape``/``mru 296``, ``default-asyncmap nopcomp noaccomp``:
   every byte value 0-255 crosses intact both ways.

Runs that do not depend on each other (a right and a wrong password) run side by side: two
guests at once, the harness's limit. The pyppp process is started right after QEMU, before
pppd opens its end of the line, so pppd's first Configure-Request is never lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyppp.errors import ExitStatus

from .harness import PppdGuest
from .pyppp_proc import LineTap, PypppProcess, guest_run, guest_spawn
from .results import record
from .test_matrix_more import pppd_link_up

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

StartGuest = Callable[..., PppdGuest]
StartPyppp = Callable[..., PypppProcess]


#: pppd words every guest gets: a pty needs no modem lines; the packet trace is asserted on.
BASE = ["local", "debug"]


# ---------------------------------------------------------------------------------------------
# helpers


@dataclass
class Row:
    """What a scenario reports for its RESULTS.md row."""

    link_up: float | None = None
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def scenario(name: str) -> Iterator[Row]:
    """Record ``name``'s row: pass if the block completes, FAIL with the error's first line."""
    row = Row()
    try:
        yield row
    except pytest.skip.Exception:
        raise
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        row.notes.append(f"failed: {type(exc).__name__}: {first}")
        record(name, ok=False, link_up_seconds=row.link_up, notes=_cell("; ".join(row.notes)))
        raise
    record(name, ok=True, link_up_seconds=row.link_up, notes=_cell("; ".join(row.notes)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def esc(address: str) -> str:
    """``re.escape`` for an address in a log pattern."""
    return re.escape(address)


def count(lines: list[str], pattern: str) -> int:
    """How many of ``lines`` match ``pattern``."""
    regex = re.compile(pattern)
    return sum(1 for line in lines if regex.search(line))


def ping_guest_to_host(guest: PppdGuest, address: str, n: int = 3) -> None:
    """Ping from the guest (pppd's side) to pyppp's address; all answers must come back."""
    r = guest_run(guest, f"ping -c {n} -w 15 {address}", timeout=30)
    assert r.status == 0, r.text
    assert f"{n} packets transmitted, {n} packets received, 0% packet loss" in r.text, r.text


def ping_host_to_guest(peer: PypppProcess, address: str, n: int = 3, size: int = 56) -> None:
    """Ping from pyppp's namespace to pppd's address; all answers must come back."""
    r = peer.netns_run(
        ["ping", "-c", str(n), "-i", "0.2", "-W", "5", "-s", str(size), address], timeout=30
    )
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert f"{n} packets transmitted, {n} received, 0% packet loss" in out, out


def tcp_guest_to_host(
    guest: PppdGuest, peer: PypppProcess, host_ip: str, guest_file: str, port: int
) -> int:
    """Send ``guest_file`` from the guest over TCP to pyppp's namespace; compare SHA-256.

    Returns the number of bytes that crossed.
    """
    # socat writes to a file: a pipe nobody reads while guest_run() waits would fill up and
    # stall the TCP stream (64 KiB pipe + socket buffers).
    sink = peer.config_dir / f"rx.{port}"
    server = peer.netns_popen(
        ["socat", "-u", f"TCP-LISTEN:{port},bind={host_ip},reuseaddr", f"CREATE:{sink}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # The listener needs a moment: the client retries instead of sleeping blindly.
        r = guest_run(
            guest,
            f"sha256sum <{guest_file}; for i in $(seq 50); do "
            f"nc.openbsd -N {host_ip} {port} <{guest_file} 2>/dev/null && exit 0; sleep 0.1; "
            "done; exit 1",
            timeout=90,
        )
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert r.status == 0, r.text
    digest = r.output[0].split()[0]
    received = sink.read_bytes()
    assert hashlib.sha256(received).hexdigest() == digest, (
        f"guest->host corrupted: {len(received)} bytes received; socat: {err.decode()}"
    )
    return len(received)


def tcp_host_to_guest(
    guest: PppdGuest, peer: PypppProcess, guest_ip: str, payload: bytes, port: int
) -> None:
    """Send ``payload`` from pyppp's namespace over TCP into the guest; compare SHA-256."""
    cid = guest_spawn(
        guest, f"nc -l -p {port} </dev/null >/tmp/rx.{port}; sha256sum </tmp/rx.{port}"
    )
    r = peer.netns_run(
        ["socat", "-u", "STDIN", f"TCP:{guest_ip}:{port},retry=50,interval=0.1"],
        input=payload,
        timeout=90,
    )
    assert r.returncode == 0, r.stderr.decode()
    result = guest.result(cid, timeout=60)
    assert result.status == 0, result.text
    assert result.output[-1].split()[0] == hashlib.sha256(payload).hexdigest(), (
        "host->guest corrupted"
    )


def finish_by_pppd(guest: PppdGuest, peer: PypppProcess) -> int:
    """SIGTERM pppd: it sends Terminate-Request, exits 5; return pyppp's exit status."""
    guest.signal_pppd("TERM")
    assert guest.wait(30) == ExitStatus.USER_REQUEST
    status = peer.wait(30)
    peer.wait_log(r"LCP terminated by peer", 1)
    assert "rcvd [LCP TermAck" in "\n".join(guest.pppd_log())
    return status


def finish_by_pyppp(guest: PppdGuest, peer: PypppProcess) -> int:
    """SIGTERM pyppp: it sends Terminate-Request and exits 5; return pppd's exit status."""
    peer.stop()
    assert peer.wait(30) == ExitStatus.USER_REQUEST
    peer.wait_log(r"Terminating on signal 15", 1)
    peer.wait_log(r"rcvd \[LCP TermAck", 1)
    status = guest.wait(30)
    guest.wait_log(r"LCP terminated by peer", 5)
    return status


def pppd_calls_twice(
    pppd_guest: StartGuest,
    pyppp_process: StartPyppp,
    *,
    user: str,
    secrets: str,
    passwords: tuple[str, str],
    ours: str,
    addresses: tuple[str, str],
    words: Sequence[str] = (),
    auth: str | None = None,
) -> tuple[PppdGuest, PypppProcess, PppdGuest, PypppProcess]:
    """pppd as ``user`` calls ``pyppp serve`` twice at once: the right password, then a wrong one.

    ``secrets`` names the secrets file (``pap-secrets``, ``chap-secrets``): pppd's holds the
    run's password from ``passwords``, pyppp's is ``ours`` in both runs. Each pyppp serves
    ``debug``, ``words``, then its run's ``local:remote`` from ``addresses``, with ``auth`` as
    ``--auth``. Returns (good guest, its pyppp, bad guest, its pyppp), started in that order.
    """

    def run(password: str, address: str) -> tuple[PppdGuest, PypppProcess]:
        guest = pppd_guest(
            [*BASE, "noauth", "user", user],
            files={f"/etc/ppp/{secrets}": f"{user} * {password} *\n"},
        )
        peer = pyppp_process(
            "serve", guest.device, ["debug", *words, address], auth=auth, files={secrets: ours}
        )
        return guest, peer

    return *run(passwords[0], addresses[0]), *run(passwords[1], addresses[1])


def pyppp_dials(
    pppd_guest: StartGuest,
    pyppp_process: StartPyppp,
    guest_args: list[str],
    secrets_line: str,
    words: Sequence[str] = (),
) -> tuple[PppdGuest, PypppProcess]:
    """pppd (``guest_args``, ``secrets_line`` in its chap-secrets) authenticates ``pyppp dial
    noauth debug local`` + ``words`` as "pyppp"; pyppp's secret comes from the same line in
    its own chap-secrets. Returns (guest, pyppp)."""
    guest = pppd_guest(guest_args, files={"/etc/ppp/chap-secrets": secrets_line})
    peer = pyppp_process(
        "dial",
        guest.device,
        ["noauth", "debug", "local", *words],
        user="pyppp",
        files={"chap-secrets": secrets_line},  # our password comes from the file
    )
    return guest, peer


def pyppp_dials_twice(
    pppd_guest: StartGuest, pyppp_process: StartPyppp, guest_args: list[str], secrets_line: str
) -> tuple[PppdGuest, PypppProcess, PppdGuest, PypppProcess]:
    """:func:`pyppp_dials` twice at once: the second pyppp with the password "wrong" instead
    of a chap-secrets. Returns (good guest, its pyppp, bad guest, its pyppp)."""
    good, good_peer = pyppp_dials(pppd_guest, pyppp_process, guest_args, secrets_line)
    bad = pppd_guest(guest_args, files={"/etc/ppp/chap-secrets": secrets_line})
    bad_peer = pyppp_process(
        "dial", bad.device, ["noauth", "debug", "local"], user="pyppp", password="wrong"
    )
    return good, good_peer, bad, bad_peer


# ---------------------------------------------------------------------------------------------
# 1. pyppp dial -> pppd noauth


def test_s1_dial_noauth_traffic_and_echo(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """Scenario 1: ping and TCP both ways, clean LCP, 20 s under ``lcp-echo-interval 1``."""
    pppd_ip, our_ip = "10.99.11.1", "10.99.11.2"
    with scenario("1. pyppp dial -> pppd noauth") as row:
        t_before_qemu = time.monotonic()
        guest = pppd_guest(
            [
                *BASE,
                "debug",  # level 2: pppd traces LCP echoes after the link is up
                "noauth",
                f"{pppd_ip}:{our_ip}",
                "lcp-echo-interval",
                "1",
                "lcp-echo-failure",
                "3",  # three unanswered echoes and pppd would hang up (exit 15)
            ],
            timeout=150,
        )
        peer = pyppp_process("dial", guest.device, ["noauth", "debug", "debug", "local"])
        row.link_up = pppd_link_up(guest, 40)
        t_up = time.monotonic()
        peer.wait_log(rf"local  IP address {esc(our_ip)}", 10)
        peer.wait_log(rf"remote IP address {esc(pppd_ip)}", 1)

        # Issue B: LCP opens on the first exchange. pppd sent one Configure-Request and got
        # one; pyppp got one (ours sent before pppd opened the line are lost, as on a modem).
        # That needs pyppp to have opened the line before pppd's first request (opening
        # flushes the input): an upper bound of its open time, on QEMU's clock, must come
        # before pppd's start, or a pppd retransmission is the test's doing, not pyppp's.
        log = guest.pppd_log()
        ours = peer.log()
        opened = peer.log_time(r"^Connect: ")
        assert opened is not None
        assert peer.started_at is not None
        pppd_start = guest.wait_event("PPPD-START", 1).t
        pppd_confreqs = count(log, r"^sent \[LCP ConfReq")
        first_exchange = peer.started_at + opened - t_before_qemu < pppd_start
        if first_exchange:
            assert count(log, r"^sent \[LCP ConfReq") == 1, log
            assert count(log, r"^rcvd \[LCP ConfReq") == 1, log
            # The guest's tty echoes what arrives while pppd is opening it (its termios is
            # still cooked for an instant): our own request may come back once, with our own
            # magic number. It is not pppd's, and the loopback check handles it.
            our_magics = set(
                re.findall(r"^sent \[LCP ConfReq .*<magic (0x[0-9a-f]+)>", "\n".join(ours), re.M)
            )
            echoed = [
                line
                for line in ours
                if line.startswith("rcvd [LCP ConfReq")
                and any(f"<magic {m}>" in line for m in our_magics)
            ]
            if echoed:
                row.notes.append("the guest tty echoed our first request while pppd opened it")
            assert count(ours, r"^rcvd \[LCP ConfReq") - len(echoed) == 1, ours

            assert count(log, r"^sent \[LCP ConfAck") == 1
            assert count(ours, r"^sent \[LCP ConfAck") == 1
        else:  # pyppp was late (a loaded host): pppd's first request was flushed away
            row.notes.append("pyppp opened the line after pppd started (host too slow)")
            assert count(log, r"^sent \[LCP ConfReq") <= 2, log
        opened_at = max(
            i for i, line in enumerate(ours) if re.match(r"(sent|rcvd) \[LCP ConfAck", line)
        )
        assert count(ours[opened_at:], r"^sent \[LCP ConfReq") == 0, ours

        ping_guest_to_host(guest, our_ip)
        ping_host_to_guest(peer, pppd_ip)

        size = 256 * 1024
        guest_run(guest, f"head -c {size} /dev/urandom >/tmp/tx")
        assert tcp_guest_to_host(guest, peer, our_ip, "/tmp/tx", 5001) == size
        t0 = time.monotonic()
        tcp_host_to_guest(guest, peer, pppd_ip, secrets.token_bytes(size), 5002)
        rate = size / (time.monotonic() - t0) / 1024

        # 20 s of echo requests every second, with traffic, then traffic again.
        time.sleep(max(0.0, 20.0 - (time.monotonic() - t_up)))
        ping_guest_to_host(guest, our_ip, 2)
        ping_host_to_guest(peer, pppd_ip, 2)
        log = guest.pppd_log()
        ours = peer.log()
        echoes = count(log, r"^sent \[LCP EchoReq")
        assert echoes >= 18, log
        # Every echo answered (the last one may still be on the wire).
        assert count(log, r"^rcvd \[LCP EchoRep") >= echoes - 1
        assert count(ours, r"^rcvd \[LCP EchoReq") == count(ours, r"^sent \[LCP EchoRep")
        assert not any("No response to" in line for line in log), log
        # No renegotiation since the link came up.
        assert count(log, r"^sent \[LCP ConfReq") == pppd_confreqs
        assert guest.pppd_exit is None

        status = finish_by_pppd(guest, peer)
        peer.wait_log(r"Connection terminated", 1)
        row.notes.append(
            f"ping both ways, TCP 256 KiB each way (SHA-256 ok, ~{rate:.0f} KiB/s into the "
            f"guest), 1 ConfReq each way, {echoes} LCP echoes in 20 s all answered; "
            f"pppd TERM -> pyppp exit {status}"
        )


# ---------------------------------------------------------------------------------------------
# 2. pppd as PAP client -> pyppp serve --auth pap


def test_s2_pap(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """Scenario 2: PAP in, and a wrong password refused on both sides with pppd's statuses."""
    with scenario("2. pppd PAP client -> pyppp serve --auth pap") as row:
        good, good_peer, bad, bad_peer = pppd_calls_twice(
            pppd_guest,
            pyppp_process,
            user="zaphod",
            secrets="pap-secrets",
            passwords=("s3cret", "wrong-password"),
            ours="zaphod * s3cret *\n",
            addresses=("10.99.12.1:10.99.12.2", "10.99.12.5:10.99.12.6"),
            auth="pap",
        )

        row.link_up = pppd_link_up(good, 40)
        good_peer.wait_log(r"Peer zaphod authenticated with PAP", 5)
        good_peer.wait_log(r"PAP peer authentication succeeded for zaphod", 1)
        good.wait_log(r"PAP authentication succeeded", 1)
        assert good.wait_event("IP-UP", 1).fields["local"] == "10.99.12.2"
        ping_guest_to_host(good, "10.99.12.1", 2)
        ping_host_to_guest(good_peer, "10.99.12.2", 2)

        assert bad.wait(40) == ExitStatus.AUTH_TOPEER_FAILED
        bad.wait_log(r"PAP authentication failed", 1)
        assert bad_peer.wait(30) == ExitStatus.PEER_AUTH_FAILED
        bad_peer.wait_log(r"PAP peer authentication failed for zaphod", 1)
        assert bad.link_up_seconds is None

        pppd_status = finish_by_pyppp(good, good_peer)
        row.notes.append(
            "PAP in, ping both ways; wrong password: pppd exit 19, pyppp exit 11; "
            f"pyppp TERM -> pppd exit {pppd_status}"
        )


# ---------------------------------------------------------------------------------------------
# 3. CHAP-MD5 both ways


def test_s3_chap_pppd_authenticates_pyppp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """Scenario 3a: pppd ``require-chap`` authenticates ``pyppp dial``; wrong secret fails."""
    with scenario("3a. pppd require-chap <- pyppp dial (CHAP peer)") as row:
        guest_args = [*BASE, "auth", "require-chap", "name", "pppd", "10.99.13.1:10.99.13.2"]
        good, good_peer, bad, bad_peer = pyppp_dials_twice(
            pppd_guest, pyppp_process, guest_args, "pyppp pppd s3cret *\n"
        )

        row.link_up = pppd_link_up(good, 40)
        # pppd 2.4.9 logs no success line as CHAP authenticator (2.5 adds "Peer %q
        # authenticated with CHAP"): its Success packet and the auth-up hook say it.
        good.wait_log(r'sent \[CHAP Success id=0x\w+ "Access granted"\]', 1)
        assert good.wait_event("AUTH-UP", 5).fields.get("peer") == "pyppp"
        good_peer.wait_log(r"CHAP authentication succeeded", 5)
        good_peer.wait_log(r"remote IP address 10\.99\.13\.1", 5)
        ping_host_to_guest(good_peer, "10.99.13.1", 2)

        assert bad.wait(40) == ExitStatus.PEER_AUTH_FAILED
        bad.wait_log(r"Peer pyppp failed CHAP authentication", 1)
        assert bad_peer.wait(30) == ExitStatus.AUTH_TOPEER_FAILED
        bad_peer.wait_log(r"CHAP authentication failed", 1)

        status = finish_by_pppd(good, good_peer)
        row.notes.append(
            "CHAP-MD5 out (secret from chap-secrets), ping; wrong secret: pppd exit 11, "
            f"pyppp exit 19; pppd TERM -> pyppp exit {status}"
        )


def test_s3_chap_pyppp_authenticates_pppd(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """Scenario 3b: ``pyppp serve --auth chap`` authenticates pppd; wrong secret fails."""
    with scenario("3b. pppd CHAP peer -> pyppp serve --auth chap") as row:
        good, good_peer, bad, bad_peer = pppd_calls_twice(
            pppd_guest,
            pyppp_process,
            user="zaphod",
            secrets="chap-secrets",
            passwords=("s3cret", "not-the-secret"),
            ours="zaphod * s3cret *\n",
            addresses=("10.99.13.5:10.99.13.6", "10.99.13.9:10.99.13.10"),
            auth="chap",
        )

        row.link_up = pppd_link_up(good, 40)
        good.wait_log(r"CHAP authentication succeeded", 1)
        good_peer.wait_log(r"Peer zaphod authenticated with CHAP", 5)
        good_peer.wait_log(r'sent \[CHAP Success id=0x\w+ "Access granted"\]', 1)
        ping_guest_to_host(good, "10.99.13.5", 2)

        assert bad.wait(40) == ExitStatus.AUTH_TOPEER_FAILED
        bad.wait_log(r"CHAP authentication failed", 1)
        assert bad_peer.wait(30) == ExitStatus.PEER_AUTH_FAILED
        bad_peer.wait_log(r"Peer zaphod failed CHAP authentication", 1)

        pppd_status = finish_by_pyppp(good, good_peer)
        row.notes.append(
            "CHAP-MD5 in, ping; wrong secret: pppd exit 19, pyppp exit 11; "
            f"pyppp TERM -> pppd exit {pppd_status}"
        )


# ---------------------------------------------------------------------------------------------
# 4. pyppp serve --auth login: a system user through PAM

LOGIN_USER = "pyppplogin"
PAM_SERVICE_FILE = Path("/etc/pam.d/ppp")
# What Debian's ppp package installs as /etc/pam.d/ppp.
PAM_PPP = (
    "#%PAM-1.0\n"
    "# Created by pyppp's interop tests; removed at the end of the test.\n"
    "auth\trequired\tpam_nologin.so\n"
    "@include common-auth\n"
    "@include common-account\n"
    "@include common-session\n"
)


@pytest.fixture
def system_user() -> Iterator[tuple[str, str]]:
    """A real system user with a password, and /etc/pam.d/ppp if there is none; both removed."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd")
    try:
        import pam  # noqa: F401
    except ImportError:
        pytest.skip("python-pam is not installed: pyppp would check /etc/shadow instead")
    password = "Pw-" + secrets.token_hex(6)
    if subprocess.run(["id", LOGIN_USER], capture_output=True).returncode == 0:
        pytest.skip(f"user {LOGIN_USER} already exists; not touching it")
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", LOGIN_USER],
        check=True,
        capture_output=True,
    )
    made_pam = False
    try:
        subprocess.run(["chpasswd"], input=f"{LOGIN_USER}:{password}\n".encode(), check=True)
        if not PAM_SERVICE_FILE.exists():
            PAM_SERVICE_FILE.write_text(PAM_PPP)
            made_pam = True
        yield LOGIN_USER, password
    finally:
        if made_pam:
            PAM_SERVICE_FILE.unlink(missing_ok=True)
        subprocess.run(["userdel", LOGIN_USER], capture_output=True)


def test_s4_login_pam(
    pppd_guest: StartGuest, pyppp_process: StartPyppp, system_user: tuple[str, str]
) -> None:
    """Scenario 4: ``--auth login`` checks the PAP password against the system (PAM)."""
    user, password = system_user
    with scenario("4. pppd PAP client -> pyppp serve --auth login (PAM)") as row:
        # pppd's rule: the peer needs an entry in pap-secrets too; "" defers to the system.
        good, good_peer, bad, bad_peer = pppd_calls_twice(
            pppd_guest,
            pyppp_process,
            user=user,
            secrets="pap-secrets",
            passwords=(password, f"{password}x"),
            ours=f'{user} * "" *\n',
            addresses=("10.99.14.1:10.99.14.2", "10.99.14.5:10.99.14.6"),
            auth="login",
        )

        row.link_up = pppd_link_up(good, 40)
        good_peer.wait_log(rf"user {user} logged in on tty \S+ intf ppp\d+", 5)
        good_peer.wait_log(rf"Peer {user} authenticated with PAP", 1)
        good.wait_log(r"PAP authentication succeeded", 1)
        # The real pppd prints the HOWTO's line: PAM's "Success" as pyppp's Ack message.
        good.wait_log(r"Remote message: Success", 1)
        ping_guest_to_host(good, "10.99.14.1", 2)

        assert bad.wait(40) == ExitStatus.AUTH_TOPEER_FAILED
        bad.wait_log(r"PAP authentication failed", 1)
        assert bad_peer.wait(30) == ExitStatus.PEER_AUTH_FAILED
        bad_peer.wait_log(rf"PAP peer authentication failed for {user}", 1)
        assert not any("logged in" in line for line in bad_peer.log())

        finish_by_pyppp(good, good_peer)
        row.notes.append(
            f"system user checked through PAM service `ppp` ('user {user} logged in on tty "
            "... intf ...'); wrong password: pppd exit 19, pyppp exit 11"
        )


# ---------------------------------------------------------------------------------------------
# 5. unusual LCP options: every byte value crosses intact

ALL_BYTES = bytes(range(256)) * 128 + bytes(range(255, -1, -1)) * 128  # 64 KiB


def _all_bytes_both_ways(
    guest: PppdGuest, peer: PypppProcess, pppd_ip: str, our_ip: str, port: int
) -> None:
    assert tcp_guest_to_host(guest, peer, our_ip, "/tmp/allbytes", port) == len(ALL_BYTES)
    tcp_host_to_guest(guest, peer, pppd_ip, ALL_BYTES, port + 1)
    # One UDP datagram holding every byte value, each way (IP packet of 284 bytes: fits an
    # MRU of 296 unfragmented).
    datagram = bytes(range(256))
    cid = guest_spawn(
        guest, f"nc.openbsd -u -l -W 1 {pppd_ip} {port + 2} >/tmp/udp; md5sum </tmp/udp"
    )
    for _ in range(50):
        r = peer.netns_run(
            ["socat", "-u", "STDIN", f"UDP:{pppd_ip}:{port + 2}"], input=datagram, timeout=10
        )
        assert r.returncode == 0, r.stderr.decode()
        with contextlib.suppress(TimeoutError):
            result = guest.result(cid, timeout=0.3)
            break
    else:
        raise AssertionError("UDP datagram never reached the guest")
    assert result.output[-1].split()[0] == hashlib.md5(datagram).hexdigest()


def frames(raw: bytes) -> list[bytes]:
    """The HDLC frames of a raw byte stream, still escaped (split on the 0x7e flags)."""
    return [f for f in raw.split(b"\x7e") if f]


def test_s5_unusual_lcp(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """Scenario 5: asyncmap/escape/mru 296 in one run, default-asyncmap + no compression in
    another (they conflict); the link works and every byte value crosses both ways.

    A :class:`LineTap` between pyppp and each guest records the raw bytes, so the escaping
    and the address/control field are checked on the wire, not just inferred from the data.
    """
    with contextlib.ExitStack() as stack:
        _unusual_lcp(pppd_guest, pyppp_process, stack)


def _unusual_lcp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp, stack: contextlib.ExitStack
) -> None:
    with scenario("5a. asyncmap 0xa0000, escape 11,13,ff, mru 296") as row_a:
        a = pppd_guest(
            [
                *BASE,
                "noauth",
                "10.99.15.1:10.99.15.2",
                "asyncmap",
                "0xa0000",
                "escape",
                "11,13,ff",
                "mru",
                "296",
            ],
            files={"/tmp/allbytes": ALL_BYTES},
        )
        tap_a = stack.enter_context(LineTap(a.device))
        a_peer = pyppp_process("dial", tap_a.device, ["noauth", "debug", "local"])
        b = pppd_guest(
            [
                *BASE,
                "noauth",
                "10.99.15.5:10.99.15.6",
                "default-asyncmap",
                "nopcomp",
                "noaccomp",
            ],
            files={"/tmp/allbytes": ALL_BYTES},
        )
        tap_b = stack.enter_context(LineTap(b.device))
        b_peer = pyppp_process("serve", tap_b.device, ["debug"], auth="none")

        row_a.link_up = pppd_link_up(a, 40)
        # pppd asks for ACCM 0x000a0000 (0x11 and 0x13 escaped towards it) and an MRU of
        # 296; pyppp acks both, and its interface's MTU follows the peer's MRU.
        ours = a_peer.log_text()
        assert re.search(r"rcvd \[LCP ConfReq id=0x\w+ <mru 296> <asyncmap 0xa0000>", ours), ours
        assert re.search(r"sent \[LCP ConfAck id=0x\w+ <mru 296> <asyncmap 0xa0000>", ours), ours
        a_peer.wait_log(r"remote IP address 10\.99\.15\.1", 5)
        link = a_peer.netns_run(["ip", "-o", "link", "show"]).stdout.decode()
        assert re.search(r"ppp\d+: .* mtu 296 ", link), link
        _all_bytes_both_ways(a, a_peer, "10.99.15.1", "10.99.15.2", 5101)
        # 1000-byte pings: fragmented into 296-byte packets towards pppd.
        ping_host_to_guest(a_peer, "10.99.15.1", 2, size=1000)
        ping_guest_to_host(a, "10.99.15.2", 2)
        finish_by_pppd(a, a_peer)
        # On the wire: pyppp escaped 0x11 and 0x13 as asked (and sent them: 7d 31, 7d 33),
        # and the control characters pppd did not ask for went raw (ACCM honoured, not
        # everything escaped); pppd's `escape ff` left no raw 0xff towards pyppp.
        sent, got = bytes(tap_a.to_guest), bytes(tap_a.to_pyppp)
        assert b"\x11" not in sent
        assert b"\x13" not in sent
        assert b"\x7d\x31" in sent
        assert b"\x7d\x33" in sent
        assert b"\x01" in sent
        assert b"\x12" in sent
        assert b"\x7d\xdf" in got
        # pppd's kernel takes `escape ff` a moment after pppd has started: its very first LCP
        # frames may still carry a raw 0xff address octet (seen once in a loaded run). From
        # its first escaped 0xff on, none may go raw.
        assert b"\xff" not in got[got.index(b"\x7d\xdf") :]
        row_a.notes.append(
            "pyppp dial; 64 KiB of every byte value by TCP and a 256-byte UDP datagram each "
            "way intact; on the wire pyppp escapes exactly 0x11/0x13 (+7d/7e), pppd's 0xff "
            "escaped; pyppp MTU 296, 1000-byte pings fragment"
        )

    with scenario("5b. default-asyncmap, nopcomp, noaccomp") as row_b:
        row_b.link_up = pppd_link_up(b, 40)
        # pppd rejects ACCM, PFC and ACFC: pyppp must escape every control character and
        # send full headers.
        log = "\n".join(b.pppd_log())
        rej = re.search(r"sent \[LCP ConfRej id=0x\w+ (.*)\]", log)
        assert rej is not None, log
        assert {"<asyncmap 0x0>", "<pcomp>", "<accomp>"} <= set(re.findall(r"<[^>]+>", rej[1]))
        assert not re.search(r"sent \[LCP ConfReq .*(asyncmap|pcomp|accomp)", log), log
        our_ip = b.wait_event("IP-UP", 1).fields["remote"]
        _all_bytes_both_ways(b, b_peer, "10.99.15.5", our_ip, 5201)
        ping_guest_to_host(b, our_ip, 2)
        finish_by_pyppp(b, b_peer)
        # On the wire: pyppp escaped every control character (ACCM stays 0xffffffff) and
        # sent every frame with its address and control field (ff 03, the 03 escaped).
        sent = bytes(tap_b.to_guest)
        assert not any(byte < 0x20 for byte in sent)
        lcp_up = 2  # the first frames are LCP, which always has ff 03 anyway
        assert all(f.startswith(b"\xff\x7d\x23") for f in frames(sent)[lcp_up:]), sent[:200]
        row_b.notes.append(
            "pyppp serve --auth none; pppd rejects asyncmap/pcomp/accomp; 64 KiB of every "
            "byte value by TCP and a UDP datagram each way intact; on the wire pyppp escapes "
            "every control character and sends ff 03 on every frame"
        )
