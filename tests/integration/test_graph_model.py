"""The training assets on real parts: three simulated days go trades → Kafka → candles → store once (module fixture),
then `graph` and `model` partitions are materialised from the store as a run does, and the bad inputs fail clearly.
"""

from __future__ import annotations

import re
import shutil
from datetime import date

import dagster as dg
import numpy as np
import polars as pl
import pytest
import torch
from typer.testing import CliRunner

from dagster_runs import make_resources, materialize_days
from resources import StoreResource
from streamforge_app.cli import app
from streamforge.graph.features import FEATURES, FeatureSet
from streamforge.graph.persist import load_graph
from streamforge.models.registry import list_models
from streamforge.schemas import CANDLE
from streamforge.store import EmbeddedStore
from streamforge_assets.graph import graph
from streamforge_assets.models import model
from streamforge_assets.partitions import INSTRUMENTS
from streamforge_assets.training import UNIVERSES, WINDOW_TAG

pytestmark = pytest.mark.slow

THREE = "binance.spot.BTCUSDT+binance.spot.ETHUSDT+binance.spot.SOLUSDT"


@pytest.fixture(scope="module")
def home(broker, sim, tmp_path_factory):
    """STREAMFORGE_HOME with 2025-01-01..03 of three instruments stored, and the Dagster instance that stored them."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("training-home")
    with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as inst:
        mp.setenv("STREAMFORGE_HOME", str(root))
        inst.add_dynamic_partitions(INSTRUMENTS.name, THREE.split("+"))
        resources = make_resources(broker.bootstrap, sim, root)
        for instrument in THREE.split("+"):
            assert materialize_days(inst, resources, instrument, "2025-01-01", "2025-01-03").success
        yield root, inst, resources


def train(home, universe: str, end: str, days: int, resources=None):
    root, inst, default_resources = home
    if not inst.has_dynamic_partition(UNIVERSES.name, universe):
        inst.add_dynamic_partitions(UNIVERSES.name, [universe])
    return dg.materialize(
        [graph, model],
        instance=inst,
        resources=resources or default_resources,
        partition_key=f"{end}|{universe}",
        tags={WINDOW_TAG: str(days)},
        raise_on_error=False,
    )


def failure_message(result) -> str:
    return next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.to_string()


def latest_metadata(inst, asset: str, key: str) -> dict:
    records = inst.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1, ascending=False
    ).records
    return records[0].asset_materialization.metadata


@pytest.fixture(scope="module")
def three_instruments(home):
    result = train(home, THREE, "2025-01-03", 3)
    assert result.success, failure_message(result)
    return home


def test_graph_and_model_train_from_the_store_and_report_every_baseline(three_instruments):
    root, inst, _ = three_instruments
    store = EmbeddedStore(root / "store")
    bundle, doc = load_graph(store, f"{THREE}_2025-01-03")
    assert bundle.nodes.height == 3 * 288 * 3
    assert set(bundle.edges["edge_type"]) == {"temporal", "cross_asset", "similarity"}
    assert doc["window"] == {"instruments": THREE.split("+"), "first": "2025-01-01", "end": "2025-01-03", "days": 3}

    meta = latest_metadata(inst, "model", f"2025-01-03|{THREE}")
    table = meta["metrics"].value
    for model_name in ("relational", "mlp", "har", "harx", "persistence"):
        assert f"| {model_name} |" in table
    assert "QLIKE" in table and "IC" in table and "DM MSE vs ref" in table and not re.search(r"\bnan\b", table.lower())
    assert "**binance.spot.ETHUSDT**" in table and "reference" in table
    assert meta["card"].value["instruments"] == THREE.split("+")

    [registered] = [d for d in list_models(store) if d["graph_id"] == f"{THREE}_2025-01-03"]
    assert registered["model_id"] == meta["model_id"].value
    assert {m["model"] for m in registered["metrics"]} == {"relational", "mlp", "har", "harx", "persistence"}


def test_a_stored_model_refuses_its_own_window_and_scores_it_labelled_through_the_cli(three_instruments, tmp_path):
    root, inst, _ = three_instruments
    model_id = latest_metadata(inst, "model", f"2025-01-03|{THREE}")["model_id"].value
    refused = CliRunner().invoke(app, ["predict", "--model", model_id, "--day", "2025-01-03"])
    assert refused.exit_code == 2 and "own window" in refused.output and "not out of sample" in refused.output
    out = tmp_path / "forecasts.parquet"
    result = CliRunner().invoke(app, ["predict", "--model", model_id, "--day", "2025-01-03", "--in-sample", "--out", str(out)])
    assert result.exit_code == 0, result.output
    forecasts = pl.read_parquet(out)
    assert forecasts.height == 288 * 3 and "test" in set(forecasts["block"])
    assert np.isfinite(forecasts["forecast_log_rv"].to_numpy()).all()
    assert CliRunner().invoke(app, ["models"]).exit_code == 0


def test_a_model_whose_feature_set_differs_from_the_code_is_refused_naming_it(three_instruments, monkeypatch):
    root, inst, _ = three_instruments
    model_id = latest_metadata(inst, "model", f"2025-01-03|{THREE}")["model_id"].value
    monkeypatch.setattr("streamforge.models.persist.FEATURES", FeatureSet(FEATURES.version + 1, FEATURES.names))
    result = CliRunner().invoke(app, ["predict", "--model", model_id, "--day", "2025-01-03"])
    assert result.exit_code == 2
    assert "feature set" in result.output and "version 2 -> 3" in result.output


def test_btcusdt_alone_trains_without_cross_asset_edges(home):
    root, inst, _ = home
    result = train(home, "binance.spot.BTCUSDT", "2025-01-03", 3)
    assert result.success, failure_message(result)
    bundle, _ = load_graph(EmbeddedStore(root / "store"), "binance.spot.BTCUSDT_2025-01-03")
    assert "cross_asset" not in set(bundle.edges["edge_type"])
    assert "| relational | model |" in latest_metadata(inst, "model", "2025-01-03|binance.spot.BTCUSDT")["metrics"].value


def test_missing_upstream_partitions_fail_the_run_naming_them(home):
    result = train(home, THREE, "2025-01-04", 3)
    assert not result.success
    message = failure_message(result)
    assert "never materialised" in message
    assert "2025-01-04|binance.spot.BTCUSDT" in message and "2025-01-04|binance.spot.SOLUSDT" in message
    assert "2025-01-02|binance.spot.BTCUSDT" not in message


def test_a_window_too_short_for_the_split_says_so(home, monkeypatch):
    monkeypatch.setenv("STREAMFORGE_MODEL_EMBARGO", "60")  # one day minus five hours of embargo leaves < 96 to train
    message = failure_message(train(home, THREE, "2025-01-03", 1))
    assert "InsufficientDataError" in message and "too short" in message


def test_an_instrument_without_stored_candles_is_named(home, tmp_path):
    root, inst, resources = home
    shutil.copytree(root / "store", tmp_path / "store")
    store = EmbeddedStore(tmp_path / "store")
    for day in (1, 2, 3):
        for collection in ("candles_5m", "candles_1m"):
            store.delete_partition(collection, "binance.spot.SOLUSDT", date(2025, 1, day))
    broken = {**resources, "store": StoreResource(backend="embedded", root=str(tmp_path / "store"))}
    message = failure_message(train(home, THREE, "2025-01-03", 3, broken))
    assert "no 5-minute candles for ['binance.spot.SOLUSDT']" in message


def test_a_constant_series_is_refused_not_turned_into_nan(home, tmp_path):
    root, inst, resources = home
    shutil.copytree(root / "store", tmp_path / "store")
    store = EmbeddedStore(tmp_path / "store")
    for day in (1, 2, 3):
        d = date(2025, 1, day)
        for collection in ("candles_5m", "candles_1m"):
            flat = store.read(collection, CANDLE, ["binance.spot.ETHUSDT"], d, d).with_columns(
                [pl.lit(3000.0).alias(c) for c in ("open", "high", "low", "close", "vwap")]
            )
            store.replace_partition(collection, CANDLE, "binance.spot.ETHUSDT", d, flat)
    broken = {**resources, "store": StoreResource(backend="embedded", root=str(tmp_path / "store"))}
    message = failure_message(train(home, THREE, "2025-01-03", 3, broken))
    assert "binance.spot.ETHUSDT" in message and "constant" in message


def test_leaderboard_partitions_store_every_seed_and_summarise_against_the_best_baseline(home, monkeypatch):
    """Three models × one evaluation date, materialised as a run does, read back as the leaderboard."""
    from streamforge.models.leaderboard import summarise
    from streamforge.models.standings import read_forecasts
    from streamforge_assets.leaderboard import leaderboard

    root, inst, resources = home
    monkeypatch.setenv("STREAMFORGE_LEADERBOARD_SEEDS", "0,1")
    monkeypatch.setenv("STREAMFORGE_MODEL_MAX_EPOCHS", "3")
    for label in ("persistence", "harx", "relational"):
        result = dg.materialize([leaderboard], instance=inst, resources=resources, partition_key=f"2025-01-03|{label}",
                                raise_on_error=False)
        assert result.success, failure_message(result)
    meta = latest_metadata(inst, "leaderboard", "2025-01-03|relational")
    assert meta["protocol"].value["seeds"] == [0, 1] and "| relational | model |" in meta["metrics"].value
    forecasts = read_forecasts(EmbeddedStore(root / "store"), date(2025, 1, 3), date(2025, 1, 3))
    summary = summarise(forecasts).filter(pl.col("instrument") == "ALL")
    assert set(summary["model"]) == {"persistence", "harx", "relational"}
    relational = summary.filter(pl.col("model") == "relational").row(0, named=True)
    assert relational["seeds"] == 2 and relational["n"] == 287 * 3
    assert relational["reference"] in {"persistence", "harx"} and relational["dm_mse_p"] is not None


def test_a_leaderboard_date_without_its_window_fails_naming_the_partitions(home):
    from streamforge_assets.leaderboard import leaderboard

    root, inst, resources = home
    result = dg.materialize([leaderboard], instance=inst, resources=resources, partition_key="2025-01-05|har",
                            raise_on_error=False)
    assert not result.success and "2025-01-04|binance.spot.BTCUSDT" in failure_message(result)
