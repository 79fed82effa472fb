"""The REST API over a real socket: Binance's parameters, error codes, time units and formats."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import numpy as np
import polars as pl
import pytest

from streamforge.sim.calendar import day_start_us

from sim_cases import DAY, TODAY, US_HEADER

DAY_MS = day_start_us(DAY) // 1000
HOUR_MS = 3_600_000


def agg_trades(api: httpx.Client, **params) -> list[dict]:
    response = api.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", **params}, headers=US_HEADER)
    assert response.status_code == 200, response.text
    return response.json()


def trades_frame(rows: list[dict]) -> pl.DataFrame:
    """REST rows parsed independently of the simulator's code."""
    return pl.DataFrame(
        {
            "price": [float(r["p"]) for r in rows],
            "qty": [float(r["q"]) for r in rows],
            "raw": [r["l"] - r["f"] + 1 for r in rows],
            "time": [r["T"] for r in rows],
            "taker_buys": [not r["m"] for r in rows],
        }
    )


def test_ping_time_and_exchange_info(api):
    assert api.get("/api/v3/ping").json() == {}
    assert api.get("/api/v3/time").json()["serverTime"] // 86_400_000 == day_start_us(TODAY) // 86_400_000_000
    info = api.get("/api/v3/exchangeInfo").json()
    statuses = {s["symbol"]: s["status"] for s in info["symbols"]}
    assert statuses["BTCUSDT"] == "TRADING" and statuses["LUNAUSDT"] == "BREAK" and len(statuses) == 7
    limits = {r["rateLimitType"]: r for r in info["rateLimits"]}
    assert limits["REQUEST_WEIGHT"] == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
    assert "RAW_REQUESTS" in limits
    btc = api.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"}).json()["symbols"][0]
    assert {f["filterType"]: f for f in btc["filters"]}["PRICE_FILTER"]["tickSize"] == "0.01000000"
    two = api.get("/api/v3/exchangeInfo", params={"symbols": json.dumps(["ETHUSDT", "SOLUSDT"])}).json()
    assert [s["symbol"] for s in two["symbols"]] == ["ETHUSDT", "SOLUSDT"]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/aggTrades", {"symbol": "BTCUSDX"}, -1121),
        ("/api/v3/exchangeInfo", {"symbol": "BTCUSDX"}, -1121),
        ("/api/v3/aggTrades", {}, -1102),
        ("/api/v3/aggTrades", {"symbol": "btc usdt"}, -1100),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "limit": "ten"}, -1100),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "fromId": ""}, -1105),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "since": "1"}, -1104),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "startTime": DAY_MS, "endTime": DAY_MS + HOUR_MS + 1}, -1127),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "fromId": 1, "startTime": DAY_MS}, -1128),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "limit": 0}, -1130),
        ("/api/v3/klines", {"symbol": "BTCUSDT"}, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ("/api/v3/depth", {"symbol": "BTCUSDT", "timeUnit": "SECOND"}, -1130),
        ("/api/v3/ticker/24hr", {"symbol": "BTCUSDT", "symbols": '["ETHUSDT"]'}, -1128),
        ("/api/v3/ticker/24hr", {"symbols": '["BTCUSDX"]'}, -1121),
        ("/api/v3/ticker/24hr", {"type": "SHORT"}, -1130),
    ],
)
def test_bad_requests_get_binance_error_codes(api, path, params, code):
    response = api.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["msg"]


def test_agg_trades_default_limit_cap_and_latest(api):
    assert len(agg_trades(api, fromId=1_000_000)) == 500
    assert len(agg_trades(api, fromId=1_000_000, limit=5000)) == 1000
    one_hour = agg_trades(api, startTime=day_start_us(DAY), limit=1000)  # startTime alone: one hour from it
    assert 0 < len(one_hour) < 1000 and one_hour[-1]["T"] < day_start_us(DAY) + 3_600_000_000
    # Without fromId or times: the latest trades as of the request, on the simulator's clock (which keeps running).
    asked_us = api.get("/api/v3/time", headers=US_HEADER).json()["serverTime"]
    latest = agg_trades(api, limit=3)
    answered_us = api.get("/api/v3/time", headers=US_HEADER).json()["serverTime"]
    assert len(latest) == 3 and latest[-1]["T"] <= answered_us  # nothing from the future
    assert all(t["T"] > asked_us for t in agg_trades(api, fromId=latest[-1]["a"] + 1, limit=1000))  # nothing left out


def test_agg_trades_time_window_is_inclusive_in_the_requested_unit(api):
    start_ms, end_ms = DAY_MS + 14 * HOUR_MS, DAY_MS + 14 * HOUR_MS + 600_000
    rows = api.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "startTime": start_ms, "endTime": end_ms, "limit": 1000}).json()
    assert len(rows) > 10 and all(start_ms <= r["T"] <= end_ms for r in rows)
    us_rows = agg_trades(api, startTime=start_ms * 1000, endTime=end_ms * 1000 + 999, limit=1000)
    assert [r["a"] for r in us_rows] == [r["a"] for r in rows]
    assert [r["T"] // 1000 for r in us_rows] == [r["T"] for r in rows]
    assert any(r["T"] % 1000 for r in us_rows), "µs responses carry µs times"
    exact = us_rows[3]["T"]
    assert agg_trades(api, startTime=exact, endTime=exact)[0]["a"] == us_rows[3]["a"]


def test_time_unit_parameter_works_like_the_header(api):
    params = {"symbol": "BTCUSDT", "startTime": day_start_us(DAY), "limit": 5, "timeUnit": "MICROSECOND"}
    assert api.get("/api/v3/aggTrades", params=params).json() == agg_trades(api, startTime=day_start_us(DAY), limit=5)


def test_paging_by_from_id_crosses_midnight_without_gaps(api):
    first = agg_trades(api, startTime=day_start_us(DAY + timedelta(days=1)) - 120_000_000, limit=1)[0]["a"]
    ids, from_id = [], first
    while len(ids) < 2_500:
        page = agg_trades(api, fromId=from_id, limit=1000)
        ids += [r["a"] for r in page]
        from_id = page[-1]["a"] + 1
    assert ids == list(range(first, first + len(ids)))


def test_rest_numbers_are_strings_with_eight_decimals(api):
    row = agg_trades(api, startTime=day_start_us(DAY), limit=1)[0]
    assert set(row) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    assert len(row["p"].split(".")[1]) == 8 and len(row["q"].split(".")[1]) == 8


@pytest.mark.parametrize("interval", ["1m", "5m", "15m"])
def test_rest_klines_equal_an_independent_aggregation_of_rest_trades(api, interval):
    start_us, hour_us = day_start_us(DAY) + 9 * 3_600_000_000, 3_600_000_000
    rows, page_start = [], start_us
    while True:  # one hour of trades, paged by time
        page = agg_trades(api, startTime=page_start, endTime=start_us + hour_us - 1, limit=1000)
        rows += page
        if len(page) < 1000:
            break
        page_start = page[-1]["T"] + 1
    close_before = float(agg_trades(api, endTime=start_us - 1, limit=1000)[-1]["p"])
    step_us = {"1m": 60, "5m": 300, "15m": 900}[interval] * 1_000_000
    traded = trades_frame(rows).group_by(bucket=pl.col("time") // step_us * step_us).agg(
        open=pl.col("price").first(),
        high=pl.col("price").max(),
        low=pl.col("price").min(),
        close=pl.col("price").last(),
        volume=pl.col("qty").sum(),
        quote=(pl.col("price") * pl.col("qty")).sum(),
        count=pl.col("raw").sum(),
        taker_base=pl.col("qty").filter(pl.col("taker_buys")).sum(),
    )
    grid = pl.DataFrame({"bucket": range(start_us, start_us + hour_us, step_us)})
    previous_close = pl.col("close").forward_fill().shift(1).fill_null(close_before)
    expected = (
        grid.join(traded, on="bucket", how="left")
        .sort("bucket")
        .with_columns(previous_close.alias("previous_close"))
        .with_columns(pl.col(c).fill_null(pl.col("previous_close")) for c in ("open", "high", "low", "close"))
        .fill_null(0)
    )
    klines = api.get(
        "/api/v3/klines",
        params={"symbol": "BTCUSDT", "interval": interval, "startTime": start_us, "endTime": start_us + hour_us - 1},
        headers=US_HEADER,
    ).json()
    assert [k[0] for k in klines] == expected["bucket"].to_list()
    assert [k[6] for k in klines] == [k[0] + step_us - 1 for k in klines]
    assert [k[8] for k in klines] == expected["count"].to_list()
    for index, column in [(1, "open"), (2, "high"), (3, "low"), (4, "close"), (5, "volume"), (7, "quote"), (9, "taker_base")]:
        assert np.allclose([float(k[index]) for k in klines], expected[column].to_numpy(), rtol=1e-9, atol=1e-8), column


def test_klines_in_milliseconds_close_one_millisecond_before_the_next_open(api):
    klines = api.get("/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1h", "startTime": DAY_MS, "limit": 24}).json()
    assert len(klines) == 24 and klines[0][0] == DAY_MS
    assert all(k[6] == k[0] + HOUR_MS - 1 for k in klines)
    assert all(isinstance(k[8], int) and isinstance(k[1], str) for k in klines)


def test_latest_klines_end_with_the_open_one(api):
    klines = api.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d", "limit": 3}).json()
    assert [k[0] for k in klines] == [day_start_us(TODAY - timedelta(days=d)) // 1000 for d in (2, 1, 0)]


def test_depth_has_binance_shape_and_weight_by_limit(api):
    small = api.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5})
    book = small.json()
    assert set(book) == {"lastUpdateId", "bids", "asks"} and len(book["bids"]) == len(book["asks"]) == 5
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    big = api.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5000})
    assert len(big.json()["asks"]) == 5000
    assert int(big.headers["X-MBX-USED-WEIGHT-1M"]) - int(small.headers["X-MBX-USED-WEIGHT-1M"]) == 250


FULL_TICKER = ["symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastPrice", "lastQty",
               "bidPrice", "bidQty", "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume",
               "openTime", "closeTime", "firstId", "lastId", "count"]


def test_the_24_hour_ticker_counts_the_raw_trades_of_the_day_up_to_the_clock(api, market):
    every = api.get("/api/v3/ticker/24hr", params={"type": "MINI"}, headers=US_HEADER)
    tickers = every.json()
    assert every.headers["X-MBX-USED-WEIGHT-1M"] == "80"  # every symbol weighs 80
    assert len(tickers) == 7 and {t["symbol"] for t in tickers} >= {"BTCUSDT", "LUNAUSDT"}
    for ticker in tickers:
        assert ticker["closeTime"] - ticker["openTime"] == 86_400_000_000
        trades = market.agg_trades(ticker["symbol"], ticker["openTime"], ticker["closeTime"] + 1)
        if trades.is_empty():  # LUNAUSDT, delisted
            assert (ticker["firstId"], ticker["lastId"], ticker["count"], ticker["volume"]) == (-1, -1, 0, "0.00000000")
            continue
        raw = int((trades["last_trade_id"] - trades["first_trade_id"] + 1).sum())
        assert (ticker["firstId"], ticker["lastId"], ticker["count"]) == (
            trades["first_trade_id"][0], trades["last_trade_id"][-1], raw)
        assert float(ticker["volume"]) == pytest.approx(trades["qty"].sum())
        assert float(ticker["highPrice"]) == trades["price"].max() and float(ticker["lastPrice"]) == trades["price"][-1]
    one = api.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})
    full = one.json()
    assert list(full) == FULL_TICKER and full["count"] > 0 and full["openTime"] < 10**13  # FULL by default, in ms
    assert float(full["bidPrice"]) < float(full["askPrice"])
    # one symbol weighs 2, counted on top of the 80 unless a new clock minute (a new weight window) began in between
    assert int(one.headers["X-MBX-USED-WEIGHT-1M"]) in (82, 2)
    two = api.get("/api/v3/ticker/24hr", params={"symbols": json.dumps(["ETHUSDT", "SOLUSDT"]), "type": "MINI"}).json()
    assert [t["symbol"] for t in two] == ["ETHUSDT", "SOLUSDT"]
