"""A noisy line: bit errors on the cable, and pyppp's adaptive send size (pyppp.framesize).

The cable flips bits at random (``NullModemCable(ber=...)``, unpaced). The issue's measurement
with pppd's fixed sizes: at a bit error rate of 1e-4 a 1500-octet frame survives about 30 % of
the time and TCP nearly stops (158 KB in 120 s). With the defaults pyppp sees the damaged frames,
sends smaller ones (it logs "Line errors: ... sending at most N octets") and 1 MiB must cross
intact within 120 s with the link still up. The defaults include Deflate (CCP) and VJ: every
lost frame costs a Reset-Request/Reset-Ack, and a lost Ack is asked for again every second
(pyppp.ccp.protocol), so TCP is not left waiting on a decompressor that waits too. At 0 and
1e-6 the sizer keeps full-size frames; the throughput against ``noadaptive-mtu`` is a ratio
measured in one run by bench/bench_noisy.py.
"""

from __future__ import annotations

from collections.abc import Callable

from pyppp.aio.cable import NullModemCable

from .netns import SERVER_IP, Lab, start_call, tcp_transfer

MIB = 1024 * 1024


_ports = iter(range(5101, 5200))


def transfer(lab: Lab, ber: float, *words: str, size: int = MIB) -> tuple[float, str, str]:
    """``size`` bytes by TCP from the dialer to the server on a cable with ``ber``.

    Returns:
        (seconds, the dialer's log, its interface's IPv4 routes and IPv6 addresses after).
    """
    with NullModemCable(ber=ber, seed=7) as cable:
        call = start_call(lab, cable.ends, server_words=words, client_words=words)
        call.wait_up(timeout=60, lab=lab)
        seconds, sent_hash, got_hash = tcp_transfer(
            lab, lab.a, SERVER_IP, lab.b, size=size, port=next(_ports), timeout=120
        )
        assert sent_hash == got_hash
        routes = lab.b.run(["ip", "route", "show", "dev", "ppp0"]).stdout
        addresses = lab.b.run(["ip", "-6", "addr", "show", "dev", "ppp0"]).stdout
        logs = (call.client.text, routes + addresses)
        for process in (call.server, call.client):
            assert process.find(r"^Connection terminated") is None, process.text
            process.stop()
    return seconds, *logs


def test_one_mib_crosses_a_1e4_line_with_the_defaults(
    lab: Lab, report_figure: Callable[[str, str], None]
) -> None:
    seconds, client, interface = transfer(lab, 1e-4)
    assert seconds < 120
    assert "Line errors: about" in client, client  # the sender adapted, and said so
    sizes = [line for line in client.splitlines() if "Line errors" in line]
    size = sizes[-1].split("sending at most ")[1].split()[0]
    # IPv6 is up too: the interface stays at IPv6's 1280 and the IPv4 routes carry the size.
    assert f"mtu {size}" in interface, interface
    assert "inet6 fe80::" in interface, interface
    report_figure(
        "1 MiB by TCP at BER 1e-4, defaults (adaptive send size)",
        f"{seconds:.1f} s, {MIB / seconds / 1e3:.0f} kB/s; dialer: {sizes[-1]}",
    )


def test_clean_and_slightly_noisy_lines_keep_full_size_frames(
    lab: Lab, report_figure: Callable[[str, str], None]
) -> None:
    # The speed comparison with noadaptive-mtu is a ratio measured in one run, so it lives in
    # bench/bench_noisy.py (python -m bench.bench_noisy --fixed); here: what the sizer decides.
    for ber in (0.0, 1e-6):
        seconds, client, interface = transfer(lab, ber, size=4 * MIB)
        report_figure(
            f"4 MiB by TCP at BER {ber:g}, defaults (adaptive send size)",
            f"{4 * MIB / seconds / 1e6:.2f} MB/s",
        )
        sizes = [
            int(line.split("sending at most ")[1].split()[0])
            for line in client.splitlines()
            if "Line errors" in line
        ]
        if ber == 0:
            # No damaged frame: nothing to adapt to, full-size frames throughout.
            assert not sizes, client
            assert "mtu " not in interface.split("ppp0:")[0], interface  # no route MTU set
        else:
            # 1e-6 damages about 1 % of 1500-octet frames: the goodput optimum stays at the
            # large sizes (1500 or 1280), never the small ones a 1e-4 line needs.
            assert all(size >= 1280 for size in sizes), client
