"""``dump``: the effective options as pppd prints them, which read back as the same options."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from pyppp.pppd.options import BOOKKEEPING, PppOptions
from pyppp.pppd.optiontable import OPTIONS, Kind, OptionSpec


def dump(options: PppOptions) -> list[str]:
    r"""Render the options that were set, one line each, as pppd's ``dump`` option does.

    The first line is pppd's header ``pppd options in effect:``; then
    ``name value\t\t# (from source)`` per set option (pppd's layout: the word, its
    value, two tabs, the source). Passwords print as ``??????``, as in pppd.
    """
    lines = ["pppd options in effect:"]
    sources = options.sources
    for spec_field in (f.name for f in fields(PppOptions)):
        if spec_field in BOOKKEEPING or spec_field not in sources:
            continue
        for text, source in _render(options, spec_field):
            lines.append(f"{text}\t\t# (from {source})")
    for word in options.noops:
        lines.append(f"{word}\t\t# (from {sources.get(f'noop:{word}', '?')})")
    return lines


def _render(options: PppOptions, name: str) -> Iterator[tuple[str, str]]:
    value = getattr(options, name)
    source = options.sources[name]
    if name in ("device", "speed"):
        yield str(value), source
    elif name == "local_ip":
        # One `local:remote` word sets both: print them together, as they were written.
        together = options.sources.get("remote_ip") == source
        yield f"{value}:{options.remote_ip if together else ''}", source
    elif name == "remote_ip":
        if options.sources.get("local_ip") != source:
            yield f":{value}", source
    elif name == "ipv6_local":
        # One `ipv6 A,B` word may set both (pppd prints them as fe80:: addresses, which would
        # not read back: these do).
        together = options.sources.get("ipv6_remote") == source
        yield f"ipv6 {value},{options.ipv6_remote if together else ''}", source
    elif name == "ipv6_remote":
        if options.sources.get("ipv6_local") != source:
            yield f"ipv6 ,{value}", source
    elif name in ("ms_dns", "ms_wins"):
        for index, address in enumerate(value):
            yield (
                f"{name.replace('_', '-')} {address}",
                options.sources.get(f"{name}[{index}]", source),
            )
    elif name == "escape":
        yield "escape " + ",".join(f"{c:x}" for c in value), source
    elif name == "asyncmap":
        yield f"asyncmap {value:x}", source
    elif name == "debug":
        yield " ".join(["debug"] * value) if value > 0 else "debug 0", source
    elif name == "password":
        yield "password ??????", source
    else:
        spec = _primary_spec(name, value)
        if spec is None:
            return  # a side effect nobody asked for by name (nodetach cleared by updetach)
        if spec.kind is Kind.FLAG:
            yield spec.name, source
        elif isinstance(value, str):
            yield f"{spec.name} {_quote(value)}", source
        else:
            yield f"{spec.name} {value}", source


def _primary_spec(name: str, value: object) -> OptionSpec | None:
    for spec in OPTIONS:
        if spec.field == name and (spec.kind is not Kind.FLAG or spec.value == value):
            return spec
    return None


def _quote(text: str) -> str:
    """Quote like pppd's ``%q``: quote a string that would not read back as one word."""
    if text and all(ch.isprintable() and ch not in " \t\"'\\#" for ch in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'
