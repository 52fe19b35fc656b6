"""The link on a null-modem cable paced to 115200 baud: pacing is real, and PPP still works.

At 115200 baud a byte takes 10 bits / 115200 = 86.8 us on the wire. A ping with 1000 bytes of
payload is a 1028-byte IP packet, framed as about 1040 octets (more with escapes), so each
direction takes at least ~90 ms: a round trip above 170 ms, where an unpaced pty pair answers
in about a millisecond. The cable's pacer lets at most 64 bytes through at once (a UART FIFO
plus the relay's catch-up allowance), which takes up to ~6 ms off each direction, so the lower
bound subtracts that burst.
"""

from __future__ import annotations

from collections.abc import Callable

from pyppp.aio.cable import NullModemCable

from .netns import CLIENT_IP, SERVER_IP, Lab, ping, rtt_ms, start_call

BAUD = 115200
PAYLOAD = 1000
# 28 bytes of IP and ICMP headers, 4+2 of PPP header and FCS, 1 flag: the wire time of one
# direction, without escapes (which can only add).
FRAME = PAYLOAD + 28 + 7
CABLE_BURST = 64  # pyppp.aio.cable._BURST
MIN_ONE_WAY = (FRAME - CABLE_BURST) * 10 / BAUD
WIRE_ONE_WAY = FRAME * 10 / BAUD


def test_link_at_115200_baud(lab: Lab, report_figure: Callable[[str, str], None]) -> None:
    with NullModemCable(baud=BAUD) as cable:
        call = start_call(
            # noccp: a ping's zero-filled payload would shrink under Deflate, and this measures
            # the pacing of the line itself.
            lab,
            cable.ends,
            server_words=("115200", "debug", "noccp"),
            client_words=("115200", "debug", "noccp"),
        )
        call.wait_up(timeout=20, lab=lab)
        output = ping(lab.b, SERVER_IP, count=3, size=PAYLOAD, wait=3)
        rtts = rtt_ms(output)
        assert len(rtts) == 3, output
        # A lower bound proves the pacing is real (the relay holds the bytes back); how little
        # pyppp adds on top of the wire time is a figure (reported below, and bench/'s), not a
        # timed assertion that a loaded machine could break.
        assert min(rtts) >= 2 * MIN_ONE_WAY * 1000, (rtts, output)
        # A small packet's wire time is a twentieth of it: pacing goes by size.
        small = rtt_ms(ping(lab.a, CLIENT_IP, count=3, size=56, wait=3))
        assert min(small) < min(rtts), (small, rtts)
        report_figure(
            "ping -s 1000 at 115200 baud",
            f"min {min(rtts):.0f} ms (wire time {2 * WIRE_ONE_WAY * 1000:.0f} ms, "
            f"{2 * MIN_ONE_WAY * 1000:.0f} ms with the cable's 64-byte bursts); "
            f"ping -s 56: min {min(small):.0f} ms",
        )
        assert call.link_up is not None
        report_figure(
            "link-up at 115200 baud (first ConfReq to IPCP up)", f"{call.link_up * 1000:.0f} ms"
        )
