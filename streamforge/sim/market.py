"""The simulated market: deterministic trades, klines and order books for every listed symbol and day.

`Market` is the one object the server (and, later, the WebSocket streams) asks for data. Everything it returns is a
pure function of (seed, volume, lead_lag, symbol, time range): the order of calls and the days generated before make
no difference. Generated days are kept in small in-memory LRU memos because REST pages hit the same day repeatedly.
See `prices` (how prices move, the planted lead-lag), `trades` (ids, arrivals, sides, sizes), `klines` and `book`.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE, KLINE, Record
from streamforge.sim import book, prices, trades
from streamforge.sim.calendar import (
    EPOCH,
    EPOCH_US,
    HORIZON,
    S_PER_DAY,
    US_PER_DAY,
    US_PER_S,
    day_index,
    day_of,
    day_start_us,
    days_between,
    in_range,
)
from streamforge.sim.klines import INTERVALS, aggregate
from streamforge.sim.memo import Memo
from streamforge.sim.symbols import SYMBOLS, SymbolSpec

_SECONDS = np.arange(S_PER_DAY + 1)

#: Bump when a change to the generator changes its output, so that cached dump files are not reused.
GENERATOR_VERSION = 1


class Market:
    """A seeded market. `volume` scales trade counts (1.0: ~1.5M BTCUSDT aggTrades a day); `lead_lag=False` is the
    control market where followers move with BTCUSDT at the same time instead of minutes later."""

    def __init__(self, seed: int, volume: float = 1.0, lead_lag: bool = True) -> None:
        if volume <= 0:
            raise ConfigError(f"simulator volume must be positive, got {volume}")
        self.seed, self.volume, self.lead_lag = seed, volume, lead_lag
        self._counts = Memo(lambda s: trades.DailyCounts.generate(seed, SYMBOLS[s], volume), maxsize=len(SYMBOLS))
        self._anchors = Memo(lambda s: prices.anchor_log_prices(seed, SYMBOLS[s]), maxsize=len(SYMBOLS))
        self._paths = Memo(self._generate_path, maxsize=16)
        self._days = Memo(self._generate_day, maxsize=6)
        self._day_klines = Memo(self._generate_day_klines, maxsize=64)

    @property
    def key(self) -> str:
        """Names everything that determines the market's data (used to key cached dump files)."""
        kind = "leadlag" if self.lead_lag else "control"
        return f"seed{self.seed}-volume{self.volume:g}-{kind}-v{GENERATOR_VERSION}"

    @property
    def symbols(self) -> dict[str, SymbolSpec]:
        return dict(SYMBOLS)

    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return SYMBOLS[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"symbol {symbol!r} is not listed by the simulated exchange; listed: {', '.join(SYMBOLS)}"
            ) from None

    # --- trades

    def day_trades(self, symbol: str, day: date) -> pl.DataFrame:
        """All aggregate trades of the UTC day (AGG_TRADE), ordered by agg_id."""
        self.spec(symbol)  # refuses an unknown symbol by name
        if not in_range(day):
            return AGG_TRADE.empty()
        return self._days(symbol, day)

    def day_agg_ids(self, symbol: str, day: date) -> range:
        """The agg ids of the day's trades (known without generating the day)."""
        if not in_range(day):
            return range(0)
        self.spec(symbol)  # refuses an unknown symbol by name
        counts, i = self._counts(symbol), day_index(day)
        return range(int(counts.first_agg_id[i]), int(counts.first_agg_id[i] + counts.agg[i]))

    def agg_trades(self, symbol: str, start_us: int, end_us: int, limit: int | None = None) -> pl.DataFrame:
        """Aggregate trades with start_us <= time < end_us, the first `limit` of them when given."""
        parts = []
        for day in days_between(start_us, end_us):
            frame = self.day_trades(symbol, day)
            times = _times_us(frame)
            lo, hi = np.searchsorted(times, [start_us, end_us])
            parts.append(frame.slice(lo, hi - lo))
            if limit is not None and sum(p.height for p in parts) >= limit:
                break
        return _concat(parts, limit)

    def agg_trades_from_id(self, symbol: str, from_id: int, end_us: int, limit: int) -> pl.DataFrame:
        """Up to `limit` aggregate trades with agg_id >= from_id and time < end_us."""
        self.spec(symbol)  # refuses an unknown symbol by name
        counts = self._counts(symbol)
        first = max(counts.day_of_agg_id(max(from_id, 0)), 0)
        parts, day = [], EPOCH + timedelta(days=first)
        while day < HORIZON and day_start_us(day) < end_us and sum(p.height for p in parts) < limit:
            frame = self.day_trades(symbol, day)
            skip = max(from_id - int(counts.first_agg_id[day_index(day)]), 0)
            stop = int(np.searchsorted(_times_us(frame), end_us))
            parts.append(frame.slice(skip, max(stop - skip, 0)))
            day += timedelta(days=1)
        return _concat(parts, limit)

    def last_agg_trades(self, symbol: str, end_us: int, limit: int) -> pl.DataFrame:
        """The `limit` most recent aggregate trades before end_us (looking back at most one day)."""
        recent = self.agg_trades(symbol, end_us - US_PER_DAY, end_us)
        return recent.tail(limit)

    # --- klines

    def klines(
        self, symbol: str, interval: str, start_us: int, end_us: int, *, as_of_us: int | None = None
    ) -> pl.DataFrame:
        """KLINE rows with start_us <= open_time < end_us, computed from this market's trades.

        With `as_of_us`, the market is seen at that instant: later klines do not exist yet and the kline holding it
        is built from the trades up to it (Binance's still-open kline).
        """
        self.spec(symbol)  # refuses an unknown symbol by name
        interval_us(interval)  # refuses an unknown interval by name
        if as_of_us is not None:
            end_us = min(end_us, as_of_us + 1)
        parts = []
        for day in days_between(start_us, end_us):
            frame = self._day_klines(symbol, day, interval)
            opened = pl.col("open_time").dt.epoch("us")
            parts.append(frame.filter((opened >= start_us) & (opened < end_us)))
        result = _concat(parts, None, KLINE)
        if as_of_us is None or result.is_empty() or _epoch_us(result["close_time"][-1]) <= as_of_us:
            return result
        open_us = _epoch_us(result["open_time"][-1])
        prev_close = result["close"][-2] if result.height > 1 else self._close_before(symbol, open_us)
        so_far = self.agg_trades(symbol, open_us, as_of_us + 1)
        open_kline = aggregate(so_far, symbol, interval, open_us, 1, prev_close)
        return pl.concat([result.head(result.height - 1), open_kline])

    # --- prices and the book

    def mid_price(self, symbol: str, time_us: int) -> float:
        """The simulated mid price at an instant (the path the trades are drawn around)."""
        return float(self.mid_prices(symbol, np.array([time_us], dtype=np.int64))[0])

    def mid_prices(self, symbol: str, times_us: np.ndarray) -> np.ndarray:
        """`mid_price` of many instants at once (the depth stream asks for every 100 ms state)."""
        self.spec(symbol)  # refuses an unknown symbol by name
        mids = np.empty(len(times_us))
        days = (times_us - EPOCH_US) // US_PER_DAY
        for index in np.unique(days):
            day = EPOCH + timedelta(days=int(index))
            log_path, _ = self._paths(symbol, day)
            here = days == index
            seconds = (times_us[here] - day_start_us(day)) / US_PER_S
            mids[here] = np.exp(np.interp(seconds, _SECONDS, log_path))
        return mids

    def depth(self, symbol: str, time_us: int, limit: int) -> book.BookSnapshot:
        """The order book's top `limit` levels per side as of an instant (the state of its update id); empty for a
        symbol that is not trading."""
        return self.book_state(symbol, book.update_id(time_us), limit)

    def book_state(self, symbol: str, update: int, limit: int) -> book.BookSnapshot:
        """The top `limit` levels per side of the book's state `update` (the true book a client must arrive at)."""
        spec = self.spec(symbol)
        if not spec.trading:
            return book.BookSnapshot(update, [], [])
        return book.snapshot(self.seed, spec, self.mid_price(symbol, book.update_time_us(update)), update, limit)

    def depth_diff(self, symbol: str, first: int, final: int, window: int) -> book.DepthDiff:
        """The depthUpdate from state first-1 to state final, covering the top `window` levels (see `book`)."""
        spec = self.spec(symbol)
        if not spec.trading:
            return book.DepthDiff(first, final, [], [])
        states = np.arange(first - 1, final + 1, dtype=np.int64)
        mids = self.mid_prices(symbol, book.update_time_us(states))
        best_bids = [book.best_bid_tick(spec, mid) for mid in mids.tolist()]
        return book.diff(self.seed, spec, best_bids, first, window)

    # --- generation (memoised)

    def _generate_path(self, symbol: str, day: date) -> tuple[np.ndarray, np.ndarray]:
        spec = SYMBOLS[symbol]
        returns = prices.returns(self.seed, spec, day, self.lead_lag)
        return prices.log_price_path(self._anchors(symbol), day, returns), returns

    def _generate_day(self, symbol: str, day: date) -> pl.DataFrame:
        counts = self._counts(symbol)
        if counts.agg[day_index(day)] == 0:
            return AGG_TRADE.empty()
        log_path, returns = self._paths(symbol, day)
        return trades.generate_day(self.seed, SYMBOLS[symbol], day, counts, log_path, returns)

    def _generate_day_klines(self, symbol: str, day: date, interval: str) -> pl.DataFrame:
        frame = self.day_trades(symbol, day)
        start, step = day_start_us(day), interval_us(interval)
        first_bucket_traded = not frame.is_empty() and _epoch_us(frame["time"][0]) < start + step
        prev_close = None if first_bucket_traded else self._close_before(symbol, start)
        return aggregate(frame, symbol, interval, start, US_PER_DAY // step, prev_close)

    def _close_before(self, symbol: str, time_us: int) -> float | None:
        """Price of the last trade before `time_us`, or None when nothing traded before."""
        day = day_of(time_us)
        earlier = self.agg_trades(symbol, day_start_us(day), time_us)
        if not earlier.is_empty():
            return float(earlier["price"][-1])
        traded_days = np.flatnonzero(self._counts(symbol).agg[: max(day_index(day), 0)])
        if traded_days.size == 0:
            return None
        return float(self.day_trades(symbol, EPOCH + timedelta(days=int(traded_days[-1])))["price"][-1])


def interval_us(interval: str) -> int:
    try:
        return INTERVALS[interval]
    except KeyError:
        raise ConfigError(f"kline interval {interval!r} is not simulated; use one of {', '.join(INTERVALS)}") from None


def _epoch_us(value: object) -> int:
    return int(pl.Series([value]).dt.epoch("us")[0])


def _times_us(frame: pl.DataFrame) -> np.ndarray:
    return frame["time"].dt.epoch("us").to_numpy()


def _concat(parts: list[pl.DataFrame], limit: int | None, record: Record = AGG_TRADE) -> pl.DataFrame:
    frame = pl.concat(parts) if parts else record.empty()
    return frame if limit is None else frame.head(limit)
