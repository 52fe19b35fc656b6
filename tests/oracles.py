"""Oracles that unit tests and fuzz targets both check hostile input against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyppp.errors import MalformedPacket
from pyppp.options import Option, decode_options, encode_options


def check_options_round_trip(data: bytes, codecs: Mapping[int, type[Option]]) -> None:
    """Any bytes as a Configure-* payload: they decode or raise ``MalformedPacket`` only,
    what decodes re-encodes to the same bytes, and every option traces.

    Raises:
        AssertionError: the decoded options do not encode back to ``data``.
    """
    try:
        options = decode_options(data, codecs)
    except MalformedPacket:
        return
    assert encode_options(options) == data, "the options do not round-trip"
    for option in options:
        option.trace()


def check_reject(request: Sequence[Option], rejected: Sequence[Option]) -> None:
    """A Configure-Reject: some of the request's own options, unmodified, in the request's
    order (RFC 1661 §5.4).

    Raises:
        AssertionError: an empty Reject, or one with an option not taken from the request.
    """
    assert rejected
    remaining = iter(request)
    assert all(any(option is r for r in remaining) for option in rejected)
