"""`trades`: the day's aggregate trades of one instrument, loaded from its venue and published to Kafka.

This is the original design's loader-producer. The day's dump file is used when it exists and its SHA-256 matches
the published checksum; otherwise REST aggTrades, paginated by id within the exchange's weight budget. A dump that
ends early is completed from REST before anything is published, and the partition's `source` metadata says which
ids were filled. The blocking checks keep a day with a hole, a duplicate or a stray trade out of the store, and a
dump-loaded day whose rows differ from the exchange's REST rows for the same ids (compared on a few pages); a third
check compares the day with its live capture, when `live_trades` captured it (streamforge_assets/live.py).
"""

from datetime import timedelta
from typing import Iterator

import dagster as dg
import polars as pl

from resources import ExchangeResource, StoreResource
from resources.io_managers import Cells
from streamforge.catalog import TRADES, cell_key, dataset, parse_cell
from streamforge.checks import CheckOutcome, trades_contiguous, trades_match_exchange
from streamforge.instruments import CONTIGUOUS, market_of
from streamforge_assets.live import LIVE_VS_ARCHIVE, live_vs_archive, live_vs_archive_spec
from streamforge_assets.metadata import OWNERS, definition_metadata, partition_stats, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS
from streamforge_assets.verdicts import check_result

IDS_CHECK = "agg_ids_contiguous"
DATASET = dataset(TRADES)
MATCHES_REST = "matches_exchange_rest"


def _previous_last_id(context: dg.AssetExecutionContext, stats: dict[str, dict], key: str) -> int | None:
    """The last agg id of the day before, from this run (made before this day: cells come in date order) or from
    that partition's latest materialisation."""
    cell = parse_cell(key)
    previous = cell_key(cell.instrument, cell.day - timedelta(days=1))
    if previous in stats:
        return stats[previous].get("last_id")
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[previous]), limit=1, ascending=False
    ).records
    if not records:
        return None
    meta = records[0].asset_materialization.metadata.get("partitions")
    return (meta.data.get(previous) or {}).get("last_id") if meta else None


def _matches_rest(exchange: ExchangeResource, key: str, frame: pl.DataFrame, stats: dict) -> CheckOutcome:
    """A day that came from REST is the exchange's own rows already: only a file-loaded one is compared."""
    if stats["source"]["source"] in ("rest", "none"):
        return CheckOutcome(True, "loaded from the exchange's REST trades itself", {})
    return trades_match_exchange(frame, exchange.rest_sample(parse_cell(key), frame))


@dg.asset(
    name=DATASET.asset,
    partitions_def=CELLS,
    backfill_policy=BACKFILL_POLICY,
    io_manager_key="kafka_io",
    kinds={"kafka", "polars"},
    owners=OWNERS,
    group_name="historical",
    pool="exchange",
    description=DATASET.description,
    metadata=definition_metadata(DATASET),
    check_specs=[
        dg.AssetCheckSpec(
            IDS_CHECK, asset=DATASET.asset, blocking=True,
            description="Ids as the venue promises them, inside the day and after the previous day's: contiguous "
            "(Binance's agg ids) or increasing with time (OKX's trade ids); no duplicates; every trade inside the day.",
        ),
        dg.AssetCheckSpec(
            MATCHES_REST, asset=DATASET.asset, blocking=True,
            description="A day loaded from its dump file equals the exchange's REST aggTrades for the same agg ids "
            "(STREAMFORGE_DUMP_VERIFY_PAGES pages: first, last, evenly between); names the ids that differ.",
        ),
        live_vs_archive_spec,
    ],
)
def trades(context: dg.AssetExecutionContext, exchange: ExchangeResource, store: StoreResource) -> Iterator:
    """Each day is loaded, checked and published before the next is loaded (`Cells`): a run holds one day of trades."""
    stats: dict[str, dict] = {}
    contiguous, matches, live = {}, {}, {}
    target = store.open()

    def load(key: str) -> pl.DataFrame:
        cell = parse_cell(key)
        frame, source = exchange.trades_day(cell)
        stats[key] = partition_stats(DATASET.record, frame) | {"source": source}
        context.log.info(f"{key}: {frame.height} trades from {source.get('source')}")
        if source.get("filled_from_rest"):
            context.log.warning(f"{key}: {source['reason']}")
        contiguous[key] = trades_contiguous(
            frame, cell.day, _previous_last_id(context, stats, key),
            contiguous=market_of(cell.instrument).trade_ids == CONTIGUOUS,
        )
        matches[key] = _matches_rest(exchange, key, frame, stats[key])
        live[key] = live_vs_archive(target, key, frame)
        return frame

    yield dg.Output(Cells(context.partition_keys, load, metadata=lambda: partitions_metadata(stats)))
    yield check_result(IDS_CHECK, contiguous)
    yield check_result(MATCHES_REST, matches)
    yield check_result(LIVE_VS_ARCHIVE, live)
