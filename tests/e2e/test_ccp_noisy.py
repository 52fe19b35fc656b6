"""Deflate over a line with bit errors: two pyppp processes, 2 MiB of text intact.

On an unpaced cable that flips bits at a rate of 1e-5 (tests/e2e/noisyline.py), FCS-16 turns
each hit frame into a lost one; every loss puts the Deflate decompressor out of sequence, and
CCP must resynchronise it with a Reset-Request/Reset-Ack (RFC 1962 §5) instead of turning
compression off. The TCP transfer's SHA-256 must match, the link must stay up, and both
traces must show Reset-Requests sent and answered, with no "Lost compression sync".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .netns import Lab, netns_unavailable_reason, tcp_transfer
from .noisyline import NoisyCable

SERVER_IP, CLIENT_IP = "10.99.118.11", "10.99.118.12"
SIZE = 2 * 1024 * 1024


def english_text(size: int) -> bytes:
    source = next(Path("/usr/lib").glob("python3*/pydoc_data/topics.py"), None)
    if source is None:
        pytest.skip("no pydoc_data/topics.py")
    data = source.read_bytes()
    return (data * (size // len(data) + 1))[:size]


def test_deflate_survives_bit_errors_through_resets(
    tmp_path: Path, report_figure: Callable[[str, str], None]
) -> None:
    reason = netns_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    text = tmp_path / "text"
    text.write_bytes(english_text(SIZE))
    with Lab("ccp") as lab, NoisyCable(ber=1e-5, seed=1979) as cable:
        server = lab.pyppp(
            "server", lab.a, "serve", cable.ends[0], "--auth", "none", "--config-dir",
            str(lab.config_dir("server")), f"{SERVER_IP}:{CLIENT_IP}", "noipv6", "debug",
        )  # fmt: skip
        server.wait_for(r"^Connect: ppp\d+ <--> ", 15)
        client = lab.pyppp(
            "client", lab.b, "dial", cable.ends[1], "--config-dir",
            str(lab.config_dir("client")), "noauth", "noipv6", "debug",
        )  # fmt: skip
        for side in (server, client):
            side.wait_for(r"^Deflate \(15\) compression enabled$", 30)
            side.wait_for(r"^remote IP address ", 30)
        lab.a.wait_address(SERVER_IP)
        lab.b.wait_address(CLIENT_IP)
        seconds, sent, got = tcp_transfer(
            lab, lab.a, SERVER_IP, lab.b, size=SIZE, data=text, timeout=240
        )
        assert got == sent
        assert cable.flipped > 0
        # The receiver (server) lost frames and asked for resets; the sender answered them.
        assert server.find(r"^sent \[CCP ResetReq id=0x\w+\]") is not None, server.text
        assert client.find(r"^rcvd \[CCP ResetReq id=0x\w+\]") is not None, client.text
        assert client.find(r"^sent \[CCP ResetAck id=0x\w+\]") is not None, client.text
        assert server.find(r"^rcvd \[CCP ResetAck id=0x\w+\]") is not None, server.text
        for side in (server, client):
            assert side.find("Lost compression sync") is None, side.text
            assert side.find(r"^CCP terminated") is None, side.text
            assert side.proc.poll() is None, side.text  # the link is still up
        resets = len([line for _, line in server.lines if line.startswith("sent [CCP ResetReq")])
        report_figure(
            "Deflate over 1e-5 bit errors",
            f"2 MiB text intact in {seconds:.1f} s; {cable.flipped} bits flipped, "
            f"{resets} Reset-Requests",
        )
