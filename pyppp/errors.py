"""Exception hierarchy.

Peer faults never raise out of the core: the RFCs say to silently discard (or reject) what a
peer sends wrong, so the core turns them into counters, debug log lines and events. Exceptions
are for misuse of the API and for bad input from the *user* (options, secrets files).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ConfigError",
    "ExitStatus",
    "LocalProtocolError",
    "MalformedPacket",
    "PyPPPError",
]


class ExitStatus(IntEnum):
    """pppd's exit statuses (pppd(8), EXIT STATUS): pyppp exits the same way.

    20 and 21 are in pppd.h but not in the man page (``maxoctets``, ``allow-number``).
    """

    OK = 0
    FATAL_ERROR = 1
    OPTION_ERROR = 2
    NOT_ROOT = 3
    NO_KERNEL_SUPPORT = 4
    USER_REQUEST = 5
    LOCK_FAILED = 6
    OPEN_FAILED = 7
    CONNECT_FAILED = 8
    PTYCMD_FAILED = 9
    NEGOTIATION_FAILED = 10
    PEER_AUTH_FAILED = 11
    IDLE_TIMEOUT = 12
    CONNECT_TIME = 13
    CALLBACK = 14
    PEER_DEAD = 15
    HANGUP = 16
    LOOPBACK = 17
    INIT_FAILED = 18
    AUTH_TOPEER_FAILED = 19
    TRAFFIC_LIMIT = 20
    CNID_AUTH_FAILED = 21


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

    def __init__(
        self, message: str, *, source: str | None = None, exit_status: int = ExitStatus.OPTION_ERROR
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.exit_status = exit_status

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message
