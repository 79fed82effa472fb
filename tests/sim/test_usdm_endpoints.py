"""The simulator's USD-M futures API as fapi serves it: its own weight limit apart from spot's, weights by limit,
request limits of its own for funding, rows without `M` in ms (the faults acting on it: test_faults.py)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig

from sim_cases import SEED, TODAY, VOLUME

LIMIT = 40


@pytest.fixture(scope="module")
def futures_url(tmp_path_factory) -> Iterator[str]:
    config = SimConfig(seed=SEED, volume=VOLUME, futures_weight_limit=LIMIT, weight_window_s=3600,
                       cache_dir=tmp_path_factory.mktemp("c"), today=TODAY)
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def fapi(futures_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=futures_url) as client:
        client.post("/sim/reset")
        yield client
        client.post("/sim/faults", json={})
        client.post("/sim/reset")


def test_futures_weight_is_its_own_and_klines_weigh_by_limit(fapi):
    weights = [int(fapi.get(path, params=params).headers["X-MBX-USED-WEIGHT-1M"]) for path, params in [
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 99}),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1000}),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1500}),
        ("/futures/data/openInterestHist", {"symbol": "BTCUSDT", "period": "5m"}),
    ]]
    assert weights == [1, 6, 16, 16]
    assert fapi.get("/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"  # spot counts apart
    info = {r["rateLimitType"]: r for r in fapi.get("/fapi/v1/exchangeInfo").json()["rateLimits"]}
    assert info["REQUEST_WEIGHT"]["limit"] == LIMIT


def test_over_the_futures_limit_is_429_and_spot_still_answers(fapi):
    statuses = [fapi.get("/fapi/v1/aggTrades", params={"symbol": "BTCUSDT", "limit": 1}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert fapi.get("/api/v3/ping").status_code == 200


def test_agg_trades_are_ms_without_best_match(fapi):
    rows = fapi.get("/fapi/v1/aggTrades", params={"symbol": "BTCUSDT", "limit": 2}).json()
    assert set(rows[0]) == {"a", "p", "q", "f", "l", "T", "m"} and rows[0]["T"] < 10**13


def test_a_spot_only_symbol_is_invalid_on_fapi(fapi):
    answer = fapi.get("/fapi/v1/klines", params={"symbol": "LUNAUSDT", "interval": "1m"})
    assert answer.status_code == 400 and answer.json() == {"code": -1121, "msg": "Invalid symbol."}


@pytest.mark.parametrize(("day", "has_header"), [("2022-08-10", False), ("2025-03-04", True)])
def test_dump_files_have_a_header_row_from_2022_08_11(fapi, day, has_header):
    name = f"BTCUSDT-aggTrades-{day}.zip"
    data = fapi.get(f"/data/futures/um/daily/aggTrades/BTCUSDT/{name}").content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.read(archive.namelist()[0]).split(b"\n", 1)[0]
    assert first.startswith(b"agg_trade_id,") == has_header


def test_the_24_hour_ticker_counts_each_perpetuals_raw_trades_in_ms(fapi):
    from streamforge.sim.market import Market

    every = fapi.get("/fapi/v1/ticker/24hr")
    assert every.headers["X-MBX-USED-WEIGHT-1M"] == "40"
    btc = next(t for t in every.json() if t["symbol"] == "BTCUSDT")
    assert "bidPrice" not in btc and "prevClosePrice" not in btc and btc["closeTime"] < 10**13
    trades = Market(SEED, VOLUME).agg_trades("binance.usdm.BTCUSDT", btc["openTime"] * 1000, btc["closeTime"] * 1000 + 1)
    assert (btc["firstId"], btc["lastId"], btc["count"]) == (
        trades["first_trade_id"][0], trades["last_trade_id"][-1], trades["last_trade_id"][-1] - trades["first_trade_id"][0] + 1)
    fapi.post("/sim/reset")  # every symbol's took this module's whole limit
    one = fapi.get("/fapi/v1/ticker/24hr", params={"symbol": "ETHUSDT"})
    assert one.json()["symbol"] == "ETHUSDT" and one.headers["X-MBX-USED-WEIGHT-1M"] == "1"
