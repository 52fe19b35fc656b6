"""Exception hierarchy.

Peer faults never raise out of the core: the RFCs say to silently discard (or reject) what a
peer sends wrong, so the core turns them into counters, debug log lines and events. Exceptions
are for misuse of the API and for bad input from the *user* (options, secrets files).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "LocalProtocolError",
    "MalformedPacket",
    "PyPPPError",
]


class PyPPPError(Exception):
    """Base class of every exception pyppp raises."""


class LocalProtocolError(PyPPPError):
    """The caller used the API wrongly (a bug in the caller, not in the peer)."""


class MalformedPacket(PyPPPError):  # noqa: N818 (the style guide names it)
    """A packet or option from the peer could not be parsed.

    Codecs raise it; the protocol engines catch it and discard the packet (RFC 1661 §5) or
    answer with a Code-Reject, so it never reaches the user of the core.
    """


class ConfigError(PyPPPError):
    """Bad input from the user: an option, an options file or a secrets file.

    Attributes:
        exit_status: pppd's exit status for this error (2: option error, by default).
        source: where the offending word came from (``"/etc/ppp/options:3"``), if known.
    """

    def __init__(self, message: str, *, source: str | None = None, exit_status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.exit_status = exit_status

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message
