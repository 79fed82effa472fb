"""OKX's REST client against the simulator over real sockets: the envelope, limits, errors, and paging by trade id.

"Refused before the request" is shown by the simulator's own request counters: the endpoint was never asked.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import polars as pl
import pytest

from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, ExchangeError, UnknownSymbolError
from streamforge.venues.okx.rest import OkxRest
from streamforge.venues.okx.wire import HISTORY_CANDLES, HISTORY_TRADES, INSTRUMENTS, LIMITS, TRADES_REACH

from okx_cases import DAY, MARKET, SPOT, SWAP, TODAY

BTC_USDT = "BTC-USDT"


def requests(sim: str, path: str) -> int:
    return httpx.get(f"{sim}/sim/stats").json()["requests"].get(path, 0)


def statuses(sim: str) -> dict:
    return httpx.get(f"{sim}/sim/stats").json()["responses"]


def truth(instrument: str, day=DAY) -> pl.DataFrame:
    """The market's trades of the day, as OKX identifies them: tradeId is the first raw trade id."""
    return MARKET.day_trades(instrument, day)


# --- the envelope and the instruments ---------------------------------------------------------------------------


def test_the_envelope_carries_every_number_as_a_string(sim):
    body = httpx.get(f"{sim}{HISTORY_TRADES}", params={"instId": BTC_USDT, "limit": "3"}).json()
    assert body["code"] == "0" and body["msg"] == ""
    row = body["data"][0]
    assert set(row) == {"instId", "tradeId", "px", "sz", "side", "ts"}
    assert all(isinstance(v, str) for v in row.values())


def test_instruments_are_listed_live_with_their_contract_value(rest):
    spot = rest.listing("okx.spot", BTC_USDT)
    swap = rest.listing("okx.swap", "BTC-USDT-SWAP")
    assert spot.live and spot.contract_size is None and (spot.base, spot.quote) == ("BTC", "USDT")
    assert swap.live and swap.contract_size == MARKET.spec(SWAP).contract_size and (swap.base, swap.quote) == ("BTC", "USDT")
    assert swap.raw["ctType"] == "linear" and swap.raw["ctValCcy"] == "BTC"


def test_trading_lists_the_live_instruments_of_each_market(spot, swap):
    for client, market in ((spot, "okx.spot"), (swap, "okx.swap")):
        expected = [i.id for i in MARKET.listed(market, TODAY).values() if i.trading_on(TODAY)]
        assert sorted(client.trading()) == sorted(expected)
    assert SPOT in spot.trading() and SWAP in swap.trading()
    assert spot.lists(SPOT) and swap.lists(SWAP) and not swap.lists("okx.swap.1000PEPE-USDT-SWAP")  # Binance USD-M only


def test_an_unknown_instrument_is_refused_before_any_market_data_request(rest, sim, faults):
    with pytest.raises(UnknownSymbolError, match=r"okx.spot.NOPE-USDT: OKX does not list NOPE-USDT .*instType=SPOT"):
        rest.listing("okx.spot", "NOPE-USDT")
    assert requests(sim, HISTORY_TRADES) == 0 and requests(sim, INSTRUMENTS) == 1


def test_okx_s_own_error_is_passed_on_in_one_line_with_its_code_and_message(rest):
    with pytest.raises(UnknownSymbolError) as raised:
        rest.get(HISTORY_TRADES, {"instId": "NOPE-USDT"})
    assert "OKX error 51001: Instrument ID does not exist" in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(ExchangeError, match=r"GET .*history-candles\?.*bar=1h.*: OKX error 51000: Parameter bar error$"):
        rest.get(HISTORY_CANDLES, {"instId": BTC_USDT, "bar": "1h"})


# --- bad input refused on our side --------------------------------------------------------------------------------


def test_a_bar_in_the_wrong_case_is_refused_before_the_request(rest, sim, faults):
    from streamforge.venues.okx.rest import require_bar

    with pytest.raises(ConfigError, match=r"'1h' is not an OKX bar; bars are case-sensitive: did you mean '1H'\?"):
        require_bar("1h")
    with pytest.raises(ConfigError, match=r"'1d' is not an OKX bar; bars are case-sensitive: did you mean '1D'\?"):
        require_bar("1d")
    with pytest.raises(ConfigError, match="interval '7m' has no UTC bar on OKX"):
        rest.candles(rest.listing("okx.spot", BTC_USDT), "7m", 0, 1)
    assert require_bar("1H") == "1H" and requests(sim, HISTORY_CANDLES) == 0


def test_a_trades_cursor_beyond_the_reach_is_refused_before_the_request(rest, sim, faults):
    listing = rest.listing("okx.spot", BTC_USDT)
    old = day_bounds_us(TODAY - TRADES_REACH - timedelta(days=1))[0] // 1000
    with pytest.raises(ConfigError, match=r"beyond the reach of OKX's history-trades \(the last 89 days"):
        rest.trades_between(listing, old, old + 60_000)
    assert requests(sim, HISTORY_TRADES) == 0


def test_a_page_limit_outside_okx_s_range_is_refused(rest):
    listing = rest.listing("okx.spot", BTC_USDT)
    for limit in (0, 101):
        with pytest.raises(ConfigError, match=rf"history-trades limit {limit} is outside 1..100"):
            rest.trades_page(listing, after=10**9, limit=limit)


# --- paging: newest first, exclusive cursors -------------------------------------------------------------------------


def test_the_after_cursor_is_exclusive_for_trade_ids(rest):
    listing = rest.listing("okx.spot", BTC_USDT)
    ids = truth(SPOT)["first_trade_id"]
    cursor = int(ids[500])
    page = rest.trades_page(listing, after=cursor, limit=5)
    assert page["agg_id"].to_list() == ids[495:500].reverse().to_list()  # newest first, the cursor itself excluded


def test_paging_across_page_boundaries_loses_and_repeats_nothing(rest):
    """Three trades a page: an hour crosses dozens of page boundaries, each an exclusive trade-id cursor."""
    listing = rest.listing("okx.spot", BTC_USDT)
    start = day_bounds_us(DAY)[0] // 1000
    frame, before = rest.trades_between(listing, start, start + 3_600_000, limit=3)
    expected = truth(SPOT).filter(pl.col("time").dt.epoch("ms") < start + 3_600_000)
    assert frame["agg_id"].to_list() == expected["first_trade_id"].to_list()
    assert frame["agg_id"].is_unique().all() and frame.height > 3 * 30
    previous = MARKET.day_trades(SPOT, DAY - timedelta(days=1))
    assert before["agg_id"].to_list() == [previous["first_trade_id"][-1]]  # the trade before the hour, from yesterday


def test_trade_ids_are_increasing_but_not_contiguous(rest):
    listing = rest.listing("okx.spot", BTC_USDT)
    start = day_bounds_us(DAY)[0] // 1000
    frame, _ = rest.trades_between(listing, start, start + 600_000)
    gaps = frame["agg_id"].diff().drop_nulls()
    assert (gaps > 0).all() and (gaps > 1).any()


def test_a_cursor_one_above_a_trade_id_returns_that_trade_first(rest):
    listing = rest.listing("okx.spot", BTC_USDT)
    ids = truth(SPOT)["first_trade_id"]
    page = rest.trades_page(listing, after=int(ids[10]) + 1, limit=2)
    assert page["agg_id"].to_list() == [ids[10], ids[9]]


# --- limits -----------------------------------------------------------------------------------------------------------


def test_threads_hammering_one_endpoint_never_earn_a_50011(sim, faults):
    client = OkxRest(sim)
    listing = client.listing("okx.spot", BTC_USDT)
    calls = 2 * LIMITS[HISTORY_TRADES]

    def fetch():
        client.trades_page(listing, after=10**12, limit=1)

    threads = [threading.Thread(target=fetch) for _ in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert requests(sim, HISTORY_TRADES) == calls
    assert statuses(sim).get("429", 0) == 0


def test_a_50011_backs_off_a_window_and_asks_again(rest, sim, faults):
    faults(rate429=0.5)
    listing = rest.listing("okx.spot", BTC_USDT)
    page = rest.trades_page(listing, after=10**12, limit=3)
    assert page.height == 3
    assert statuses(sim)["429"] >= 1


def test_5xx_answers_are_retried(rest, sim, faults):
    faults(error5xx=0.5)  # every second request
    assert rest.listing("okx.spot", BTC_USDT).live and rest.listing("okx.swap", "BTC-USDT-SWAP").live
    assert statuses(sim).get("503", 0) >= 1


def test_the_perpetuals_of_both_venues_are_each_others_counterparts_and_not_the_spot_ones(sim, tmp_path):
    """Cross-venue for perpetuals: Binance USD-M BTCUSDT and OKX's BTC-USDT-SWAP are one asset on two venues, as
    the venues themselves describe them (futures exchangeInfo and public/instruments of the simulator)."""
    from resources.exchange import ExchangeResource
    from streamforge.cross_venue import counterparts

    urls = {name: sim for name in ("STREAMFORGE_REST_URL", "STREAMFORGE_DUMP_URL", "STREAMFORGE_USDM_REST_URL",
                                   "STREAMFORGE_USDM_DUMP_URL", "STREAMFORGE_OKX_REST_URL", "STREAMFORGE_OKX_FILES_URL")}
    exchange = ExchangeResource(urls=urls, cache_dir=str(tmp_path))
    ids = ["binance.usdm.BTCUSDT", "okx.swap.BTC-USDT-SWAP", "binance.spot.BTCUSDT", "okx.spot.BTC-USDT",
           "okx.swap.ETH-USDT-SWAP"]
    identities = {i: exchange.identity(i) for i in ids}
    assert counterparts("binance.usdm.BTCUSDT", identities) == ["okx.swap.BTC-USDT-SWAP"]
    assert counterparts("okx.swap.BTC-USDT-SWAP", identities) == ["binance.usdm.BTCUSDT"]
    assert counterparts("binance.spot.BTCUSDT", identities) == ["okx.spot.BTC-USDT"]
