"""The catalog: every market and every dataset StreamForge knows, declared once.

`schemas` says what a record *is*; the catalog says what the platform *does* with it: under which name a dataset is
known, which record it carries, which Kafka topic moves it, which store collection keeps it, which Dagster asset
materialises it, and on which markets it exists. Topics, store assets, the Kafka IO manager, the live publisher and
capture, run tags, the training window's reads, `streamforge status` and the dashboard all look their names up here,
so adding a dataset, an interval or a market is one declaration (tests/test_catalog.py fails when one of these names
is spelled as a literal anywhere else).

It also owns the one codec of a *cell* — one UTC day of one instrument, the unit every historical dataset is
partitioned, published and stored by: `2025-01-02|binance.spot.BTCUSDT`. The text is Dagster's multi-partition key for
the dimensions `date` and `instrument` (Dagster joins dimensions in name order with `|`), so the same string names a
partition in the UI, a Kafka message's partition-key header and a store partition, without the core importing Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.instruments import PERPETUAL_MARKETS, Instrument, parse_instrument
from streamforge.schemas import (
    AGG_TRADE,
    BASIS,
    BOOK_SNAPSHOT,
    CANDLE,
    VENUE_ALIGNMENT,
    DEPTH_UPDATE,
    FUNDING_RATE,
    GRAPH_EDGE,
    GRAPH_NODE,
    KLINE,
    TOP_OF_BOOK,
    LIQUIDATION,
    MARK_PRICE,
    OPEN_INTEREST,
    PRICE_KLINE,
    Record,
)

# Dataset names: the only spelling of each outside this module (tests/test_catalog.py checks that).
TRADES, CANDLES_1M, CANDLES_5M = "trades", "candles_1m", "candles_5m"
LIVE_TRADES, LIVE_KLINES_1M, DEPTH, BOOK, DEADLETTER = "live_trades", "live_klines_1m", "depth", "book", "deadletter"
GRAPH_NODES, GRAPH_EDGES, GRAPHS, MODELS = "graph_nodes", "graph_edges", "graphs", "models"
LEADERBOARD, UNIVERSE_MEMBERS = "leaderboard", "universe_members"
MARK_PRICE_1M, INDEX_PRICE_1M, FUNDING, OPEN_INTEREST_5M = "mark_price_1m", "index_price_1m", "funding", "open_interest_5m"
BASIS_5M = "basis_5m"
LIVE_MARK_PRICE, LIVE_LIQUIDATIONS = "live_mark_price", "live_liquidations"
CROSS_VENUE_VIEW, TOP = "cross_venue", "bbo"

# Names of the two dimensions of a cell, as the Dagster partitions call them.
DATE_DIMENSION, INSTRUMENT_DIMENSION = "date", "instrument"
CELL_SEPARATOR = "|"


@dataclass(frozen=True)
class Dataset:
    """One dataset: what it holds and every name it goes by.

    `topic` is the topic *kind*; the topic's full name adds the prefix and the record version (`topic_name`).
    `collection` is the store collection. A `persisted` dataset travels through Kafka as the asset `asset`, and a
    second asset, `store_asset`, persists it into the collection; the live capture writes its collection itself.
    `markets` are the markets it exists for (None: every market).
    """

    name: str
    record: Record | None
    description: str
    topic: str | None = None
    collection: str | None = None
    asset: str | None = None
    interval: str | None = None  # candles: the interval they aggregate
    live: bool = False  # written by the live loader rather than by historical assets
    persisted: bool = False
    markets: frozenset[str] | None = None
    joins_spot: bool = False  # reads the stored cells of the perpetual's spot instrument as well as its own

    @property
    def asset_path(self) -> list[str]:
        if self.asset is None:
            raise ConfigError(f"dataset {self.name} has no Dagster asset")
        return self.asset.split("/")

    @property
    def store_asset(self) -> str | None:
        """The asset that persists this dataset's Kafka-borne asset into its collection: `arangodb/<collection>`."""
        return f"arangodb/{self.collection}" if self.persisted else None

    def exists_for(self, market_id: str) -> bool:
        return self.markets is None or market_id in self.markets

    def require_for(self, instrument: str) -> None:
        """A ConfigError naming the dataset and its markets when `instrument`'s market has no such data."""
        market_id = parse_instrument(instrument).market_id
        if not self.exists_for(market_id):
            raise ConfigError(
                f"{self.name} does not exist for {instrument}: it exists only for {', '.join(sorted(self.markets))}"
            )

    def topic_name(self, prefix: str | None = None) -> str:
        if self.topic is None:
            raise ConfigError(f"dataset {self.name} has no Kafka topic")
        version = self.record.version if self.record else 1
        return f"{prefix or settings.get('STREAMFORGE_TOPIC_PREFIX')}.{self.topic}.v{version}"


def _candles(name: str, interval: str) -> Dataset:
    return Dataset(
        name=name,
        record=CANDLE,
        description=f"{interval} candles built by StreamForge from aggregate trades: the exchange's kline fields plus VWAP.",
        topic=f"candles-{interval}",
        collection=f"candles_{interval}",
        asset=f"candles_{interval}",
        interval=interval,
        persisted=True,
    )


# OKX's swaps publish their funding-rate history (okx.md), but okx.md documents no mark or index candles, open
# interest, mark-price stream or liquidations for them: those datasets exist for the perpetual markets that serve them.
MARK_AND_OPEN_INTEREST_MARKETS = PERPETUAL_MARKETS - {"okx.swap"}


def _perpetual(
    name: str, record: Record, description: str, interval: str | None = None, markets: frozenset[str] = MARK_AND_OPEN_INTEREST_MARKETS,
    **more,
) -> Dataset:
    return Dataset(
        name=name,
        record=record,
        description=description,
        topic=name.replace("_", "-"),
        collection=name,
        asset=name,
        interval=interval,
        persisted=True,
        markets=markets,
        **more,
    )


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            name=TRADES,
            record=AGG_TRADE,
            description="The day's aggregate trades of one instrument, from the venue's dump files or REST.",
            topic="aggtrades",
            collection="trades",
            asset="trades",
            persisted=True,
        ),
        _candles(CANDLES_1M, "1m"),
        _candles(CANDLES_5M, "5m"),
        _perpetual(
            MARK_PRICE_1M, PRICE_KLINE, "The exchange's 1-minute mark-price klines of a perpetual (what it liquidates "
            "and prices unrealised profit by).", "1m",
        ),
        _perpetual(INDEX_PRICE_1M, PRICE_KLINE, "The exchange's 1-minute index-price klines of a perpetual (its "
                   "underlying's spot price across venues).", "1m"),
        _perpetual(FUNDING, FUNDING_RATE, "The funding settlements of a perpetual's day, every funding interval of "
                   "its own (8 or 4 hours) from 00:00 UTC.", markets=PERPETUAL_MARKETS),
        _perpetual(OPEN_INTEREST_5M, OPEN_INTEREST, "A perpetual's open interest every 5 minutes, where the exchange "
                   "serves it (the latest month only).", "5m"),
        _perpetual(BASIS_5M, BASIS, "Each perpetual beside its spot instrument every 5 minutes: basis (perp − spot, "
                   "and in bps), mark and index price, funding rate, open interest.", "5m", joins_spot=True),
        Dataset(
            name=LIVE_TRADES,
            record=AGG_TRADE,
            description="Aggregate trades from the live WebSocket loader: contiguous ids, micro-batches keyed by instrument.",
            topic="live-aggtrades",
            collection="live_trades",
            asset="live_trades",
            live=True,
        ),
        Dataset(
            name=LIVE_KLINES_1M,
            record=KLINE,
            description="Closed 1-minute klines from the live WebSocket loader.",
            topic="live-klines-1m",
            interval="1m",
            live=True,
        ),
        Dataset(
            name=LIVE_MARK_PRICE,
            record=MARK_PRICE,
            description="Perpetuals' mark and index prices and the funding rate they head for, every second, from the "
            "live WebSocket loader.",
            topic="live-mark-price",
            collection="live_mark_price",
            asset="live_mark_price",
            live=True,
            markets=MARK_AND_OPEN_INTEREST_MARKETS,
        ),
        Dataset(
            name=LIVE_LIQUIDATIONS,
            record=LIQUIDATION,
            description="Perpetuals' forced orders from the live WebSocket loader (the venue's sample: at most one per "
            "instrument a second).",
            topic="live-liquidations",
            collection="live_liquidations",
            asset="live_liquidations",
            live=True,
            markets=MARK_AND_OPEN_INTEREST_MARKETS,
        ),
        Dataset(
            name=DEPTH,
            record=DEPTH_UPDATE,
            description="Order-book diffs as the venue sent them, without duplicates.",
            topic="depth",
            live=True,
        ),
        Dataset(
            name=BOOK,
            record=BOOK_SNAPSHOT,
            description="Top-N snapshots of the locally maintained order books.",
            topic="book",
            live=True,
        ),
        Dataset(
            name=TOP,
            record=TOP_OF_BOOK,
            description="The best bid and ask tick by tick, where the venue pushes them (OKX bbo-tbt, Binance bookTicker; "
            "Binance spot's carries no time: the receive time stands in).",
            topic="bbo",
            live=True,
        ),
        Dataset(
            name=DEADLETTER,
            record=None,
            description="Raw messages that could not be parsed, with the reason in the headers.",
            topic="deadletter",
            live=True,
        ),
        Dataset(
            name=CROSS_VENUE_VIEW,
            record=VENUE_ALIGNMENT,
            description="The instrument against the same asset on other venues, per 5-minute interval: price "
            "difference in bps, volume share, lead-lag (built from the stored trades of every venue).",
            collection="cross_venue",
            asset="cross_venue",
        ),
        Dataset(
            name=GRAPH_NODES,
            record=GRAPH_NODE,
            description="Nodes of every market graph, told apart by graph id.",
            collection="graph_nodes",
        ),
        Dataset(
            name=GRAPH_EDGES,
            record=GRAPH_EDGE,
            description="Edges of every market graph (an edge collection of the named graph in ArangoDB).",
            collection="graph_edges",
        ),
        Dataset(
            name=GRAPHS,
            record=None,
            description="One statistics document per market graph; the asset builds the graph of a training window.",
            collection="graphs",
            asset="graph",
        ),
        Dataset(
            name=MODELS,
            record=None,
            description="One document per trained model: metrics, window, files; the asset trains it.",
            collection="models",
            asset="model",
        ),
        Dataset(
            name=LEADERBOARD,
            record=None,
            description="One document per (model, evaluation date, instrument set): its walk-forward forecasts of "
            "the date for every seed; the asset evaluates one model on one date.",
            collection="leaderboard",
            asset="leaderboard",
        ),
        Dataset(
            name=UNIVERSE_MEMBERS,
            record=None,
            description="One document per named instrument set too long to spell in a partition key: its members.",
            collection="universe_members",
        ),
    ]
}

# The historical graph of one cell, in lineage order: what `streamforge backfill` and `status` cover by default. The
# first three exist for every market (the training window reads them); the others for the markets they name.
HISTORICAL = (TRADES, CANDLES_1M, CANDLES_5M)
CANDLES = tuple(name for name in HISTORICAL if DATASETS[name].interval)
PERPETUAL_HISTORICAL = (MARK_PRICE_1M, INDEX_PRICE_1M, FUNDING, OPEN_INTEREST_5M, BASIS_5M)


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def dataset_of_asset(asset: str) -> Dataset | None:
    """The dataset an asset key (`candles_1m`, `arangodb/candles_1m`) materialises or persists; None for others."""
    return next((d for d in DATASETS.values() if asset in (d.asset, d.store_asset)), None)


def topic_datasets() -> list[Dataset]:
    return [d for d in DATASETS.values() if d.topic]


def historical_datasets(market_id: str | None = None) -> list[Dataset]:
    """The historical datasets of a cell of `market_id` (of every market when None), in lineage order."""
    found = [DATASETS[n] for n in HISTORICAL + PERPETUAL_HISTORICAL]
    return [d for d in found if market_id is None or d.exists_for(market_id)]


def historical_assets(market_id: str | None = None) -> list[str]:
    """Asset keys of the historical graph of a cell of `market_id` (every market's when None): the Kafka-borne
    assets, then the store assets below them."""
    found = historical_datasets(market_id)
    return [a for a in [d.asset for d in found] + [d.store_asset for d in found] if a]


# --- cells ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Cell:
    """One UTC day of one instrument."""

    day: date
    instrument: str

    @property
    def key(self) -> str:
        return cell_key(self.instrument, self.day)


def cell_key(instrument: str | Instrument, day: date) -> str:
    """`2025-01-02|binance.spot.BTCUSDT`: the partition key of the cell in Dagster, Kafka headers and the store."""
    text = instrument.id if isinstance(instrument, Instrument) else instrument
    return f"{day.isoformat()}{CELL_SEPARATOR}{text}"


def is_cell(key: str) -> bool:
    """Whether `key` is a cell key (an instance's history may hold keys from before instruments)."""
    try:
        parse_cell(key)
    except ConfigError:
        return False
    return True


def parse_cell(key: str) -> Cell:
    """The inverse of `cell_key`; a ConfigError naming the expected form for anything else."""
    day_text, sep, instrument = key.partition(CELL_SEPARATOR)
    if not sep:
        raise ConfigError(f"partition key {key!r} is not a cell: expected YYYY-MM-DD|<venue>.<market>.<SYMBOL>")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise ConfigError(f"partition key {key!r} does not start with a YYYY-MM-DD date") from None
    return Cell(day, parse_instrument(instrument).id)
