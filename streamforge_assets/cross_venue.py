"""`cross_venue`: one instrument against the same asset on the other venues, per 5-minute interval, into the store.

A cell's counterparts are the registered instruments that its venue and theirs describe as the same currencies on the
same kind of market (`streamforge.cross_venue`); the rows come from their stored 5-minute candles and trades of the
day, so every counterpart's cell must be stored first (the run fails naming the missing ones). The lineage says as
much: each cell depends on the day's stored candles and trades of every instrument — the asset graph's cross-venue
edges. The check `within_band_of_other_venues` flags the intervals where the instrument's price left the band around
the others' median: a stale or broken feed that passed its own venue's checks.
"""

import dagster as dg

from resources import ExchangeResource, StoreResource
from streamforge.catalog import CANDLES_5M, CROSS_VENUE_VIEW, TRADES, dataset, parse_cell
from streamforge.checks import CheckOutcome
from streamforge.cross_venue import CrossVenueConfig, counterparts, line_up, within_band
from streamforge.errors import ConfigError, StreamForgeError
from streamforge.instruments import market_of
from streamforge_assets.metadata import OWNERS, definition_metadata, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS, INSTRUMENTS
from streamforge_assets.training import surfaced
from streamforge_assets.verdicts import check_result

DATASET = dataset(CROSS_VENUE_VIEW)
INPUTS = [dataset(name) for name in (CANDLES_5M, TRADES)]
BAND = "within_band_of_other_venues"
SAME_DAY_EVERY_INSTRUMENT = dg.MultiPartitionMapping(
    {"date": dg.DimensionPartitionMapping(dimension_name="date", partition_mapping=dg.IdentityPartitionMapping())}
)


def _identities(context: dg.AssetExecutionContext, exchange: ExchangeResource, kinds: set[str]) -> tuple[dict, dict]:
    """(identity by instrument, why not, by instrument) of the registered instruments on markets of `kinds`."""
    found, refused = {}, {}
    for instrument in sorted(context.instance.get_dynamic_partitions(INSTRUMENTS.name)):
        if market_of(instrument).kind not in kinds:
            continue
        try:
            found[instrument] = exchange.identity(instrument)
        except ConfigError as reason:  # a market that cannot say its currencies is not compared, and says so
            refused[instrument] = str(reason)
    return found, refused


@dg.asset(
    name=DATASET.asset,
    partitions_def=CELLS,
    backfill_policy=BACKFILL_POLICY,
    deps=[dg.AssetDep(dg.AssetKey(d.store_asset.split("/")), partition_mapping=SAME_DAY_EVERY_INSTRUMENT) for d in INPUTS],
    kinds={"arangodb", "polars"},
    owners=OWNERS,
    group_name="venues",
    description=DATASET.description,
    metadata=definition_metadata(DATASET),
    check_specs=[
        dg.AssetCheckSpec(
            BAND, asset=DATASET.asset,
            description="Every 5-minute close within STREAMFORGE_CROSS_VENUE_BAND_BPS of the other venues' median; "
            "names the intervals outside (with two venues a break shows on both).",
        )
    ],
)
def cross_venue(context: dg.AssetExecutionContext, exchange: ExchangeResource, store: StoreResource) -> dg.MaterializeResult:
    config, target = CrossVenueConfig.from_settings(), store.open()
    cells = [parse_cell(key) for key in sorted(context.partition_keys)]
    with surfaced():
        identities, refused = _identities(context, exchange, {market_of(c.instrument).kind for c in cells})
    stats, outcomes = {}, {}
    for cell in cells:
        if cell.instrument not in identities:
            raise dg.Failure(f"{cell.instrument} cannot be compared across venues: {refused.get(cell.instrument)}")
        others = counterparts(cell.instrument, identities)
        if not others:
            stats[cell.key] = {"rows": 0, "counterparts": [], "note": "no registered instrument of this asset on another venue"}
            outcomes[cell.key] = CheckOutcome(True, "no counterpart on another venue: nothing to compare", {})
            continue
        names = [cell.instrument, *others]
        with surfaced():
            candles, trades = (target.read(d.collection, d.record, names, cell.day, cell.day) for d in INPUTS)
            _require_stored(cell, names, candles, trades)
            aligned = line_up(cell.instrument, others, candles, trades, cell.day, config)
        rows, lead = aligned.rows, aligned.day_lead
        target.replace_partition(DATASET.collection, DATASET.record, cell.instrument, cell.day, rows)
        stats[cell.key] = {
            "rows": rows.height,
            "counterparts": others,
            "mean_diff_bps": round(float(rows["diff_bps"].mean()), 3),
            "mean_volume_share": None if rows["volume_share"].is_null().all() else round(float(rows["volume_share"].mean()), 4),
            "day_lead": lead,
        }
        outcomes[cell.key] = within_band(rows, config.band_bps)
        context.log.info(f"{cell.key} against {others}: lead {lead}")
    return dg.MaterializeResult(
        metadata=partitions_metadata(stats) | {"store/backend": store.backend, "not_compared": dg.MetadataValue.json(refused)},
        check_results=[check_result(BAND, outcomes)],
    )


def _require_stored(cell, names, candles, trades) -> None:
    missing = [n for n in names if n not in set(candles["instrument"]) or n not in set(trades["instrument"])]
    if missing:
        raise StreamForgeError(
            f"the stored candles_5m or trades of {', '.join(missing)} on {cell.day} are missing: materialise "
            f"their cells first, e.g. `streamforge backfill --instruments {','.join(missing)} --start {cell.day} --end {cell.day}`"
        )
