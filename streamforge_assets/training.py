"""Partitions and lineage of the training assets (`graph`, `model`), and what they require of their upstream.

Partitioning: a multi-partition "date" × "universe". The date is the training date, the last day of the window; the
universe is the instrument set, a dynamic partition named by its sorted instrument ids joined with '+', e.g.
'binance.spot.BTCUSDT+binance.spot.ETHUSDT', or for a set too long to spell, '<n>-instruments-<digest>' with its
members in the store's `universe_members` collection (`streamforge.models.window.universe_name`; `streamforge train`
registers both; in the UI, a spelled-out set can be added on the asset's partitions page). Why not daily only: one training date then holds one model, and training BTCUSDT alone would
overwrite the three-instrument model; with the universe in the key every (date, instrument set) is its own
materialisation, with its own history and metadata.

Lineage: each partition depends on the store assets' cells (day, instrument) of the window — a
TimeWindowPartitionMapping over the date dimension, STREAMFORGE_MODEL_WINDOW_DAYS long; the instrument dimension maps
to all instruments, because Dagster has no built-in mapping from an instrument set to its members (the assets read only
their universe's instruments). A run may ask for a shorter window with the `streamforge/window-days` tag (`streamforge train
--days`); the lineage then covers more days than are read, never fewer, so a backfill that includes upstream
partitions still runs them first.

Before reading, the graph asset checks that every cell of its window was stored and fails naming the
missing partitions and the command that fills them — a run never trains on a window with holes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg

from streamforge import settings
from streamforge.errors import ConfigError, StreamForgeError
from streamforge.models.window import TrainingWindow, universe_members
from streamforge.store import Store
from streamforge.catalog import HISTORICAL, cell_key, dataset
from streamforge_assets.partitions import DAYS

UNIVERSES = dg.DynamicPartitionsDefinition(name="universes")
TRAINING = dg.MultiPartitionsDefinition({"date": DAYS, "universe": UNIVERSES})
WINDOW_DAYS = int(settings.get("STREAMFORGE_MODEL_WINDOW_DAYS"))
WINDOW_TAG = "streamforge/window-days"
# What the graph reads, per cell of its window: the stored historical datasets.
UPSTREAM = [dataset(name).store_asset for name in HISTORICAL]

WINDOW_MAPPING = dg.MultiPartitionMapping(
    {
        "date": dg.DimensionPartitionMapping(
            dimension_name="date",
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-(WINDOW_DAYS - 1), end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        )
    }
)
GROUP = "models"


def training_key(window: TrainingWindow) -> str:
    return str(dg.MultiPartitionKey({"date": window.end.isoformat(), "universe": window.universe}))


def window_of(context: dg.AssetExecutionContext, store: Store) -> TrainingWindow:
    """The run's window: the partition's date and universe (its members from the store when the name does not spell
    them), and the window-days tag (default: the lineage's)."""
    dims = TRAINING.get_partition_key_from_str(context.partition_key).keys_by_dimension
    days = int(context.run.tags.get(WINDOW_TAG, WINDOW_DAYS))
    if days > WINDOW_DAYS:
        raise ConfigError(f"{WINDOW_TAG}={days} is longer than the assets' lineage of {WINDOW_DAYS} days "
                          "(STREAMFORGE_MODEL_WINDOW_DAYS); raise that setting where Dagster runs")
    return TrainingWindow.of(universe_members(store, dims["universe"]), date.fromisoformat(dims["date"]), days)


def upstream_keys(window: TrainingWindow) -> list[str]:
    return [cell_key(instrument, day) for day in window.dates for instrument in window.instruments]


def missing_upstream(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, list[str]]:
    """Per upstream asset, the cells among `keys` that were never materialised."""
    missing = {}
    for asset in UPSTREAM:
        done = instance.get_materialized_partitions(dg.AssetKey(asset.split("/")))
        if absent := [k for k in keys if k not in done]:
            missing[asset] = absent
    return missing


def require_upstream(instance: dg.DagsterInstance, window: TrainingWindow) -> None:
    missing = missing_upstream(instance, upstream_keys(window))
    if missing:
        listed = "; ".join(f"{asset}: {', '.join(keys)}" for asset, keys in missing.items())
        raise StreamForgeError(
            f"upstream partitions of the window {window.first}..{window.end} were never materialised — {listed}. "
            f"Materialise them first, e.g. `streamforge train --instruments {','.join(window.instruments)} --end {window.end} "
            f"--days {window.days}` (which backfills them in the same launch)"
        )


@contextmanager
def surfaced() -> Iterator[None]:
    """Turn a StreamForge error into a Dagster Failure, so the UI shows its message rather than a stack trace."""
    try:
        yield
    except StreamForgeError as exc:
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}") from exc
