"""Interop matrix, scenario 12: Van Jacobson compression (RFC 1144, IPCP's option 2) with pppd.

The guest's kernel compresses and decompresses with Linux's ``slhc``, so these rows check
pyppp's VJ against Linux's both ways; pyppp keeps a ``record`` of the line (pppd's format; its
``pcap`` shows what the link carries, VJ frames as the IPv4 they rebuild), from which the test
reads what actually went over it:

12a. pppd's defaults answer ``pyppp dial``: both traces show ``<compress VJ 0f 01>`` requested
     and Acked each way; 64 KiB of random data by TCP host -> guest and back, SHA-256 checked;
     the capture has Compressed-TCP (0x002d) frames both ways, and the frames Linux compressed,
     rebuilt by pyppp's decompressor, compress again with pyppp's compressor into exactly
     Linux's bytes (the same slot choice, change masks and deltas).
12b. pppd ``vj-max-slots 4`` calls ``pyppp serve``: pppd asks for ``<compress VJ 03 01>``,
     Naks pyppp's ``0f 01`` down to it, both Ack; a transfer both ways on four connections
     at once, hashes checked; pyppp's slot ids on the line stay within 0..3.

pyppp's namespace turns TCP timestamps off (``net.ipv4.tcp_timestamps=0``): a timestamp
option changes with every segment, and Linux's VJ (and RFC 1144's) sends such segments
uncompressed, so with timestamps on there would be nothing compressed to check.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pyppp.errors import ExitStatus
from pyppp.ipcp.vj import VjCompressor, VjDecompressor
from tests.recordfile import record_frames

from .harness import PppdGuest
from .pyppp_proc import PypppProcess
from .test_matrix_basic import tcp_guest_to_host, tcp_host_to_guest
from .test_matrix_more import in_order, pppd_link_up, scenario, start_on_line

pytestmark = pytest.mark.interop

StartGuest = Callable[..., PppdGuest]
StartPyppp = Callable[..., PypppProcess]

IP, COMP, UNCOMP = 0x0021, 0x002D, 0x002F


def read_line(path: Path) -> list[tuple[bool, int, bytes]]:
    """(sent by pyppp, protocol, information) of every frame on the line, from its ``record``."""
    return record_frames(path)


def no_timestamps(peer: PypppProcess) -> None:
    r = peer.netns_run(["sysctl", "-qw", "net.ipv4.tcp_timestamps=0"])
    assert r.returncode == 0, r.stderr.decode()


def vj_frames(frames: list[tuple[bool, int, bytes]], sent: bool) -> list[tuple[int, bytes]]:
    return [(p, info) for s, p, info in frames if s == sent and p in (IP, COMP, UNCOMP)]


def linux_bytes_again(received: list[tuple[int, bytes]], max_slot_id: int) -> int:
    """Rebuild what Linux sent and compress it again: the same bytes. Returns how many 0x2d.

    ``max_slot_id`` is what pyppp asked for (and Linux's compressor was given, PPPIOCSMAXCID).
    """
    decompressor = VjDecompressor(max_slot_id)
    compressor = VjCompressor(max_slot_id, compress_slot_id=True, timestamps_as_ip=False)
    compressed = 0
    for protocol, information in received:
        if protocol == COMP:
            packet = decompressor.decompress(information)
            compressed += 1
        elif protocol == UNCOMP:
            packet = decompressor.uncompressed(information)
        else:
            packet = information
        assert packet is not None, f"pyppp could not rebuild Linux's {protocol:#06x} frame"
        if packet[0] >> 4 != 4:
            continue
        assert compressor.compress(packet) == (protocol, information), (
            f"pyppp compresses {packet.hex()} differently from Linux's {information.hex()}"
        )
    return compressed


def data_both_ways(
    guest: PppdGuest, peer: PypppProcess, guest_ip: str, pyppp_ip: str, port: int
) -> None:
    payload = os.urandom(64 * 1024)
    tcp_host_to_guest(guest, peer, guest_ip, payload, port)
    crossed = tcp_guest_to_host(guest, peer, pyppp_ip, f"/tmp/rx.{port}", port + 1)
    assert crossed == len(payload)
    back = (peer.config_dir / f"rx.{port + 1}").read_bytes()
    assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()


def test_12a_vj_both_ways_pppd_answers(
    pppd_guest: StartGuest, pyppp_process: StartPyppp, tmp_path: Path
) -> None:
    with scenario("12a VJ: pppd's defaults, pyppp dial, TCP both ways") as row:
        guest = pppd_guest(["noauth", "local", "10.99.12.1:10.99.12.2", "debug"], timeout=180)
        capture = tmp_path / "line.record"
        words = ["noauth", "debug", "noccp", "record", str(capture)]
        peer = start_on_line(pyppp_process, guest, "dial", words)
        row.link_up = pppd_link_up(guest)
        peer.wait_log(r"^remote IP address 10\.99\.12\.1$", 10)
        no_timestamps(peer)
        vj = r"<compress VJ 0f 01>"
        for log in (peer.log(), guest.pppd_log()):
            in_order(log, rf"^sent \[IPCP ConfReq id=0x\w+ {vj}")
            in_order(log, rf"^rcvd \[IPCP ConfAck id=0x\w+ {vj}")
            in_order(log, rf"^rcvd \[IPCP ConfReq id=0x\w+ {vj}")
            in_order(log, rf"^sent \[IPCP ConfAck id=0x\w+ {vj}")
        data_both_ways(guest, peer, "10.99.12.1", "10.99.12.2", 7201)

        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        frames = read_line(capture)
        ours = vj_frames(frames, sent=True)
        theirs = vj_frames(frames, sent=False)
        assert sum(p == COMP for p, _ in ours) > 20, [p for p, _ in ours]
        again = linux_bytes_again(theirs, 15)
        assert again > 20
        row.note(
            f"VJ Acked both ways; 64 KiB each way hashed; {sum(p == COMP for p, _ in ours)} "
            f"0x2d sent, {again} received and re-compressed byte-exact"
        )


def test_12b_pppd_vj_max_slots_4_calls_pyppp(
    pppd_guest: StartGuest, pyppp_process: StartPyppp, tmp_path: Path
) -> None:
    with scenario("12b VJ: pppd vj-max-slots 4 calls pyppp serve") as row:
        guest = pppd_guest(
            ["noauth", "local", "noipdefault", "debug", "vj-max-slots", "4"], timeout=180
        )
        capture = tmp_path / "line.record"
        words = ["10.99.12.11:10.99.12.12", "debug", "noccp", "record", str(capture)]
        peer = start_on_line(pyppp_process, guest, "serve", words, auth="none")
        row.link_up = pppd_link_up(guest)
        peer.wait_log(r"^remote IP address 10\.99\.12\.12$", 10)
        no_timestamps(peer)
        in_order(
            peer.log(),
            r"^rcvd \[IPCP ConfReq id=0x\w+ <compress VJ 03 01>",
            r"^sent \[IPCP ConfAck id=0x\w+ <compress VJ 03 01>",
        )
        in_order(
            peer.log(),
            r"^sent \[IPCP ConfReq id=0x\w+ <compress VJ 0f 01>",
            r"^rcvd \[IPCP ConfNak id=0x\w+ <compress VJ 03 01>",
            r"^sent \[IPCP ConfReq id=0x\w+ <compress VJ 03 01>",
            r"^rcvd \[IPCP ConfAck id=0x\w+ <compress VJ 03 01>",
        )
        in_order(guest.pppd_log(), r"^sent \[IPCP ConfNak id=0x\w+ <compress VJ 03 01>")
        # Six connections, one after the other: more than the four slots pppd keeps.
        for port in range(7211, 7223, 2):
            data_both_ways(guest, peer, "10.99.12.12", "10.99.12.11", port)

        guest.signal_pppd("TERM")
        assert guest.wait(15) == ExitStatus.USER_REQUEST
        peer.wait(15)
        frames = read_line(capture)
        slots = {info[9] for p, info in vj_frames(frames, sent=True) if p == UNCOMP}
        assert slots <= {0, 1, 2, 3}, slots
        assert len(slots) == 4, slots
        assert sum(p == COMP for p, _ in vj_frames(frames, sent=False)) > 20
        linux_bytes_again(vj_frames(frames, sent=False), 3)
        row.note(f"pppd Naks 0f 01 to 03 01; 6 connections hashed; slot ids {sorted(slots)}")
