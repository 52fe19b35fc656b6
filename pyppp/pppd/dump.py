"""``dump``: the effective options as pppd prints them, as an options file that reads back the same.

pppd prints every option that was set with its value and where it came from. pyppp prints the
same lines, and makes them a faithful options file: reading the output back (as a file, or as
words) gives the same options, except the password, which is masked as in pppd.

Two things make that more than printing field by field:

* **Side effects.** Some words set more than their own field (``require-pap`` also sets
  ``auth``; ``demand`` also sets ``persist``; ``logfd`` clears ``logfile``). Those words are
  printed first; the plain words for the other fields follow and so win, as they did when the
  options were read (``require-pap noauth`` prints ``require-pap`` then ``noauth``).
* **Quoting.** Every value is quoted so that pppd's word splitting gives it back unchanged
  (a device path with a space, a ``#`` in a name).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Final

from pyppp.errors import ConfigError
from pyppp.pppd.options import BOOKKEEPING, PppOptions
from pyppp.pppd.optiontable import OPTION_WORDS, OPTIONS, Kind, OptionSpec

__all__ = ["dump", "quote_word"]

_DEFAULTS: Final = PppOptions()
_FIELD_ORDER: Final = tuple(f.name for f in fields(PppOptions) if f.name not in BOOKKEEPING)
# Rendered by hand: not "word value" (the wild words, the lists, the counted and masked ones).
_SPECIAL: Final = frozenset(
    {
        "device",
        "speed",
        "local_ip",
        "remote_ip",
        "ms_dns",
        "ms_wins",
        "escape",
        "asyncmap",
        "debug",
        "password",
        "script_env",
        "allow_ip",
        "allow_number",
        "avpair",
        "privgroup",
        "ipv6_local",
        "ipv6_remote",
        "deflate_want",
        "deflate_allow",
    }
)
_NOOP_SPECS: Final = {
    spec.name: spec for spec in OPTIONS if spec.kind in (Kind.NOOP, Kind.NOOP_ARG)
}


def dump(options: PppOptions) -> list[str]:
    r"""Render the options that were set, one line each, as pppd's ``dump`` option does.

    The first line is pppd's header ``pppd options in effect:``; then
    ``word value\t\t# (from source)`` per set option (pppd's layout: the word, its value, two
    tabs, the source). Passwords print as ``??????``, as in pppd. No-ops say so after the
    source, and so do pyppp's own words (``pyppp extension``), which pppd would reject.

    Args:
        options: the options, as :func:`~pyppp.pppd.options.load_options` read them.

    Returns:
        The lines, without newlines.

    Raises:
        ConfigError: no order of the words with side effects gives back ``options`` (say
            ``crtscts`` and ``xonxoff`` both on, which no options file can set: each word
            turns the other off). Options read from words have one (``tests/test_dump.py``
            reads back any sequence of words); options made or changed by hand may not.
    """
    lines = ["pppd options in effect:"]
    sources = options.sources
    for text, source in _lines(options):
        spec = OPTION_WORDS.get(text.split(" ", 1)[0])
        # pppd would reject these words: say so, for whoever feeds the file to pppd.
        note = " pyppp extension" if spec is not None and spec.extension else ""
        lines.append(f"{text}\t\t# (from {source}){note}")
    for word in options.noops:
        spec = _NOOP_SPECS.get(word)
        argument = options.noop_args.get(word)
        text = word if argument is None else f"{word} {quote_word(argument)}"
        why = f" no-op: {spec.help}" if spec is not None else " no-op"
        lines.append(f"{text}\t\t# (from {sources.get(f'noop:{word}', '?')}){why}")
    return lines


def _lines(options: PppOptions) -> Iterator[tuple[str, str]]:
    sources = options.sources
    wanted = [name for name in _FIELD_ORDER if name in sources]
    for name in ("device", "speed"):
        if name in wanted:
            yield quote_word(str(getattr(options, name))), sources[name]
    # `ipv6 A,B` also turns IPv6 on: before everything else, so `noipv6` can still follow.
    for name in ("ipv6_local", "ipv6_remote"):
        if name in wanted:
            yield from _special(options, name)
    # Words with side effects first (see the module docstring), in an order that leaves the
    # right value in every field that no plain word can set afterwards.
    effects: dict[str, tuple[OptionSpec, dict[str, object]]] = {}
    for name in wanted:
        value = getattr(options, name)
        spec = None if name in _SPECIAL else _word_for(name, value)
        if spec is not None and spec.also:
            effects[name] = (spec, {name: value, **dict(spec.also)})
    later = {  # fields the plain words below will set anyway
        name
        for name in wanted
        if name not in effects
        and (name in _SPECIAL or _word_for(name, getattr(options, name), plain=True))
    }
    for name in _side_effect_order(options, effects, later):
        yield _render(effects[name][0], getattr(options, name)), sources[name]
    for name in wanted:
        if name in effects or name in ("device", "speed", "ipv6_local", "ipv6_remote"):
            continue
        if name in _SPECIAL:
            yield from _special(options, name)
            continue
        spec = _word_for(name, getattr(options, name), plain=True)
        if spec is not None:
            yield _render(spec, getattr(options, name)), sources[name]


def _side_effect_order(
    options: PppOptions,
    effects: dict[str, tuple[OptionSpec, dict[str, object]]],
    later: set[str],
) -> list[str]:
    """Order the side-effect words so that each field ends with its value.

    Built from the end: a word may go last if every field it sets either gets the value it
    must end with, or is set again by a word after it (or by a plain word later on). Taking
    any word that may go last never blocks another (it only adds fields that are set again),
    so when none may, no order exists.
    """
    remaining = list(effects)
    fixed = set(later)
    order: list[str] = []
    while remaining:
        for name in remaining:
            sets = effects[name][1]
            if all(f in fixed or getattr(options, f) == v for f, v in sets.items()):
                break
        else:
            words = ", ".join(effects[name][0].name for name in remaining)
            raise ConfigError(f"dump: no order of {words} reads back as these options")
        remaining.remove(name)
        order.append(name)
        fixed.update(effects[name][1])
    order.reverse()
    return order


def _word_for(name: str, value: object, *, plain: bool = False) -> OptionSpec | None:
    """The word that sets ``name`` to ``value``, preferring one without side effects."""
    found: OptionSpec | None = None
    for spec in OPTIONS:
        if spec.field != name or spec.kind in (Kind.UNSUPPORTED, Kind.NOOP, Kind.NOOP_ARG):
            continue
        if spec.kind is Kind.FLAG and spec.value != value:
            continue
        if spec.kind is not Kind.FLAG and value is None:
            continue  # "word None": only a side effect sets that
        below_minimum = spec.minimum is not None and isinstance(value, int) and value < spec.minimum
        if spec.kind is Kind.INT and below_minimum:
            continue  # logfd -1 is `nolog`
        if not spec.also:
            return spec
        if found is None and not plain:
            found = spec
    return found


def _render(spec: OptionSpec, value: object) -> str:
    if spec.kind is Kind.FLAG:
        return spec.name
    return f"{spec.name} {quote_word(str(value))}"


def _special(options: PppOptions, name: str) -> Iterator[tuple[str, str]]:
    value = getattr(options, name)
    sources = options.sources
    source = sources[name]
    if name == "local_ip":
        # One `local:remote` word sets both: print them together, as they were written.
        together = options.sources.get("remote_ip") == source
        yield f"{value or ''}:{(options.remote_ip or '') if together else ''}", source
    elif name == "remote_ip":
        if options.sources.get("local_ip") != source and value:
            yield f":{value}", source
    elif name == "ipv6_local":
        # One `ipv6 A,B` word may set both (pppd prints them as fe80:: addresses, which would
        # not read back: these do).
        together = options.sources.get("ipv6_remote") == source
        yield f"ipv6 {value},{options.ipv6_remote if together else ''}", source
    elif name == "ipv6_remote":
        if options.sources.get("ipv6_local") != source:
            yield f"ipv6 ,{value}", source
    elif name == "deflate_want" or (name == "deflate_allow" and "deflate_want" not in sources):
        # `deflate N,M` sets both (and `nodeflate` sets both to 0, which `deflate 0` reads as).
        want, allow = options.deflate_want, options.deflate_allow
        yield f"deflate {want}" if want == allow else f"deflate {want},{allow}", source
    elif name in ("ms_dns", "ms_wins"):
        for index, address in enumerate(value):
            yield (
                f"{name.replace('_', '-')} {address}",
                options.sources.get(f"{name}[{index}]", source),
            )
    elif name in ("allow_ip", "allow_number", "avpair"):
        for item in value:
            yield f"{name.replace('_', '-')} {quote_word(item)}", source
    elif name == "script_env":
        for variable, setting in value:
            if setting is None:
                yield f"unset {quote_word(variable)}", source
            else:
                yield f"set {quote_word(f'{variable}={setting}')}", source
    elif name == "escape":
        if value:
            yield "escape " + ",".join(f"{c:x}" for c in value), source
    elif name == "asyncmap":
        yield f"asyncmap {value:x}", source
    elif name == "debug":
        if value > 0:
            yield " ".join(["debug"] * value), source
    elif name == "password":
        yield "password ??????", source
    elif name == "privgroup":
        yield f"privgroup {quote_word(value)}", source


def quote_word(text: str) -> str:
    """Quote like pppd's ``%q`` so that pppd's word splitting reads ``text`` back unchanged."""
    if text and all(ch.isprintable() and ch not in " \t\"'\\#" for ch in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'
