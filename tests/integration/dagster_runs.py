"""Helpers for running the historical graph in tests: real resources, multi-partition runs, store snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg

from resources import resource_defs
from streamforge import catalog
from streamforge.catalog import dataset, historical_assets
from streamforge.instruments import instrument_id, parse_instrument
from streamforge_assets.candles import candles
from streamforge_assets.perpetuals import basis_5m, funding, open_interest_5m, price_klines
from streamforge_assets.store import STORE_ASSETS
from streamforge_assets.trades import trades

def _stored(names: tuple[str, ...]) -> list:
    keys = {dg.AssetKey(dataset(n).store_asset.split("/")) for n in names}
    return [a for a in STORE_ASSETS if a.key in keys]


HISTORICAL = [trades, candles, *_stored(catalog.HISTORICAL)]  # what every market has
PERPETUAL = [price_klines, funding, open_interest_5m, basis_5m, *_stored(catalog.PERPETUAL_HISTORICAL)]


def make_resources(bootstrap: str, sim_url: str, home) -> dict:
    return resource_defs(bootstrap=bootstrap, sim_url=sim_url, home=home, store_backend="embedded")


def materialize_days(instance, resources, name: str, first: str, last: str, selection=None):
    """One run over days first..last of one instrument (an id, or a bare Binance spot symbol), the way a
    multi-partition backfill run covers them; by default every historical asset of the instrument's market."""
    instrument = instrument_id(name)
    if selection is None:
        selection = [dg.AssetKey(a.split("/")) for a in historical_assets(parse_instrument(instrument).market_id)]
    tags = {
        "dagster/asset_partition_range_start": f"{first}|{instrument}",
        "dagster/asset_partition_range_end": f"{last}|{instrument}",
    }
    return dg.materialize(
        HISTORICAL + PERPETUAL, instance=instance, resources=resources, tags=tags, raise_on_error=False, selection=selection
    )


def store_snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every stored partition file, by path: equal snapshots mean byte-identical store content."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).glob("*/instrument=*/date=*.parquet"))
    }
