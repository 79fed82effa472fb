"""An instance and store from before instruments are refused by every command with what to run, and `streamforge
migrate` brings them forward: symbols become binance.spot instruments, the store's partitions move to the new layout
and record version, the store assets' cells are materialised under their new keys, and nothing vanishes silently."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest
from typer.testing import CliRunner

from streamforge.catalog import TRADES, dataset
from streamforge.store import EmbeddedStore
from streamforge_app.cli import app
from trade_frames import trades_frame

runner = CliRunner()
DAY = date(2025, 1, 2)


@pytest.fixture
def old_home(tmp_path, monkeypatch):
    """A home as StreamForge left it before instruments: a `symbols` partition set, a store asset materialised under
    `2025-01-02|BTCUSDT`, and the store's trades in `symbol=BTCUSDT` folders with a `symbol` column."""
    monkeypatch.setenv("STREAMFORGE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("STREAMFORGE_STORE", "embedded")
    assert runner.invoke(app, ["instruments", "list"]).exit_code == 0  # creates the instance as any command would
    old = trades_frame([1_000_000, 2_000_000, 3_000_000], [10.0, 11.0, 12.0], [1.0, 1.0, 1.0], day=DAY).rename(
        {"instrument": "symbol"}).with_columns(symbol=pl.lit("BTCUSDT"))
    folder = tmp_path / "store" / "trades" / "symbol=BTCUSDT"
    folder.mkdir(parents=True)
    old.write_parquet(folder / f"date={DAY.isoformat()}.parquet")
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        instance.add_dynamic_partitions("symbols", ["BTCUSDT"])
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=["arangodb", "trades"], partition=f"{DAY}|BTCUSDT",
            metadata={"partitions": dg.MetadataValue.json({f"{DAY}|BTCUSDT": {"rows": 3}})},
        ))
    return tmp_path


def test_every_command_refuses_the_old_layout_naming_the_command_that_migrates_it(old_home):
    for command in (["status"], ["instruments", "list"], ["symbols", "add", "ETHUSDT"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        text = " ".join(result.stdout.split())
        assert "registers symbols BTCUSDT as bare symbols" in text and "run `streamforge migrate`" in text


def test_migrate_brings_instance_and_store_forward_and_says_what_it_could_not(old_home):
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.stdout
    text = " ".join(result.stdout.split())
    assert "1 instruments (binance.spot.BTCUSDT), 1 store partitions rewritten, 1 store materialisations recorded" in text
    assert "re-materialise them" in text  # the Kafka-borne cells of version-1 topics: said, not hidden

    assert runner.invoke(app, ["instruments", "list"]).stdout.split() == ["binance.spot.BTCUSDT"]
    trades = dataset(TRADES)
    stored = EmbeddedStore(old_home / "store").read(trades.collection, trades.record)
    assert stored["instrument"].unique().to_list() == ["binance.spot.BTCUSDT"] and stored.height == 3
    assert not (old_home / "store" / "trades" / "symbol=BTCUSDT").exists()
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "binance.spot.BTCUSDT" in status.stdout, status.stdout

    again = runner.invoke(app, ["migrate"])  # nothing left to do, nothing done twice
    assert "0 instruments (none), 0 store partitions rewritten, 0 store materialisations recorded" in " ".join(again.stdout.split())
