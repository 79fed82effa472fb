"""The same asset on several venues, lined up per 5-minute interval: price difference, volume share, who leads.

An instrument's *counterparts* are the instruments of other venues that trade the same base and quote currency on the
same kind of market (spot with spot, perpetual with perpetual — a perpetual's premium is not a venue's difference),
as the venues themselves describe them (`MarketClient.pair`). For one instrument and one UTC day, `line_up` gives a
CROSS_VENUE row per 5-minute interval:

- `diff_bps`: its close against the median of the counterparts' closes, in basis points. With three venues or more
  the median belongs to the healthy majority, so a stale or broken feed stands out alone (`within_band`); with two,
  a break shows on both, as it must: two prices cannot tell which one is wrong.
- `volume_share`: its part of the quote volume traded on all of them.
- `lead_ms`, `lead_corr`: where the cross-correlation of its returns with the counterparts' (their mean return)
  peaks, on a grid of `resolution_ms` (last trade price per step, carried through steps without trades), for lags up
  to `max_lag_ms` either way. A positive lead means its prices move first. Intervals where fewer than `MIN_MOVES`
  steps moved on either side have none: there is nothing to correlate.

`day_lead` pools the same sums over the whole day: one answer to "who leads?" per instrument and day.
Everything is computed from stored data (5-minute candles for closes and volumes, trades for the lead-lag), so it is
reproducible and venue-neutral: the rest of the platform does not know which venue a row came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from streamforge import settings
from streamforge.checks import CheckOutcome
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.schemas import CROSS_VENUE, INSTRUMENT

INTERVAL_US = 5 * 60 * 1_000_000
INTERVALS_PER_DAY = 288
MIN_MOVES = 10  # steps with a price change, on each side, for an interval's lead-lag
_SHOWN = 5


@dataclass(frozen=True)
class CrossVenueConfig:
    resolution_ms: int
    max_lag_ms: int
    band_bps: float

    def __post_init__(self) -> None:
        day_ms = 86_400_000
        if self.resolution_ms < 1 or (INTERVAL_US // 1000) % self.resolution_ms or day_ms % self.resolution_ms:
            raise ConfigError(
                f"STREAMFORGE_CROSS_VENUE_RESOLUTION_MS={self.resolution_ms}: must divide 5 minutes in whole ms"
            )
        if not 0 <= self.max_lag_ms < INTERVAL_US // 1000:
            raise ConfigError(f"STREAMFORGE_CROSS_VENUE_MAX_LAG_MS={self.max_lag_ms}: must be in 0..299999")
        if not self.band_bps > 0:
            raise ConfigError(f"STREAMFORGE_CROSS_VENUE_BAND_BPS={self.band_bps}: must be positive")

    @classmethod
    def from_settings(cls) -> CrossVenueConfig:
        return cls(
            resolution_ms=settings.integer("STREAMFORGE_CROSS_VENUE_RESOLUTION_MS"),
            max_lag_ms=settings.integer("STREAMFORGE_CROSS_VENUE_MAX_LAG_MS"),
            band_bps=float(settings.get("STREAMFORGE_CROSS_VENUE_BAND_BPS")),
        )

    @property
    def lags(self) -> np.ndarray:
        most = self.max_lag_ms // self.resolution_ms
        return np.arange(-most, most + 1)


@dataclass(frozen=True)
class Identity:
    """What makes two instruments of different venues the same asset: currencies and the kind of market."""

    venue: str
    base: str
    quote: str
    kind: str


def counterparts(instrument: str, identities: dict[str, Identity]) -> list[str]:
    """The instruments of `identities` that are `instrument`'s asset on another venue, sorted."""
    own = identities[instrument]
    return sorted(
        other
        for other, it in identities.items()
        if it.venue != own.venue and (it.base, it.quote, it.kind) == (own.base, own.quote, own.kind)
    )


def line_up(
    instrument: str, others: list[str], candles_5m: pl.DataFrame, trades: pl.DataFrame, day: date, config: CrossVenueConfig
) -> pl.DataFrame:
    """CROSS_VENUE rows of `instrument` against `others` for every 5-minute interval of `day`, from the day's
    5-minute candles and trades of all of them (rows of other instruments are ignored)."""
    if not others:
        raise InsufficientDataError(f"{instrument} has no counterpart on another venue to be lined up with")
    names = [instrument, *others]
    closes = _pivot(candles_5m, names, "close", day)
    volumes = _pivot(candles_5m, names, "quote_volume", day)
    reference = np.median(closes[:, 1:], axis=1)
    total = volumes.sum(axis=1)
    sums = _lag_sums(_returns(trades, instrument, day, config), _consensus(trades, others, day, config), config)
    lead_ms, lead_corr = _peaks(*sums, config)
    start = day_bounds_us(day)[0]
    frame = pl.DataFrame(
        {
            INSTRUMENT: [instrument] * INTERVALS_PER_DAY,
            "open_time": pl.Series(start + np.arange(INTERVALS_PER_DAY) * INTERVAL_US).cast(pl.Datetime("us", "UTC")),
            "counterparts": ["+".join(others)] * INTERVALS_PER_DAY,
            "close": closes[:, 0],
            "reference_close": reference,
            "diff_bps": (closes[:, 0] / reference - 1) * 1e4,
            "quote_volume": volumes[:, 0],
            "volume_share": pl.Series(volumes[:, 0] / np.where(total > 0, total, np.nan)).fill_nan(None),
            "lead_ms": pl.Series(lead_ms, dtype=pl.Float64).fill_nan(None).cast(pl.Int64),
            "lead_corr": pl.Series(lead_corr).fill_nan(None),
        }
    )
    return CROSS_VENUE.conform(frame)


def day_lead(
    instrument: str, others: list[str], trades: pl.DataFrame, day: date, config: CrossVenueConfig
) -> dict[str, float | int | None]:
    """The day's lead-lag of `instrument` against `others`, the intervals' sums pooled: lead_ms, corr, moves."""
    own, consensus = _returns(trades, instrument, day, config), _consensus(trades, others, day, config)
    pooled = [part.sum(axis=-1, keepdims=True) for part in _lag_sums(own, consensus, config)]
    lead, corr = _peaks(*pooled, config)
    return {
        "lead_ms": None if np.isnan(lead[0]) else int(lead[0]),
        "corr": None if np.isnan(corr[0]) else round(float(corr[0]), 4),
        "moves": int(pooled[3][0]),
    }


def within_band(rows: pl.DataFrame, band_bps: float) -> CheckOutcome:
    """Every interval's price within `band_bps` of the counterparts' median; the ones outside named (a stale or
    broken feed leaves the band, however the venue's own checks pass)."""
    outside = rows.filter(pl.col("diff_bps").abs() > band_bps).sort("open_time")
    worst = rows["diff_bps"].abs().max() if rows.height else None
    md = {
        "intervals": rows.height,
        "band_bps": band_bps,
        "outside": outside.height,
        "first_outside": [
            {"open_time": r["open_time"].isoformat(), "diff_bps": round(r["diff_bps"], 2)}
            for r in outside.head(_SHOWN).iter_rows(named=True)
        ],
        "largest_abs_diff_bps": None if worst is None else round(float(worst), 3),
    }
    if outside.height:
        first = md["first_outside"][0]
        return CheckOutcome(
            False,
            f"{outside.height} of {rows.height} intervals more than {band_bps:g} bps from the other venues' median, "
            f"first at {first['open_time']} ({first['diff_bps']} bps): a stale or broken feed?",
            md,
        )
    return CheckOutcome(True, f"{rows.height} intervals within {band_bps:g} bps of the other venues (largest {md['largest_abs_diff_bps']})", md)


# --- the computation ------------------------------------------------------------------------------------------------


def _pivot(candles: pl.DataFrame, names: list[str], column: str, day: date) -> np.ndarray:
    """(interval, instrument) matrix of one candle column; an instrument without the full day is refused by name."""
    start = day_bounds_us(day)[0]
    grid = start + np.arange(INTERVALS_PER_DAY) * INTERVAL_US
    matrix = np.empty((INTERVALS_PER_DAY, len(names)))
    for j, name in enumerate(names):
        rows = candles.filter(pl.col(INSTRUMENT) == name).sort("open_time")
        times = rows["open_time"].dt.epoch("us").to_numpy()
        if rows.height != INTERVALS_PER_DAY or not np.array_equal(times, grid):
            raise InsufficientDataError(f"{name} has {rows.height} of the 288 five-minute candles of {day}; store its day first")
        matrix[:, j] = rows[column].to_numpy()
    return matrix


def _returns(trades: pl.DataFrame, instrument: str, day: date, config: CrossVenueConfig) -> np.ndarray:
    """Log returns of the last trade price per step of the day (carried through steps without trades; 0 before the
    first trade)."""
    start, end = day_bounds_us(day)
    step_us = config.resolution_ms * 1000
    steps = (end - start) // step_us
    own = trades.filter(pl.col(INSTRUMENT) == instrument).sort("agg_id")
    last = (
        own.select(((pl.col("time").dt.epoch("us") - start) // step_us).alias("step"), pl.col("price").log().alias("log_price"))
        .group_by("step", maintain_order=True)
        .agg(pl.col("log_price").last())
    )
    path = np.full(steps, np.nan)
    path[last["step"].to_numpy()] = last["log_price"].to_numpy()
    if last.height == 0:
        return np.zeros(steps)
    filled = pl.Series(path).fill_nan(None).forward_fill().backward_fill().to_numpy()
    return np.diff(filled, prepend=filled[0])


def _consensus(trades: pl.DataFrame, others: list[str], day: date, config: CrossVenueConfig) -> np.ndarray:
    return np.mean([_returns(trades, other, day, config) for other in others], axis=0)


def _lag_sums(own: np.ndarray, other: np.ndarray, config: CrossVenueConfig) -> tuple[np.ndarray, ...]:
    """Per lag and interval Σ own[t - lag] · other[t] over the interval's steps t; per interval Σ own², Σ other² and
    the steps in which each side moved."""
    per_interval = INTERVAL_US // (config.resolution_ms * 1000)

    def by_interval(values: np.ndarray) -> np.ndarray:
        return values.reshape(INTERVALS_PER_DAY, per_interval).sum(axis=1)

    lags = config.lags
    numerators = np.empty((lags.size, INTERVALS_PER_DAY))
    for i, lag in enumerate(lags):
        shifted = np.roll(own, lag)
        if lag > 0:
            shifted[:lag] = 0.0
        elif lag < 0:
            shifted[lag:] = 0.0
        numerators[i] = by_interval(shifted * other)
    return numerators, by_interval(own * own), by_interval(other * other), by_interval(own != 0), by_interval(other != 0)


def _peaks(numerators: np.ndarray, own_norm, other_norm, own_moves, other_moves, config: CrossVenueConfig):
    """(lead in ms, correlation) at the lag of highest correlation, per column; NaN where a side moved fewer than
    MIN_MOVES steps."""
    enough = (np.asarray(own_moves) >= MIN_MOVES) & (np.asarray(other_moves) >= MIN_MOVES)
    norm = np.sqrt(own_norm * other_norm)
    valid = enough & (norm > 0)
    corr = numerators / np.where(valid, norm, 1.0)
    best = np.argmax(corr, axis=0)
    lead = np.where(valid, config.lags[best] * config.resolution_ms, np.nan).astype(float)
    peak = np.where(valid, corr[best, np.arange(corr.shape[1])], np.nan)
    return lead, peak
