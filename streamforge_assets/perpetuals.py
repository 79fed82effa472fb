"""A perpetual's own datasets: `mark_price_1m`, `index_price_1m`, `funding`, `open_interest_5m`, each loaded from
its venue (`PerpetualClient`) and published to Kafka, and `basis_5m`, which sets the perpetual beside its spot
instrument from the store.

They exist for the perpetual markets of the catalog only (`Dataset.markets`); a cell of another market is refused by
name. Blocking checks: a full day of mark and index klines, the mark price within the exchange's band of the index,
one funding settlement per interval at the expected instants. Open interest is served for the latest month only: an
older cell materialises empty and its metadata says from when the exchange has it, so a backfill over older days
still completes. The basis reads the spot instrument's stored 5-minute candles, which are not a Dagster dependency
(they are another instrument's cell): `streamforge backfill` loads them first, and a basis without them fails saying so.
A perpetual whose spot market does not list its symbol (Binance's multiplier contracts, e.g. 1000PEPEUSDT, are
USD-M only) has no basis: its cell materialises empty and the check passes, its metadata saying why.
"""

from datetime import timedelta
from typing import Iterator

import dagster as dg
import polars as pl

from resources import ExchangeResource, StoreResource
from resources.io_managers import PartitionedFrames
from streamforge.basis import basis
from streamforge.catalog import BASIS_5M, CANDLES_5M, FUNDING, INDEX_PRICE_1M, MARK_PRICE_1M, OPEN_INTEREST_5M, dataset, parse_cell
from streamforge.checks import CheckOutcome, basis_complete, funding_on_schedule, mark_within_band, price_klines_complete
from streamforge.errors import NotAvailableError
from streamforge.instruments import spot_of
from streamforge_assets.metadata import OWNERS, definition_metadata, partition_stats, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS
from streamforge_assets.verdicts import check_result

MARK, INDEX, FUNDING_SET, OPEN_INTEREST, BASIS = (
    dataset(n) for n in (MARK_PRICE_1M, INDEX_PRICE_1M, FUNDING, OPEN_INTEREST_5M, BASIS_5M)
)
PRICES = {MARK: "mark", INDEX: "index"}


def _cells(context: dg.AssetExecutionContext, *datasets) -> list:
    cells = [parse_cell(k) for k in sorted(context.partition_keys)]
    for cell in cells:
        for d in datasets:
            d.require_for(cell.instrument)
    return cells


def _asset(d, **more) -> dict:
    return dict(
        partitions_def=CELLS, backfill_policy=BACKFILL_POLICY, owners=OWNERS, group_name="historical",
        description=d.description, metadata=definition_metadata(d), **more,
    )


@dg.multi_asset(
    outs={d.asset: dg.AssetOut(io_manager_key="kafka_io", kinds={"kafka", "polars"}, owners=OWNERS, group_name="historical",
                               description=d.description, metadata=definition_metadata(d)) for d in PRICES},
    partitions_def=CELLS,
    backfill_policy=BACKFILL_POLICY,
    pool="exchange",
    check_specs=[
        *[dg.AssetCheckSpec("full_day", asset=d.asset, blocking=True,
                            description="One kline per minute of the day, on the grid; low ≤ open, close ≤ high.") for d in PRICES],
        dg.AssetCheckSpec("within_band_of_index", asset=MARK.asset, blocking=True,
                          description="Every minute's mark price within the exchange's PERCENT_PRICE band of the index."),
    ],
)
def price_klines(context: dg.AssetExecutionContext, exchange: ExchangeResource) -> Iterator:
    cells = _cells(context, MARK, INDEX)
    frames = {d: {} for d in PRICES}
    for cell in cells:
        venue = exchange.perpetual(cell.instrument)
        for d, kind in PRICES.items():
            frames[d][cell.key] = venue.price_klines_day(cell, kind, d.interval)
    for d in PRICES:
        stats = {k: partition_stats(d.record, f) for k, f in frames[d].items()}
        yield dg.Output(frames[d], output_name=d.asset, metadata=partitions_metadata(stats))
        complete = {c.key: price_klines_complete(frames[d][c.key], d.interval, c.day) for c in cells}
        yield check_result("full_day", complete, dg.AssetKey(d.asset))
    bands = {
        c.key: mark_within_band(frames[MARK][c.key], frames[INDEX][c.key], exchange.perpetual(c.instrument).mark_band(c.instrument))
        for c in cells
    }
    yield check_result("within_band_of_index", bands, dg.AssetKey(MARK.asset))


@dg.asset(
    name=FUNDING_SET.asset,
    io_manager_key="kafka_io",
    kinds={"kafka", "polars"},
    pool="exchange",
    check_specs=[dg.AssetCheckSpec(
        "on_schedule", asset=FUNDING_SET.asset, blocking=True,
        description="One settlement per funding interval of the day, at the interval's end (within 1 s).",
    )],
    **_asset(FUNDING_SET),
)
def funding(context: dg.AssetExecutionContext, exchange: ExchangeResource) -> Iterator:
    frames: PartitionedFrames = {}
    stats, outcomes = {}, {}
    for cell in _cells(context, FUNDING_SET):
        venue = exchange.perpetual(cell.instrument)
        frames[cell.key], source = venue.funding_day(cell)
        stats[cell.key] = partition_stats(FUNDING_SET.record, frames[cell.key]) | {"source": source}
        outcomes[cell.key] = funding_on_schedule(frames[cell.key], cell.day, venue.funding_hours(cell.instrument))
    yield dg.Output(frames, metadata=partitions_metadata(stats))
    yield check_result("on_schedule", outcomes)


@dg.asset(name=OPEN_INTEREST.asset, io_manager_key="kafka_io", kinds={"kafka", "polars"}, pool="exchange", **_asset(OPEN_INTEREST))
def open_interest_5m(context: dg.AssetExecutionContext, exchange: ExchangeResource) -> dg.Output:
    frames: PartitionedFrames = {}
    stats = {}
    for cell in _cells(context, OPEN_INTEREST):
        try:
            frames[cell.key] = exchange.perpetual(cell.instrument).open_interest_day(cell)
            stats[cell.key] = partition_stats(OPEN_INTEREST.record, frames[cell.key])
        except NotAvailableError as exc:
            context.log.warning(f"{cell.key}: {exc}")
            frames[cell.key] = OPEN_INTEREST.record.empty()
            stats[cell.key] = {"rows": 0, "not_available": str(exc)}
    return dg.Output(frames, metadata=partitions_metadata(stats))


@dg.asset(
    name=BASIS.asset,
    io_manager_key="kafka_io",
    kinds={"kafka", "polars"},
    deps=[dg.AssetKey(dataset(n).store_asset.split("/")) for n in (CANDLES_5M, MARK_PRICE_1M, INDEX_PRICE_1M, FUNDING, OPEN_INTEREST_5M)],
    check_specs=[dg.AssetCheckSpec(
        "every_interval", asset=BASIS.asset, blocking=True,
        description="One row per 5-minute interval of the day, each with a spot close, mark and index price.",
    )],
    **_asset(BASIS),
)
def basis_5m(context: dg.AssetExecutionContext, exchange: ExchangeResource, store: StoreResource) -> Iterator:
    target = store.open()
    frames: PartitionedFrames = {}
    stats, outcomes = {}, {}
    for cell in _cells(context, BASIS):
        def stored(name: str, instrument: str = cell.instrument, first=cell.day) -> pl.DataFrame:
            d = dataset(name)
            return target.read(d.collection, d.record, [instrument], first, cell.day)

        spot_id = spot_of(cell.instrument)
        spot = stored(CANDLES_5M, spot_id)
        if spot.is_empty() and not exchange.market(spot_id).lists(spot_id):
            note = f"{spot_id} is not listed by its venue: {cell.instrument} has no spot instrument, so no basis"
            frames[cell.key] = BASIS.record.empty()
            stats[cell.key] = {"rows": 0, "note": note}
            outcomes[cell.key] = CheckOutcome(True, note, {"note": note})
            continue
        frames[cell.key] = basis(
            perp=stored(CANDLES_5M),
            spot=spot,
            mark=stored(MARK_PRICE_1M),
            index=stored(INDEX_PRICE_1M),
            funding=stored(FUNDING, first=cell.day - timedelta(days=1)),
            open_interest=stored(OPEN_INTEREST_5M),
            funding_hours=exchange.perpetual(cell.instrument).funding_hours(cell.instrument),
        )
        stats[cell.key] = partition_stats(BASIS.record, frames[cell.key])
        outcomes[cell.key] = basis_complete(frames[cell.key], BASIS.interval, cell.day)
    yield dg.Output(frames, metadata=partitions_metadata(stats))
    yield check_result("every_interval", outcomes)

