"""Stable, order-free randomness: every random draw is keyed by what it is for, never by when it is made.

Python's `hash()` is salted per process, so keys are hashed with BLAKE2 instead. A generator keyed by
(seed, symbol, purpose, date) gives the same numbers whichever other days were generated before, which is what makes a
day of trades a pure function of its key.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np


def key64(*parts: object) -> int:
    """A stable 64-bit integer from any printable parts."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def generator(*parts: object) -> np.random.Generator:
    """A numpy Generator determined by `parts` alone, e.g. generator(seed, "BTCUSDT", "trades", date)."""
    return np.random.Generator(np.random.PCG64(key64(*parts)))


def day_generator(seed: int, symbol: str, purpose: str, day: date) -> np.random.Generator:
    return generator(seed, symbol, purpose, day.isoformat())


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser over a uint64 array: a vectorised hash for per-element pseudo-random values."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform01(x: np.ndarray) -> np.ndarray:
    """Map hashed uint64 values to floats in [0, 1)."""
    return (mix64(x) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
