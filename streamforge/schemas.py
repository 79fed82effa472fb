"""The one vocabulary of StreamForge: every record type, declared once.

A record is parsed into one of these schemas at the edge (exchange parser, WebSocket loader) and every later stage —
Kafka codec, store, Dagster column schemas, graph builder — receives it typed. Times are microseconds since the epoch
(UTC) everywhere: Binance's spot dumps are in µs from 2025-01-01 and its REST and WebSocket APIs can answer in µs, so
one unit keeps REST, dumps and live data exactly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import polars as pl
import pyarrow as pa

from streamforge.errors import SchemaError

TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str


@dataclass(frozen=True)
class Record:
    """A record type: its columns, the columns that identify one record, and its time column."""

    name: str
    version: int
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str
    nullable: frozenset[str] = field(default_factory=frozenset)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def arrow(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.type, nullable=c.name in self.nullable) for c in self.columns],
            metadata={"streamforge.record": self.name, "streamforge.version": str(self.version)},
        )

    @cached_property
    def polars(self) -> pl.Schema:
        return pl.from_arrow(self.arrow.empty_table()).schema

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars)

    def conform(self, df: pl.DataFrame) -> pl.DataFrame:
        """Return `df` with exactly this record's columns, in order and type; refuse anything else by name."""
        missing = [n for n in self.names if n not in df.columns]
        extra = [n for n in df.columns if n not in self.names]
        if missing or extra:
            raise SchemaError(
                f"{self.name} v{self.version}: "
                + (f"missing columns {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unexpected columns {extra}" if extra else "")
            )
        target = self.polars
        wrong = [n for n in self.names if df.schema[n] != target[n]]
        if wrong:
            try:
                df = df.with_columns([pl.col(n).cast(target[n], strict=True) for n in wrong])
            except pl.exceptions.PolarsError as exc:
                raise SchemaError(f"{self.name} v{self.version}: columns {wrong} cannot be cast: {exc}") from exc
        nulls = [n for n in self.names if n not in self.nullable and df[n].null_count()]
        if nulls:
            raise SchemaError(f"{self.name} v{self.version}: null values in non-nullable columns {nulls}")
        return df.select(self.names)


def _c(name: str, type_: pa.DataType, description: str) -> Column:
    return Column(name, type_, description)


# The column every market record is keyed by first: the instrument id (`streamforge.instruments`).
INSTRUMENT = "instrument"
_INSTRUMENT = _c(INSTRUMENT, pa.string(), "Instrument id <venue>.<market>.<SYMBOL>, e.g. binance.spot.BTCUSDT.")

_KLINE_COLUMNS = (
    _INSTRUMENT,
    _c("interval", pa.string(), "Kline interval, e.g. 1m, 5m."),
    _c("open_time", TIME, "Start of the interval (identifies the candle)."),
    _c("open", pa.float64(), "Price of the first trade (previous close when there was no trade)."),
    _c("high", pa.float64(), "Highest trade price."),
    _c("low", pa.float64(), "Lowest trade price."),
    _c("close", pa.float64(), "Price of the last trade."),
    _c("volume", pa.float64(), "Base-asset volume."),
    _c("close_time", TIME, "Last microsecond of the interval (next open time - 1 µs)."),
    _c("quote_volume", pa.float64(), "Quote-asset volume, sum of price * qty."),
    _c("trade_count", pa.int64(), "Raw trades in the interval: sum of (last_trade_id - first_trade_id + 1)."),
    _c("taker_buy_base_volume", pa.float64(), "Base volume of trades whose taker was the buyer."),
    _c("taker_buy_quote_volume", pa.float64(), "Quote volume of trades whose taker was the buyer."),
)

# Version 3 added `contract_size`: OKX swaps count contracts, and a trade's base quantity is contracts × ctVal; the
# factor is kept in every row, so the venue's own number is recoverable and a ctVal change shows in the data.
AGG_TRADE = Record(
    name="agg_trade",
    version=3,
    description="A trade as the venue reports it: Binance's aggregate trade (fills of one taker order at one price), "
    "an OKX trade.",
    columns=(
        _INSTRUMENT,
        _c("agg_id", pa.int64(), "The venue's trade id: Binance's aggregate trade id (contiguous), OKX's tradeId (increasing)."),
        _c("price", pa.float64(), "Trade price."),
        _c("qty", pa.float64(), "Base-asset quantity (contracts × contract_size where the venue counts contracts)."),
        _c("first_trade_id", pa.int64(), "First raw trade id in the aggregate."),
        _c("last_trade_id", pa.int64(), "Last raw trade id in the aggregate."),
        _c("time", TIME, "Trade time."),
        _c("is_buyer_maker", pa.bool_(), "True when the buyer was the maker (the taker sold)."),
        _c("is_best_match", pa.bool_(), "Binance spot's 'was the trade the best price match' flag; null where the venue has none."),
        _c("contract_size", pa.float64(), "Base units per contract (OKX ctVal) where the venue counts contracts: qty = the venue's size × this; null where it counts the base asset."),
    ),
    key=("instrument", "agg_id"),
    time_column="time",
    nullable=frozenset({"is_best_match", "contract_size"}),
)

# Version 3 made the trade count and taker volumes nullable: OKX's candles carry neither, and a value the venue does
# not publish is null rather than made up (the candle check compares what the venue gives).
KLINE = Record(
    name="kline",
    version=3,
    description="The exchange's own kline, as served by REST klines: the reference our candles are checked against.",
    columns=_KLINE_COLUMNS,
    key=("instrument", "interval", "open_time"),
    time_column="open_time",
    nullable=frozenset({"trade_count", "taker_buy_base_volume", "taker_buy_quote_volume"}),
)

CANDLE = Record(
    name="candle",
    version=2,
    description="A candle built by StreamForge from aggregate trades: the Binance kline fields plus VWAP.",
    columns=_KLINE_COLUMNS + (_c("vwap", pa.float64(), "Volume-weighted average price (previous close when no trade)."),),
    key=("instrument", "interval", "open_time"),
    time_column="open_time",
)

_LEVELS = pa.list_(pa.struct([("price", pa.float64()), ("qty", pa.float64())]))

DEPTH_UPDATE = Record(
    name="depth_update",
    version=2,
    description="A diff of the order book (Binance depthUpdate); qty 0 removes a level.",
    columns=(
        _INSTRUMENT,
        _c("event_time", TIME, "Event time."),
        _c("first_update_id", pa.int64(), "U: first update id in the event."),
        _c("final_update_id", pa.int64(), "u: final update id in the event."),
        _c("bids", _LEVELS, "Changed bid levels (price, new qty)."),
        _c("asks", _LEVELS, "Changed ask levels (price, new qty)."),
    ),
    key=("instrument", "final_update_id"),
    time_column="event_time",
)

BOOK_SNAPSHOT = Record(
    name="book_snapshot",
    version=2,
    description="Top-N levels of a locally maintained order book, one row per level.",
    columns=(
        _INSTRUMENT,
        _c("time", TIME, "Time of the book state."),
        _c("last_update_id", pa.int64(), "Update id the book state corresponds to."),
        _c("side", pa.string(), "'bid' or 'ask'."),
        _c("level", pa.int32(), "0 is the best price."),
        _c("price", pa.float64(), "Level price."),
        _c("qty", pa.float64(), "Level quantity."),
    ),
    key=("instrument", "last_update_id", "side", "level"),
    time_column="time",
)

TOP_OF_BOOK = Record(
    name="top_of_book",
    version=1,
    description="The best bid and ask as the venue pushes them tick by tick (OKX bbo-tbt, Binance bookTicker), sizes in "
    "the base asset.",
    columns=(
        _INSTRUMENT,
        _c("time", TIME, "Time of the book state; for Binance spot, whose bookTicker carries no time, when it was received."),
        _c("seq_id", pa.int64(), "The venue's sequence id of the state (Binance: the order book's update id u)."),
        _c("bid_price", pa.float64(), "Best bid price."),
        _c("bid_qty", pa.float64(), "Quantity at the best bid."),
        _c("ask_price", pa.float64(), "Best ask price."),
        _c("ask_qty", pa.float64(), "Quantity at the best ask."),
    ),
    key=("instrument", "seq_id"),
    time_column="time",
)

# --- perpetual futures -------------------------------------------------------------------------------------------

PRICE_KLINE = Record(
    name="price_kline",
    version=1,
    description="A kline of a price that is not traded (a perpetual's mark or index price): OHLC only, no volumes.",
    columns=(
        _INSTRUMENT,
        _c("interval", pa.string(), "Kline interval, e.g. 1m."),
        _c("open_time", TIME, "Start of the interval (identifies the kline)."),
        _c("open", pa.float64(), "Price at the start of the interval."),
        _c("high", pa.float64(), "Highest price."),
        _c("low", pa.float64(), "Lowest price."),
        _c("close", pa.float64(), "Price at the end of the interval."),
        _c("close_time", TIME, "Last microsecond of the interval (next open time - 1 µs)."),
    ),
    key=("instrument", "interval", "open_time"),
    time_column="open_time",
)

FUNDING_RATE = Record(
    name="funding_rate",
    version=1,
    description="A funding settlement of a perpetual: the rate longs pay shorts (negative: shorts pay longs).",
    columns=(
        _INSTRUMENT,
        _c("funding_time", TIME, "When the funding settled."),
        _c("funding_rate", pa.float64(), "Rate settled, as a fraction of the position's notional."),
        _c("funding_interval_hours", pa.int64(), "Hours of the funding interval this settlement ends."),
        _c("mark_price", pa.float64(), "Mark price at the settlement; null where the source has none (the dumps)."),
    ),
    key=("instrument", "funding_time"),
    time_column="funding_time",
    nullable=frozenset({"mark_price"}),
)

VENUE_ALIGNMENT = Record(
    name="venue_alignment",
    version=1,
    description="One instrument lined up against the same asset on other venues, per 5-minute interval.",
    columns=(
        _INSTRUMENT,
        _c("open_time", TIME, "Start of the 5-minute interval."),
        _c("counterparts", pa.string(), "The instruments of the same asset on other venues it is compared with, '+'-joined."),
        _c("close", pa.float64(), "Its last price in the interval (the previous close when it did not trade)."),
        _c("reference_close", pa.float64(), "Median of the counterparts' closes."),
        _c("diff_bps", pa.float64(), "close / reference_close - 1, in basis points."),
        _c("quote_volume", pa.float64(), "Its quote volume in the interval."),
        _c("volume_share", pa.float64(), "Its share of the quote volume of all the compared instruments; null when none traded."),
        _c("lead_ms", pa.int64(), "How far its returns lead the counterparts' (negative: trail), at the lag of highest correlation; null when too few prices moved."),
        _c("lead_corr", pa.float64(), "Correlation of its returns with the counterparts' at that lag; null with lead_ms."),
    ),
    key=("instrument", "open_time"),
    time_column="open_time",
    nullable=frozenset({"volume_share", "lead_ms", "lead_corr"}),
)

OPEN_INTEREST = Record(
    name="open_interest",
    version=1,
    description="Open interest of a perpetual: the contracts held open, sampled every 5 minutes.",
    columns=(
        _INSTRUMENT,
        _c("time", TIME, "Time of the sample."),
        _c("open_interest", pa.float64(), "Open contracts, in the base asset."),
        _c("open_interest_value", pa.float64(), "Open contracts valued in the quote asset."),
    ),
    key=("instrument", "time"),
    time_column="time",
)

BASIS = Record(
    name="basis",
    version=1,
    description="A perpetual beside its spot instrument per interval: the basis, funding and open interest.",
    columns=(
        _INSTRUMENT,
        _c("spot_instrument", pa.string(), "The spot instrument of the same asset the perpetual is compared with."),
        _c("interval", pa.string(), "Interval, e.g. 5m."),
        _c("open_time", TIME, "Start of the interval."),
        _c("close", pa.float64(), "The perpetual's last trade price of the interval (its candle's close)."),
        _c("spot_close", pa.float64(), "The spot instrument's candle close of the interval."),
        _c("basis", pa.float64(), "close - spot_close."),
        _c("basis_bps", pa.float64(), "basis / spot_close in basis points."),
        _c("mark_price", pa.float64(), "Mark price at the interval's end (close of its last 1m mark kline)."),
        _c("index_price", pa.float64(), "Index price at the interval's end (close of its last 1m index kline)."),
        _c("funding_rate", pa.float64(), "The last funding rate settled at or before the interval's start; null before the first."),
        _c("next_funding_time", TIME, "The settlement that ends the funding interval the interval belongs to."),
        _c("open_interest", pa.float64(), "Open interest at the interval's end (latest sample); null where the exchange serves none."),
        _c("open_interest_value", pa.float64(), "Open interest valued in the quote asset; null like open_interest."),
    ),
    key=("instrument", "interval", "open_time"),
    time_column="open_time",
    nullable=frozenset({"funding_rate", "open_interest", "open_interest_value"}),
)

MARK_PRICE = Record(
    name="mark_price",
    version=1,
    description="A perpetual's mark price update from the live stream, with the funding it is heading for.",
    columns=(
        _INSTRUMENT,
        _c("time", TIME, "Event time."),
        _c("mark_price", pa.float64(), "Mark price."),
        _c("index_price", pa.float64(), "Index price."),
        _c("estimated_settle_price", pa.float64(), "Estimated settle price (useful only in the last hour before a settlement)."),
        _c("funding_rate", pa.float64(), "The funding rate the next settlement would pay at this instant."),
        _c("next_funding_time", TIME, "When the next funding settles."),
    ),
    key=("instrument", "time"),  # the event time: the stream sends one update per instrument a second
    time_column="time",
)

LIQUIDATION = Record(
    name="liquidation",
    version=1,
    description="A forced (liquidation) order as the venue's stream reports it; Binance sends at most the latest one "
    "per symbol each second, so this is a sample of the liquidations, not all of them.",
    columns=(
        _INSTRUMENT,
        _c("time", TIME, "Trade time of the order's last fill."),
        _c("side", pa.string(), "SELL liquidates a long, BUY a short."),
        _c("price", pa.float64(), "Order price."),
        _c("average_price", pa.float64(), "Average fill price."),
        _c("qty", pa.float64(), "Order quantity (base asset)."),
        _c("filled_qty", pa.float64(), "Accumulated filled quantity (base asset)."),
        _c("status", pa.string(), "Order status, e.g. FILLED."),
    ),
    # A forceOrder has no id, and its time (the order's last fill, in ms) does not tell orders apart: two can be
    # liquidated in the same millisecond on the same side. What a message repeated by a producer retry, or read again
    # by a capture rerun, repeats is the whole row, so every column is the key: a merge never folds two reports that
    # differ in anything the venue says, and stores a repeated message once. Two reports equal in every field cannot
    # be told apart by any key; from Binance they cannot both be real (one report per symbol per second at most).
    key=("instrument", "time", "side", "price", "average_price", "qty", "filled_qty", "status"),
    time_column="time",
)

RECORDS: dict[str, Record] = {
    r.name: r
    for r in (
        AGG_TRADE, KLINE, CANDLE, DEPTH_UPDATE, BOOK_SNAPSHOT, PRICE_KLINE, FUNDING_RATE, OPEN_INTEREST, BASIS, MARK_PRICE,
        LIQUIDATION, TOP_OF_BOOK, VENUE_ALIGNMENT,
    )
}

GRAPH_NODE = Record(
    name="graph_node",
    version=2,
    description="A node of the market graph: one instrument in one 5-minute interval, with its normalised features and targets.",
    columns=(
        _c("node_id", pa.int64(), "Row of the node in the graph's feature matrix (0..n-1, ordered by open_time, instrument)."),
        _INSTRUMENT,
        _c("open_time", TIME, "Start of the 5-minute interval."),
        _c("features", pa.list_(pa.float64()), "Node features normalised with training statistics, in the order of the graph's feature names."),
        _c("log_rv", pa.float64(), "Log realized variance of the interval (sum of squared 1-minute log returns), floored."),
        _c("log_return", pa.float64(), "Log return of the interval (close over previous close)."),
        _c("target_log_rv", pa.float64(), "log_rv of the next interval of the same instrument; null when that interval is missing."),
        _c("target_return", pa.float64(), "log_return of the next interval of the same instrument; null when that interval is missing."),
    ),
    key=("instrument", "open_time"),
    time_column="open_time",
    nullable=frozenset({"target_log_rv", "target_return"}),
)

GRAPH_EDGE = Record(
    name="graph_edge",
    version=1,
    description="A typed, directed edge of the market graph, always from an interval that is not later than its target.",
    columns=(
        _c("src", pa.int64(), "node_id of the source node."),
        _c("dst", pa.int64(), "node_id of the destination node."),
        _c("edge_type", pa.string(), "'temporal', 'cross_asset', 'similarity' or 'same_asset'."),
        _c("weight", pa.float64(), "1 for temporal, the lead-lag correlation for cross_asset, 1/(1+distance) for similarity, the return correlation for same_asset."),
        _c("offset", pa.int32(), "Intervals from the source's open_time to the destination's (>= 0; 0 only for cross_asset lag 1 and same_asset)."),
        _c("time", TIME, "open_time of the destination: when the edge becomes known."),
    ),
    key=("edge_type", "src", "dst"),
    time_column="time",
)

RECORDS.update({r.name: r for r in (GRAPH_NODE, GRAPH_EDGE)})


def record(name: str) -> Record:
    try:
        return RECORDS[name]
    except KeyError:
        raise SchemaError(f"unknown record type {name!r}; known: {sorted(RECORDS)}") from None
