"""The same asset on several venues, lined up per 5-minute interval: price difference, volume share, who leads.

An instrument's *counterparts* are the instruments of other venues that trade the same base and quote currency on the
same kind of market (spot with spot, perpetual with perpetual — a perpetual's premium is not a venue's difference),
as the venues themselves describe them (`MarketClient.pair`). For one instrument and one UTC day, `line_up` gives a
VENUE_ALIGNMENT row per 5-minute interval:

- `diff_bps`: its close against the median of the counterparts' closes, in basis points. With three venues or more
  the median belongs to the healthy majority, so a stale or broken feed stands out alone (`within_band`); with two,
  a break shows on both, as it must: two prices cannot tell which one is wrong.
- `volume_share`: its part of the quote volume traded on all of them.
- `lead_ms`, `lead_corr`: the lag at which the Hayashi-Yoshida cross-covariance of its trade-price returns with
  the counterparts' peaks (Hoffmann, Rosenbaum & Yoshida 2013), tried in steps of `lag_step_ms` up to `max_lag_ms`
  either way, and the correlation there. Hayashi-Yoshida pairs every return of one venue with the returns of the
  other whose time spans overlap it (shifted by the lag), so trades that arrive at different, irregular times need
  no common grid — on which a quiet venue's stale price would smear the lead. A positive lead means its prices move
  first. An interval where fewer than `MIN_MOVES` trades moved the price on either side has none; the correlation
  is an estimate and, on a short noisy sample, can come out above 1.

The same sums pooled over the whole day give the day's lead: one answer to "who leads?" per instrument and day.
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
from streamforge.schemas import VENUE_ALIGNMENT, INSTRUMENT

INTERVAL_US = 5 * 60 * 1_000_000
INTERVALS_PER_DAY = 288
MIN_MOVES = 10  # steps with a price change, on each side, for an interval's lead-lag
_SHOWN = 5


@dataclass(frozen=True)
class CrossVenueConfig:
    lag_step_ms: int
    max_lag_ms: int
    band_bps: float

    def __post_init__(self) -> None:
        if self.lag_step_ms < 1:
            raise ConfigError(f"STREAMFORGE_CROSS_VENUE_LAG_STEP_MS={self.lag_step_ms}: must be at least 1")
        if not 0 <= self.max_lag_ms < INTERVAL_US // 1000:
            raise ConfigError(f"STREAMFORGE_CROSS_VENUE_MAX_LAG_MS={self.max_lag_ms}: must be in 0..299999")
        if not self.band_bps > 0:
            raise ConfigError(f"STREAMFORGE_CROSS_VENUE_BAND_BPS={self.band_bps}: must be positive")

    @classmethod
    def from_settings(cls) -> CrossVenueConfig:
        return cls(
            lag_step_ms=settings.integer("STREAMFORGE_CROSS_VENUE_LAG_STEP_MS"),
            max_lag_ms=settings.integer("STREAMFORGE_CROSS_VENUE_MAX_LAG_MS"),
            band_bps=float(settings.get("STREAMFORGE_CROSS_VENUE_BAND_BPS")),
        )

    @property
    def lags_ms(self) -> np.ndarray:
        most = self.max_lag_ms // self.lag_step_ms
        return np.arange(-most, most + 1) * self.lag_step_ms


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


@dataclass(frozen=True)
class Alignment:
    rows: pl.DataFrame  # VENUE_ALIGNMENT, one per 5-minute interval of the day
    day_lead: dict[str, float | int | None]  # lead_ms, corr, moves over the whole day


def line_up(
    instrument: str, others: list[str], candles_5m: pl.DataFrame, trades: pl.DataFrame, day: date, config: CrossVenueConfig
) -> Alignment:
    """`instrument` against `others` on `day`: a row per 5-minute interval and the day's lead, from the day's
    5-minute candles and trades of all of them (rows of other instruments are ignored)."""
    if not others:
        raise InsufficientDataError(f"{instrument} has no counterpart on another venue to be lined up with")
    names = [instrument, *others]
    closes = _pivot(candles_5m, names, "close", day)
    volumes = _pivot(candles_5m, names, "quote_volume", day)
    reference = np.median(closes[:, 1:], axis=1)
    total = volumes.sum(axis=1)
    sums = _lag_sums(trades, instrument, others, day, config)
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
    pooled = [part.sum(axis=-1, keepdims=True) for part in sums]
    day_ms, day_corr = _peaks(*pooled, config)
    lead = {
        "lead_ms": None if np.isnan(day_ms[0]) else int(day_ms[0]),
        "corr": None if np.isnan(day_corr[0]) else round(float(day_corr[0]), 4),
        "moves": int(pooled[3][0]),
    }
    return Alignment(VENUE_ALIGNMENT.conform(frame), lead)


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


def _path(trades: pl.DataFrame, instrument: str) -> tuple[np.ndarray, np.ndarray]:
    """(times in µs, log prices) of the instrument's trades, the last price of each distinct time."""
    own = trades.filter(pl.col(INSTRUMENT) == instrument).sort("agg_id")
    last = own.group_by("time", maintain_order=True).agg(pl.col("price").last()).sort("time")
    return last["time"].dt.epoch("us").to_numpy(), np.log(last["price"].to_numpy())


def _lag_sums(trades: pl.DataFrame, instrument: str, others: list[str], day: date, config: CrossVenueConfig):
    """Per lag and interval, the Hayashi-Yoshida sums Σ ΔX_i ΔY_j over the instrument's returns X_i (by the interval
    of their end) and the counterparts' returns Y_j whose spans, shifted back by the lag, overlap X_i's; per interval
    Σ ΔX², Σ ΔY² and how many returns moved the price on each side (the counterparts pooled)."""
    start = day_bounds_us(day)[0]
    x_times, x_log = _path(trades, instrument)

    def bucket(times: np.ndarray) -> np.ndarray:
        return np.clip((times - start) // INTERVAL_US, 0, INTERVALS_PER_DAY - 1)

    x_bucket, dx = bucket(x_times[1:]), np.diff(x_log)
    numerators = np.zeros((config.lags_ms.size, INTERVALS_PER_DAY))
    other_norm, other_moves = np.zeros(INTERVALS_PER_DAY), np.zeros(INTERVALS_PER_DAY)
    for other in others:
        y_times, y_log = _path(trades, other)
        if y_times.size < 2 or x_times.size < 2:
            continue
        dy = np.diff(y_log)
        other_norm += np.bincount(bucket(y_times[1:]), dy * dy, INTERVALS_PER_DAY)
        other_moves += np.bincount(bucket(y_times[1:]), dy != 0, INTERVALS_PER_DAY)
        for i, lag_ms in enumerate(config.lags_ms):
            shifted = y_times - lag_ms * 1000
            first = np.maximum(np.searchsorted(shifted, x_times[:-1], side="right"), 1)  # first span ending after X's start
            last = np.minimum(np.searchsorted(shifted, x_times[1:], side="left"), y_times.size - 1)  # last starting before its end
            overlap = np.where(last >= first, y_log[last] - y_log[first - 1], 0.0)
            numerators[i] += np.bincount(x_bucket, dx * overlap, INTERVALS_PER_DAY)
    own_norm = np.bincount(x_bucket, dx * dx, INTERVALS_PER_DAY)
    own_moves = np.bincount(x_bucket, dx != 0, INTERVALS_PER_DAY)
    return numerators, own_norm, other_norm, own_moves, other_moves


def _peaks(numerators: np.ndarray, own_norm, other_norm, own_moves, other_moves, config: CrossVenueConfig):
    """(lead in ms, correlation) at the lag of the highest cross-covariance, per column; NaN where a side moved
    fewer than MIN_MOVES times."""
    valid = (np.asarray(own_moves) >= MIN_MOVES) & (np.asarray(other_moves) >= MIN_MOVES)
    norm = np.sqrt(own_norm * other_norm)
    valid &= norm > 0
    top = numerators.max(axis=0)
    # Lags whose overlaps pair the same returns give exactly the same sum: the middle of such a plateau, not its edge.
    tied = np.isclose(numerators, top, rtol=1e-12, atol=0.0)
    first, last = np.argmax(tied, axis=0), tied.shape[0] - 1 - np.argmax(tied[::-1], axis=0)
    middle = (config.lags_ms[first] + config.lags_ms[last]) / 2
    lead = np.where(valid, np.round(middle / config.lag_step_ms) * config.lag_step_ms, np.nan)
    peak = np.where(valid, top / np.where(valid, norm, 1.0), np.nan)
    return lead, peak
