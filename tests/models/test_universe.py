"""Instrument sets as names: short sets spelled out, universes named by size and digest with their members stored."""

from datetime import date

import pytest

from streamforge.errors import ConfigError
from streamforge.models.window import SPELLED_MAX, TrainingWindow, register_universe, universe_members, universe_name
from streamforge.store import EmbeddedStore

THREE = ["binance.spot.SOLUSDT", "binance.spot.BTCUSDT", "binance.spot.ETHUSDT"]
UNIVERSE = [f"binance.spot.SYM{i:03d}USDT" for i in range(200)]


def test_a_small_set_is_spelled_out_sorted_and_reads_back_without_the_store(tmp_path):
    name = universe_name(THREE)
    assert name == "binance.spot.BTCUSDT+binance.spot.ETHUSDT+binance.spot.SOLUSDT"
    assert universe_members(EmbeddedStore(tmp_path), name) == sorted(THREE)
    assert universe_members(EmbeddedStore(tmp_path), "binance.spot.BTCUSDT") == ["binance.spot.BTCUSDT"]


def test_a_universe_is_named_by_size_and_digest_whatever_the_order_and_keeps_ids_short(tmp_path):
    name = universe_name(UNIVERSE)
    assert name.startswith("200-instruments-") and name == universe_name(list(reversed(UNIVERSE)))
    assert name != universe_name(UNIVERSE[:-1])
    window = TrainingWindow.of(UNIVERSE, date(2025, 3, 30), 30)
    assert window.universe == name and len(window.graph_id) <= 200
    assert len("+".join(UNIVERSE)) > SPELLED_MAX


def test_a_registered_universe_reads_back_its_members(tmp_path):
    store = EmbeddedStore(tmp_path)
    name = register_universe(store, UNIVERSE)
    assert register_universe(store, UNIVERSE) == name  # idempotent
    assert universe_members(store, name) == sorted(UNIVERSE)
    assert register_universe(store, THREE) == universe_name(THREE)  # spelled: nothing to store
    assert store.get_documents("universe_members") == [{"name": name, "instruments": sorted(UNIVERSE)}]


def test_an_unknown_universe_name_says_how_to_register_one(tmp_path):
    with pytest.raises(ConfigError, match=r"universe '5-instruments-abc' is neither .* `streamforge train --instruments"):
        universe_members(EmbeddedStore(tmp_path), "5-instruments-abc")
