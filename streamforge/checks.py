"""Data-quality checks on trades, candles and a perpetual's funding and prices, as pure functions (the Dagster asset checks call them).

Each returns a ``CheckOutcome``: whether it passed, one sentence a person can act on (naming the ids or times that
are wrong), and metadata with the numbers behind it. A frame may hold several instruments; every check then runs per
instrument and the outcome combines them (see ``_per_instrument``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

import polars as pl

from streamforge.candles import candles_per_day, interval_us
from streamforge.dates import day_bounds_us
from streamforge.schemas import INSTRUMENT, KLINE

_SHOWN = 5  # ids, times or rows quoted in a description / metadata list


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def trades_contiguous(trades: pl.DataFrame, day: date, prev_last_id: int | None = None, contiguous: bool = True) -> CheckOutcome:
    """A day's trades are complete as far as the venue's ids can tell: no duplicates, all inside the day, ids that
    continue the previous day's last one when it is known, and either

    - ``contiguous`` ids (Binance's aggregate trade ids): none missing, the first right after ``prev_last_id``, and
      the raw trade ids each aggregate covers continuing one another (``first_trade_id <= last_trade_id``, each
      aggregate starting right after the previous one ends), since trade counts (and so candles) are built from them;
    - or merely increasing ids (OKX's trade ids, ordered but not documented contiguous): ids in the order of time,
      the first above ``prev_last_id``; gaps are counted in the metadata, not failed on.

    ``prev_last_id`` applies to every instrument; pass frames of one instrument when it is known.
    """
    day_start, day_end = day_bounds_us(day)

    def check(instrument_trades: pl.DataFrame) -> CheckOutcome:
        t = instrument_trades.sort("agg_id")
        ids = t["agg_id"]
        if ids.is_empty():
            return CheckOutcome(False, "no trades at all", {"rows": 0})
        counts = ids.value_counts(name="n").filter(pl.col("n") > 1).sort("agg_id")
        unique = ids.unique().sort()
        gaps = pl.DataFrame({"after": unique[:-1], "before": unique[1:]}).filter(pl.col("before") - pl.col("after") > 1)
        missing = list(islice((i for a, b in gaps.iter_rows() for i in range(a + 1, b)), _SHOWN))
        time_us = t["time"].dt.epoch("us")
        outside = t.filter((time_us < day_start) | (time_us >= day_end))["agg_id"]
        bad_ranges = t.filter(pl.col("first_trade_id") > pl.col("last_trade_id"))["agg_id"]
        raw_breaks = t.filter(pl.col("first_trade_id") != pl.col("last_trade_id").shift(1) + 1)["agg_id"]
        back_in_time = t.filter(pl.col("time") < pl.col("time").shift(1))["agg_id"]
        md = {
            "rows": t.height,
            "ids": "contiguous" if contiguous else "increasing",
            "first_agg_id": ids[0],
            "last_agg_id": ids[-1],
            "missing_ids": int(ids[-1] - ids[0] + 1 - unique.len()),
            "first_missing_ids": missing,
            "id_gaps": gaps.height,
            "duplicated_ids": counts.height,
            "first_duplicated_ids": counts["agg_id"].head(_SHOWN).to_list(),
            "outside_day": outside.len(),
            "ids_back_in_time": back_in_time.len(),
            "bad_trade_id_ranges": bad_ranges.len(),
            "raw_trade_id_breaks": raw_breaks.len(),
            "raw_trades": int((t["last_trade_id"] - t["first_trade_id"] + 1).sum()),
            "prev_last_id": prev_last_id,
        }
        problems = []
        if contiguous:
            if prev_last_id is not None and ids[0] != prev_last_id + 1:
                problems.append(f"first agg id {ids[0]} does not follow the previous day's last id {prev_last_id}")
            if md["missing_ids"]:
                problems.append(f"{md['missing_ids']} agg ids missing, first {missing}")
        elif prev_last_id is not None and ids[0] <= prev_last_id:
            problems.append(f"first trade id {ids[0]} is not above the previous day's last id {prev_last_id}")
        if counts.height:
            problems.append(f"{counts.height} agg ids duplicated, first {md['first_duplicated_ids']}")
        if outside.len():
            problems.append(f"{outside.len()} trades outside {day}, agg ids {outside.head(_SHOWN).to_list()}")
        if bad_ranges.len():
            problems.append(f"first_trade_id > last_trade_id at agg ids {bad_ranges.head(_SHOWN).to_list()}")
        if contiguous and raw_breaks.len():
            shown = raw_breaks.head(_SHOWN).to_list()
            problems.append(f"raw trade ids do not continue the previous aggregate at agg ids {shown}")
        if not contiguous and back_in_time.len():
            problems.append(f"trade ids out of time order (earlier than the id before) at {back_in_time.head(_SHOWN).to_list()}")
        kind = "contiguous" if contiguous else f"increasing with time ({gaps.height} gaps, which the venue allows)"
        return _outcome(problems, f"{t.height} trades, agg ids {ids[0]}..{ids[-1]} {kind}", md)

    return _per_instrument(trades, check)


_TRADE_FIELDS = ("price", "qty", "first_trade_id", "last_trade_id", "time", "is_buyer_maker", "is_best_match")


def trades_match_exchange(trades: pl.DataFrame, exchange: pl.DataFrame) -> CheckOutcome:
    """A day's trades equal the exchange's own (REST aggTrades) for every agg id the exchange's rows cover, field by
    field and exactly: both went through the same parser from the same decimal text, so any difference is in the
    data (a dump re-uploaded with other rows: binance-public-data #375). An id the exchange has and the day lacks
    differs too. Says which ids differ and how.
    """

    def check(pair: pl.DataFrame) -> CheckOutcome:
        differs = {f: pl.col(f).ne_missing(pl.col(f"{f}_exchange")) for f in _TRADE_FIELDS}
        flagged = pair.with_columns(
            missing=pl.col("in_trades").is_null(), **{f"{f}_differs": e for f, e in differs.items()}
        )
        bad = flagged.filter(pl.col("missing") | pl.any_horizontal([f"{f}_differs" for f in differs])).sort("agg_id")
        first = [_trade_difference(r) for r in bad.head(_SHOWN).iter_rows(named=True)]
        md = {
            "compared": pair.height,
            "differing": bad.height,
            "first_differing_ids": bad["agg_id"].head(_SHOWN).to_list(),
            "first_differences": first,
            **{f"{f}_differs": int(flagged[f"{f}_differs"].sum()) for f in differs},
        }
        if pair.is_empty():
            return CheckOutcome(True, "no exchange rows to compare with", md)
        if not bad.height:
            return CheckOutcome(True, f"{pair.height} agg ids equal the exchange's REST aggTrades", md)
        count = f"{bad.height} of {pair.height} agg ids"
        return CheckOutcome(False, f"{count} differ from the exchange's REST aggTrades, first: {first[:2]}", md)

    pair = exchange.select(INSTRUMENT, "agg_id", *_TRADE_FIELDS).join(
        trades.select(INSTRUMENT, "agg_id", *_TRADE_FIELDS).with_columns(in_trades=True),
        on=[INSTRUMENT, "agg_id"],
        how="left",
        suffix="_trades",
    ).rename({**{f: f"{f}_exchange" for f in _TRADE_FIELDS}, **{f"{f}_trades": f for f in _TRADE_FIELDS}})
    return _per_instrument(pair, check)


def _trade_difference(row: dict) -> dict:
    if row["in_trades"] is None:
        return {"agg_id": row["agg_id"], "problem": "at the exchange, not in the day"}
    fields = {f: [str(row[f]), str(row[f"{f}_exchange"])] for f in _TRADE_FIELDS if row[f"{f}_differs"]}
    return {"agg_id": row["agg_id"], "ours_vs_exchange": fields}


def candles_invariants(candles: pl.DataFrame, interval: str, day: date) -> CheckOutcome:
    """Candles of a complete day are well formed: one per interval on the open-time grid (1440 for 1m, 288 for 5m),
    close_time = next open − 1 µs, low ≤ open, close ≤ high, volume ≥ 0, taker volumes ≤ volumes.

    Taker ≤ total is compared exactly: both are sums over the same trades in the same order, the taker one with some
    terms replaced by 0, and rounding is monotonic, so it cannot come out larger.
    """
    step = interval_us(interval)
    day_start, day_end = day_bounds_us(day)
    open_us, close_us = pl.col("open_time").dt.epoch("us"), pl.col("close_time").dt.epoch("us")
    on_grid = (open_us >= day_start) & (open_us < day_end) & ((open_us - day_start) % step == 0)
    rules = {
        "off_grid": ~on_grid | (pl.col("interval") != interval),
        "bad_close_time": close_us != open_us + (step - 1),
        "ohlc_out_of_range": (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.max_horizontal("open", "close")),
        "negative_volume": (pl.col("volume") < 0) | (pl.col("quote_volume") < 0) | (pl.col("trade_count") < 0),
        "taker_above_volume": (pl.col("taker_buy_base_volume") > pl.col("volume"))
        | (pl.col("taker_buy_quote_volume") > pl.col("quote_volume")),
    }

    def check(c: pl.DataFrame) -> CheckOutcome:
        slots = c.filter(on_grid).select(open_us).to_series()
        missing = sorted(set(range(day_start, day_end, step)) - set(slots.to_list()))
        md: dict = {
            "candles": c.height,
            "expected": candles_per_day(interval),
            "missing": len(missing),
            "first_missing": _times(missing),
            "duplicated": slots.len() - slots.n_unique(),
        }
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {md['expected']} candles missing, first at {md['first_missing']}")
        if md["duplicated"]:
            problems.append(f"{md['duplicated']} open times appear more than once")
        for name, rule in rules.items():
            bad = c.filter(rule).select(open_us).to_series()
            md[name] = bad.len()
            if bad.len():
                problems.append(f"{bad.len()} candles {name.replace('_', ' ')}, first at {_times(bad)}")
        return _outcome(problems, f"{c.height} {interval} candles, all invariants hold", md)

    return _per_instrument(candles, check)


def candles_match_trades(candles: pl.DataFrame, trades: pl.DataFrame) -> CheckOutcome:
    """Candles account for every trade: Σ volume, Σ quote volume and Σ trade count equal the trades' own totals.

    Trade counts must match exactly; volumes to 1e-9 relative, because candles add the same numbers in another
    grouping and float addition is not associative (the difference is far below the exchange's 8 decimals).
    """
    sums = {
        "volume": ("volume", pl.col("qty").sum()),
        "quote_volume": ("quote_volume", (pl.col("price") * pl.col("qty")).sum()),
        "trade_count": ("trade_count", (pl.col("last_trade_id") - pl.col("first_trade_id") + 1).sum()),
    }
    candle_totals = candles.group_by(INSTRUMENT).agg(**{k: pl.col(c).sum() for k, (c, _) in sums.items()})
    trade_totals = trades.group_by(INSTRUMENT).agg(**{k: e for k, (_, e) in sums.items()})
    both = candle_totals.join(trade_totals, on=INSTRUMENT, how="full", coalesce=True, suffix="_trades").fill_null(0)

    def check(row: pl.DataFrame) -> CheckOutcome:
        if row.is_empty():
            return CheckOutcome(True, "no candles and no trades", {})
        r = row.row(0, named=True)
        md, problems = {}, []
        for name in sums:
            ours, theirs = r[name], r[f"{name}_trades"]
            md[f"candles_{name}"], md[f"trades_{name}"] = ours, theirs
            close_enough = abs(ours - theirs) <= 1e-9 * max(abs(ours), abs(theirs))
            if not (ours == theirs if name == "trade_count" else close_enough):
                problems.append(f"Σ {name} of candles {ours} ≠ trades {theirs}")
        return _outcome(problems, f"candles hold all {r['trade_count_trades']} trades", md)

    return _per_instrument(both, check)


_PRICE_FIELDS = ("open", "high", "low", "close")
_VOLUME_FIELDS = ("volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume")
_EXACT_FIELDS = ("close_time", "trade_count", *_PRICE_FIELDS)


def candles_match_klines(candles: pl.DataFrame, klines: pl.DataFrame) -> CheckOutcome:
    """Our candles equal the exchange's klines of the same partition, field by field.

    Times, trade counts and OHLC must be exactly equal: they are copied from trades, not computed. Volumes are equal
    "at the exchange's 8 decimals": Binance sums in exact decimal arithmetic and prints 8 decimals, we sum binary
    floats, which cannot represent most decimals and round on every addition. So two volumes match when they differ
    by less than one unit of the 8th decimal plus the rounding error two float sums of the same trades can
    accumulate (see `_volumes_differ`): at 2025 volume a 5-minute quote volume of ~1e7 USDT summed over thousands of
    trades differs between two summation orders by ~1e-8, beyond the 8th decimal.

    A kline missing at the exchange is "no data" (a gap: downtime or maintenance), not a mismatch, as long as our
    candle there is a zero-volume one ("no trades"); a missing kline where we saw trades, or a missing candle, is one.
    A field the venue does not publish (null in its klines: OKX has no trade count or taker volumes) is not compared,
    and the metadata names it.
    """

    def check(pair: pl.DataFrame) -> CheckOutcome:
        has_candle, has_kline = pl.col("in_candles").is_not_null(), pl.col("in_klines").is_not_null()
        gap = has_candle & ~has_kline & (pl.col("trade_count") == 0)
        # A field the venue does not publish (null in its kline: OKX's trade count and taker volumes) is not compared.
        published = {f: pl.col(f"{f}_k").is_not_null() for f in KLINE.nullable}
        differs = {f: (pl.col(f) != pl.col(f"{f}_k")) & published.get(f, True) for f in _EXACT_FIELDS} | {
            f: _volumes_differ(pl.col(f), pl.col(f"{f}_k"), pl.max_horizontal("trade_count", "trade_count_k"))
            & published.get(f, True)
            for f in _VOLUME_FIELDS
        }
        unpublished = sorted(f for f in KLINE.nullable if pair.filter(has_kline)[f"{f}_k"].null_count())
        flagged = pair.with_columns(
            gap=gap,
            missing=~gap & (~has_candle | ~has_kline),
            **{f"{f}_differs": has_candle & has_kline & e for f, e in differs.items()},
        ).with_columns(mismatch=pl.col("missing") | pl.any_horizontal([f"{f}_differs" for f in differs]))
        bad = flagged.filter("mismatch").sort("open_time")
        gaps = flagged.filter("gap")["open_time"]
        md = {
            "candles": pair["in_candles"].count(),
            "klines": pair["in_klines"].count(),
            "no_trade_klines": pair.filter(pl.col("trade_count_k") == 0).height,
            "gaps": gaps.len(),
            "first_gaps": _times(gaps.dt.epoch("us")),
            "mismatching_rows": bad.height,
            **{f"{f}_mismatches": int(flagged[f"{f}_differs"].sum()) for f in differs},
            "first_mismatches": [_describe(r, differs) for r in bad.head(_SHOWN).iter_rows(named=True)],
            "not_published_by_the_venue": sorted(unpublished),
        }
        problems = []
        if bad.height:
            problems.append(f"{bad.height} candles differ from the exchange's klines, first: {md['first_mismatches'][:2]}")
        note = f" ({gaps.len()} intervals without exchange data, where we saw no trades either)" if gaps.len() else ""
        return _outcome(problems, f"{md['candles']} candles equal the exchange's klines{note}", md)

    on = [INSTRUMENT, "interval", "open_time"]
    pair = candles.with_columns(in_candles=True).join(
        klines.with_columns(in_klines=True), on=on, how="full", coalesce=True, suffix="_k"
    )
    return _per_instrument(pair, check)


def live_matches_archive(archive: pl.DataFrame, live: pl.DataFrame) -> CheckOutcome:
    """The live capture of a day holds exactly the archive's trades: the same agg ids, each with the same price and
    quantity.

    Equality is exact: the loader and the archive parse the exchange's same decimal strings into the same float64.
    Missing ids are trades the live path lost (a gap it did not repair), extra ids are trades the exchange does not
    know, mismatches are rows the live path corrupted; each is counted and the first few are named.
    """

    def check(pair: pl.DataFrame) -> CheckOutcome:
        in_archive, in_live = pl.col("in_archive").is_not_null(), pl.col("in_live").is_not_null()
        differs = (pl.col("price") != pl.col("price_live")) | (pl.col("qty") != pl.col("qty_live"))
        missing = pair.filter(in_archive & ~in_live)["agg_id"].sort()
        extra = pair.filter(in_live & ~in_archive)["agg_id"].sort()
        changed = pair.filter(in_archive & in_live & differs).sort("agg_id")
        md = {
            "archive_rows": int(pair["in_archive"].count()),
            "live_rows": int(pair["in_live"].count()),
            "missing_ids": missing.len(),
            "first_missing_ids": missing.head(_SHOWN).to_list(),
            "extra_ids": extra.len(),
            "first_extra_ids": extra.head(_SHOWN).to_list(),
            "mismatching_ids": changed.height,
            "first_mismatches": [
                {"agg_id": r["agg_id"], "price": [r["price"], r["price_live"]], "qty": [r["qty"], r["qty_live"]]}
                for r in changed.head(_SHOWN).iter_rows(named=True)
            ],
        }
        problems = []
        if missing.len():
            problems.append(f"{missing.len()} archive ids missing from the live capture, first {md['first_missing_ids']}")
        if extra.len():
            problems.append(f"{extra.len()} live ids not in the archive, first {md['first_extra_ids']}")
        if changed.height:
            shown = changed["agg_id"].head(_SHOWN).to_list()
            problems.append(f"{changed.height} ids with another price or quantity live than in the archive, first {shown}")
        return _outcome(problems, f"live capture equals the archive: {md['archive_rows']} trades, same ids, prices and quantities", md)

    columns = [INSTRUMENT, "agg_id", "price", "qty"]
    pair = archive.select(columns).with_columns(in_archive=True).join(
        live.select(columns).with_columns(in_live=True), on=[INSTRUMENT, "agg_id"], how="full", coalesce=True, suffix="_live"
    )
    return _per_instrument(pair, check)


def _volumes_differ(ours: pl.Expr, exchange: pl.Expr, terms: pl.Expr) -> pl.Expr:
    """Farther apart than one unit of the exchange's 8th decimal plus the rounding two float sums may accumulate.

    A float64 sum of n non-negative terms is within (n - 1)·u·Σ of the exact sum (u = 2^-53, whatever the order), so
    two sums of the same terms in different orders are within 2·n·u·Σ of each other. The trade count bounds n (an
    aggregate trade holds at least one raw trade). A missing or changed trade moves a volume by at least the step size
    — orders of magnitude above this bound — so the tolerance hides rounding, never data.
    """
    size = pl.max_horizontal(ours.abs(), exchange.abs())
    return (ours - exchange).abs() > 1e-8 + 2 * terms.cast(pl.Float64) * 2.0**-53 * size


def _describe(row: dict, differs: dict) -> dict:
    """One mismatching row for the metadata: its open time and, per differing field, ours vs the exchange's."""
    if row["in_klines"] is None:
        return {"open_time": row["open_time"].isoformat(), "problem": "no kline at the exchange, but we saw trades"}
    if row["in_candles"] is None:
        return {"open_time": row["open_time"].isoformat(), "problem": "kline at the exchange, no candle of ours"}
    fields = {f: [str(row[f]), str(row[f"{f}_k"])] for f in differs if row[f"{f}_differs"]}
    return {"open_time": row["open_time"].isoformat(), "ours_vs_exchange": fields}


def _times(us_since_epoch) -> list[str]:
    """The first few of some µs timestamps, readable."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [(epoch + timedelta(microseconds=t)).isoformat() for t in list(us_since_epoch)[:_SHOWN]]


def _outcome(problems: list[str], ok: str, metadata: dict) -> CheckOutcome:
    return CheckOutcome(not problems, "; ".join(problems) if problems else ok, metadata)


def _per_instrument(frame: pl.DataFrame, check: Callable[[pl.DataFrame], CheckOutcome]) -> CheckOutcome:
    """Run ``check`` on each instrument's rows. One instrument: its outcome. Several: passed when all pass, the failing
    instruments' descriptions, and metadata ``{"instruments", "failed_instruments", "by_instrument": {instrument: metadata}}``."""
    if frame.is_empty():
        return check(frame)
    outcomes = {instrument: check(rows) for (instrument,), rows in sorted(frame.partition_by(INSTRUMENT, as_dict=True).items())}
    if len(outcomes) == 1:
        return next(iter(outcomes.values()))
    failed = [s for s, o in outcomes.items() if not o.passed]
    description = (
        "; ".join(f"{s}: {outcomes[s].description}" for s in failed)
        if failed
        else f"{len(outcomes)} instruments pass: " + "; ".join(f"{s}: {o.description}" for s, o in outcomes.items())
    )
    metadata = {
        "instruments": list(outcomes),
        "failed_instruments": failed,
        "by_instrument": {s: o.metadata for s, o in outcomes.items()},
    }
    return CheckOutcome(not failed, description, metadata)


# --- perpetuals -------------------------------------------------------------------------------------------------------
# * Funding on schedule: a day holds one settlement per funding interval, at the interval's end on the grid from
#   00:00 UTC, with the interval each row says it ends (it varies per symbol and over time). Binance's fundingTime can
#   lie a few ms past the hour, so a settlement within FUNDING_TOLERANCE_US of its instant counts as on time.
# * Mark within the band: every 1-minute mark price lies within the exchange's band around the index of the same
#   minute (the PERCENT_PRICE multipliers of its exchangeInfo): a mark outside it is a feed or parse error.
# * A full day of price klines: one kline per minute of the day, on the grid, low ≤ open, close ≤ high.

FUNDING_TOLERANCE_US = 1_000_000
_HOUR_US = 3_600_000_000


def funding_on_schedule(funding: pl.DataFrame, day: date, default_hours: int) -> CheckOutcome:
    """One settlement per funding interval of `day` at its expected instant (`default_hours` when the day has no
    rows to say its interval)."""
    start, end = day_bounds_us(day)
    rows = funding.sort("funding_time")
    times = rows["funding_time"].dt.epoch("us").to_list()
    hours = rows["funding_interval_hours"].to_list() or [default_hours]
    expected = _funding_instants(times, hours, start, end)
    on_time = {e: [t for t in times if e <= t < e + FUNDING_TOLERANCE_US] for e in expected}
    missing = [e for e, found in on_time.items() if not found]
    doubled = [e for e, found in on_time.items() if len(found) > 1]
    stray = [t for t in times if not any(e <= t < e + FUNDING_TOLERANCE_US for e in expected)]
    md = {
        "settlements": len(times),
        "expected": len(expected),
        "interval_hours": sorted(set(hours)),
        "first_missing": _times(missing),
        "first_doubled": _times(doubled),
        "first_off_schedule": _times(stray),
    }
    problems = []
    if missing:
        problems.append(f"{len(missing)} funding settlements missing, first at {md['first_missing']}")
    if doubled:
        problems.append(f"{len(doubled)} funding intervals settled more than once, first at {md['first_doubled']}")
    if stray:
        problems.append(f"{len(stray)} settlements off the {hours[-1]}-hour schedule, first at {md['first_off_schedule']}")
    return _outcome(problems, f"{len(times)} settlements, one per {'/'.join(map(str, sorted(set(hours))))}-hour interval", md)


def _funding_instants(times: list[int], hours: list[int], start: int, end: int) -> list[int]:
    """The instants a day's settlements are due at, the interval allowed to change during the day: each settlement's
    slot on its interval's grid from 00:00 UTC; between two settlements, the slots both agree on (the earlier one's
    interval stepping forward, the later one's — a row says the interval it *ends* — stepping back: one grid when the
    interval did not change); before the first and after the last, their interval's slots to the day's bounds.
    Without rows: the day's grid of the symbol's interval."""
    if not times:
        return list(range(start, end, hours[0] * _HOUR_US))
    slots = [(t - (t - start) % (h * _HOUR_US), h * _HOUR_US) for t, h in zip(times, hours)]
    (first, first_step), (last, last_step) = slots[0], slots[-1]
    expected = {slot for slot, _ in slots} | set(range(first - first_step, start - 1, -first_step))
    expected |= set(range(last + last_step, end, last_step))
    for (a, a_step), (b, b_step) in zip(slots, slots[1:]):
        expected |= set(range(a + a_step, b, a_step)) & set(range(b - b_step, a, -b_step))
    return sorted(expected)


def price_klines_complete(klines: pl.DataFrame, interval: str, day: date) -> CheckOutcome:
    """A full day of klines on the interval grid, each with low ≤ open, close ≤ high."""
    step, start = interval_us(interval), day_bounds_us(day)[0]
    opens = klines["open_time"].dt.epoch("us")
    off_grid = klines.filter((opens - start) % step != 0).height
    bad = klines.filter(
        (pl.col("low") > pl.min_horizontal("open", "close")) | (pl.col("high") < pl.max_horizontal("open", "close"))
    )
    expected = candles_per_day(interval)
    md = {"klines": klines.height, "expected": expected, "off_grid": off_grid, "bad_ohlc": bad.height,
          "first_bad": _times(bad["open_time"].dt.epoch("us"))}
    problems = []
    if opens.n_unique() != expected or klines.height != expected:
        problems.append(f"{klines.height} klines ({opens.n_unique()} distinct), a day has {expected}")
    if off_grid:
        problems.append(f"{off_grid} klines off the {interval} grid")
    if bad.height:
        problems.append(f"{bad.height} klines with low/high not around open and close, first at {md['first_bad']}")
    return _outcome(problems, f"{klines.height} {interval} klines, a full day", md)


def mark_within_band(mark: pl.DataFrame, index: pl.DataFrame, band: tuple[float, float]) -> CheckOutcome:
    """Each minute's mark close within [down × index close, up × index close] of the same minute."""
    down, up = band
    pair = mark.select("open_time", mark="close").join(index.select("open_time", index="close"), on="open_time", how="full", coalesce=True)
    unpaired = pair.filter(pl.col("mark").is_null() | pl.col("index").is_null())
    ratio = pl.col("mark") / pl.col("index")
    outside = pair.drop_nulls().filter((ratio < down) | (ratio > up)).sort("open_time")
    ratios = pair.drop_nulls().select(ratio.alias("r"))["r"]
    md = {
        "minutes": pair.height,
        "band": [down, up],
        "unpaired_minutes": unpaired.height,
        "outside": outside.height,
        "first_outside": [
            {"time": t.isoformat(), "mark": m, "index": i} for t, m, i in outside.head(_SHOWN).iter_rows()
        ],
        "lowest_ratio": None if ratios.is_empty() else float(ratios.min()),
        "highest_ratio": None if ratios.is_empty() else float(ratios.max()),
    }
    problems = []
    if unpaired.height:
        problems.append(f"{unpaired.height} minutes have a mark price or an index price but not both")
    if outside.height:
        problems.append(f"{outside.height} mark prices outside [{down:g}, {up:g}] × index, first: {md['first_outside'][:2]}")
    return _outcome(problems, f"{pair.height} mark prices within [{down:g}, {up:g}] × index", md)


def basis_complete(frame: pl.DataFrame, interval: str, day: date) -> CheckOutcome:
    """One basis row per interval of the day, each interval once."""
    expected = candles_per_day(interval)
    distinct = frame["open_time"].n_unique()
    md = {"rows": frame.height, "distinct_intervals": distinct, "expected": expected}
    problems = [] if frame.height == distinct == expected else [f"{frame.height} rows for {distinct} intervals, a day has {expected}"]
    return _outcome(problems, f"{frame.height} {interval} intervals beside their spot instrument", md)
