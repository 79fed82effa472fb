"""B12: the cross-venue view of 10 assets × 2 venues (Binance spot, OKX spot) × 30 days — 600 cells, each lined up
against its counterpart per 5-minute interval with the Hayashi-Yoshida lead-lag — built the way the `cross_venue`
asset builds it: read the day's stored 5-minute candles and trades of both instruments, line up, estimate the day's
lead, write the partition.

The store is filled first from the simulator's market (its 200-asset universe, the 10 busiest assets OKX spot lists,
at VOLUME), which is not timed. Beside it, in the same run, the floor: only reading the same inputs from the store,
which any build of the view has to do. Also reported: the lead the view finds, against the simulator's planted one.
"""

from __future__ import annotations

import resource
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from tempfile import mkdtemp

import polars as pl

from bench.headline import Figure
from streamforge.candles import aggregate
from streamforge.catalog import CANDLES_5M, CROSS_VENUE_VIEW, TRADES, dataset
from streamforge.cross_venue import CrossVenueConfig, line_up
from streamforge.sim.market import Market
from streamforge.store import EmbeddedStore

ASSETS, DAYS, FIRST = 10, 30, date(2025, 2, 1)
VOLUME = 0.05  # BTC: ~75,000 Binance and ~19,000 OKX trades a day
HEADLINE = (
    Figure("cross-venue view, 10 assets × 2 venues × 30 days, s", "build_s", "floor_read_inputs_s",
           "reading its inputs only"),
)


def _fill(store: EmbeddedStore, market: Market, pairs: list[tuple[str, str]], days: list[date]) -> int:
    candles, trades = dataset(CANDLES_5M), dataset(TRADES)
    rows = 0
    for pair in pairs:
        for instrument in pair:
            for day in days:
                frame = market.day_trades(instrument, day)
                store.replace_partition(trades.collection, trades.record, instrument, day, frame)
                store.replace_partition(candles.collection, candles.record, instrument, day, aggregate(frame, "5m", day))
                rows += frame.height
    return rows


def _cells(pairs: list[tuple[str, str]], days: list[date]) -> list[tuple[str, str, date]]:
    return [(a, b, day) for x, y in pairs for a, b in ((x, y), (y, x)) for day in days]


def _read(store: EmbeddedStore, names: list[str], day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    candles, trades = dataset(CANDLES_5M), dataset(TRADES)
    return (
        store.read(candles.collection, candles.record, names, day, day),
        store.read(trades.collection, trades.record, names, day, day),
    )


def run() -> dict:
    market = Market(7, VOLUME, universe=200)
    busiest = sorted(market.listed("okx.spot", FIRST).values(), key=lambda i: -i.agg_trades_per_day)[:ASSETS]
    pairs = [(f"binance.spot.{i.base_asset}USDT", i.id) for i in busiest]
    days = [FIRST + timedelta(days=d) for d in range(DAYS)]
    folder = Path(mkdtemp(prefix="sf-b12-"))
    try:
        store = EmbeddedStore(folder / "store")
        started = time.monotonic()
        trades = _fill(store, market, pairs, days)
        fill_s = time.monotonic() - started
        config, view = CrossVenueConfig.from_settings(), dataset(CROSS_VENUE_VIEW)

        started = time.monotonic()
        for own, other, day in _cells(pairs, days):
            _read(store, [own, other], day)
        floor_s = time.monotonic() - started

        leads: dict[str, list[int]] = {}
        started, cpu = time.monotonic(), time.process_time()
        for own, other, day in _cells(pairs, days):
            candles, day_trades = _read(store, [own, other], day)
            aligned = line_up(own, [other], candles, day_trades, day, config)
            store.replace_partition(view.collection, view.record, own, day, aligned.rows)
            lead = aligned.day_lead["lead_ms"]
            if own.startswith("okx.") and lead is not None:
                leads.setdefault(own, []).append(lead)
        build_s, build_cpu_s = time.monotonic() - started, time.process_time() - cpu
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    medians = sorted(int(pl.Series(v).median()) for v in leads.values())
    return {
        "goal": "the cross-venue view of 10 assets × 2 venues × 30 days is practical to build (measured, no target)",
        "cells": len(_cells(pairs, days)),
        "assets": [b for _, b in pairs],
        "trades_in_store": trades,
        "fill_store_s_not_counted": round(fill_s, 1),
        "build_s": round(build_s, 2),
        "build_cpu_s": round(build_cpu_s, 2),
        "ms_per_cell": round(1_000 * build_s / len(_cells(pairs, days)), 1),
        "floor_read_inputs_s": round(floor_s, 2),
        "peak_rss_mb": round(peak_rss_mb),
        "okx_day_lead_ms_median_per_asset": medians,
        "planted_okx_lag_ms": market.models.okx.lag_ms,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
