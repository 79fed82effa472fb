"""Which loader follows which instrument: a universe shared by a fleet of loaders, `--shard k/n` each.

The rule is rendezvous (highest-random-weight) hashing: shard k of n follows the instruments for which k scores
highest among 0..n-1, a score being a stable hash of (instrument id, shard number). Why this rule:
- each instrument's shard depends on its own id and n alone, so listing a new instrument (or delisting one) moves no
  other instrument: every other loader keeps its books, connections and sequences;
- going from n to n+1 shards moves only the ~1/(n+1) of the instruments that the new shard now scores highest, and
  each of them from wherever it was to the new shard; a modulo of a hash would move about n/(n+1) of them;
- it needs no coordination and no list kept anywhere: every replica computes its share from the same inputs, and a
  restarted one gets exactly its share back.
A sorted list cut into n ranges would also be deterministic, but every listing would shift the ranges after it.
Shares are even in count (within the usual √ of a random draw), not in traffic: BTCUSDT weighs as one instrument.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from streamforge.errors import ConfigError


@dataclass(frozen=True)
class Shard:
    index: int  # 0 .. count-1, a StatefulSet's pod ordinal
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`2/4`: the third of four loaders (shards count from 0, like a StatefulSet's pods)."""
        index, sep, count = text.strip().partition("/")
        try:
            shard = cls(int(index), int(count)) if sep else None
        except ValueError:
            shard = None
        if shard is None or not 0 <= shard.index < shard.count:
            raise ConfigError(f"shard {text!r} is not k/n with 0 <= k < n (e.g. 0/1 for one loader, 2/4 for the third of four)")
        return shard

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, instrument: str) -> bool:
        return owner(instrument, self.count) == self.index

    def select(self, instruments: list[str]) -> list[str]:
        """The instruments this shard follows, in the order given."""
        return [i for i in instruments if self.owns(i)]


def owner(instrument: str, count: int) -> int:
    """The shard of `count` that follows `instrument` (rendezvous hashing, see the module docstring)."""
    return max(range(count), key=lambda shard: _score(instrument, shard))


def _score(instrument: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{instrument}\x1f{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
