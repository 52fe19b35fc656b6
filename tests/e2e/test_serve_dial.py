"""``pyppp serve`` and ``pyppp dial`` as real processes, in two namespaces, on a null-modem cable.

The server (namespace a) requires PAP and hands out 10.99.1.1:10.99.1.2; the dialer (namespace
b) authenticates as zaphod. Each test checks what a pppd user would: the log lines, IP across
the link both ways, the exit statuses, and that the ``pppN`` interfaces are gone afterwards.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from pyppp.aio.cable import NullModemCable
from pyppp.errors import ExitStatus

from .netns import (
    CLIENT_IP,
    SERVER_IP,
    Call,
    Lab,
    ping,
    start_call,
    tcp_transfer,
)

TRANSFER_BYTES = 10 * 1024 * 1024


def _ppp_links(lab: Lab) -> dict[str, list[str]]:
    return {ns.name: [n for n in ns.links() if n.startswith("ppp")] for ns in (lab.a, lab.b)}


def _assert_clean_end(call: Call, lab: Lab, *, signalled: str) -> None:
    """The signalled side exits 5, the other 0; both say so as pppd does; no pppN left."""
    server_status = call.server.wait(15)
    client_status = call.client.wait(15)
    statuses = {"server": server_status, "client": client_status}
    other = "client" if signalled == "server" else "server"
    logs = (
        f"server (status {server_status}):\n{call.server.text}\n---\n"
        f"client (status {client_status}):\n{call.client.text}"
    )
    assert statuses[signalled] == ExitStatus.USER_REQUEST, logs
    # The other side got an LCP Terminate-Request after the link had been up. pppd set its
    # status to ExitStatus.OK when the network came up (auth.c np_up) and nothing changes it on a
    # Terminate-Request that is not followed by a modem hang-up: it exits 0, and so do we.
    assert statuses[other] == ExitStatus.OK, logs
    signalled_proc = call.server if signalled == "server" else call.client
    other_proc = call.client if signalled == "server" else call.server
    assert signalled_proc.find(r"^Terminating on signal 15$"), logs
    assert other_proc.find(r"^LCP terminated by peer"), logs
    for process in (call.server, call.client):
        assert process.find(r"^Connection terminated\.$"), logs
        assert process.find(r"^Connect time \d+\.\d minutes\.$"), logs
        assert process.find(r"^Sent \d+ bytes, received \d+ bytes\.$"), logs
        assert "Traceback" not in process.text, logs
    assert _ppp_links(lab) == {lab.a.name: [], lab.b.name: []}


def test_call_ping_transfer_then_server_sigterm(
    lab: Lab, report_figure: Callable[[str, str], None]
) -> None:
    with NullModemCable() as cable:
        call = start_call(lab, cable.ends)
        call.wait_up(lab=lab)
        for process, local, remote in (
            (call.server, SERVER_IP, CLIENT_IP),
            (call.client, CLIENT_IP, SERVER_IP),
        ):
            assert process.find(r"^Using interface ppp\d+$"), process.text
            assert process.find(r"^Connect: ppp\d+ <--> /dev/pts/\d+$"), process.text
            assert process.find(rf"^local  IP address {local}$"), process.text
            assert process.find(rf"^remote IP address {remote}$"), process.text
        assert call.server.find(r"^PAP peer authentication succeeded for zaphod$"), call.server.text
        assert call.client.find(r"^PAP authentication succeeded$"), call.client.text
        # The trace (debug) is pppd's, and the password stays hidden.
        assert call.client.find(r'^sent \[PAP AuthReq id=0x\d+ user="zaphod" password=<hidden>\]')
        assert "gargleBlaster" not in call.client.text + call.server.text
        # Both interfaces exist, each in its own namespace.
        links = _ppp_links(lab)
        assert all(len(names) == 1 for names in links.values()), links

        ping(lab.a, CLIENT_IP)
        ping(lab.b, SERVER_IP)

        seconds, sent_hash, got_hash = tcp_transfer(
            lab, lab.a, SERVER_IP, lab.b, size=TRANSFER_BYTES
        )
        assert sent_hash == got_hash
        assert call.link_up is not None
        report_figure(
            "link-up, dialer's first LCP ConfReq to IPCP up on both",
            f"{call.link_up * 1000:.0f} ms",
        )
        report_figure(
            "link-up, dialer started to IPCP up on both (wall)", f"{call.wall_up * 1000:.0f} ms"
        )
        report_figure(
            "TCP through pyppp on an unpaced pty pair",
            f"{TRANSFER_BYTES / seconds / 1e6:.2f} MB/s ({TRANSFER_BYTES} bytes, sha256 equal)",
        )

        call.server.signal(signal.SIGTERM)
        _assert_clean_end(call, lab, signalled="server")


def test_dialer_sigterm(lab: Lab) -> None:
    with NullModemCable() as cable:
        call = start_call(lab, cable.ends, server_words=(), client_words=())
        call.wait_up(lab=lab)
        ping(lab.b, SERVER_IP, count=1)
        call.client.signal(signal.SIGTERM)
        _assert_clean_end(call, lab, signalled="client")


def test_wrong_password(lab: Lab) -> None:
    with NullModemCable() as cable:
        call = start_call(lab, cable.ends, password="towel")
        client_status = call.client.wait(20)
        server_status = call.server.wait(20)
        logs = (
            f"server (status {server_status}):\n{call.server.text}\n---\n"
            f"client (status {client_status}):\n{call.client.text}"
        )
        assert call.client.find(r"^PAP authentication failed$"), logs
        assert client_status == ExitStatus.AUTH_TOPEER_FAILED, logs
        assert call.server.find(r"^PAP peer authentication failed for zaphod$"), logs
        assert server_status == ExitStatus.PEER_AUTH_FAILED, logs
        for process in (call.server, call.client):
            assert not process.find(r"^remote IP address"), logs
            assert "Traceback" not in process.text, logs
            assert "towel" not in process.text, logs
        assert _ppp_links(lab) == {lab.a.name: [], lab.b.name: []}


@pytest.mark.parametrize("side", ["server", "client"])
def test_sigterm_before_peer_appears(lab: Lab, side: str) -> None:
    """A side alone on the cable (no peer yet) still ends with 5 on SIGTERM, no traceback."""
    with NullModemCable() as cable:
        config = lab.config_dir(side, pap_secrets="zaphod * gargleBlaster *\n")
        if side == "server":
            args = ["serve", cable.ends[0], "--auth", "pap", f"{SERVER_IP}:{CLIENT_IP}"]
            ns = lab.a
        else:
            args = ["dial", cable.ends[1], "--user", "zaphod", "noauth"]
            ns = lab.b
        process = lab.pyppp(side, ns, *args, "--config-dir", str(config), "debug")
        process.wait_for(r"^Connect: ppp\d+ <--> ", 10)
        process.signal(signal.SIGTERM)
        status = process.wait(10)
        assert status == ExitStatus.USER_REQUEST, process.text
        assert "Traceback" not in process.text, process.text
        assert not [n for n in ns.links() if n.startswith("ppp")]


def test_defaultroute_and_proxyarp(lab: Lab) -> None:
    """pppd's defaultroute (dialer) and proxyarp (server): added at IPCP up, removed at the end."""
    # An Ethernet-like interface on the server's side whose subnet holds the peer's address.
    for command in (
        ["ip", "link", "add", "vpa", "type", "veth", "peer", "name", "vpb"],
        ["ip", "addr", "add", "10.99.1.100/24", "dev", "vpa"],
        ["ip", "link", "set", "vpa", "up"],
        ["ip", "link", "set", "vpb", "up"],
    ):
        lab.a.run(command, check=True)
    with NullModemCable() as cable:
        call = start_call(
            lab, cable.ends, server_words=("proxyarp",), client_words=("defaultroute",)
        )
        call.wait_up(lab=lab)
        routes = lab.b.run(["ip", "route", "show", "default"]).stdout
        assert "dev ppp" in routes, routes
        proxies = lab.a.run(["ip", "neigh", "show", "proxy"]).stdout
        assert f"{CLIENT_IP} dev vpa" in proxies, proxies
        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5
        call.server.wait(15)
    assert lab.b.run(["ip", "route", "show", "default"]).stdout.strip() == ""
    assert CLIENT_IP not in lab.a.run(["ip", "neigh", "show", "proxy"]).stdout


def test_ms_dns_served_and_usepeerdns_written(lab: Lab) -> None:
    """RFC 1877: the server's ms-dns reach a `usepeerdns` dialer, which writes resolv.conf in
    its config dir (pppd: /etc/ppp/resolv.conf) and prints pppd's lines."""
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            server_words=("ms-dns", "10.99.0.53", "ms-dns", "10.99.0.54"),
            client_words=("usepeerdns",),
        )
        call.wait_up(lab=lab)
        assert call.client.wait_for(r"^primary   DNS address 10\.99\.0\.53$", timeout=5)
        assert call.client.wait_for(r"^secondary DNS address 10\.99\.0\.54$", timeout=5)
        resolv = (lab.tmp / "client" / "resolv.conf").read_text()
        assert resolv == "nameserver 10.99.0.53\nnameserver 10.99.0.54\n"
        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5


def test_usepeerdns_with_noresolvconf_writes_no_resolv_conf(lab: Lab) -> None:
    """pppd's ``noresolvconf``: the peer's DNS servers are asked for, logged and handed to
    ip-up (DNS1, DNS2, USEPEERDNS), but resolv.conf is not written."""
    client_dir = lab.tmp / "client"
    client_dir.mkdir()
    out = lab.tmp / "ip-up.out"
    hook = client_dir / "ip-up"
    hook.write_text(
        f'#!/bin/sh\necho "$DNS1 $DNS2 $USEPEERDNS" > {out}.tmp && mv {out}.tmp {out}\n'
    )
    hook.chmod(0o755)
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            server_words=("ms-dns", "10.99.0.53", "ms-dns", "10.99.0.54"),
            client_words=("usepeerdns", "noresolvconf"),
        )
        call.wait_up(lab=lab)
        assert call.client.wait_for(r"^primary   DNS address 10\.99\.0\.53$", timeout=5)
        assert call.client.wait_for(r"^secondary DNS address 10\.99\.0\.54$", timeout=5)
        for _ in range(200):  # ip-up runs once the interface is up
            if out.exists():
                break
            time.sleep(0.05)
        assert out.read_text() == "10.99.0.53 10.99.0.54 1\n"
        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5
    assert not (client_dir / "resolv.conf").exists()
