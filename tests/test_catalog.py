"""The catalog is the one place a dataset, an instrument or a cell key is spelled: the codecs, and a scan of the code
that fails when a dataset, topic, collection or asset name is written as a literal anywhere else."""

from __future__ import annotations

import ast
import re
import urllib.parse
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from hypothesis import given, strategies as st

from streamforge.bus.topics import build_topics
from streamforge.catalog import DATASETS, INSTRUMENT_DIMENSION, Cell, cell_key, dataset, historical_assets, parse_cell
from streamforge.errors import ConfigError
from streamforge.instruments import instrument_id, parse_instrument, resolve
from streamforge.store.base import check_instrument

ROOT = Path(__file__).resolve().parent.parent
CODE = ["streamforge", "streamforge_app", "streamforge_assets", "resources", "sensors", "bench"]

symbols = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)


@given(symbol=symbols, day=st.dates(date(2017, 1, 1), date(2099, 12, 31)))
def test_a_cell_key_is_dagsters_multi_partition_key_and_parses_back(symbol, day):
    instrument = parse_instrument(f"binance.spot.{symbol}").id
    key = cell_key(instrument, day)
    assert key == str(dg.MultiPartitionKey({"date": day.isoformat(), INSTRUMENT_DIMENSION: instrument}))
    assert parse_cell(key) == Cell(day, instrument)


@given(symbol=symbols)
def test_an_instrument_id_survives_every_place_it_travels(symbol):
    instrument = parse_instrument(f"binance.spot.{symbol}").id
    assert not set(instrument) & set("|,[]*?/\\ ")  # Dagster keys and ranges, file names, URL paths
    assert urllib.parse.quote(instrument, safe="") == instrument  # a URL path segment as it is
    assert check_instrument(instrument) == instrument  # the stores' partition names and ArangoDB keys
    assert instrument.encode().decode("ascii") == instrument  # a Kafka key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BTCUSDT", "is not an instrument: expected <venue>.<market>.<SYMBOL>"),
        ("kraken.spot.XBTUSD", "unknown market kraken.spot; known: binance.spot"),
        ("binance.spot.btcusdt", "is not an instrument"),
        ("binance.spot.BTC-USDT", "is not a Binance spot symbol"),
        ("2025-01-02|BTCUSDT", "is not an instrument"),
    ],
)
def test_a_malformed_or_unknown_instrument_is_refused_naming_the_expected_form(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_instrument(text)


def test_bare_symbols_belong_to_the_market_named_before_them_or_to_binance_spot():
    assert [i.id for i in resolve(["ETHUSDT", "binance.spot.BTCUSDT", "solusdt", "binance.spot.BTCUSDT"])] == [
        "binance.spot.ETHUSDT", "binance.spot.BTCUSDT", "binance.spot.SOLUSDT"]
    assert instrument_id("xrpusdt") == "binance.spot.XRPUSDT"


@pytest.mark.parametrize("key", ["2025-01-02", "2025-13-02|binance.spot.BTCUSDT", "2025-01-02|BTCUSDT", ""])
def test_a_key_that_is_not_a_cell_is_refused(key):
    with pytest.raises(ConfigError):
        parse_cell(key)


def test_topics_store_assets_and_the_historical_graph_come_from_the_catalog():
    assert {spec.dataset for spec in build_topics()} == {d.name for d in DATASETS.values() if d.topic}
    kafka = ["trades", "candles_1m", "candles_5m", "mark_price_1m", "index_price_1m", "funding", "open_interest_5m", "basis_5m"]
    assert historical_assets() == kafka + [f"arangodb/{name}" for name in kafka]
    assert dataset("candles_5m").interval == "5m" and dataset("live_trades").collection == "live_trades"
    # The live capture keeps every live dataset with a collection; its assets and sensor targets follow from these.
    stored = {d.name: (d.collection, d.asset) for d in DATASETS.values() if d.live and d.collection}
    assert stored == {name: (name, name) for name in ("live_trades", "live_mark_price", "live_liquidations")}
    with pytest.raises(ConfigError, match="unknown dataset 'candles_7m'"):
        dataset("candles_7m")


# --- no name written twice ---------------------------------------------------------------------------------------


def catalog_names() -> tuple[set[str], set[str]]:
    """(distinctive names, plain words): names with `_`, `-` or `/` (or a topic kind) cannot mean anything else, so
    they may appear nowhere but the catalog; a plain word (`book`, `depth`, `trades`...) is also English, so it is
    refused only where a dataset's name is expected."""
    names = set()
    for d in DATASETS.values():
        names |= {n for n in (d.name, d.topic, d.collection, d.asset, d.store_asset) if n}
    kinds = {d.topic for d in DATASETS.values() if d.topic} - set(DATASETS)  # e.g. aggtrades, not depth
    distinctive = {n for n in names if re.search(r"[_\-/]", n)} | kinds
    return distinctive, names - distinctive


# Calls and keywords that name a dataset, a topic, a store collection or an asset.
NAMING_CALLS = {"topic", "dataset", "AssetKey", "AssetIn", "read", "replace_partition", "merge_partition", "partitions",
                "delete_partition", "put_documents", "get_documents"}
NAMING_KEYWORDS = {"asset", "key", "name", "collection", "asset_key"}


def literals(tree: ast.AST) -> list[tuple[ast.Constant, str]]:
    """Every string literal of the module with where it stands: 'naming' when a dataset's name is expected there."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    naming: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in NAMING_CALLS:
                naming |= {id(a) for a in node.args[:1]}
            naming |= {id(k.value) for k in node.keywords if k.arg in NAMING_KEYWORDS}
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in {"topics", "DATASETS"}:
            naming.add(id(node.slice))
    return [
        (node, "naming" if id(node) in naming else "other")
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_dataset_topic_collection_or_asset_name_is_written_as_a_literal_outside_the_catalog():
    distinctive, words = catalog_names()
    found = []
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "streamforge" / "catalog.py":
                continue
            for node, where in literals(ast.parse(path.read_text())):
                if node.value in distinctive or (node.value in words and where == "naming"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "name these through streamforge.catalog instead:\n" + "\n".join(found)
