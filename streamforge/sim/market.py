"""The simulated market: deterministic trades, klines and order books for every instrument of the universe and day.

`Market` is the one object the wire formats (REST, dumps, WebSocket) ask for data. Everything it returns is a pure
function of its configuration (seed, volume, lead-lag, derived price models) and the instrument and time range: the
order of calls and the days generated before make no difference, and the universe's size changes nothing about an
instrument it lists. Generated days are kept in small in-memory LRU memos because REST pages hit the same day
repeatedly. See `assets` (the cross-section), `prices` (how assets move, the planted lead-lag), `universe` (the venues'
instruments), `derived` (perpetuals and other venues from the assets), `perps` (index, mark, funding, liquidations),
`trades`, `klines` and `book`.

For the venue wire formats: every method takes an instrument id `<venue>.<market>.<SYMBOL>` (e.g.
`binance.usdm.BTCUSDT`, `okx.swap.BTC-USDT-SWAP`); a bare symbol means Binance spot, which is how the Binance spot
handlers call it. What a venue adapter uses:

* listing: `instruments`, `listed(venue_market, day)` (what the venue's instrument list shows that day),
  `status(key, day)` (TRADING, BREAK, or None before listing), `spec(key)` (tick, step, contract size, funding hours);
* trades: `day_trades`, `day_agg_ids`, `agg_trades`, `agg_trades_from_id`, `last_agg_trades`, `day_of_trade_id`
  (AGG_TRADE frames; ids contiguous per instrument; Binance spot times are µs from 2025 and ms before, other markets' always ms — a venue
  without aggregate trades serves each row as one trade);
* candles: `klines(key, interval, start_us, end_us, as_of_us=…)` (Binance kline semantics);
* book: `depth`, `book_state`, `depth_diff`, `book_tops` (update ids are 100 ms steps; see `book`);
* prices: `mid_price(s)`; for perpetuals `index_prices`, `premiums`, `mark_prices`, `price_klines(key, kind,
  interval, start_us, end_us)` (mark or index), `funding_rates(key, start_us, end_us)`, `open_interest(key, times_us)`
  and `liquidations(key, start_us, end_us)`.

Quantities are in the base asset; a venue counting contracts divides by `spec(key).contract_size` (exact: the step
is whole contracts).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from streamforge import settings
from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE, KLINE, Record
from streamforge.sim import book, perps, trades
from streamforge.sim.assets import Asset
from streamforge.sim.calendar import (
    EPOCH,
    EPOCH_US,
    HORIZON,
    MICROSECOND_DUMPS_FROM,
    S_PER_DAY,
    US_PER_DAY,
    US_PER_MS,
    US_PER_S,
    day_index,
    day_of,
    day_start_us,
    days_between,
    in_range,
)
from streamforge.sim.derived import Neighbours, PriceModels
from streamforge.sim.instruments import SHORTHAND_MARKET, Instrument
from streamforge.sim.klines import INTERVALS, aggregate, aggregate_many
from streamforge.sim.memo import Memo
from streamforge.sim.prices import AssetPrices, LeadLag
from streamforge.sim.seeding import key64
from streamforge.sim.universe import MARKETS, OWN_PRICES, SPOT_MARKETS, Universe

DEFAULT_UNIVERSE = int(settings.SETTINGS["STREAMFORGE_SIM_UNIVERSE"].default)

#: Bump when a change to the generator changes its output, so that cached dump files are not reused.
GENERATOR_VERSION = 2


class Market:
    """A seeded market. `volume` scales trade counts (1.0: ~1.5M BTCUSDT aggTrades a day); `lead_lag=False` (or a
    `LeadLag` with `planted=False`) is the control market where followers move with their leader at the same time
    instead of minutes later. `universe` is the number of assets (see `assets`); `models` the derived markets'."""

    def __init__(
        self,
        seed: int,
        volume: float = 1.0,
        lead_lag: bool | LeadLag = True,
        *,
        universe: int = DEFAULT_UNIVERSE,
        models: PriceModels | None = None,
    ) -> None:
        if volume <= 0:
            raise ConfigError(f"simulator volume must be positive, got {volume}")
        self.seed, self.volume = seed, volume
        self.lead_lag = lead_lag if isinstance(lead_lag, LeadLag) else LeadLag(planted=lead_lag)
        self.models = models or PriceModels.parse()
        self.universe = Universe(universe)
        self.prices = AssetPrices(seed, self.universe.assets, self.lead_lag)
        # Memo sizes follow the universe: the live streams of every instrument ask for each one's day on every tick,
        # and a memo smaller than the instruments streamed would regenerate days (tens of ms each) in turn forever.
        # A day is held once per instrument at most; paths twice (derived markets read a neighbouring day).
        n = len(self.universe.instruments)
        self._counts = Memo(lambda i: trades.DailyCounts.generate(seed, self.universe.instruments[i], volume), maxsize=max(256, n))
        self._paths = Memo(self._generate_path, maxsize=max(32, 2 * n))
        self._regimes = Memo(lambda market, key: self.models.of(market).regime(seed, key), maxsize=max(256, n))
        self._days = Memo(self._generate_day, maxsize=max(6, n))
        self._day_times = Memo(lambda key, day: _times_us(self.day_trades(key, day)), maxsize=max(6, n))
        self._day_klines = Memo(self._generate_day_klines, maxsize=max(64, 2 * n))
        self._day_price_klines = Memo(self._generate_day_price_klines, maxsize=16)  # REST and dump files only
        self._day_liquidations = Memo(self._generate_day_liquidations, maxsize=max(16, n))  # the forceOrder streams
        self._specs: dict[str, Instrument] = {}  # key as asked for (id or bare symbol) -> instrument, asked every tick
        self._shapes: dict[str, book.Shape] = {}

    @property
    def key(self) -> str:
        """Names everything that determines the market's data (used to key cached dump files). The universe's size
        is not part of it: an instrument's data are the same in every universe that lists it."""
        models = f"{key64(self.models.key):016x}"[:8]
        return f"seed{self.seed}-volume{self.volume:g}-{self.lead_lag.key}-m{models}-v{GENERATOR_VERSION}"

    # --- listing

    @property
    def instruments(self) -> dict[str, Instrument]:
        """Every instrument of the universe, by id, whether listed yet or not."""
        return dict(self.universe.instruments)

    @property
    def symbols(self) -> dict[str, Instrument]:
        """Binance spot's instruments by symbol, whether listed yet or not (`listed` says which exist on a day)."""
        return self.universe.of_market(SHORTHAND_MARKET)

    def listed(self, venue_market: str, day: date) -> dict[str, Instrument]:
        """The instruments a venue market's instrument list shows on `day` (TRADING or BREAK), by symbol."""
        return {s: i for s, i in self.universe.of_market(venue_market).items() if i.exists_on(day)}

    def status(self, key: str, day: date) -> str | None:
        """TRADING, BREAK, or None when the instrument is not listed (yet) on `day`."""
        return self.spec(key).status_on(day)

    def spec(self, key: str) -> Instrument:
        found = self._specs.get(key)
        if found is None:
            found = self._specs[key] = self.universe.instrument(key)
        return found

    def asset(self, key: str) -> Asset:
        return self.universe.assets[self.spec(key).base_asset]

    # --- trades

    def day_trades(self, key: str, day: date) -> pl.DataFrame:
        """All aggregate trades of the UTC day (AGG_TRADE), ordered by agg_id."""
        instrument = self.spec(key)
        if not in_range(day):
            return AGG_TRADE.empty()
        return self._days(instrument.id, day)

    def day_agg_ids(self, key: str, day: date) -> range:
        """The agg ids of the day's trades (known without generating the day)."""
        instrument = self.spec(key)
        if not in_range(day):
            return range(0)
        counts, i = self._counts(instrument.id), day_index(day)
        return range(int(counts.first_agg_id[i]), int(counts.first_agg_id[i] + counts.agg[i]))

    def agg_trades(self, key: str, start_us: int, end_us: int, limit: int | None = None) -> pl.DataFrame:
        """Aggregate trades with start_us <= time < end_us, the first `limit` of them when given."""
        parts = []
        for day in days_between(start_us, end_us):
            frame = self.day_trades(key, day)
            times = self._day_times(self.spec(key).id, day)
            lo, hi = np.searchsorted(times, [start_us, end_us])
            parts.append(frame.slice(lo, hi - lo))
            if limit is not None and sum(p.height for p in parts) >= limit:
                break
        return _concat(parts, limit)

    def agg_trades_from_id(self, key: str, from_id: int, end_us: int, limit: int) -> pl.DataFrame:
        """Up to `limit` aggregate trades with agg_id >= from_id and time < end_us."""
        counts = self._counts(self.spec(key).id)
        first = max(counts.day_of_agg_id(max(from_id, 0)), 0)
        parts, day = [], EPOCH + timedelta(days=first)
        while day < HORIZON and day_start_us(day) < end_us and sum(p.height for p in parts) < limit:
            frame = self.day_trades(key, day)
            skip = max(from_id - int(counts.first_agg_id[day_index(day)]), 0)
            stop = int(np.searchsorted(self._day_times(self.spec(key).id, day), end_us))
            parts.append(frame.slice(skip, max(stop - skip, 0)))
            day += timedelta(days=1)
        return _concat(parts, limit)

    def day_of_trade_id(self, key: str, trade_id: int) -> date:
        """The day whose trades hold raw trade id `trade_id` (known without generating days): where a venue that
        pages by raw trade ids looks (ids past the last day with trades map to the last day)."""
        counts = self._counts(self.spec(key).id)
        index = int(np.searchsorted(counts.first_trade_id, max(trade_id, 0), side="right")) - 1
        return EPOCH + timedelta(days=max(index, 0))

    def last_agg_trades(self, key: str, end_us: int, limit: int) -> pl.DataFrame:
        """The `limit` most recent aggregate trades before end_us (looking back at most one day)."""
        recent = self.agg_trades(key, end_us - US_PER_DAY, end_us)
        return recent.tail(limit)

    # --- klines

    def klines(self, key: str, interval: str, start_us: int, end_us: int, *, as_of_us: int | None = None) -> pl.DataFrame:
        """KLINE rows with start_us <= open_time < end_us, computed from this market's trades; none on days the
        instrument does not trade.

        With `as_of_us`, the market is seen at that instant: later klines do not exist yet and the kline holding it
        is built from the trades up to it (Binance's still-open kline).
        """
        instrument = self.spec(key)
        interval_us(interval)  # refuses an unknown interval by name
        if as_of_us is not None:
            end_us = min(end_us, as_of_us + 1)
        parts = []
        for day in days_between(start_us, end_us):
            frame, opens = self._day_klines(instrument.id, day, interval)
            lo, hi = np.searchsorted(opens, [start_us, end_us])
            parts.append(frame.slice(lo, hi - lo))
        result = _concat(parts, None, KLINE)
        if as_of_us is None or result.is_empty() or _epoch_us(result["close_time"][-1]) <= as_of_us:
            return result
        open_us = _epoch_us(result["open_time"][-1])
        prev_close = result["close"][-2] if result.height > 1 else self.close_before(instrument.id, open_us)
        return pl.concat([result.head(result.height - 1), self._open_klines({instrument.id: prev_close}, interval, open_us, as_of_us)])

    def open_klines(self, keys: list[str], interval: str, open_us: int, as_of_us: int) -> pl.DataFrame:
        """The still-open kline opening at `open_us` of each instrument trading then, as seen at `as_of_us` (what
        `klines(..., as_of_us=...)` ends with), all in one query: the live streams of a universe update every
        instrument's open kline every few seconds."""
        interval_us(interval)
        trading = [self.spec(key).id for key in keys]
        trading = [i for i in trading if not self._day_klines(i, day_of(open_us), interval)[0].is_empty()]
        return self._open_klines({i: self.close_before(i, open_us) for i in trading}, interval, open_us, as_of_us)

    def _open_klines(self, prev_closes: dict[str, float | None], interval: str, open_us: int, as_of_us: int) -> pl.DataFrame:
        so_far = _concat([self.agg_trades(i, open_us, as_of_us + 1) for i in prev_closes], None)
        return aggregate_many(so_far, prev_closes, interval, open_us, 1)

    # --- prices and the book

    def mid_price(self, key: str, time_us: int) -> float:
        """The simulated mid price at an instant (the path the trades are drawn around)."""
        return float(self.mid_prices(key, np.array([time_us], dtype=np.int64))[0])

    def mid_prices(self, key: str, times_us: np.ndarray) -> np.ndarray:
        """`mid_price` of many instants at once (the depth stream asks for every 100 ms state)."""
        instrument = self.spec(key)
        return np.exp(self._log_prices(instrument.venue_market, instrument.base_asset, np.asarray(times_us, dtype=np.int64)))

    def depth(self, key: str, time_us: int, limit: int) -> book.BookSnapshot:
        """The order book's top `limit` levels per side as of an instant (the state of its update id); empty when the
        instrument is not trading then."""
        return self.book_state(key, book.update_id(time_us), limit)

    def book_state(self, key: str, update: int, limit: int) -> book.BookSnapshot:
        """The top `limit` levels per side of the book's state `update` (the true book a client must arrive at)."""
        instrument = self.spec(key)
        time_us = book.update_time_us(update)
        if not instrument.trading_on(day_of(time_us)):
            return book.BookSnapshot(update, [], [])
        return book.snapshot(self.seed, instrument, self.mid_price(instrument.id, time_us), update, limit)

    def depth_diff(self, key: str, first: int, final: int, window: int) -> book.DepthDiff:
        """The depthUpdate from state first-1 to state final, covering the top `window` levels (see `book`); empty
        when the instrument is not trading at state `final`."""
        return self.depth_diffs([(key, first, final)], window).of(0, first, final)

    def depth_diffs(self, requests: list[tuple[str, int, int]], window: int) -> book.Diffs:
        """`depth_diff` of many (key, first, final) requests in one vectorised pass (the live streams of a universe);
        consecutive requests of one instrument share one evaluation of its mid prices."""
        shapes, best_bids, start = [], [], 0
        while start < len(requests):
            key = requests[start][0]
            end = start
            while end < len(requests) and requests[end][0] == key:
                end += 1
            instrument, chunk = self.spec(key), requests[start:end]
            low, high = min(first for _, first, _ in chunk) - 1, max(final for _, _, final in chunk)
            states = np.arange(low, high + 1, dtype=np.int64)
            best = book.best_bid_ticks(instrument, self.mid_prices(instrument.id, book.update_time_us(states)))
            shape = self._shape(instrument)
            days = {day_of(book.update_time_us(low + 1)), day_of(book.update_time_us(high))}
            trading = {day: instrument.trading_on(day) for day in days}
            for _, first, final in chunk:
                shapes.append(shape)
                on = trading.get(day_of(book.update_time_us(final))) if len(trading) > 1 else next(iter(trading.values()))
                # not trading at the final state: no steps, no levels
                best_bids.append(best[first - 1 - low : final + 1 - low] if on else best[:1])
            start = end
        return book.diffs(shapes, best_bids, [first for _, first, _ in requests], window)

    def book_tops(self, requests: list[tuple[str, int, int]]) -> list[np.ndarray]:
        """The best bid and ask of each book state first..final of every (key, first, final) request, in one pass
        (`book.tops`: rows of bid price, bid qty, ask price, ask qty in units of 1e-8); zeros for a state in which the
        instrument is not trading (it has no book)."""
        shapes, best_bids, times, closed = [], [], [], []
        for key, first, final in requests:
            instrument = self.spec(key)
            at = book.update_time_us(np.arange(first, final + 1, dtype=np.int64))
            shapes.append(self._shape(instrument))
            best_bids.append(book.best_bid_ticks(instrument, self.mid_prices(instrument.id, at)))
            times.append(at)
            days = at // US_PER_DAY
            closed.append([days == day for day in np.unique(days).tolist() if not instrument.trading_on(day_of(day * US_PER_DAY))])
        found = book.tops(shapes, best_bids, times)
        for rows, masks in zip(found, closed, strict=True):
            for mask in masks:
                rows[mask] = 0
        return found

    def _shape(self, instrument: Instrument) -> book.Shape:
        return self._shapes.get(instrument.id) or self._shapes.setdefault(instrument.id, book.Shape.of(self.seed, instrument))

    # --- perpetuals (see `perps`)

    def index_prices(self, key: str, times_us: np.ndarray) -> np.ndarray:
        """The perpetual's index: the mean of its asset's prices on the spot markets that list it. A futures-only
        asset's is its own price: Binance indexes 1000PEPEUSDT by PEPE's spot prices on other exchanges (times 1000),
        which the simulator does not have."""
        asset = self.spec(key).base_asset
        spots = [self.universe.on(m, asset) for m in SPOT_MARKETS if self.universe.on(m, asset) in self.universe.instruments]
        if not spots:
            return np.exp(self._log_prices(OWN_PRICES, asset, np.asarray(times_us, dtype=np.int64)))
        return np.mean([self.mid_prices(spot, times_us) for spot in spots], axis=0)

    def premiums(self, key: str, times_us: np.ndarray) -> np.ndarray:
        """Perpetual price / index - 1 at each instant."""
        return self.mid_prices(key, times_us) / self.index_prices(key, times_us) - 1

    def funding_rates(self, key: str, start_us: int, end_us: int) -> pl.DataFrame:
        """Funding settlements in [start_us, end_us) that end an interval of trading (the first comes one interval
        after the listing, the last at the delisting): funding_time, funding_rate and the mark price then."""
        instrument = self._perpetual(key)
        times = perps.settlement_times(instrument.funding_hours, start_us, end_us)
        times = times[np.array([instrument.trading_on(day_of(int(t) - 1)) for t in times], dtype=bool)]
        rates = perps.funding_rates(lambda t: self.premiums(key, t), times, instrument.funding_hours)
        return pl.DataFrame(
            {
                "funding_time": pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "funding_rate": rates,
                "mark_price": self.mark_prices(key, times),
            },
            schema={"funding_time": pl.Datetime("us", "UTC"), "funding_rate": pl.Float64, "mark_price": pl.Float64},
        )

    def mark_prices(self, key: str, times_us: np.ndarray) -> np.ndarray:
        """The perpetual's mark price at each instant (Binance's median rule)."""
        instrument = self._perpetual(key)
        times = np.asarray(times_us, dtype=np.int64)
        if times.size == 0:
            return np.empty(0)
        return perps.mark_prices(
            times,
            lambda t: self.index_prices(key, t),
            lambda t: self.mid_prices(key, t),
            lambda t: self.premiums(key, t),
            instrument.funding_hours,
        )

    def price_klines(self, key: str, kind: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        """The perpetual's `kind` ("mark" or "index") price klines opening in [start_us, end_us): instrument,
        open_time, open, high, low, close, close_time; none on days it does not trade."""
        instrument = self._perpetual(key)
        step = interval_us(interval)
        parts = []
        for day in days_between(start_us, end_us):
            frame = self._day_price_klines(instrument.id, kind, interval, day) if instrument.trading_on(day) else None
            if frame is not None:
                opened = frame["open_time"].dt.epoch("us")
                parts.append(frame.filter((opened >= start_us) & (opened < end_us)))
        empty = perps.price_klines(instrument.id, step, 0, 0, lambda t: t.astype(float))
        return pl.concat(parts) if parts else empty

    def open_interest(self, key: str, times_us: np.ndarray) -> np.ndarray:
        """The perpetual's open interest (base asset) at each instant."""
        return perps.open_interest(self.seed, self._perpetual(key), times_us)

    def liquidations(self, key: str, start_us: int, end_us: int) -> pl.DataFrame:
        """Forced orders with start_us <= time < end_us: time, side (SELL liquidates a long), price, qty."""
        instrument = self._perpetual(key)
        parts = []
        for day in days_between(start_us, end_us):
            if not instrument.trading_on(day):
                continue
            frame = self._day_liquidations(instrument.id, day)
            parts.append(frame.filter(pl.col("time").dt.epoch("us").is_between(start_us, end_us, closed="left")))
        return pl.concat(parts) if parts else pl.DataFrame(schema=perps.LIQUIDATION)

    def _perpetual(self, key: str) -> Instrument:
        instrument = self.spec(key)
        if not instrument.perpetual:
            raise UnknownSymbolError(f"{instrument.id} is not a perpetual: it has no funding, mark price or liquidations")
        return instrument

    # --- generation (memoised)

    def _log_prices(self, venue_market: str, asset: str, times_us: np.ndarray) -> np.ndarray:
        first_day = (times_us[0] - EPOCH_US) // US_PER_DAY if len(times_us) else 0
        if len(times_us) and (times_us[-1] - EPOCH_US) // US_PER_DAY == first_day == (times_us.max() - EPOCH_US) // US_PER_DAY:
            day = EPOCH + timedelta(days=int(first_day))  # one day (the live streams' every request): no grouping
            log_path, _ = self._paths(venue_market, asset, day)
            return interp_seconds(log_path, (times_us - day_start_us(day)) / US_PER_S)
        logs = np.empty(len(times_us))
        days = (times_us - EPOCH_US) // US_PER_DAY
        for index in np.unique(days):
            day = EPOCH + timedelta(days=int(index))
            log_path, _ = self._paths(venue_market, asset, day)
            here = days == index
            logs[here] = interp_seconds(log_path, (times_us[here] - day_start_us(day)) / US_PER_S)
        return logs

    def _generate_path(self, venue_market: str, asset: str, day: date) -> tuple[np.ndarray, np.ndarray]:
        """(log path at the day's 86,401 second boundaries, the 1-second returns the trades are drawn from) of the
        asset on a venue market; it exists on every day, listed or not, because other markets derive from it."""
        reference = MARKETS[venue_market].reference
        if reference is None:
            return self.prices.log_path(asset, day), self.prices.returns(asset, day)
        model = self.models.of(venue_market)
        around: Neighbours = (
            self._paths(reference, asset, day - timedelta(days=1))[0] if model.lag_ms > 0 else None,
            self._paths(reference, asset, day)[0],
            self._paths(reference, asset, day + timedelta(days=1))[0] if model.lag_ms < 0 else None,
        )
        key = f"{venue_market}:{asset}"
        log_path = model.log_path(self.seed, key, day, around, self._regimes(venue_market, key))
        return log_path, np.diff(log_path)

    def _generate_day(self, instrument_id: str, day: date) -> pl.DataFrame:
        counts = self._counts(instrument_id)
        if counts.agg[day_index(day)] == 0:
            return AGG_TRADE.empty()
        instrument = self.universe.instruments[instrument_id]
        log_path, returns = self._paths(instrument.venue_market, instrument.base_asset, day)
        return trades.generate_day(self.seed, instrument, day, counts, log_path, returns, _time_unit_us(instrument, day))

    def _generate_day_klines(self, instrument_id: str, day: date, interval: str) -> tuple[pl.DataFrame, np.ndarray]:
        """The day's klines and their open times in µs (to find a range by bisection, not a filter per call)."""
        frame = self._aggregate_day(instrument_id, day, interval)
        return frame, frame["open_time"].dt.epoch("us").to_numpy()

    def _aggregate_day(self, instrument_id: str, day: date, interval: str) -> pl.DataFrame:
        instrument = self.universe.instruments[instrument_id]
        if not instrument.trading_on(day):
            return KLINE.empty()
        frame = self.day_trades(instrument_id, day)
        start, step = day_start_us(day), interval_us(interval)
        first_bucket_traded = not frame.is_empty() and _epoch_us(frame["time"][0]) < start + step
        prev_close = None if first_bucket_traded else self.close_before(instrument_id, start)
        return aggregate(frame, instrument.id, interval, start, US_PER_DAY // step, prev_close)

    def _generate_day_price_klines(self, instrument_id: str, kind: str, interval: str, day: date) -> pl.DataFrame:
        price = {"mark": lambda t: self.mark_prices(instrument_id, t), "index": lambda t: self.index_prices(instrument_id, t)}
        start = day_start_us(day)
        return perps.price_klines(instrument_id, interval_us(interval), start, start + US_PER_DAY, price[kind])

    def _generate_day_liquidations(self, instrument_id: str, day: date) -> pl.DataFrame:
        instrument = self.universe.instruments[instrument_id]
        expected = perps.LIQUIDATIONS_PER_AGG_TRADE * self._counts(instrument_id).agg[day_index(day)]
        log_path, _ = self._paths(instrument.venue_market, instrument.base_asset, day)
        return perps.liquidations(self.seed, instrument, day, log_path, expected)

    def close_before(self, instrument_id: str, time_us: int) -> float | None:
        """Price of the last trade before `time_us`, or None when nothing traded before."""
        day = day_of(time_us)
        earlier = self.agg_trades(instrument_id, day_start_us(day), time_us)
        if not earlier.is_empty():
            return float(earlier["price"][-1])
        traded_days = np.flatnonzero(self._counts(instrument_id).agg[: max(day_index(day), 0)])
        if traded_days.size == 0:
            return None
        return float(self.day_trades(instrument_id, EPOCH + timedelta(days=int(traded_days[-1])))["price"][-1])


def interp_seconds(path: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """`np.interp(seconds, range(len(path)), path)`, bit for bit, for seconds in [0, len(path) - 1]: numpy's own
    formula (slope × offset + left value) on the two neighbours. np.interp copies a read-only `path` (the memoised
    day paths are) on every call: 30 µs a call, thousands of calls a second in the live streams."""
    last = len(path) - 1
    left = np.minimum(seconds.astype(np.int64), last - 1)  # seconds are never negative: truncation is floor
    value = (path[left + 1] - path[left]) * (seconds - left) + path[left]  # at seconds == left: path[left] exactly
    return np.where(seconds >= last, path[last], value) if seconds[-1] >= last or seconds.max() >= last else value


def interval_us(interval: str) -> int:
    try:
        return INTERVALS[interval]
    except KeyError:
        raise ConfigError(f"kline interval {interval!r} is not simulated; use one of {', '.join(INTERVALS)}") from None


def _time_unit_us(instrument: Instrument, day: date) -> int:
    """Resolution of trade times: Binance spot's dumps switched from ms to µs on 2025-01-01; other markets use ms."""
    if instrument.venue_market == SHORTHAND_MARKET and day >= MICROSECOND_DUMPS_FROM:
        return 1
    return US_PER_MS


def _epoch_us(value: object) -> int:
    return int(pl.Series([value]).dt.epoch("us")[0])


def _times_us(frame: pl.DataFrame) -> np.ndarray:
    return frame["time"].dt.epoch("us").to_numpy()


def _concat(parts: list[pl.DataFrame], limit: int | None, record: Record = AGG_TRADE) -> pl.DataFrame:
    frame = pl.concat(parts) if parts else record.empty()
    return frame if limit is None else frame.head(limit)
