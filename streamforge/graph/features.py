"""Node features: what one instrument did in one 5-minute interval, computed from that interval and earlier data only.

Why these features: realized volatility clusters (log RV, range), reacts to activity (volume, trade count, large
trades), to order flow imbalance (taker-buy share, VWAP distance) and follows the intraday cycle (time of day). Every
value of node (instrument, t) uses candles and trades up to the end of interval t — the first 1-minute return of an
interval reaches back to the previous interval's last close, which is past data — so nothing here looks ahead.

`FEATURES` names and versions the feature set. Change a name, its meaning or its order and bump the version: a saved
model refuses to load against a different feature set (see `streamforge.models.persist`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.schemas import INSTRUMENT

INTERVAL = "5m"
INTERVAL_US = 5 * 60 * 1_000_000
_DAY_US = 24 * 60 * 60 * 1_000_000


@dataclass(frozen=True)
class FeatureSet:
    version: int
    names: tuple[str, ...]

    def without(self, absent: tuple[str, ...]) -> FeatureSet:
        return FeatureSet(self.version, tuple(n for n in self.names if n not in absent))


FEATURES = FeatureSet(
    version=2,  # 2: log_rv floored per instrument at a training quantile (was a fixed 1e-10)
    names=(
        "log_return",  # log(close / previous close)
        "range",  # log(high / low)
        "log_rv",  # log of the sum of squared 1-minute log returns, floored at the training part's RV quantile
        "log_volume",  # log(1 + base volume)
        "log_trade_count",  # log(1 + raw trade count)
        "taker_buy_share",  # taker-buy base volume / volume; 0.5 without volume
        "vwap_distance",  # log(close / vwap)
        "large_trade_share",  # share of volume in trades >= LARGE_TRADE_MULTIPLE x the interval's median trade size
        "tod_sin",  # time of day on the unit circle, so 23:55 and 00:00 are neighbours
        "tod_cos",
    ),
)

# Features that need the aggregate trades. Without trades they are *absent*: left out of the feature matrix and
# recorded as absent in the graph and the model, so a model trained with them cannot silently score without them.
TRADE_FEATURES = ("large_trade_share",)


def node_features(
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    trades: pl.DataFrame | None,
    *,
    large_trade_multiple: float,
) -> pl.DataFrame:
    """One row per (instrument, 5-minute open_time) with the raw (unnormalised) features present for these inputs, and
    `rv`, the unfloored realized variance, in place of `log_rv` (the floor is fitted on the training part: `RvFloor`).

    Intervals without 1-minute candles take their realized variance from the squared 5-minute return (one return
    instead of five): a coarser estimate, but from the same interval.
    """
    _require_interval(candles_5m, "5m")
    _require_interval(candles_1m, "1m")
    missing = sorted(set(candles_5m["instrument"].unique()) - set(candles_1m["instrument"].unique()))
    if missing:
        raise InsufficientDataError(f"no 1-minute candles for {missing}: realized volatility needs them")

    log_close = pl.col("close").log()
    rv = (
        candles_1m.sort("instrument", "open_time")
        .with_columns(
            r=(log_close - log_close.shift(1).over("instrument")).fill_null(log_close - pl.col("open").log()),
            bucket=pl.col("open_time").dt.truncate(INTERVAL),
        )
        .group_by("instrument", "bucket")
        .agg(rv=(pl.col("r") ** 2).sum())
        .rename({"bucket": "open_time"})
    )
    minutes = (pl.col("open_time").dt.epoch("us") % _DAY_US) / _DAY_US * (2 * math.pi)
    frame = (
        candles_5m.sort("instrument", "open_time")
        .with_columns(
            log_return=(log_close - log_close.shift(1).over("instrument")).fill_null(log_close - pl.col("open").log())
        )
        .join(rv, on=["instrument", "open_time"], how="left")
        .with_columns(
            range=(pl.col("high") / pl.col("low")).log(),
            rv=pl.col("rv").fill_null(pl.col("log_return") ** 2),
            log_volume=pl.col("volume").log1p(),
            log_trade_count=pl.col("trade_count").cast(pl.Float64).log1p(),
            taker_buy_share=pl.when(pl.col("volume") > 0)
            .then(pl.col("taker_buy_base_volume") / pl.col("volume"))
            .otherwise(0.5),
            vwap_distance=(pl.col("close") / pl.col("vwap")).log(),
            tod_sin=minutes.sin(),
            tod_cos=minutes.cos(),
        )
    )
    if trades is not None:
        frame = frame.join(_large_trade_share(trades, large_trade_multiple), on=["instrument", "open_time"], how="left")
        frame = frame.with_columns(pl.col("large_trade_share").fill_null(0.0))
    names = ["rv" if n == "log_rv" else n for n in FEATURES.names]  # log_rv comes with the floor (RvFloor.apply)
    return frame.select("instrument", "open_time", *(n for n in names if n in frame.columns))


def _large_trade_share(trades: pl.DataFrame, multiple: float) -> pl.DataFrame:
    """Share of an interval's volume traded in large trades, large relative to the same interval's median trade:
    a scale-free definition that needs no statistics from other intervals (so no look-ahead, no training fit)."""
    return (
        trades.with_columns(open_time=pl.col("time").dt.truncate(INTERVAL))
        .group_by("instrument", "open_time")
        .agg(
            large_trade_share=pl.col("qty").filter(pl.col("qty") >= multiple * pl.col("qty").median()).sum()
            / pl.col("qty").sum()
        )
        .with_columns(pl.col("large_trade_share").fill_nan(0.0))
    )


def _require_interval(candles: pl.DataFrame, interval: str) -> None:
    wrong = sorted(set(candles["interval"].unique()) - {interval})
    if wrong:
        raise ConfigError(f"expected {interval} candles, got intervals {wrong}")


@dataclass(frozen=True)
class RvFloor:
    """Per-instrument floor of the 5-minute realized variance: the `quantile` of its positive values over the
    training part.

    Why: an interval whose price never moved (no trade, or every trade at one price) has RV = 0, and its log must be
    finite. A fixed tiny floor (the former 1e-10, log -23 against a median near -13) turns those few intervals into
    outliers that dominate squared-error losses. A floor by price tick, (tick / price)^2, is worse still for a
    high-priced instrument with a fine tick (BTCUSDT: 1e-14, log -32). What an unmoved interval tells is "quieter
    than the price grid resolves", so it is counted as quiet as the quietest intervals that did move: the floor sits
    at a low quantile of the positive RVs (1% by default), fitted on training data only, and every RV — feature and
    target alike — is floored there.
    """

    quantile: float
    floors: dict[str, float]

    @classmethod
    def fit(cls, raw: pl.DataFrame, quantile: float, train_end_us: int) -> RvFloor:
        if not 0.0 <= quantile < 1.0:
            raise ConfigError(f"RV floor quantile must be in [0, 1), got {quantile}")
        train = raw.filter((pl.col("open_time").dt.epoch("us") < train_end_us) & (pl.col("rv") > 0))
        floors = dict(train.group_by(INSTRUMENT).agg(pl.col("rv").quantile(quantile, "lower")).iter_rows())
        flat = sorted(set(raw[INSTRUMENT].unique()) - set(floors))
        if flat:
            raise InsufficientDataError(
                f"{flat}: the price is constant over the training part (no interval has a positive realized "
                "variance); there is nothing to forecast"
            )
        return cls(quantile, {k: float(v) for k, v in sorted(floors.items())})

    def apply(self, raw: pl.DataFrame) -> pl.DataFrame:
        """`raw` with `rv` replaced by `log_rv` = log(max(rv, floor of its instrument))."""
        unknown = sorted(set(raw[INSTRUMENT].unique()) - set(self.floors))
        if unknown:
            raise InsufficientDataError(f"no training RV floor for {unknown}: they had no data in the training window")
        floor = pl.col(INSTRUMENT).replace_strict(self.floors, return_dtype=pl.Float64)
        return raw.with_columns(pl.max_horizontal("rv", floor).log().alias("rv")).rename({"rv": "log_rv"})

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "floors": self.floors}

    @classmethod
    def from_dict(cls, d: dict) -> RvFloor:
        return cls(d["quantile"], d["floors"])


@dataclass(frozen=True)
class Normalisation:
    """Per-instrument mean and standard deviation of each feature over the training part.

    Per instrument, because BTC's volume and SOL's volume live on different scales and a cross-asset message should carry
    "unusually active", not "BTC". Training part only, because statistics of later data would leak into the fit.
    """

    feature_names: tuple[str, ...]
    mean: dict[str, list[float]]
    std: dict[str, list[float]]

    @classmethod
    def fit(cls, raw: pl.DataFrame, feature_names: tuple[str, ...], train_end_us: int) -> Normalisation:
        train = raw.filter(pl.col("open_time").dt.epoch("us") < train_end_us)
        mean, std = {}, {}
        for instrument in sorted(raw["instrument"].unique()):
            part = train.filter(pl.col("instrument") == instrument)
            if part.height < 2:
                raise InsufficientDataError(f"{instrument} has {part.height} intervals before the end of training; needs 2 or more")
            values = part.select(feature_names).to_numpy()
            sd = values.std(axis=0)
            i = feature_names.index("log_rv")
            if sd[i] <= 1e-9 * max(1.0, abs(values[:, i].mean())):  # zero up to rounding
                raise InsufficientDataError(
                    f"{instrument}: log realized volatility is constant over the training part (zero volatility?); "
                    "there is nothing to forecast"
                )
            mean[instrument] = values.mean(axis=0).tolist()
            # A feature constant over training carries no information: it normalises to 0 rather than to inf.
            std[instrument] = np.where(sd > 0, sd, 1.0).tolist()
        return cls(feature_names, mean, std)

    def apply(self, raw: pl.DataFrame) -> np.ndarray:
        unknown = sorted(set(raw["instrument"].unique()) - set(self.mean))
        if unknown:
            raise InsufficientDataError(f"no training statistics for {unknown}: they had no data in the training window")
        instruments = raw["instrument"].to_list()
        mean = np.array([self.mean[s] for s in instruments]).reshape(len(instruments), -1)
        std = np.array([self.std[s] for s in instruments]).reshape(len(instruments), -1)
        return (raw.select(self.feature_names).to_numpy() - mean) / std

    def log_rv_scale(self, instruments: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of log RV per row: the model forecasts log RV in these standardised units."""
        i = self.feature_names.index("log_rv")
        return np.array([self.mean[s][i] for s in instruments]), np.array([self.std[s][i] for s in instruments])

    def to_dict(self) -> dict:
        return {"feature_names": list(self.feature_names), "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> Normalisation:
        return cls(tuple(d["feature_names"]), d["mean"], d["std"])
