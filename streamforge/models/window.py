"""A training window — which instruments, which days, how they split — and the stored data it reads.

The Dagster `graph` and `model` assets, `streamforge train` and `streamforge predict` all read candles and trades
through the store interface, so a model is trained on exactly what the historical assets stored, whichever backend
holds it. The split is a function of the window and the STREAMFORGE_MODEL_* settings only: the graph (normalised
with data before the end of training) and the model (trained on that same part) compute the same split separately.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.graph import GraphBundle, build_graph
from streamforge.models.split import Split
from streamforge.catalog import CANDLES_1M, CANDLES_5M, CROSS_VENUE_VIEW, TRADES, UNIVERSE_MEMBERS, dataset
from streamforge.instruments import check_form
from streamforge.store import Store
from streamforge.dates import day_bounds_us

# The only trade columns the graph uses (large-trade share): reading just these keeps a month of trades small.
TRADE_COLUMNS = ["instrument", "time", "qty"]
# Longest instrument set spelled out in a universe name ('+'-joined ids, about five): longer sets are named by their
# size and a digest, and their members kept in the store, so partition keys, graph ids and model folders stay short.
SPELLED_MAX = 120


def universe_name(instruments: list[str] | tuple[str, ...]) -> str:
    """One name per instrument set: the sorted ids joined with '+' when short ('binance.spot.BTCUSDT+binance.spot.
    ETHUSDT'), else '<n>-instruments-<digest>' ('200-instruments-3f2a9c1d0b7e')."""
    members = sorted(set(instruments))
    joined = "+".join(members)
    if len(joined) <= SPELLED_MAX:
        return joined
    return f"{len(members)}-instruments-{hashlib.sha256(joined.encode()).hexdigest()[:12]}"


def register_universe(store: Store, instruments: list[str] | tuple[str, ...]) -> str:
    """The set's name, its members stored when the name does not spell them (idempotent)."""
    name = universe_name(instruments)
    if "+" not in name and not _is_instrument(name):
        d = dataset(UNIVERSE_MEMBERS)
        store.put_documents(d.collection, [{"name": name, "instruments": sorted(set(instruments))}], key_field="name")
    return name


def universe_members(store: Store, name: str) -> list[str]:
    """The instruments of a universe name: spelled out in it, or registered in the store under it."""
    if "+" in name or _is_instrument(name):
        return name.split("+")
    docs = store.get_documents(dataset(UNIVERSE_MEMBERS).collection, {"name": name})
    if not docs:
        raise ConfigError(
            f"universe {name!r} is neither instrument ids joined with '+' nor a registered set; register it with "
            "`streamforge train --instruments ...` (which names and stores large sets)"
        )
    return docs[0]["instruments"]


def _is_instrument(name: str) -> bool:
    try:
        check_form(name)
    except ConfigError:
        return False
    return True


@dataclass(frozen=True)
class TrainingWindow:
    instruments: tuple[str, ...]  # sorted, so one set of instruments has one name
    end: date  # the training date: last day of the window, inclusive
    days: int

    @classmethod
    def of(cls, instruments: list[str] | tuple[str, ...], end: date, days: int) -> TrainingWindow:
        if not instruments:
            raise ConfigError("a training window needs at least one instrument")
        if days < 1:
            raise ConfigError(f"a training window needs at least one day, got {days}")
        return cls(tuple(sorted(set(instruments))), end, days)

    @property
    def first(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    @property
    def universe(self) -> str:
        """The instrument set as one name (`universe_name`): a partition key of the training assets."""
        return universe_name(self.instruments)

    @property
    def graph_id(self) -> str:
        return f"{self.universe}_{self.end.isoformat()}"

    def split(self) -> Split:
        return Split.plan(
            day_bounds_us(self.first)[0],
            day_bounds_us(self.end)[1],
            val_fraction=float(settings.get("STREAMFORGE_MODEL_VAL_FRACTION")),
            test_fraction=float(settings.get("STREAMFORGE_MODEL_TEST_FRACTION")),
            embargo=int(settings.get("STREAMFORGE_MODEL_EMBARGO")),
        )

    def to_dict(self) -> dict:
        return {"instruments": list(self.instruments), "first": self.first.isoformat(), "end": self.end.isoformat(), "days": self.days}

    @classmethod
    def from_dict(cls, d: dict) -> TrainingWindow:
        return cls.of(d["instruments"], date.fromisoformat(d["end"]), d["days"])


def read_inputs(
    store: Store, instruments: list[str], first: date, last: date, with_trades: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(5-minute candles, 1-minute candles, trades or None) of `instruments` from `first` to `last` inclusive."""
    def stored(name: str, start: date, end: date) -> pl.DataFrame:
        d = dataset(name)
        return store.read(d.collection, d.record, instruments, start, end)

    c5, c1 = stored(CANDLES_5M, first, last), stored(CANDLES_1M, first, last)
    if not with_trades:
        return c5, c1, None
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return c5, c1, pl.concat([stored(TRADES, d, d).select(TRADE_COLUMNS) for d in days])


def build_window_graph(store: Store, window: TrainingWindow) -> GraphBundle:
    """The market graph of the window, normalised and lead-lag-linked on its training part; instruments the stored
    cross-venue view calls one asset on two venues are linked by same_asset edges."""
    c5, c1, trades = read_inputs(store, list(window.instruments), window.first, window.end)
    return build_graph(
        c5, c1, trades, train_end=window.split().train_end_us, instruments=list(window.instruments),
        venue_pairs=venue_pairs(store, window),
    )


def venue_pairs(store: Store, window: TrainingWindow) -> list[tuple[str, str]]:
    """Pairs of the window's instruments that are the same asset on two venues, as the stored cross-venue view of
    the window's days lined them up (none when it was not materialised)."""
    view = dataset(CROSS_VENUE_VIEW)
    rows = store.read(view.collection, view.record, list(window.instruments), window.first, window.end)
    pairs = rows.select(pl.col("instrument"), pl.col("counterparts").str.split("+")).explode("counterparts").unique()
    return sorted((a, b) for a, b in pairs.iter_rows() if a < b and b in window.instruments)
