"""The live loader on OKX: the simulator's OKX WebSockets (public and business) and REST over real sockets, a real
broker. Trades are published once and complete across reconnects (repaired by REST from the last published trade);
the book follows the seqId chain and its checksums — a break or a mismatch is a fresh book, counted in /metrics —
and every book the loader publishes is the simulator's true book at its seqId."""

from __future__ import annotations

import polars as pl
import pytest

from live_cases import SEED, metric, read_frame, run_loader
from streamforge.sim.book import update_time_us
from streamforge.sim.market import Market

pytestmark = pytest.mark.slow

SPOT, SWAP = "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP"
MARKET = Market(SEED, 1.0)  # the live simulator's market (tests/live/conftest.py)


def assert_published_once_and_complete(trades: pl.DataFrame) -> None:
    """Each instrument's trades: no id twice, and exactly the market's trades between the first and the last."""
    for (instrument,), group in trades.partition_by("instrument", as_dict=True).items():
        ids = group["agg_id"].sort()
        assert ids.is_unique().all(), f"{instrument}: a trade published twice"
        first, last = group["time"].min(), group["time"].max()
        truth = MARKET.agg_trades(instrument, int(first.timestamp() * 1e6), int(last.timestamp() * 1e6) + 1)
        assert ids.to_list() == truth["first_trade_id"].sort().to_list(), f"{instrument}: trades lost"


def assert_books_are_true(books: pl.DataFrame) -> None:
    assert books.height > 0
    for (instrument, update), rows in books.partition_by("instrument", "last_update_id", as_dict=True).items():
        state = MARKET.book_state(instrument, update, 20)
        factor = MARKET.spec(instrument).contract_size if instrument == SWAP else 1.0
        bids = rows.filter(pl.col("side") == "bid").sort("level")
        assert bids["price"].to_list() == [p for p, _ in state.bids], f"{instrument} at {update}: a wrong book"
        assert bids["qty"].to_list() == pytest.approx([q / factor * factor for _, q in state.bids])
        assert rows["time"].max().timestamp() * 1e6 <= update_time_us(update) + 1_000_000


BOOK_EVENTS = 'streamforge_live_events_total{instrument="okx.spot.BTC-USDT",type="book"}'


def test_okx_trades_books_top_of_book_and_candles_are_published(sim, kafka, live_config):
    klines = 'streamforge_live_events_total{instrument="okx.spot.BTC-USDT",type="kline"}'
    text = run_loader(live_config([SPOT, SWAP]), kafka, lambda t: metric(t, klines) > 0, settle_s=17)  # a minute closes (speed 4)
    assert metric(text, "streamforge_live_book_resyncs_total") == 0
    trades = read_frame(kafka, "live_trades")
    assert set(trades["instrument"]) == {SPOT, SWAP}
    assert_published_once_and_complete(trades)
    swap = trades.filter(pl.col("instrument") == SWAP)
    assert swap["contract_size"].unique().to_list() == [MARKET.spec(SWAP).contract_size]
    assert_books_are_true(read_frame(kafka, "book"))
    assert read_frame(kafka, "depth").height > 0
    top = read_frame(kafka, "bbo")
    assert set(top["instrument"]) == {SPOT, SWAP} and (top["bid_price"] < top["ask_price"]).all()
    candles = read_frame(kafka, "live_klines_1m")
    assert candles.height >= 2 and candles["trade_count"].is_null().all()
    truth = MARKET.klines(SPOT, "1m", *[int(t.timestamp() * 1e6) for t in (candles["open_time"].min(), candles["open_time"].max())])
    mine = candles.filter(pl.col("instrument") == SPOT).sort("open_time").head(truth.height)
    assert mine["close"].to_list() == truth["close"].to_list()[: mine.height]


@pytest.mark.parametrize(
    ("faults", "reason"),
    [({"okx_seq_break": 0.05}, "gap"), ({"okx_bad_checksum": 0.05}, "checksum")],
    ids=["sequence-break", "wrong-checksum"],
)
def test_a_broken_chain_or_a_wrong_checksum_is_a_fresh_book_counted_and_never_published_wrong(sim, kafka, live_config, faults, reason):
    sim.post("/sim/faults", json=faults)
    resynced = f'streamforge_live_book_resyncs_total{{instrument="{SPOT}",reason="{reason}"}}'
    text = run_loader(live_config([SPOT]), kafka, lambda t: metric(t, resynced) >= 2, settle_s=3)
    assert metric(text, resynced) >= 2
    assert_books_are_true(read_frame(kafka, "book"))


def test_a_zero_checksum_is_no_checksum_never_an_error(sim, kafka, live_config):
    sim.post("/sim/faults", json={"okx_zero_checksum": 1})
    text = run_loader(live_config([SPOT]), kafka, lambda t: metric(t, BOOK_EVENTS) > 50, settle_s=2)
    assert metric(text, "streamforge_live_book_resyncs_total") == 0
    assert_books_are_true(read_frame(kafka, "book"))


def test_trades_missed_while_reconnecting_are_fetched_by_rest(sim, kafka, live_config):
    sim.post("/sim/faults", json={"ws_disconnect_s": 3})
    repaired = 'streamforge_live_gap_ids_repaired_total{instrument="okx.spot.BTC-USDT",type="trade"}'
    text = run_loader(live_config([SPOT]), kafka, lambda t: metric(t, repaired) > 0 and 'reason="closed-1001"' in t)
    assert metric(text, repaired) > 0
    assert_published_once_and_complete(read_frame(kafka, "live_trades"))
