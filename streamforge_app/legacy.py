"""Instances and stores written before instruments existed: found, refused with what to run, and migrated.

Before the catalog, the second partition dimension was a bare Binance spot symbol: a dynamic partition set named
`symbols`, cell keys `2025-01-02|BTCUSDT`, store folders `symbol=BTCUSDT` holding records with a `symbol` column
(record version 1). Nothing of that is read silently as if it were new: every command that opens the instance first
looks for it (`refuse_legacy`) and stops with one line naming `streamforge migrate`, which brings it forward
(`migrate`): each symbol becomes `binance.spot.<SYMBOL>`, the store's partitions are rewritten under the new layout
and record version, and the store assets' materialisations are recorded again under the new cell keys, so the UI and
`streamforge status` show the migrated cells as materialised. What cannot be carried forward is said, not dropped:
Kafka-borne cells (their topics were version 1) must be re-materialised to be read again, and graphs and models
trained before are left as they are and need retraining.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from streamforge import settings
from streamforge.catalog import DATASETS, cell_key
from streamforge.errors import ConfigError
from streamforge.instruments import DEFAULT_MARKET, parse_instrument
from streamforge.schemas import INSTRUMENT
from streamforge.store.embedded import EmbeddedStore
from streamforge_assets.partitions import INSTRUMENTS

LEGACY_PARTITIONS = "symbols"  # the dynamic partition set of bare symbols
LEGACY_FOLDER = "symbol"  # store folders symbol=<SYMBOL>
LEGACY_COLUMN = "symbol"


def _store_root() -> Path:
    return settings.home() / "store"


def legacy_files(root: Path) -> list[tuple[str, str, date, Path]]:
    """(collection, symbol, day, file) of every partition file in the legacy layout of an embedded store."""
    found = []
    for path in sorted(root.glob(f"*/{LEGACY_FOLDER}=*/date=*.parquet")):
        symbol = path.parent.name.removeprefix(f"{LEGACY_FOLDER}=")
        day = date.fromisoformat(path.name.removeprefix("date=").removesuffix(".parquet"))
        found.append((path.parent.parent.name, symbol, day, path))
    return found


def legacy_state(instance: dg.DagsterInstance) -> list[str]:
    """What of the old layout the instance and the embedded store still hold, one phrase each; [] when none."""
    found = []
    symbols = instance.get_dynamic_partitions(LEGACY_PARTITIONS)
    if symbols:
        found.append(f"the Dagster instance registers symbols {', '.join(sorted(symbols))} as bare symbols")
    files = legacy_files(_store_root()) if settings.get("STREAMFORGE_STORE") == "embedded" else []
    if files:
        found.append(f"the store at {_store_root()} holds {len(files)} partitions in the old symbol= layout")
    return found


def refuse_legacy(instance: dg.DagsterInstance) -> None:
    found = legacy_state(instance)
    if found:
        raise ConfigError(
            f"{'; '.join(found)}, from before instruments (venue.market.SYMBOL): run `streamforge migrate` to bring "
            "them forward as binance.spot instruments"
        )


@dataclass
class MigrationReport:
    instruments: list[str] = field(default_factory=list)
    partitions: int = 0  # store partitions rewritten
    materialisations: int = 0  # store-asset materialisations recorded under the new keys
    notes: list[str] = field(default_factory=list)


def migrate(instance: dg.DagsterInstance) -> MigrationReport:
    """Bring the instance and the embedded store forward; idempotent (a second run finds nothing to do)."""
    report = MigrationReport()
    symbols = sorted(instance.get_dynamic_partitions(LEGACY_PARTITIONS))
    report.instruments = [parse_instrument(f"{DEFAULT_MARKET}.{s}").id for s in symbols]
    new = [i for i in report.instruments if not instance.has_dynamic_partition(INSTRUMENTS.name, i)]
    if new:
        instance.add_dynamic_partitions(INSTRUMENTS.name, new)
    if settings.get("STREAMFORGE_STORE") == "embedded":
        report.partitions = _migrate_store(_store_root(), report)
    else:
        report.notes.append(
            f"the {settings.get('STREAMFORGE_STORE')} store is not migrated by this command: its partitions written "
            "before instruments keep a 'symbol' attribute; rebuild them with `streamforge backfill`"
        )
    report.materialisations = _record_store_materialisations(instance, symbols)
    if symbols:
        report.notes.append(
            "the instance's history keeps the old bare-symbol keys, which no asset has any more; Kafka-borne cells "
            "(trades, candles) were published to version-1 topics: re-materialise them (`streamforge backfill`) before "
            "their store assets are materialised again"
        )
    for symbol in symbols:
        instance.delete_dynamic_partition(LEGACY_PARTITIONS, symbol)
    return report


def _migrate_store(root: Path, report: MigrationReport) -> int:
    by_collection = {d.collection: d for d in DATASETS.values() if d.collection and d.record is not None}
    store, moved = EmbeddedStore(root), 0
    for collection, symbol, day, path in legacy_files(root):
        dataset = by_collection.get(collection)
        if dataset is None:
            report.notes.append(f"{path}: collection {collection!r} is not in the catalog; left as it is")
            continue
        instrument = parse_instrument(f"{DEFAULT_MARKET}.{symbol}").id
        frame = pl.read_parquet(path).rename({LEGACY_COLUMN: INSTRUMENT}).with_columns(pl.lit(instrument).alias(INSTRUMENT))
        store.replace_partition(collection, dataset.record, instrument, day, frame)
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
        moved += 1
    legacy_graphs = [p for p in root.glob("graph_nodes/graph=*.parquet") if LEGACY_COLUMN in pq.read_schema(p).names]
    if legacy_graphs:
        report.notes.append(
            f"{len(legacy_graphs)} graphs (and the models trained on them) predate instruments: they stay in the store "
            "but cannot be loaded; retrain with `streamforge train`"
        )
    return moved


def _record_store_materialisations(instance: dg.DagsterInstance, symbols: list[str]) -> int:
    """For each store asset cell materialised under a bare-symbol key, the same cell under its instrument key —
    with the rows it holds now, as a materialisation without a run, so lineage and `status` see it."""
    recorded = 0
    store_assets = [d.store_asset for d in DATASETS.values() if d.persisted]
    for asset in store_assets:
        key = dg.AssetKey(asset.split("/"))
        for old in sorted(instance.get_materialized_partitions(key)):
            day_text, _, symbol = old.partition("|")
            if symbol not in symbols:
                continue
            new_key = cell_key(f"{DEFAULT_MARKET}.{symbol}", date.fromisoformat(day_text))
            rows = _rows_of(instance, key, old)
            metadata = {"partitions": dg.MetadataValue.json({new_key: {"rows": rows}}), "rows": rows, "migrated_from": old}
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=new_key, metadata=metadata))
            recorded += 1
    return recorded


def _rows_of(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> int:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1, ascending=False
    ).records
    meta = records[0].asset_materialization.metadata.get("partitions") if records else None
    return int((meta.data.get(partition) or {}).get("rows", 0)) if meta else 0
