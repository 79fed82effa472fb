"""The live loader following a perpetual on the simulator's routed futures streams and a real broker: contiguous
trades, the pu-chain book, closed klines, mark prices and liquidations on their own topics, and both markets'
bookTickers as top of book, beside a spot instrument on the same loader."""

from __future__ import annotations

import time

import httpx
import polars as pl
import pytest

from live_cases import BTC, SEED, assert_contiguous_without_duplicates, metric, read_frame, run_loader
from streamforge.live.loader import LoaderThread
from streamforge.sim.book import update_time_us
from streamforge.sim.market import Market
from streamforge.venues.binance.simulator.usdm_ws import state_of
from streamforge.venues.binance.usdm.live import BinanceUsdmFeed

pytestmark = pytest.mark.slow

PERP = "binance.usdm.BTCUSDT"
MARKET = Market(SEED, 1.0)  # the live simulator's market


def test_a_perpetual_streams_trades_book_mark_prices_liquidations_and_top_of_book_beside_spot(sim, kafka, live_config):
    with LoaderThread(live_config([BTC, PERP]), kafka) as loader:
        url = f"http://127.0.0.1:{loader.http_port}/metrics"
        marks = 'streamforge_live_events_total{instrument="binance.usdm.BTCUSDT",type="live_mark_price"}'
        deadline = time.monotonic() + 60
        while metric(text := httpx.get(url).text, marks) < 5:
            assert time.monotonic() < deadline, "fewer than 5 mark prices streamed within 60 s"
            time.sleep(0.5)
        time.sleep(1.5)
    trades = read_frame(kafka, "live_trades")
    assert set(trades["instrument"]) == {BTC, PERP}
    assert_contiguous_without_duplicates(trades)
    perp = trades.filter(pl.col("instrument") == PERP)
    assert perp["is_best_match"].null_count() == perp.height
    assert perp.drop("is_best_match").equals(
        MARKET.agg_trades(PERP, *_span_us(perp)).drop("is_best_match").filter(pl.col("agg_id").is_in(perp["agg_id"]))
    )
    marks = read_frame(kafka, "live_mark_price")
    assert set(marks["instrument"]) == {PERP} and marks.height >= 5
    assert (marks["mark_price"] / marks["index_price"] - 1).abs().max() < 0.05
    # Liquidations: Binance's snapshot, the latest of each second; exactly the market's, whenever it had any.
    start_us, end_us = _span_us(marks)
    published = read_frame(kafka, "live_liquidations")
    # the loader runs on after the last mark price it published: its last liquidations can be later than that
    expected = MARKET.liquidations(PERP, start_us - 1_000_000, max([end_us] + ([_span_us(published)[1]] if published.height else [])))
    for row in published.iter_rows(named=True):
        same = expected.filter(pl.col("time") == row["time"], pl.col("side") == row["side"])
        assert same.height and same["qty"][-1] == pytest.approx(row["qty"]), row
    inside = expected.filter(pl.col("time").dt.epoch("us").is_between(start_us + 2_000_000, end_us - 2_000_000))
    assert published.height >= min(inside.height, 1)
    book = read_frame(kafka, "book")
    assert PERP in set(book["instrument"])
    # bookTickers of both markets in the top-of-book topic, each the true top of the book state its u names.
    tops = read_frame(kafka, "bbo")
    assert set(tops["instrument"]) == {BTC, PERP}
    for row in tops.iter_rows(named=True):
        perp = row["instrument"] == PERP
        truth = MARKET.book_state(row["instrument"], state_of(row["seq_id"]) if perp else row["seq_id"], 1)
        assert ((row["bid_price"], row["bid_qty"]), (row["ask_price"], row["ask_qty"])) == (truth.bids[0], truth.asks[0])
        if perp:  # futures send their transaction time; spot's has none, so its row has the receive time
            assert row["time"].timestamp() * 1e6 == pytest.approx(update_time_us(state_of(row["seq_id"])))
    assert f'streamforge_live_book_resyncs_total{{instrument="{PERP}",reason="gap"}}' not in text  # no pu break


def test_a_pu_break_in_the_futures_depth_stream_is_a_counted_resync_and_every_book_published_is_the_simulators(
    sim, kafka, live_config
):
    sim.post("/sim/faults", json={"ws_drop": 0.02})  # lost depth diffs break the pu chain; lost trades are repaired
    resynced = f'streamforge_live_book_resyncs_total{{instrument="{PERP}",reason="gap"}}'
    text = run_loader(live_config([PERP]), kafka, lambda t: metric(t, resynced) >= 1, settle_s=2)
    assert metric(text, resynced) >= 1
    books = read_frame(kafka, "book")
    assert books.height and set(books["instrument"]) == {PERP}
    for (update_id,), levels in books.partition_by("last_update_id", as_dict=True).items():
        truth = MARKET.book_state(PERP, state_of(update_id), 20)
        for side, expected in (("bid", truth.bids), ("ask", truth.asks)):
            published = levels.filter(pl.col("side") == side).sort("level").select("price", "qty").rows()
            assert published == expected, f"book at update id {update_id}, {side}s"
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


def _span_us(frame: pl.DataFrame) -> tuple[int, int]:
    times = frame["time"].dt.epoch("us")
    return int(times.min()), int(times.max()) + 1


def test_the_feed_plans_routed_connections_of_at_most_200_streams(sim_url):
    from streamforge.instruments import resolve
    from streamforge.venues import endpoints
    from streamforge.instruments import MARKETS

    instruments = resolve([f"binance.usdm.S{i:03d}USDT" for i in range(60)])
    feed = BinanceUsdmFeed(endpoints(MARKETS["binance.usdm"]), instruments)
    plans = feed.plan()
    feed.close()
    assert {p.url.split("/stream?")[0].rsplit("/", 1)[1] for p in plans} == {"public", "market"}
    assert all(len(p.streams) <= 200 for p in plans)
    assert sum(len(p.streams) for p in plans) == 60 * 6
    assert {s.split("@", 1)[1] for p in plans if "/public/" in p.url for s in p.streams} == {"depth@100ms", "bookTicker"}
