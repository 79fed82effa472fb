"""Ids that must stay contiguous: what to do with the next id of a sequence (pure decisions; the loader does I/O).

Aggregate trade ids are contiguous per symbol, and 1-minute klines come one per minute. A WebSocket delivers them
with holes (a dropped message, the seconds of a reconnect), twice (the overlap of two connections, a resent message)
and out of order. The rule that keeps Kafka exact: publish an id only when every id before it has been published;
when a later id arrives first, the missing ones are fetched by REST and published before it; an id at or below the
last published one is a duplicate and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Next:
    """Publish this id (after the `missing` ids [first, last], when there are any)."""

    missing: tuple[int, int] | None = None


DUPLICATE = None


class Sequence:
    """The last published id of one sequence, advancing by `step` (1 for agg ids, 60 s in µs for 1m klines)."""

    def __init__(self, step: int = 1) -> None:
        self.step = step
        self.last: int | None = None  # None until the first id: the loader starts from whatever comes first

    def offer(self, value: int) -> Next | None:
        """What to do with `value`: None when it is a duplicate, else Next (with the ids to repair first)."""
        if self.last is not None and value <= self.last:
            return DUPLICATE
        missing = None
        if self.last is not None and value > self.last + self.step:
            missing = (self.last + self.step, value - self.step)
        return Next(missing)

    def published(self, value: int) -> None:
        self.last = value
