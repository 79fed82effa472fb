"""Ids that must stay contiguous: what to do with the next id of a sequence (pure decisions; the loader does I/O).

Aggregate trade ids are contiguous per instrument, and 1-minute klines come one per minute. A WebSocket delivers them
with holes (a dropped message, the seconds of a reconnect), twice (the overlap of two connections, a resent message)
and out of order. The rule that keeps Kafka exact: publish an id only when every id before it has been published;
when a later id arrives first, the missing ones are fetched by REST and published before it; an id at or below the
last published one is a duplicate and dropped.

An id is not trusted just because it arrived. One far ahead of the last (more than `max_gap` steps: more than REST
should be asked to fetch in one repair) is held as a *suspect* and not published: after id 100, a corrupt 1,000,100
must not make the real 101, 102 look like duplicates, nor send the loader to fetch a million ids. The suspect is
believed only when the stream confirms it — a later id that continues beyond it — and then the hole up to it is a
`Jump`: what REST can give is repaired and the rest is recorded as not published, by range, never as a list of ids.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Next:
    """Publish this id, after the `missing` ids [first, last] when there are any."""

    missing: tuple[int, int] | None = None


@dataclass(frozen=True)
class Suspect:
    """Too far ahead to believe alone: not published, not the new position."""

    last: int


@dataclass(frozen=True)
class Jump:
    """A confirmed jump: the ids `missing` [first, last] were lost by the stream; publish this id after handling them."""

    missing: tuple[int, int]


DUPLICATE = None
Decision = Next | Suspect | Jump | None


class Sequence:
    """The last published id of one sequence, advancing by `step` (1 for agg ids, 60 s in µs for 1m klines)."""

    def __init__(self, step: int = 1, max_gap: int = 100_000) -> None:
        self.step, self.max_gap = step, max_gap
        self.last: int | None = None  # None until the first id: the loader starts from whatever comes first
        self.suspect: int | None = None

    def offer(self, value: int) -> Decision:
        """What to do with `value`; the caller calls `published(value)` once it has published it."""
        if self.last is None:
            return Next()
        if value <= self.last:
            return DUPLICATE
        if value <= self.last + self.max_gap * self.step:
            self.suspect = None
            return Next((self.last + self.step, value - self.step)) if value > self.last + self.step else Next()
        if self.suspect is not None and self.suspect < value <= self.suspect + self.max_gap * self.step:
            self.suspect = None
            return Jump((self.last + self.step, value - self.step))
        self.suspect = value
        return Suspect(self.last)

    def published(self, value: int) -> None:
        self.last = value
