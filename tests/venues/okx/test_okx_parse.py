"""OKX rows into records: every conversion stated in `venues.okx.parse`, and every bad row refused by name."""

from __future__ import annotations

import pytest

from streamforge.errors import MalformedDataError, UnknownSymbolError
from streamforge.venues.okx import parse
from streamforge.venues.okx.listing import Listing

SRC = "GET test"
TS = "1736208000000"  # 2025-01-07 00:00 UTC


def trade(**change) -> dict:
    return {"instId": "BTC-USDT", "tradeId": "42", "px": "95000.1", "sz": "0.5", "side": "buy", "ts": TS} | change


def candle(ts=TS, o="100", h="110", low="90", c="105", vol="2", vol_ccy="210", vol_quote="210", confirm="1") -> list:
    return [ts, o, h, low, c, vol, vol_ccy, vol_quote, confirm]


def test_a_trade_becomes_one_row_with_the_taker_side_and_ms_times():
    [row] = parse.trades_from_json([trade(side="sell")], "BTC-USDT", "okx.spot.BTC-USDT", None, SRC).to_dicts()
    assert (row["agg_id"], row["first_trade_id"], row["last_trade_id"]) == (42, 42, 42)
    assert row["is_buyer_maker"] is True and row["is_best_match"] is None and row["contract_size"] is None
    assert row["time"].timestamp() * 1000 == int(TS)


def test_a_swap_trade_s_contracts_become_base_units_with_ctval_kept():
    [row] = parse.trades_from_json([trade(instId="BTC-USDT-SWAP", sz="3")], "BTC-USDT-SWAP", "okx.swap.BTC-USDT-SWAP", 0.01, SRC).to_dicts()
    assert row["qty"] == pytest.approx(0.03, rel=1e-15) and row["contract_size"] == 0.01


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instId": "ETH-USDT"}, "row 2: instrument_name = 'ETH-USDT' is not BTC-USDT"),
        ({"tradeId": "-1"}, "row 2: trade_id = '-1' is not a trade id"),
        ({"px": "0"}, "row 2: price = '0' is not a positive decimal"),
        ({"px": "nan"}, "row 2: price = 'nan' is not a positive decimal"),
        ({"sz": "abc"}, "row 2: size = 'abc' is not a positive decimal"),
        ({"side": "BUY"}, "row 2: side = 'BUY' is neither 'buy' nor 'sell'"),
        ({"ts": "1736208000"}, r"row 2: created_time = '1736208000' is not a time in ms"),
        ({"ts": 1736208000000}, r"row 2: field 'ts' = 1736208000000 is not a string"),
    ],
)
def test_a_bad_trade_is_refused_naming_row_field_and_value(change, message):
    with pytest.raises(MalformedDataError, match=f"^{SRC}: {message}"):
        parse.trades_from_json([trade(), trade(**change)], "BTC-USDT", "okx.spot.BTC-USDT", None, SRC)


def test_only_confirmed_candles_are_kept_and_the_open_one_is_counted():
    rows = [candle(ts="1736208060000", confirm="0"), candle()]
    klines, still_open = parse.candles_from_json(rows, "okx.spot.BTC-USDT", "1m", None, SRC)
    assert klines.height == 1 and still_open == 1
    [row] = klines.to_dicts()
    assert (row["volume"], row["quote_volume"]) == (2.0, 210.0)
    assert row["trade_count"] is None and row["taker_buy_base_volume"] is None  # OKX publishes neither


def test_a_swap_candle_takes_its_base_volume_from_volccy():
    [row] = parse.candles_from_json([candle(vol="200", vol_ccy="2", vol_quote="210")], "okx.swap.X", "5m", 0.01, SRC)[0].to_dicts()
    assert (row["volume"], row["quote_volume"]) == (2.0, 210.0)


@pytest.mark.parametrize(
    ("row", "contract", "message"),
    [
        (candle(vol_ccy="211"), None, r"vol_quote = '210' breaks the documented reading volCcy = volCcyQuote"),
        (candle(vol="200", vol_ccy="3"), 0.01, r"vol_ccy = '3' breaks the documented reading vol × ctVal 0.01 = volCcy"),
        (candle(h="80"), None, "high = '80' is below open, close or low"),
        (candle(confirm="2"), None, "confirm = '2' is neither '0' nor '1'"),
        (candle()[:8], None, "row 1: field 8 is missing"),
    ],
)
def test_a_candle_that_breaks_the_documented_reading_is_refused(row, contract, message):
    with pytest.raises(MalformedDataError, match=message):
        parse.candles_from_json([row], "okx.spot.BTC-USDT", "1m", contract, SRC)


def test_funding_rows_take_the_realized_rate_and_their_interval_from_their_spacing():
    row = {"instId": "BTC-USDT-SWAP", "fundingTime": TS, "fundingRate": "0.0002", "realizedRate": "0.00015"}
    later = row | {"fundingTime": str(int(TS) + 8 * 3_600_000), "realizedRate": "-0.0001"}
    rows = parse.funding_from_json([row, later], "BTC-USDT-SWAP", "okx.swap.BTC-USDT-SWAP", SRC)
    got = parse.with_intervals(rows, SRC).to_dicts()
    assert [r["funding_rate"] for r in got] == [0.00015, -0.0001] and [r["funding_interval_hours"] for r in got] == [8, 8]
    assert got[0]["mark_price"] is None
    with pytest.raises(MalformedDataError, match="realizedRate = '' is not a funding rate"):
        parse.funding_from_json([row | {"realizedRate": ""}], "BTC-USDT-SWAP", "okx.swap.BTC-USDT-SWAP", SRC)
    odd = parse.funding_from_json([row, later | {"fundingTime": str(int(TS) + 5 * 3_600_000)}], "BTC-USDT-SWAP", "okx.swap.BTC-USDT-SWAP", SRC)
    with pytest.raises(MalformedDataError, match="spaced 5.0 hours apart: not an interval of whole hours dividing a day"):
        parse.with_intervals(odd, SRC)


def test_an_inverse_swap_is_refused_by_name_rather_than_converted_wrongly():
    row = {
        "instType": "SWAP", "instId": "BTC-USD-SWAP", "uly": "BTC-USD", "ctType": "inverse", "ctVal": "100",
        "ctValCcy": "USD", "listTime": "1500000000000", "state": "live",
    }
    with pytest.raises(UnknownSymbolError, match=r"a swap of ctType 'inverse' whose contracts are worth 100 USD; only linear swaps"):
        Listing.parse(row, "okx.swap", SRC)


def test_an_instrument_field_that_is_not_a_string_is_refused():
    with pytest.raises(MalformedDataError, match=r"field 'listTime' = 1500000000000 is not a string"):
        Listing.parse({"instType": "SPOT", "instId": "BTC-USDT", "listTime": 1500000000000}, "okx.spot", SRC)


@pytest.mark.parametrize("state", ["suspend", "preopen", "test"])
def test_an_instrument_that_is_not_live_is_refused_naming_its_state(state):
    row = {"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "listTime": "1500000000000",
           "state": state}
    listing = Listing.parse(row, "okx.spot", SRC)
    with pytest.raises(UnknownSymbolError, match=rf"^okx.spot.BTC-USDT: OKX lists BTC-USDT in state '{state}', not live$"):
        listing.require_live()
    assert Listing.parse(row | {"state": "live"}, "okx.spot", SRC).require_live().live
