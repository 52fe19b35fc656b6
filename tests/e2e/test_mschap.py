"""MS-CHAPv2 between two pyppp processes: ``serve require-mschap-v2`` and ``dial``.

The server (namespace a) requires MS-CHAPv2 and checks chap-secrets; the dialer (namespace b)
answers from its own chap-secrets and checks the server's Authenticator Response. Then what a
pppd user would check: the log lines, ping and a TCP transfer compared by SHA-256, the exit
statuses; and that an edit of chap-secrets applies to the next ``chap-interval`` re-challenge.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyppp.aio.cable import NullModemCable
from pyppp.errors import ExitStatus

from .netns import CLIENT_IP, PASSWORD, SERVER_IP, USER, Call, Lab, ping, start_call, tcp_transfer

TRANSFER_BYTES = 2 * 1024 * 1024


def start_mschap_call(
    lab: Lab, ends: tuple[str, str], *, server_words: Sequence[str] = ()
) -> tuple[Call, str]:
    """A call whose server requires MS-CHAPv2; also the path of the server's chap-secrets."""
    call = start_call(lab, ends, mschap_v2=True, server_words=("debug", *server_words))
    return call, str(lab.tmp / "server" / "chap-secrets")


def transfer_and_hang_up(lab: Lab, call: Call, *, timeout: float) -> None:
    """TRANSFER_BYTES by TCP from the dialer to the server, digests compared; then SIGTERM to
    the server: it exits 5, the dialer (its link was up) 0, and neither log has a traceback."""
    server, client = call.server, call.client
    logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
    _, sent_hash, got_hash = tcp_transfer(
        lab, lab.a, SERVER_IP, lab.b, size=TRANSFER_BYTES, timeout=timeout
    )
    assert sent_hash == got_hash
    server.stop()
    assert server.wait(15) == ExitStatus.USER_REQUEST, logs
    assert client.wait(15) == ExitStatus.OK, f"server:\n{server.text}\n---\nclient:\n{client.text}"
    assert "Traceback" not in server.text + client.text


def test_mschap_v2_call_ping_and_transfer(lab: Lab) -> None:
    with NullModemCable() as cable:
        call, _ = start_mschap_call(lab, cable.ends)
        call.wait_up(lab=lab)
        server, client = call.server, call.client
        logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
        assert client.find(r"^rcvd \[LCP ConfReq id=0x\w+ .*<auth chap MS-v2>"), logs
        assert client.find(r'^rcvd \[CHAP Challenge id=0x\w+ <[0-9a-f]{32}>, name = "'), logs
        assert server.find(r'^rcvd \[CHAP Response id=0x\w+ <[0-9a-f]{98}>, name = "zaphod"\]')
        assert server.find(r'^sent \[CHAP Success id=0x\w+ "S=[0-9A-F]{40} M=Access granted"\]')
        assert server.find(r"^Peer zaphod authenticated with CHAP$"), logs
        assert client.find(r"^CHAP authentication succeeded$"), logs  # the S= checked out
        assert PASSWORD not in server.text + client.text
        ping(lab.b, SERVER_IP, count=3, size=1000)
        ping(lab.a, CLIENT_IP, count=3)
        transfer_and_hang_up(lab, call, timeout=90)


def test_an_edited_chap_secrets_applies_to_the_next_rechallenge(lab: Lab) -> None:
    with NullModemCable() as cable:
        call, secrets = start_mschap_call(lab, cable.ends, server_words=("chap-interval", "2"))
        call.wait_up(lab=lab)
        server, client = call.server, call.client
        rechallenged = r'^sent \[CHAP Success id=0x\w+ "S='
        server.wait_for(rechallenged, timeout=5)
        with open(secrets, "w") as file:  # the server's administrator changes the password
            file.write(f"{USER} * another-secret *\n")
        server.wait_for(r"^Peer zaphod failed CHAP authentication$", timeout=10)
        logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
        assert server.wait(15) == ExitStatus.PEER_AUTH_FAILED, logs
        assert server.find(r'^sent \[CHAP Failure id=0x\w+ "E=691 R=0 C=[0-9a-f]{32} V=0 M='), logs
        assert client.find(r"^LCP terminated by peer \(Authentication failed\)"), logs
        # As with pppd: its network was up, then the peer terminated the link.
        assert client.wait(15) == ExitStatus.OK, logs
        assert "Traceback" not in server.text + client.text
