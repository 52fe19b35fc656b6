"""``ip-pool A-B``: the remote addresses a server hands its callers (a pyppp extension).

pppd has no pool: each line gets its remote address from the command line, ``options.ttyXX``
or the secrets files. A server answering many lines (:mod:`pyppp.aio.multiline`) needs one
address per caller, taken when the caller has authenticated and given back when the call
ends; ``ip-pool`` is that. It applies only where nothing else gives the caller an address: a
``local:remote`` option, a secrets line's single address, or RADIUS's Framed-IP-Address take
precedence.

The pool is plain bookkeeping: which address each owner (a line) holds. It never blocks and
never grows: its size is fixed by the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address
from typing import TYPE_CHECKING, Final

from pyppp.errors import ConfigError

if TYPE_CHECKING:
    from pyppp.pppd.options import PppOptions

__all__ = ["MAX_POOL", "AddressPool", "check_server_words", "parse_pool"]

MAX_POOL: Final = 65536
"""The largest range accepted (a /16): a typo must not build a four-billion-entry table."""


def parse_pool(text: str) -> tuple[IPv4Address, IPv4Address]:
    """Parse ``A-B`` (or a single address ``A``) into the first and last address.

    Raises:
        ConfigError: not two IPv4 addresses, the second before the first, or too large.
    """
    first_text, dash, last_text = text.partition("-")
    try:
        first = IPv4Address(first_text.strip())
        last = IPv4Address(last_text.strip()) if dash else first
    except AddressValueError as exc:
        raise ConfigError(f"ip-pool: bad address range {text!r} (give A-B)") from exc
    if int(last) < int(first):
        raise ConfigError(f"ip-pool: {last} comes before {first}")
    if int(last) - int(first) + 1 > MAX_POOL:
        raise ConfigError(f"ip-pool: {text} holds more than {MAX_POOL} addresses")
    return first, last


@dataclass
class AddressPool:
    """A fixed range of addresses, each free or held by one owner.

    Args:
        first, last: the range, both included.

    Attributes:
        held: address -> the owner holding it.
    """

    first: IPv4Address
    last: IPv4Address
    held: dict[IPv4Address, str] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str) -> AddressPool:
        """A pool from the ``ip-pool`` word's argument (see :func:`parse_pool`)."""
        first, last = parse_pool(text)
        return cls(first, last)

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    @property
    def size(self) -> int:
        """How many addresses the range has."""
        return int(self.last) - int(self.first) + 1

    @property
    def free(self) -> int:
        """How many addresses are free now."""
        return self.size - len(self.held)

    def take(self, owner: str) -> IPv4Address | None:
        """Hand ``owner`` the lowest free address; None when every one is held."""
        if len(self.held) >= self.size:
            return None
        for value in range(int(self.first), int(self.last) + 1):
            address = IPv4Address(value)
            if address not in self.held:
                self.held[address] = owner
                return address
        return None  # pragma: no cover (the count above says one is free)

    def release(self, address: IPv4Address) -> None:
        """Give an address back (an address not held, or not ours, changes nothing)."""
        self.held.pop(address, None)

    def holder(self, address: IPv4Address) -> str | None:
        """Who holds ``address``, if anyone."""
        return self.held.get(address)


def check_server_words(options: PppOptions) -> None:
    """The dial-in server's words, once every option is read (from ``check_options``).

    Raises:
        ConfigError: a plugin other than radius.so, radius words without it, a bad pool.
    """
    if options.plugin is not None and options.plugin.rsplit("/", 1)[-1] != "radius.so":
        raise ConfigError(
            f"plugin {options.plugin}: pyppp cannot load pppd's C plugins; only radius.so "
            "(its built-in RADIUS) is known",
            source=options.sources.get("plugin"),
        )
    if options.plugin is None and (options.radius_config_file or options.avpair):
        raise ConfigError("radius-config-file and avpair need plugin radius.so")
    if options.ip_pool is not None:
        try:
            parse_pool(options.ip_pool)
        except ConfigError as exc:
            raise ConfigError(exc.message, source=options.sources.get("ip_pool")) from exc
