"""The fuzz target registry, a small input decoder and a mutational input generator."""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["FuzzTarget", "Input", "discover", "mutations"]


@dataclass(frozen=True)
class FuzzTarget:
    """One fuzz target.

    Attributes:
        name: unique, ``area.thing`` (``hdlc.deframer``).
        run: the one-input function; ``AssertionError`` means an oracle failed.
        seeds: valid or interesting inputs the mutator starts from.
        max_len: the mutator keeps inputs at most this long.
    """

    name: str
    run: Callable[[bytes], None]
    seeds: Sequence[bytes] = (b"",)
    max_len: int = 4096
    tags: frozenset[str] = field(default_factory=frozenset)


class Input:
    """Structured values read from fuzz bytes (atheris' FuzzedDataProvider, in small).

    Reading past the end gives zeros and empty strings, so every input is valid.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        """Bytes not yet consumed."""
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end)."""
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        """Everything not yet consumed."""
        return self.take(self.remaining)

    def uint(self, octets: int = 1) -> int:
        """An unsigned big-endian integer of ``octets`` bytes (0 past the end)."""
        return int.from_bytes(self.take(octets).ljust(octets, b"\0"), "big")

    def below(self, n: int) -> int:
        """An integer in ``range(n)``."""
        return self.uint(2) % n if n > 1 else 0

    def pick(self, choices: Sequence[object]) -> object:
        """One of ``choices``."""
        return choices[self.below(len(choices))]

    def chunk(self, limit: int = 256) -> bytes:
        """A length-prefixed chunk of at most ``limit`` bytes."""
        return self.take(self.below(limit + 1))


def discover() -> dict[str, FuzzTarget]:
    """Every target of every ``tests.fuzz.fuzz_*`` module, by name."""
    import tests.fuzz as package

    targets: dict[str, FuzzTarget] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("fuzz_"):
            continue
        module = importlib.import_module(f"tests.fuzz.{info.name}")
        for target in module.TARGETS:
            if target.name in targets:
                raise ValueError(f"two fuzz targets named {target.name}")
            targets[target.name] = target
    return targets


def _mutate(data: bytes, rng: random.Random, corpus: Sequence[bytes], max_len: int) -> bytes:
    buf = bytearray(data)
    for _ in range(1 + rng.randrange(4)):
        op = rng.randrange(8)
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # set a byte to an interesting value
            buf[rng.randrange(len(buf))] = rng.choice((0x00, 0x7D, 0x7E, 0xFF, 0x20, 0x7F, 0x80))
        elif op == 2:  # insert random bytes
            i = rng.randrange(len(buf) + 1)
            buf[i:i] = rng.randbytes(rng.randrange(1, 16))
        elif op == 3 and buf:  # delete a range
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randrange(1, 32)]
        elif op == 4 and buf:  # duplicate a range
            i = rng.randrange(len(buf))
            j = min(len(buf), i + rng.randrange(1, 64))
            buf[i:i] = buf[i:j]
        elif op == 5 and corpus:  # splice with another input
            other = rng.choice(corpus)
            if other:
                i = rng.randrange(len(buf) + 1)
                j = rng.randrange(len(other))
                buf[i:] = other[j:]
        elif op == 6 and buf:  # overwrite with a big-endian boundary value
            i = rng.randrange(len(buf))
            value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000))
            buf[i : i + 2] = value.to_bytes(3, "big")[-2:]
        else:  # truncate
            buf = buf[: rng.randrange(len(buf) + 1)]
    return bytes(buf[:max_len])


def mutations(target: FuzzTarget, seed: int) -> Iterator[bytes]:
    """An endless, reproducible stream of inputs for ``target``: seeds, mutants, noise."""
    rng = random.Random(seed)
    corpus = [s[: target.max_len] for s in target.seeds] or [b""]
    yield from corpus
    while True:
        roll = rng.random()
        if roll < 0.05:
            yield rng.randbytes(rng.randrange(target.max_len + 1))
        else:
            yield _mutate(rng.choice(corpus), rng, corpus, target.max_len)


def split_options(data: bytes) -> list[bytes]:
    """Split a Configure-Request's options (well-formed ones; a bad length ends the list)."""
    out = []
    while len(data) >= 2 and 2 <= data[1] <= len(data):
        out.append(data[: data[1]])
        data = data[data[1] :]
    return out
