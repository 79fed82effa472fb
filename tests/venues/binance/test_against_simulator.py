"""The exchange client over real sockets against the project's Binance simulator (no mocked HTTP).

The simulator's market is a pure function of its seed, so every loaded day is compared with the market's own trades:
"complete" means exactly equal, not "looks plausible".
"""

from __future__ import annotations

import threading
import time
from datetime import date

import httpx
import polars as pl
import pytest

from streamforge.dates import day_bounds_us
from streamforge.errors import ChecksumError, ConfigError, ExchangeError, MalformedDataError, UnknownSymbolError
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues.binance.dumps import DumpClient, agg_trades_path
from streamforge.venues.binance.history import load_agg_trades_day
from streamforge.venues.binance.rest import WEIGHTS, BinanceRest

from exchange_cases import DAY, MARKET, MS_ERA_DAY, SEED, TODAY, VOLUME


def stats(url: str) -> dict:
    return httpx.get(f"{url}/sim/stats").json()


# --- data: dump and REST agree with the market, exactly -----------------------------------------------------------


@pytest.mark.parametrize("day", [DAY, MS_ERA_DAY], ids=["us-era", "ms-era"])
def test_day_via_dump_equals_day_via_rest_equals_the_market(rest, dumps, faults, day):
    via_dump, source = load_agg_trades_day(rest, dumps, "BTCUSDT", day)
    assert source["source"] == "dump"
    via_rest = rest.agg_trades_day("BTCUSDT", day)
    assert via_dump.equals(via_rest)
    assert via_rest.equals(MARKET.day_trades("BTCUSDT", day))
    assert source["rows"] == via_rest.height and source["first_id"] == via_rest["agg_id"][0]


def test_rest_day_is_exactly_00_00_to_24_00(rest):
    trades = rest.agg_trades_day("ETHUSDT", DAY)
    start, end = day_bounds_us(DAY)
    times = trades["time"].dt.epoch("us")
    assert start <= times.min() and times.max() < end
    assert trades.equals(MARKET.day_trades("ETHUSDT", DAY))


def test_klines_via_rest_equal_the_klines_dump(rest, dumps):
    for day in (DAY, MS_ERA_DAY):
        start, end = day_bounds_us(day)
        via_rest = rest.klines("BTCUSDT", "1m", start, end)  # 1,440 klines: two pages
        assert via_rest.height == 1440
        assert via_rest.equals(dumps.read_klines(dumps.klines("BTCUSDT", "1m", day)))


def test_depth_snapshot(rest):
    book = rest.depth("BTCUSDT", 500)
    assert book.last_update_id > 0 and len(book.bids) == 500 and len(book.asks) == 500
    assert book.bids[0][0] > book.bids[-1][0] and book.asks[0][0] < book.asks[-1][0]  # best first


# --- source choice and its reasons --------------------------------------------------------------------------------


def test_day_without_a_dump_comes_from_rest_and_says_why(rest, dumps, faults):
    faults(no_dumps="BTCUSDT")
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert source["source"] == "rest"
    assert source["reason"] == "no dump file BTCUSDT-aggTrades-2025-01-02.zip (404)"
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))


@pytest.mark.parametrize("fault", ["bad_checksum", "corrupt_zip"])
def test_unverifiable_dump_falls_back_to_rest_with_the_reason(rest, dumps, faults, fault):
    faults(**{fault: "BTCUSDT:2025-01-02"})
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert source["source"] == "rest"
    assert source["reason"].startswith("checksum mismatch for BTCUSDT-aggTrades-2025-01-02.zip")
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))
    assert not list(dumps.cache_dir.rglob("*.zip*"))  # nothing unverified is kept


def test_corrupt_zip_in_the_cache_falls_back_to_rest(rest, dumps):
    cached = dumps.cache_dir / agg_trades_path("BTCUSDT", DAY)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ChecksumError, match="corrupt zip BTCUSDT-aggTrades-2025-01-02.zip"):
        dumps.read_agg_trades(cached, len(MARKET.day_agg_ids("BTCUSDT", DAY)))
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert source["source"] == "rest" and source["reason"].startswith("corrupt zip BTCUSDT-aggTrades-2025-01-02.zip")
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))


def test_malformed_dump_row_fails_the_day_naming_file_and_row(rest, dumps, faults):
    faults(malformed="BTCUSDT:2025-01-02")
    bad_row = len(MARKET.day_agg_ids("BTCUSDT", DAY)) // 2 + 1
    message = rf"^BTCUSDT-aggTrades-2025-01-02.zip: row {bad_row}: price = 'not-a-number' is not a decimal number"
    with pytest.raises(MalformedDataError, match=message):
        load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)


def test_malformed_rest_row_fails_the_day_naming_page_and_row(rest, dumps, faults):
    faults(malformed="BTCUSDT:2025-01-02", no_dumps="BTCUSDT")
    ids = MARKET.day_agg_ids("BTCUSDT", DAY)
    bad_id = ids[len(ids) // 2]
    page_start = ids[0] + (bad_id - ids[0]) // 1000 * 1000
    message = (
        rf"^GET {sim_url(rest)}/api/v3/aggTrades\?symbol=BTCUSDT&fromId={page_start}&limit=1000: "
        rf"row {bad_id - page_start + 1}: price = 'not-a-number' is not a decimal number"
    )
    with pytest.raises(MalformedDataError, match=message):
        load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)


def sim_url(rest: BinanceRest) -> str:
    return rest.base_url.replace(".", r"\.")


# --- dump download: cache, resume, checksum -----------------------------------------------------------------------


def test_a_cached_verified_file_is_reused_without_downloading(sim, dumps, faults):
    first = dumps.agg_trades("BTCUSDT", DAY)
    assert first == dumps.cache_dir / agg_trades_path("BTCUSDT", DAY)
    before = stats(sim)["requests"]["/data/spot/daily/aggTrades"]
    assert dumps.agg_trades("BTCUSDT", DAY) == first
    assert stats(sim)["requests"]["/data/spot/daily/aggTrades"] == before


def published(sim: str, day: date) -> bytes:
    return httpx.get(f"{sim}/{agg_trades_path('BTCUSDT', day)}").content


def test_an_interrupted_download_is_resumed_with_a_range_request(sim, dumps):
    good = published(sim, DAY)
    part = dumps.cache_dir / (agg_trades_path("BTCUSDT", DAY) + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(good[: len(good) // 2])
    assert dumps.agg_trades("BTCUSDT", DAY).read_bytes() == good
    assert not part.exists()


def test_a_damaged_partial_download_is_caught_by_the_checksum_and_deleted(sim, dumps):
    good = published(sim, DAY)
    part = dumps.cache_dir / (agg_trades_path("BTCUSDT", DAY) + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(bytes(len(good) // 2))  # right length, wrong bytes: only a resumed download keeps them
    with pytest.raises(ChecksumError, match="checksum mismatch for BTCUSDT-aggTrades-2025-01-02.zip"):
        dumps.agg_trades("BTCUSDT", DAY)
    assert not part.exists()
    assert dumps.agg_trades("BTCUSDT", DAY).read_bytes() == good  # the next attempt starts afresh


def test_no_file_for_a_day_without_trades_is_none(dumps):
    assert dumps.agg_trades("LUNAUSDT", DAY) is None


# --- the exchange misbehaving ---------------------------------------------------------------------------------------


def test_5xx_and_429_storms_are_retried_and_the_day_is_complete(sim, rest, dumps, faults):
    faults(rate429=0.25, error5xx=0.25, no_dumps="all", retry_after_s=1)
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert source["source"] == "rest"
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))
    responses = stats(sim)["responses"]
    assert responses["429"] > 0 and responses.get("503", 0) > 0
    assert responses["418"] == 0


def test_low_weight_limit_loads_several_days_without_a_single_418(tmp_path):
    config = SimConfig(
        seed=SEED, volume=VOLUME, today=TODAY, cache_dir=tmp_path / "sim", weight_limit=100, weight_window_s=1
    )
    loads = [(symbol, date(2025, 1, d)) for symbol in ("BTCUSDT", "ETHUSDT") for d in range(2, 5)]
    loaded: dict[tuple[str, date], pl.DataFrame] = {}
    with running_simulator(config) as url:
        httpx.post(f"{url}/sim/faults", json={"no_dumps": "all"}).raise_for_status()
        with BinanceRest(url) as rest, DumpClient(url, tmp_path / "dumps") as dumps:

            def load(share: list[tuple[str, date]]) -> None:
                for symbol, day in share:
                    loaded[symbol, day] = load_agg_trades_day(rest, dumps, symbol, day)[0]

            started = time.monotonic()
            workers = [threading.Thread(target=load, args=(loads[i::3],)) for i in range(3)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=120)
            elapsed = time.monotonic() - started
            assert rest.limiter.budgets == {"x-mbx-used-weight-1s": 80}
        served = stats(url)
    assert all(loaded[s, d].equals(MARKET.day_trades(s, d)) for s, d in loads)
    assert served["responses"]["418"] == 0 and served["responses"]["429"] == 0
    weight = sum(n * WEIGHTS[path] for path, n in served["requests"].items() if path in WEIGHTS)
    assert elapsed >= weight // 100 - 1  # the limit was binding: the weight needed that many 1 s windows


def test_a_retry_after_longer_than_we_wait_fails_with_a_clear_error(rest, faults):
    faults(rate429=1.0, retry_after_s=3)
    rest.max_retry_after_s = 2
    message = r"exchangeInfo: HTTP 429, told to wait 3 s .*STREAMFORGE_HTTP_MAX_RETRY_AFTER_S"
    with pytest.raises(ExchangeError, match=message):
        rest.exchange_info()


# --- symbols and days that are refused ----------------------------------------------------------------------------


def test_unknown_symbol_is_refused(rest, dumps):
    with pytest.raises(UnknownSymbolError, match="^binance.spot.XRPUSDX: symbol XRPUSDX is not listed by the exchange$"):
        load_agg_trades_day(rest, dumps, "XRPUSDX", DAY)
    with pytest.raises(UnknownSymbolError, match="Binance error -1121: Invalid symbol"):
        rest.agg_trades_day("XRPUSDX", DAY)


def test_a_symbol_in_break_is_refused_for_registration_and_its_days_are_empty_saying_why(rest, dumps):
    with pytest.raises(UnknownSymbolError, match=r"^binance.spot.LUNAUSDT: symbol LUNAUSDT is not trading \(status BREAK\)$"):
        rest.require_trading("LUNAUSDT")
    frame, source = load_agg_trades_day(rest, dumps, "LUNAUSDT", DAY)
    assert frame.is_empty() and "not trading (status BREAK): no trades on 2025-01-02" in source["reason"]


def test_trading_lists_the_instruments_of_every_symbol_that_trades_and_none_in_break(rest):
    trading = rest.trading()
    assert sorted(trading) == sorted(i.id for i in MARKET.listed("binance.spot", TODAY).values() if i.trading_on(TODAY))
    assert "binance.spot.BTCUSDT" in trading and "binance.spot.LUNAUSDT" not in trading


def test_the_trades_of_every_instruments_last_24_hours_come_in_one_request(sim, rest):
    rest.exchange_info()
    before = stats(sim)["requests"].get("/api/v3/ticker/24hr", 0)
    counts = rest.trade_counts()
    assert stats(sim)["requests"]["/api/v3/ticker/24hr"] == before + 1
    assert set(counts) == {i.id for i in MARKET.listed("binance.spot", TODAY).values()}
    assert counts["binance.spot.BTCUSDT"] > counts["binance.spot.BNBUSDT"] > 0 == counts["binance.spot.LUNAUSDT"]


def test_today_is_not_a_completed_day(rest):
    with pytest.raises(ConfigError, match="2025-01-10 is not a completed UTC day"):
        rest.agg_trades_day("BTCUSDT", TODAY)


def test_5xx_until_retries_are_spent_raises_naming_the_url(sim, faults):
    faults(error5xx=1.0)
    with BinanceRest(sim, retries=2) as rest:
        with pytest.raises(ExchangeError, match=r"^GET http://.*/exchangeInfo failed 3 times, giving up: HTTP 503"):
            rest.exchange_info()


def test_unreachable_exchange_raises_naming_the_url(tmp_path):
    with running_simulator(SimConfig(seed=SEED, volume=VOLUME, today=TODAY, cache_dir=tmp_path)) as url:
        pass  # the simulator has stopped: nothing listens on its port any more
    with BinanceRest(url, retries=1, timeout_s=2) as rest:
        with pytest.raises(ExchangeError, match=rf"^GET {url}/api/v3/exchangeInfo failed 2 times, giving up: Connect"):
            rest.exchange_info()
    with DumpClient(url, tmp_path / "dumps", retries=1) as dumps:
        with pytest.raises(ExchangeError, match=rf"^GET {url}/data/spot/daily/aggTrades/.* failed 2 times"):
            dumps.agg_trades("BTCUSDT", DAY)


def test_one_exchange_info_answers_every_question_about_listings_for_a_while(sim):
    """Registering a universe asks about hundreds of symbols: one exchangeInfo (weight 20 on spot) answers them all."""
    before = stats(sim)["requests"].get("/api/v3/exchangeInfo", 0)
    with BinanceRest(sim) as client:
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"):
            client.require_trading(symbol)
        with pytest.raises(UnknownSymbolError, match="XRPUSDX is not listed"):
            client.require_listed("XRPUSDX")
    assert stats(sim)["requests"]["/api/v3/exchangeInfo"] == before + 1
