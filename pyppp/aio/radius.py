"""The RADIUS client on the event loop: pyrad's codec, asyncio's UDP, retransmits, failover.

:mod:`pyppp.pppd.radius` decides what a request says and what a reply means; this module
sends it. Each exchange has its own UDP socket "connected" to the server (so only that server's
datagrams reach it) and waits ``radius_timeout`` seconds for a reply whose Identifier and
Response Authenticator (and Message-Authenticator, RFC 3579 §3.2) match; it retransmits the
same packet ``radius_retries`` times in all, then tries the next server, rebuilt with that
server's secret. Nothing here blocks the loop: a dead server costs the caller
``timeout x retries`` seconds per server and the other lines nothing.

A :class:`RadiusSession` is one call's RADIUS life: the Access-Request (through the link's
``external_checker``), then Accounting Start, Interim-Update every Acct-Interim-Interval and
Stop with the session's time and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Final

from pyrad.dictionary import Dictionary
from pyrad.packet import AccessAccept, AccessRequest, AccountingRequest, AcctPacket, AuthPacket

from pyppp.auth.base import ExternalCheckNeeded, ExternalVerdict
from pyppp.events import AuthMethod
from pyppp.linkconfig import LinkStats
from pyppp.pppd.radius import (
    AccessAcceptError,
    Attributes,
    NasInfo,
    RadiusConfig,
    RadiusGrant,
    RadiusServer,
    SaltDecrypt,
    Unhide,
    access_request,
    accounting_request,
    interpret_accept,
    terminate_cause,
)

__all__ = ["DICTIONARY", "RadiusClient", "RadiusSession", "decode_reply"]

DICTIONARY: Final = Path(__file__).resolve().parents[1] / "pppd" / "radius.dictionary"
"""The attributes pyppp uses, in pyrad's dictionary format (shipped with the package)."""


def unhide(value: bytes, *, secret: bytes, authenticator: bytes) -> bytes:
    """Undo RFC 2865 §5.2's hiding (User-Password's), as RFC 2548 §2.4.1 hides MS-CHAP-MPPE-Keys.

    Block ``i`` is ``c(i) xor MD5(S + c(i-1))``, ``c(0)`` the Request Authenticator: the mask
    chains on the hidden value, so hiding one 16-octet block again with pyrad's ``PwCrypt``
    (the authenticator set to the block before it) undoes it. pyrad's ``PwDecrypt`` does the
    whole value only for passwords (it returns text: zeros stripped, bytes that are not UTF-8
    dropped), which a binary key does not survive.

    Raises:
        ValueError: not a whole number of 16-octet blocks.
    """
    if not value or len(value) % 16:
        raise ValueError(f"{len(value)} octets is not a whole number of 16-octet blocks")
    plain = b""
    chain = authenticator
    for offset in range(0, len(value), 16):
        block = value[offset : offset + 16]
        plain += AuthPacket(secret=secret, authenticator=chain).PwCrypt(block)
        chain = block
    return plain


def decode_reply(reply: Any) -> tuple[dict[str, list[object]], SaltDecrypt, Unhide]:
    """A verified reply's attributes by name, and how to undo the hiding of the hidden ones.

    All three as :func:`~pyppp.pppd.radius.interpret_accept` takes them.

    The hidden attributes (``encrypt=2``, salt: MS-MPPE-Send-Key, -Recv-Key; ``encrypt=1``:
    MS-CHAP-MPPE-Keys) stay as they came, for the policy to check them as pppd does before
    they are decrypted with the shared secret and the request's authenticator
    (``reply.request_authenticator``, which the caller sets, as pyrad's own clients do).

    Raises:
        AccessAcceptError: an attribute pyrad cannot decode (an integer of 3 octets, ...).
    """
    dictionary = reply.dict
    decoded: dict[str, list[object]] = {}
    for key in reply.keys():  # noqa: SIM118 (pyrad's keys are names)
        name = str(key)
        attribute = dictionary.attributes.get(key) if isinstance(key, str) else None
        try:
            if attribute is not None and attribute.encrypt in (1, 2):
                vendor = dictionary.vendors.GetForward(attribute.vendor)
                values = list(reply[(vendor, attribute.code) if vendor else attribute.code])
            else:
                values = list(reply[key])
        except Exception as exc:  # pyrad's refusal of a hostile value
            logging.getLogger("pyppp.radius").debug("RADIUS: %s does not decode: %r", name, exc)
            raise AccessAcceptError(f"RADIUS: bad {name} attribute") from None
        decoded[name] = values
    hidden = functools.partial(
        unhide, secret=reply.secret, authenticator=reply.request_authenticator or b""
    )
    return decoded, reply.SaltDecrypt, hidden


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a flood is dropped, never stored
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable: the timeout decides


class RadiusClient:
    """Sends Access- and Accounting-Requests to the configured servers.

    Args:
        config: the servers, timeout and retries.
        logger: where the line-level messages go.
    """

    def __init__(self, config: RadiusConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("pyppp.radius")
        self.dictionary = Dictionary(str(DICTIONARY))

    def _packet(
        self, cls: type[Any], code: int, server: RadiusServer, attributes: Attributes
    ) -> Any:
        packet = cls(code=code, secret=server.secret.encode(), dict=self.dictionary)
        if code == AccessRequest:
            packet.add_message_authenticator()  # RFC 3579 §3.2; BlastRADIUS (CVE-2024-3596)
        for name, value in attributes:
            if name == "User-Password":
                packet[name] = packet.PwCrypt(str(value))  # RFC 2865 §5.2
            else:
                packet.AddAttribute(name, value)
        return packet

    async def _exchange(
        self, servers: tuple[RadiusServer, ...], build: Callable[[RadiusServer], Any]
    ) -> tuple[Any, RadiusServer] | None:
        loop = asyncio.get_running_loop()
        for server in servers:
            packet = build(server)
            raw = packet.RequestPacket()
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    _Datagrams, remote_addr=(server.host, server.port)
                )
            except OSError as exc:
                self.logger.warning("RADIUS server %s:%d: %s", server.host, server.port, exc)
                continue
            try:
                for attempt in range(self.config.retries):
                    if attempt:
                        self.logger.debug(
                            "RADIUS: no answer from %s:%d, retransmitting", server.host, server.port
                        )
                    transport.sendto(raw)
                    deadline = loop.time() + self.config.timeout
                    while (left := deadline - loop.time()) > 0:
                        try:
                            data = await asyncio.wait_for(protocol.queue.get(), left)
                        except TimeoutError:
                            break
                        try:
                            reply = packet.CreateReply(packet=data)
                            valid = packet.VerifyReply(reply, data)
                        except Exception:  # garbage from the network: counted as nothing
                            valid = False
                        if valid:
                            # RFC 2548 §2.4.2: MS-MPPE keys are hidden with the request's.
                            reply.request_authenticator = packet.authenticator
                            return reply, server
                        self.logger.debug("RADIUS: dropped a reply that does not verify")
            finally:
                transport.close()
            self.logger.warning(
                "RADIUS server %s:%d did not answer (%d tries)",
                server.host,
                server.port,
                self.config.retries,
            )
        return None

    async def authenticate(
        self, check: ExternalCheckNeeded, nas: NasInfo
    ) -> tuple[ExternalVerdict, RadiusGrant | None]:
        """Ask the servers; return the verdict and, if accepted, what the Accept granted."""
        attributes = access_request(check, nas)
        got = await self._exchange(
            self.config.auth_servers,
            lambda server: self._packet(AuthPacket, AccessRequest, server, attributes),
        )
        if got is None:
            self.logger.error("RADIUS: no server answered for %s: refusing the call", check.user)
            return ExternalVerdict(False), None
        reply, server = got
        if reply.code != AccessAccept:
            self.logger.warning("RADIUS: %s rejected by %s", check.user, server.host)
            return ExternalVerdict(False), None
        try:
            decoded, decrypt, hidden = decode_reply(reply)
            grant = interpret_accept(
                decoded,
                salt_decrypt=decrypt,
                unhide=hidden,
                mschap_challenge=check.challenge if check.method is AuthMethod.MSCHAP else None,
                logger=self.logger,
            )
        except AccessAcceptError as exc:
            # pppd radius.c: radius_setparams fails, the message is logged, the call refused.
            self.logger.error("%s from %s: refusing the call for %s", exc, server.host, check.user)
            return ExternalVerdict(False), None
        self.logger.info("RADIUS: %s accepted by %s", check.user, server.host)
        return grant.verdict(), grant

    async def account(self, attributes: Attributes) -> bool:
        """Send one Accounting-Request; whether a server acknowledged it."""
        if not self.config.acct_servers:
            return False
        got = await self._exchange(
            self.config.acct_servers,
            lambda server: self._packet(AcctPacket, AccountingRequest, server, attributes),
        )
        return got is not None


@dataclass
class _Call:
    user: str
    grant: RadiusGrant
    started: float
    address: IPv4Address | None = None


class RadiusSession:
    """One call's RADIUS: its Access-Request, then accounting while the network is up.

    Args:
        client: the process's client.
        nas: what the requests say about this line.
        session_id: Acct-Session-Id (unique per call).
        stats: the link's counters (read for Interim-Update and Stop).
        logger: where the line's messages go.
    """

    def __init__(
        self,
        client: RadiusClient,
        nas: NasInfo,
        session_id: str,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.nas = nas
        self.session_id = session_id
        self.logger = logger or client.logger
        self.stats: LinkStats | None = None
        self.call: _Call | None = None
        self.grant: RadiusGrant | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._interim: asyncio.Task[None] | None = None

    async def check(self, request: ExternalCheckNeeded) -> ExternalVerdict:
        """The link's ``external_checker``: ask the servers about this caller."""
        verdict, grant = await self.client.authenticate(request, self.nas)
        if grant is not None:
            self.grant = grant
            self.call = _Call(request.user, grant, time.monotonic())
        return verdict

    def started(self, address: IPv4Address, stats: LinkStats) -> None:
        """The network is up: Accounting Start, and Interim-Updates if asked for."""
        call = self.call
        if call is None:
            return
        call.address = address
        call.started = time.monotonic()
        self.stats = stats
        self._spawn(self._send("Start"))
        interval = call.grant.interim_interval
        if interval:
            self._interim = asyncio.get_running_loop().create_task(self._interims(interval))

    async def _interims(self, interval: int) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send("Interim-Update")

    async def stopped(self, exit_status: int | None) -> None:
        """The call is over: Accounting Stop with its time and counts (waits for the answer)."""
        if self._interim is not None:
            self._interim.cancel()
            self._interim = None
        if self.call is not None and self.call.address is not None:
            await self._send("Stop", terminate_cause(exit_status))
            self.call = None
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _send(self, status: str, cause: str | None = None) -> None:
        call = self.call
        if call is None:
            return
        stats = self.stats or LinkStats()
        attributes = accounting_request(
            status,
            session_id=self.session_id,
            user=call.user,
            nas=self.nas,
            framed_ip=call.address,
            session_time=int(time.monotonic() - call.started),
            octets_in=stats.bytes_received,
            octets_out=stats.bytes_sent,
            packets_in=stats.frames_received,
            packets_out=stats.frames_sent,
            cause=cause,
            class_=call.grant.class_,
        )
        if not await self.client.account(attributes):
            self.logger.warning(
                "RADIUS accounting %s for %s was not acknowledged", status, call.user
            )

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
