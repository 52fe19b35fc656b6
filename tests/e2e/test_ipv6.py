"""IPv6 over pyppp-to-pyppp links, and ``masquerade``, as real processes in network namespaces.

* Dual stack: IPv6CP opens next to IPCP; each TUN carries exactly the negotiated link-local
  pair (``fe80::1 peer fe80::2/128 nodad``, no address of the kernel's own); ping6 both ways; a
  TCP transfer over IPv6 checked by SHA-256; ``ipv6-up``/``ipv6-down`` run with pppd's
  arguments and environment.
* IPv6 only (``noip`` on the dialer): the server's IPCP is Protocol-Rejected and the link stays
  up on IPv6CP alone.
* ``masquerade``: a third namespace plays the Internet behind a veth on the server; the dialer's
  TCP connection to it arrives from the server's address; when the link ends (normally, by
  SIGTERM, or by the dialer's SIGKILL found out by LCP echoes) no nftables rule is left and
  forwarding is back to what it was. With ``demand`` on the dialer, the table is there while
  each call's IPCP is up, and not before the first call, between calls or after.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from pyppp.aio.cable import NullModemCable
from pyppp.aio.masquerade import DEBIAN_BINDING

from .calls import READY, demand_call, wait_count
from .netns import CLIENT_IP, SERVER_IP, Lab, Netns, ping, start_call, tcp_transfer

SERVER_LL, CLIENT_LL = "fe80::1", "fe80::2"
SERVER_LL_PPPD = "fe80::0000:0000:0000:0001"
CLIENT_LL_PPPD = "fe80::0000:0000:0000:0002"
TRANSFER_BYTES = 2 * 1024 * 1024

# Every hook writes its arguments and the variables pppd documents into <hook>.out.
HOOK = """#!/bin/sh
out="$(dirname "$0")/$(basename "$0").out"
{
  echo "args: $*"
  echo "LLLOCAL=$LLLOCAL"
  echo "LLREMOTE=${LLREMOTE-unset}"
  echo "IFNAME=$IFNAME"
  echo "IPLOCAL=${IPLOCAL-unset}"
} > "$out.tmp" && mv "$out.tmp" "$out"
"""
HOOKS = ("ipv6-up", "ipv6-down", "ip-up")


def install_hooks(config_dir: Path) -> None:
    for name in HOOKS:
        path = config_dir / name
        path.write_text(HOOK)
        path.chmod(0o755)


def wait_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never ran"
        time.sleep(0.05)
    return path.read_text()


def ping6(ns: Netns, address: str, ifname: str = "ppp0") -> str:
    result = ns.run(["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "3", f"{address}%{ifname}"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0% packet loss" in result.stdout, result.stdout
    return result.stdout


def inet6(ns: Netns, ifname: str = "ppp0") -> list[str]:
    out = ns.run(["ip", "-6", "-o", "addr", "show", "dev", ifname]).stdout
    return [m.group(1) for m in re.finditer(r"inet6 (.*?)\s+\\", out)]


def wait_link_running(ns: Netns, ifname: str = "ppp0", timeout: float = 10.0) -> None:
    """Wait until ``ifname`` is administratively up and has carrier (``UP``, ``LOWER_UP``)."""
    deadline = time.monotonic() + timeout
    while True:
        out = ns.run(["ip", "-o", "link", "show", "dev", ifname]).stdout
        flags = re.search(r"<([^>]*)>", out)
        if flags is not None and {"UP", "LOWER_UP"} <= set(flags.group(1).split(",")):
            return
        assert time.monotonic() < deadline, f"{ifname} not up in {ns.name}: {out}"
        time.sleep(0.05)


def ppp_links(ns: Netns) -> list[str]:
    return [n for n in ns.links() if n.startswith("ppp")]


def test_dual_stack_ping6_transfer_and_scripts(lab: Lab) -> None:
    # The dialer names its IPv6 scripts (pppd 2.5's ipv6-up-script/ipv6-down-script): those run,
    # not the config dir's; and its defaultroute6 gets defaultroute6-metric.
    hooks = lab.tmp / "hooks"
    hooks.mkdir()
    for name in ("up6", "down6"):
        (hooks / name).write_text(HOOK)
        (hooks / name).chmod(0o755)
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            server_words=("debug", "ipv6", "::1,::2", "ipparam", "lab6"),
            client_words=(
                "debug",
                "ipv6-up-script",
                str(hooks / "up6"),
                "ipv6-down-script",
                str(hooks / "down6"),
                "defaultroute6",
                "defaultroute6-metric",
                "300",
            ),
        )
        install_hooks(lab.tmp / "server")
        install_hooks(lab.tmp / "client")
        call.wait_up(lab=lab)
        for process, local, remote in (
            (call.server, SERVER_LL_PPPD, CLIENT_LL_PPPD),
            (call.client, CLIENT_LL_PPPD, SERVER_LL_PPPD),
        ):
            process.wait_for(rf"^remote LL address {remote}$", 10)
            assert process.find(rf"^local  LL address {local}$"), process.text
            assert process.find(r"^sent \[IPV6CP ConfReq id=0x1 <addr fe80::"), process.text
        # pppd's link-locals, and nothing the kernel made up itself.
        server_up = wait_file(lab.tmp / "server" / "ipv6-up.out")
        client_up = wait_file(hooks / "up6.out")
        assert inet6(lab.a) == [f"{SERVER_LL} peer {CLIENT_LL}/128 scope link nodad"]
        assert inet6(lab.b) == [f"{CLIENT_LL} peer {SERVER_LL}/128 scope link nodad"]

        routes = lab.b.run(["ip", "-6", "-o", "route", "show", "default"]).stdout
        assert re.search(r"^default dev ppp0 .*metric 300 ", routes, re.M), routes
        assert "default" not in lab.a.run(["ip", "-6", "route", "show", "default"]).stdout

        ping6(lab.a, CLIENT_LL)
        ping6(lab.b, SERVER_LL)
        _, sent_hash, got_hash = tcp_transfer(
            lab, lab.a, f"{SERVER_LL}%ppp0", lab.b, size=TRANSFER_BYTES, port=5006
        )
        assert sent_hash == got_hash

        # pppd: ipv6-up interface tty speed local-LL remote-LL ipparam, LLLOCAL/LLREMOTE set.
        tty_server, tty_client = cable.ends
        assert server_up.splitlines() == [
            f"args: ppp0 {tty_server} 115200 {SERVER_LL_PPPD} {CLIENT_LL_PPPD} lab6",
            f"LLLOCAL={SERVER_LL_PPPD}",
            f"LLREMOTE={CLIENT_LL_PPPD}",
            "IFNAME=ppp0",
            f"IPLOCAL={SERVER_IP}",
        ], server_up
        assert client_up.splitlines()[0] == (
            f"args: ppp0 {tty_client} 115200 {CLIENT_LL_PPPD} {SERVER_LL_PPPD} "
        ), client_up
        assert wait_file(lab.tmp / "server" / "ip-up.out").startswith(
            f"args: ppp0 {tty_server} 115200 {SERVER_IP} {CLIENT_IP} lab6"
        )

        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5, call.client.text
        assert call.server.wait(15) == 0, call.server.text
    for down_hook, local, remote in (
        (lab.tmp / "server" / "ipv6-down", SERVER_LL_PPPD, CLIENT_LL_PPPD),
        (hooks / "down6", CLIENT_LL_PPPD, SERVER_LL_PPPD),
    ):
        down = wait_file(down_hook.with_name(down_hook.name + ".out"))
        assert down.splitlines()[0].startswith("args: ppp0 /dev/pts/"), down
        assert f" 115200 {local} {remote}" in down.splitlines()[0], down
        assert f"LLLOCAL={local}" in down, down
    # The config dir's own ipv6 scripts did not run on the dialer.
    assert not [p.name for p in (lab.tmp / "client").glob("ipv6-*.out")]
    for process in (call.server, call.client):
        assert "Traceback" not in process.text, process.text
        assert process.find(r"^Connection terminated\.$"), process.text
    assert ppp_links(lab.a) == ppp_links(lab.b) == []
    assert lab.b.run(["ip", "-6", "route", "show", "default"]).stdout == ""


def test_ipv6_only_link(lab: Lab) -> None:
    """``noip`` on the dialer: pppd's Protocol-Reject of IPCP; IPv6CP alone keeps the link."""
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            # "debug debug" traces the LCP echoes, whose 1 s timer serves as a clock below.
            server_words=("debug", "debug", "lcp-echo-interval", "1", "ipv6", "::1,::2"),
            client_words=("debug", "debug", "lcp-echo-interval", "1", "noip"),
        )
        call.client.wait_for(rf"^remote LL address {SERVER_LL_PPPD}$", 20)
        call.server.wait_for(rf"^remote LL address {CLIENT_LL_PPPD}$", 10)
        assert call.client.find(r"^sent \[LCP ProtRej id=0x\w+ 80 21"), call.client.text
        call.server.wait_for(
            r"^Protocol-Reject for 'Internet Protocol Control Protocol' \(0x8021\) received", 5
        )
        ping6(lab.b, SERVER_LL)
        ping6(lab.a, CLIENT_LL)
        # Several seconds on IPv6 alone: nobody says "No network protocols running". The
        # server's IPCP restart timer (3 s), had the Protocol-Reject left it running, would
        # have retransmitted or given up before the 4th echo request after the reject (the
        # same loop runs the timers in deadline order); the dialer likewise after its reject.
        reject = r"^Protocol-Reject for 'Internet Protocol Control Protocol'"
        call.server.wait_count_after(reject, r"^sent \[LCP EchoReq ", 4)
        call.client.wait_count_after(r"^sent \[LCP ProtRej ", r"^sent \[LCP EchoReq ", 4)
        assert call.server.find(r"^sent \[IPCP ConfReq "), call.server.text  # before it
        assert call.server.count_after(reject, r"^sent \[IPCP ") == 0, call.server.text
        ping6(lab.b, SERVER_LL)
        assert "No network protocols running" not in call.client.text + call.server.text
        assert not call.client.find(r"IP address"), call.client.text
        assert lab.b.run(["ip", "-4", "-o", "addr", "show", "dev", "ppp0"]).stdout == ""
        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5, call.client.text
        assert call.server.wait(15) == 0, call.server.text
    # pppd prints the statistics with "Connection terminated." when IPCP never came up.
    lines = [line for _, line in call.client.lines]
    end = lines.index("Connection terminated.")
    assert re.match(r"Connect time \d+\.\d minutes\.$", lines[end + 1]), lines[end:]
    assert ppp_links(lab.a) == ppp_links(lab.b) == []


def test_noipv6_interface_carries_no_ipv6_address(lab: Lab) -> None:
    """With ``noipv6`` the TUN looks like pppd's ppp0: no IPv6 address, not even the kernel's."""
    with NullModemCable() as cable:
        call = start_call(lab, cable.ends, server_words=("noipv6",), client_words=("noipv6",))
        call.wait_up(lab=lab)
        # The kernel makes its link-local address in the same netlink event that marks the
        # device up with carrier (addrconf's NETDEV_UP/CHANGE), were autoconfiguration on: once
        # "ip link" shows both flags, that address would be there.
        for ns in (lab.a, lab.b):
            wait_link_running(ns)
        assert inet6(lab.a) == []
        assert inet6(lab.b) == []
        assert lab.a.run(["cat", "/proc/sys/net/ipv6/conf/ppp0/addr_gen_mode"]).stdout == "1\n"
        call.client.signal(signal.SIGTERM)
        assert call.client.wait(15) == 5


# -- masquerade --------------------------------------------------------------------------------

INTERNET_SERVER_SIDE, INTERNET_FAR = "10.99.42.1", "10.99.42.2"


def nft_ruleset(ns: Netns) -> str:
    result = ns.run(["nft", "list", "ruleset"])
    assert result.returncode == 0, result.stderr
    return result.stdout


def ip_forward(ns: Netns) -> str:
    return ns.run(["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip()


def masquerade_unavailable() -> str | None:
    import shutil

    if shutil.which("nft") is None:
        return "nft(8) not installed (apt-get install nftables)"
    try:
        import nftables  # noqa: F401
    except ImportError:
        if not (DEBIAN_BINDING / "__init__.py").is_file():
            return "nftables' Python binding missing (apt-get install python3-nftables)"
    return None


def far_host(lab: Lab, sharer: Netns) -> Netns:
    """A third namespace playing the Internet, behind a veth on ``sharer`` (the masquerading
    side): ``INTERNET_SERVER_SIDE`` on ``sharer``'s end, ``INTERNET_FAR`` on its own."""
    internet = lab.namespace("i")
    for command in (
        ["ip", "link", "add", "vnet0", "type", "veth", "peer", "name", "vnet1"],
        ["ip", "link", "set", "vnet1", "netns", internet.name],
        ["ip", "addr", "add", f"{INTERNET_SERVER_SIDE}/24", "dev", "vnet0"],
        ["ip", "link", "set", "vnet0", "up"],
    ):
        sharer.run(command, check=True)
    for command in (
        ["ip", "addr", "add", f"{INTERNET_FAR}/24", "dev", "vnet1"],
        ["ip", "link", "set", "vnet1", "up"],
    ):
        internet.run(command, check=True)
    return internet


@pytest.mark.parametrize("ending", ["dialer-hangs-up", "server-sigterm", "dialer-sigkill"])
def test_masquerade_shares_the_servers_network(lab: Lab, ending: str) -> None:
    reason = masquerade_unavailable()
    if reason is not None:
        pytest.skip(reason)
    internet = far_host(lab, lab.a)
    # The far host knows no way back to the PPP addresses: only NAT can make replies return.
    assert "10.99.1." not in internet.run(["ip", "route"]).stdout
    forwarding_before = ip_forward(lab.a)
    assert forwarding_before == "0"

    echo = ("lcp-echo-interval", "1", "lcp-echo-failure", "2")
    with NullModemCable() as cable:
        call = start_call(
            lab,
            cable.ends,
            server_words=("debug", "masquerade", *echo),
            client_words=("debug", "defaultroute"),
        )
        call.wait_up(lab=lab)
        call.server.wait_for(r"^Masquerading 10\.99\.1\.2 out of every interface but ppp0", 10)
        ruleset = nft_ruleset(lab.a)
        assert "table ip pyppp-ppp0" in ruleset, ruleset
        assert 'ip saddr 10.99.1.2 oifname != "ppp0" masquerade' in ruleset, ruleset
        assert ip_forward(lab.a) == "1"

        _, sent_hash, got_hash = tcp_transfer(
            lab, internet, INTERNET_FAR, lab.b, size=256 * 1024, port=5042
        )
        assert sent_hash == got_hash
        sink = [p for p in lab.processes if p.label == "sink"][-1]
        arrived = sink.find(r"^peer ")
        assert arrived is not None
        assert arrived[1] == f"peer {INTERNET_SERVER_SIDE}", sink.text  # the server's address

        if ending == "dialer-hangs-up":
            call.client.signal(signal.SIGTERM)
            assert call.client.wait(15) == 5
            assert call.server.wait(15) == 0, call.server.text
        elif ending == "server-sigterm":
            call.server.signal(signal.SIGTERM)
            assert call.server.wait(15) == 5, call.server.text
            call.client.wait(15)
        else:
            call.client.signal(signal.SIGKILL)
            call.client.wait(5)
            # The server finds the dead peer by its echoes (pppd's exit status 15).
            assert call.server.wait(20) == 15, call.server.text
        assert call.server.find(r"^Masquerading ended"), call.server.text
    assert "pyppp" not in nft_ruleset(lab.a)
    assert ip_forward(lab.a) == forwarding_before
    assert "Traceback" not in call.server.text, call.server.text


def test_masquerade_with_demand_follows_each_call(lab: Lab) -> None:
    """``demand`` + ``masquerade`` on the dialer: the table exists while IPCP is up, on every
    call, and nowhere else (not before the first packet, not between calls, not after)."""
    reason = masquerade_unavailable()
    if reason is not None:
        pytest.skip(reason)
    # This time the dialer shares its network: the far host sits behind a veth on namespace b.
    far_host(lab, lab.b)
    assert ip_forward(lab.b) == "0"
    masquerading = r"^Masquerading 10\.99\.1\.1 out of every interface but ppp0"
    ended = r"^Masquerading ended \(nftables table ip pyppp-ppp0 removed\)$"
    with NullModemCable() as cable:
        server, client = demand_call(lab, cable.ends, "masquerade", "debug")
        lab.b.wait_address(CLIENT_IP, timeout=15)
        assert "pyppp" not in nft_ruleset(lab.b)  # the interface is up, but no call yet

        ping(lab.b, SERVER_IP, count=2, wait=8)  # the first packet dials
        client.wait_for(masquerading, 10)
        ruleset = nft_ruleset(lab.b)
        assert 'ip saddr 10.99.1.1 oifname != "ppp0" masquerade' in ruleset, ruleset
        assert ip_forward(lab.b) == "1"
        # The server reaches the far host through the dialer, which knows no way back to
        # 10.99.1.1 there: only the NAT makes the replies return.
        lab.a.wait_address(SERVER_IP, timeout=10)
        lab.a.run(["ip", "route", "add", f"{INTERNET_FAR}/32", "dev", "ppp0"], check=True)
        ping(lab.a, INTERNET_FAR, count=2, wait=3)

        # idle 2 ends the call: the table goes with IPCP, the demand interface stays.
        client.wait_for(r"^Terminating connection due to lack of activity\.$", 15)
        client.wait_for(ended, 10)
        assert "pyppp" not in nft_ruleset(lab.b)
        assert ip_forward(lab.b) == "0"
        wait_count(server, READY, 2)

        ping(lab.b, SERVER_IP, count=2, wait=8)  # the next call masquerades again
        wait_count(client, masquerading, 2)
        assert "table ip pyppp-ppp0" in nft_ruleset(lab.b)
        client.signal(signal.SIGTERM)
        assert client.wait(15) == 5, client.text
        assert client.text.count("Masquerading ended") == 2, client.text
        server.signal(signal.SIGTERM)
        server.wait(10)
    assert "pyppp" not in nft_ruleset(lab.b)
    assert ip_forward(lab.b) == "0"
    assert "Traceback" not in client.text + server.text
