"""How a backfill is cut into runs whose size follows data volume.

Every run pays the orchestrator's start-up (several seconds) once, then works through its cells one at a time, so a
run should be long enough that the start-up is small beside it and short enough that the runs share the machine
well. Activity is heavy-tailed: BTCUSDT trades millions of times a day, the quietest listed instruments a few
thousand times. A fixed number of cells per run makes a run of quiet instruments little more than start-up and a run
of BTCUSDT days very long; here a run takes cells until their estimated trades reach STREAMFORGE_TRADES_PER_RUN (a
busy day may stand alone) or their number reaches STREAMFORGE_PARTITIONS_PER_RUN (each cell also has a fixed cost).

A run is a box: consecutive days × instruments that are consecutive in the orchestrator's own instrument order (the
order of registration), all of one market. That is the shape a partition range of two dimensions covers, so each
run is one range from its first cell to its last. Estimates come from the venue's own count of the last 24 hours'
trades, one request per market (Binance spot and USD-M publish one); for a market that publishes none (OKX), from
the instrument's days already in the store, whose rows are that venue's trades; otherwise they are unknown and
only the number of cells bounds the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from streamforge import settings, venues
from streamforge.catalog import TRADES, cell_key, dataset
from streamforge.dates import completed_days, parse_day
from streamforge.errors import ConfigError
from streamforge.instruments import parse_instrument, resolve
from streamforge.store.base import Store


@dataclass(frozen=True)
class Run:
    """The cells of one run: days `first`..`last` of `instruments` (consecutive in the instrument order), and the
    trades they are estimated to hold."""

    first: date
    last: date
    instruments: tuple[str, ...]
    trades: int

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def cells(self) -> list[str]:
        return [cell_key(i, d) for d in self.days for i in self.instruments]

    @property
    def partition_range(self) -> tuple[str, str]:
        """(first cell, last cell): the range whose box is exactly this run's cells."""
        return cell_key(self.instruments[0], self.first), cell_key(self.instruments[-1], self.last)

    @property
    def market_id(self) -> str:
        return parse_instrument(self.instruments[0]).market_id


def request(names: Sequence[str], start: str, end: str, registered: Iterable[str]) -> tuple[list[str], list[date]]:
    """(instruments, days) of a backfill request as a person types it, or a ConfigError saying what is wrong with it:
    instrument ids or Binance-spot shorthands, all registered, and completed days from `start` to `end`."""
    ids = [i.id for i in resolve(list(names))]
    if not ids:
        raise ConfigError("no instruments given, e.g. binance.spot.BTCUSDT")
    days = completed_days(parse_day(start, "start date"), parse_day(end, "end date"))
    known = set(registered)
    missing = [i for i in ids if i not in known]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not registered; add them first with "
            f"`streamforge instruments add {' '.join(missing)}` (registered: {', '.join(sorted(known)) or 'none'})"
        )
    return ids, days


def limits() -> tuple[int, int]:
    """(trades, cells) one run may hold at most, from the settings."""
    return _positive("STREAMFORGE_TRADES_PER_RUN"), _positive("STREAMFORGE_PARTITIONS_PER_RUN")


def _positive(env: str) -> int:
    value = settings.integer(env)
    if value < 1:
        raise ConfigError(f"{env}={value}: expected a whole number of at least 1")
    return value


def plan_runs(
    days: Sequence[date],
    instruments: Iterable[str],
    order: Sequence[str],
    trades_per_day: Mapping[str, int | None],
    trades_per_run: int,
    cells_per_run: int,
) -> list[Run]:
    """Runs holding every cell of `days` × `instruments` exactly once, busiest first.

    `order` is the instrument dimension's order; `trades_per_day` an instrument's estimated trades in a day (None or
    missing: unknown, counted as none). A run holds at most `cells_per_run` cells and at most `trades_per_run`
    estimated trades, unless one cell alone holds more: that cell is a run of its own."""
    if trades_per_run < 1 or cells_per_run < 1:
        raise ConfigError(f"a run must be allowed at least one trade and one cell, not {trades_per_run} and {cells_per_run}")
    span = sorted(set(days))
    if not span:
        return []
    if (span[-1] - span[0]).days + 1 != len(span):
        raise ConfigError(f"the days of a backfill must be consecutive, not {', '.join(d.isoformat() for d in span)}")
    wanted = set(instruments)
    unknown = sorted(wanted - set(order))
    if unknown:
        raise ConfigError(f"{', '.join(unknown)} not in the instrument order, so no run can cover them")
    runs = []
    for block in _blocks(_segments(order, wanted), trades_per_day, trades_per_run, cells_per_run):
        per_day = sum(trades_per_day.get(i) or 0 for i in block)
        most_days = min(trades_per_run // per_day if per_day else len(span), cells_per_run // len(block))
        for first, last in _even_chunks(span, max(most_days, 1)):
            runs.append(Run(first, last, tuple(block), per_day * ((last - first).days + 1)))
    position = {instrument: n for n, instrument in enumerate(order)}
    return sorted(runs, key=lambda r: (-r.trades, r.first, position[r.instruments[0]]))


def _segments(order: Sequence[str], wanted: set[str]) -> list[list[str]]:
    """Maximal stretches of `order` that are all wanted and of one market: what a box's instruments may span."""
    segments: list[list[str]] = []
    previous = None
    for instrument in order:
        if instrument not in wanted:
            previous = None
            continue
        market = parse_instrument(instrument).market_id
        if previous == market:
            segments[-1].append(instrument)
        else:
            segments.append([instrument])
        previous = market
    return segments


def _blocks(segments: list[list[str]], trades_per_day: Mapping[str, int | None], trades: int, cells: int) -> list[list[str]]:
    """Each segment cut, greedily in order, into blocks whose day fits a run (a day busier than a run alone is a
    block of one instrument)."""
    blocks = []
    for segment in segments:
        block: list[str] = []
        volume = 0
        for instrument in segment:
            day = trades_per_day.get(instrument) or 0
            if block and (volume + day > trades or len(block) + 1 > cells):
                blocks.append(block)
                block, volume = [], 0
            block.append(instrument)
            volume += day
        blocks.append(block)
    return blocks


def _even_chunks(span: list[date], most: int) -> list[tuple[date, date]]:
    """`span` cut into as few stretches of at most `most` days as it takes, as even as they can be."""
    count = -(-len(span) // most)
    size, longer = divmod(len(span), count)
    chunks, start = [], 0
    for i in range(count):
        length = size + (i < longer)
        chunks.append((span[start], span[start + length - 1]))
        start += length
    return chunks


def trades_per_day(instruments: Iterable[str], store: Store | None = None) -> dict[str, int | None]:
    """Each instrument's estimated trades in a day: its venue's count of the last 24 hours (one request per market),
    or for a market whose venue publishes none, the mean of its days in `store`; None when neither says."""
    by_market: dict[str, list[str]] = {}
    for instrument in instruments:
        by_market.setdefault(parse_instrument(instrument).market_id, []).append(instrument)
    estimates: dict[str, int | None] = {}
    unpublished: list[str] = []
    for market_id, members in by_market.items():
        client = venues.client(market_id)
        try:
            counts = client.trades_24h()
        finally:
            client.close()
        if counts is None:
            unpublished += members
        else:
            estimates |= {i: counts.get(i, 0) for i in members}
    if unpublished:
        stored = stored_trades_per_day(store, unpublished) if store is not None else {}
        estimates |= {i: stored.get(i) for i in unpublished}
    return estimates


def stored_trades_per_day(store: Store, instruments: Iterable[str]) -> dict[str, int]:
    """The mean rows per stored day of each instrument's trades (those with none stored are left out)."""
    wanted = set(instruments)
    totals: dict[str, list[int]] = {}
    for part in store.partitions(dataset(TRADES).collection):
        if part.instrument in wanted:
            totals.setdefault(part.instrument, []).append(part.rows)
    return {i: round(sum(rows) / len(rows)) for i, rows in totals.items()}
