"""A UTC day of OKX trades from its daily files (UTC+8 days) and REST, against the simulator over real sockets.

The simulator's market is a pure function of its seed, so every loaded day is compared with the market's own trades:
"complete" means exactly equal — same trade ids, prices, times — whichever sources it came from.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from streamforge.catalog import Cell
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, MalformedDataError, NotAvailableError
from streamforge.venues.okx.files import file_day_bounds_ms, read_trades
from streamforge.venues.okx.listing import Listing

from okx_cases import DAY, MARKET, SPOT, SWAP, TODAY


def assert_is_the_market_s_day(frame: pl.DataFrame, instrument: str, day: date) -> None:
    truth = MARKET.day_trades(instrument, day)
    assert frame["agg_id"].to_list() == truth["first_trade_id"].to_list()
    assert frame["time"].to_list() == truth["time"].to_list()
    assert frame["price"].to_list() == truth["price"].to_list()
    assert frame["is_buyer_maker"].to_list() == truth["is_buyer_maker"].to_list()
    assert np.allclose(frame["qty"].to_numpy(), truth["qty"].to_numpy(), rtol=1e-12, atol=0)


def test_a_utc_day_is_the_end_of_one_utc8_file_and_the_start_of_the_next(spot):
    frame, source = spot.trades_day(Cell(DAY, SPOT))
    assert_is_the_market_s_day(frame, SPOT, DAY)
    assert source["source"] == "files" and source["rows"] == frame.height
    assert "20250107/BTC-USDT-trades-2025-01-07.zip" in source["url"] and "BTC-USDT-trades-2025-01-08.zip" in source["url"]
    assert source["seam"].startswith("checked against REST")
    start, end = day_bounds_us(DAY)
    assert frame["time"].dt.epoch("us").min() >= start and frame["time"].dt.epoch("us").max() < end


def test_the_next_file_not_yet_published_is_filled_from_rest_joined_at_the_file_s_last_trade(spot):
    yesterday = TODAY - timedelta(days=1)  # file UTC+8 TODAY ends at 16:00 UTC today: not published
    frame, source = spot.trades_day(Cell(yesterday, SPOT))
    assert_is_the_market_s_day(frame, SPOT, yesterday)
    assert source["source"] == "files+rest" and "not published yet" in source["reason"]
    [filled] = source["filled_from_rest"]
    first_rest = MARKET.day_trades(SPOT, yesterday).filter(pl.col("time").dt.epoch("ms") >= file_day_bounds_ms(yesterday)[1])
    assert filled["first_id"] == first_rest["first_trade_id"][0] and filled["rows"] == first_rest.height


def test_without_a_file_the_day_comes_from_rest_with_the_reason(spot, faults):
    faults(no_dumps="BTC-USDT:2025-01-07")
    frame, source = spot.trades_day(Cell(DAY, SPOT))
    assert_is_the_market_s_day(frame, SPOT, DAY)
    assert source["source"] == "rest" and "no daily file BTC-USDT-trades-2025-01-07.zip (404)" in source["reason"]


def test_a_damaged_file_falls_back_to_rest_with_the_reason(spot, faults):
    faults(corrupt_zip="BTC-USDT:2025-01-08")
    frame, source = spot.trades_day(Cell(DAY, SPOT))
    assert_is_the_market_s_day(frame, SPOT, DAY)
    assert source["source"] == "rest" and "corrupt zip BTC-USDT-trades-2025-01-08.zip" in source["reason"]


def test_a_malformed_row_fails_the_day_naming_file_row_and_value(spot, faults):
    faults(malformed="BTC-USDT:2025-01-07")
    with pytest.raises(MalformedDataError, match=r"BTC-USDT-trades-2025-01-0[78].zip: row \d+: price = 'not-a-number' is not a positive decimal"):
        spot.trades_day(Cell(DAY, SPOT))


def test_a_day_beyond_rest_s_reach_without_a_file_is_refused_naming_both(spot, faults):
    old = date(2024, 9, 1)
    faults(no_dumps=f"BTC-USDT:{old}")
    with pytest.raises(ConfigError, match=r"okx.spot.BTC-USDT 2024-09-01: no daily file .*\(404\), and trades from .* beyond the reach"):
        spot.trades_day(Cell(old, SPOT))


def test_a_day_beyond_rest_s_reach_with_its_files_loads_from_the_files(spot):
    old = date(2024, 9, 1)
    frame, source = spot.trades_day(Cell(old, SPOT))
    assert_is_the_market_s_day(frame, SPOT, old)
    assert source["source"] == "files" and source["seam"].startswith("not checked: trades from")


def test_a_day_before_the_listing_is_empty_and_says_why(swap):
    frame, source = swap.trades_day(Cell(date(2019, 6, 1), SWAP))
    assert frame.is_empty() and source["source"] == "none" and "listed after 2019-06-01" in source["reason"]


def test_today_is_not_a_completed_day(spot):
    with pytest.raises(ConfigError, match="2025-01-10 is not a completed UTC day on OKX's clock"):
        spot.trades_day(Cell(TODAY, SPOT))


# --- swaps: contracts to base quantity, recorded -------------------------------------------------------------------


def test_swap_sizes_are_contracts_converted_with_ctval_and_the_factor_is_kept(swap):
    frame, _ = swap.trades_day(Cell(DAY, SWAP))
    assert_is_the_market_s_day(frame, SWAP, DAY)
    contract = MARKET.spec(SWAP).contract_size
    assert frame["contract_size"].unique().to_list() == [contract]
    contracts = frame["qty"] / frame["contract_size"]
    assert np.allclose(contracts.to_numpy(), np.round(contracts.to_numpy(), 2), atol=1e-9)  # whole lots of contracts


def test_spot_rows_count_the_base_and_say_so_with_a_null_contract_size(spot):
    frame, _ = spot.trades_day(Cell(DAY, SPOT))
    assert frame["contract_size"].is_null().all() and frame["is_best_match"].is_null().all()


def test_funding_history_is_the_market_s_settlements_with_their_interval(swap):
    funding, source = swap.funding_day(Cell(DAY, SWAP))
    truth = MARKET.funding_rates(SWAP, *day_bounds_us(DAY))
    assert funding["funding_time"].to_list() == truth["funding_time"].to_list() and funding.height == 3
    assert np.allclose(funding["funding_rate"].to_numpy(), truth["funding_rate"].to_numpy(), atol=1e-10)
    assert funding["funding_interval_hours"].to_list() == [8, 8, 8] and funding["mark_price"].is_null().all()
    assert source["rate"] == "realizedRate" and swap.funding_hours(SWAP) == 8


@pytest.mark.parametrize("ask", ["price_klines_day", "open_interest_day"])
def test_what_okx_md_does_not_document_for_swaps_is_refused_by_name(swap, ask):
    with pytest.raises(NotAvailableError, match="okx.md documents no"):
        getattr(swap, ask)(Cell(DAY, SWAP), *(("mark", "1m") if ask == "price_klines_day" else ()))


# --- the file's day cut, as a fact that is checked, not assumed --------------------------------------------------------


def _zip(path, csv: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name.replace(".zip", ".csv"), csv)
    path.write_bytes(buffer.getvalue())


SPOT_LISTING = Listing("okx.spot.BTC-USDT", "BTC-USDT", "live", None, "BTC", "USDT", None, {})


def test_a_file_cut_at_utc_midnight_instead_of_utc8_is_refused(tmp_path):
    path = tmp_path / "BTC-USDT-trades-2025-01-07.zip"
    at_utc_noon = day_bounds_us(DAY)[0] // 1000 + 17 * 3_600_000  # 17:00 UTC: the next UTC+8 day
    _zip(path, f"instrument_name,trade_id,side,price,size,created_time\nBTC-USDT,1,buy,95000.1,0.01,{at_utc_noon}\n")
    with pytest.raises(MalformedDataError, match=r"trade 1 at .* is outside the file's day 2025-01-07 in UTC\+8 .*refused rather than split"):
        read_trades(path, SPOT_LISTING, DAY)


def test_the_older_bilingual_header_is_read_by_its_english_names(tmp_path):
    path = tmp_path / "BTC-USDT-trades-2025-01-07.zip"
    at = file_day_bounds_ms(DAY)[0] + 1000
    _zip(path, f"trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间\n7,sell,0.5,95000.1,{at}\n")
    [row] = read_trades(path, SPOT_LISTING, DAY).to_dicts()
    assert (row["agg_id"], row["qty"], row["price"], row["is_buyer_maker"]) == (7, 0.5, 95000.1, True)


def test_an_unknown_header_is_refused_naming_it(tmp_path):
    path = tmp_path / "BTC-USDT-trades-2025-01-07.zip"
    _zip(path, "id,price,qty,time\n1,2,3,4\n")
    with pytest.raises(MalformedDataError, match="header 'id,price,qty,time' is neither instrument_name,trade_id"):
        read_trades(path, SPOT_LISTING, DAY)
