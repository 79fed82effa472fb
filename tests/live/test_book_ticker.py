"""The simulator's bookTicker streams come from the same book as its depth streams: whenever a client keeping the book
from the depth stream has applied the event ending at update id u, its best bid and ask are those of the last
bookTicker at or before u — Binance pushes every change of the top in real time, and depth diffs batch many updates.
Both streams are cut by the simulator's own tick functions and read back through the loader's parsers and books."""

from __future__ import annotations

import json

import pytest

from streamforge.live.feed import BookUpdate, Outcome, Snapshot
from streamforge.sim.book import update_id
from streamforge.sim.market import Market
from streamforge.venues.binance import events
from streamforge.venues.binance.book import SpotBook
from streamforge.venues.binance.simulator import usdm_ws, ws
from streamforge.venues.binance.usdm import events as usdm_events
from streamforge.venues.binance.usdm.book import FuturesBook

MARKET = Market(7, 1.0)
START_US = 1_767_268_800_000_000  # 2026-01-01 12:00 UTC
WINDOW = 100
STEPS_US = [20_000, 130_000, 50_000, 1_250_000, 80_000, 400_000]  # the ticks fall anywhere, several states apart


def stream(symbol: str, suffix: str, futures: bool) -> ws.Stream:
    kind, every = ("depth", 1) if suffix == "depth@100ms" else ("depth", 10) if suffix == "depth" else (suffix, 1)
    return ws.Stream(f"{symbol.lower()}@{suffix}", symbol, kind, every, key=f"binance.usdm.{symbol}" if futures else "")


def streamed(symbol: str, depth: str, futures: bool, ticks: int) -> list[dict]:
    """The depth and bookTicker events of `ticks` simulator ticks, in the order they were sent."""
    feed = usdm_ws.UsdmFeed if futures else ws.Feed
    feeds = [feed(stream(symbol, suffix, futures), START_US) for suffix in (depth, "bookTicker")]
    sent, now = [], START_US
    for i in range(ticks):
        now += STEPS_US[i % len(STEPS_US)]
        found = usdm_ws.collect(MARKET, feeds, WINDOW, now) if futures else ws.collect(MARKET, feeds, WINDOW, now, 1)
        sent += [json.loads(text) for _, text in found]
    return sent


@pytest.mark.parametrize("futures", [False, True], ids=["spot", "usdm"])
@pytest.mark.parametrize(("symbol", "depth"), [("BTCUSDT", "depth@100ms"), ("DOGEUSDT", "depth@100ms"), ("BTCUSDT", "depth")])
def test_the_book_the_depth_stream_builds_has_the_top_of_the_last_book_ticker_at_or_before_its_update_id(symbol, depth, futures):
    key = f"binance.usdm.{symbol}" if futures else symbol
    start = update_id(START_US)
    truth = MARKET.book_state(key, start, WINDOW)
    if futures:
        book = FuturesBook(key, WINDOW)
        book.load(Snapshot(usdm_ws.snapshot_id(start), truth.bids, truth.asks))
    else:
        book = SpotBook(key, WINDOW)
        book.load(Snapshot(start, truth.bids, truth.asks))
    sent = streamed(symbol, depth, futures, 60)
    # Separate streams keep no order between them: each depth event is matched with the bookTickers by update id.
    tickers = [usdm_events.book_ticker(e, key) if futures else events.book_ticker(e, key, 0) for e in sent if "B" in e]
    same_u = earlier = 0
    for event in (e for e in sent if "B" not in e):
        parsed = usdm_events.depth_update(event, key) if futures else events.depth_update(event, key)
        assert book.add(BookUpdate(key, {}, 0, parsed)) is Outcome.APPLIED
        bids, asks = book.top(1)
        before = [t for t in tickers if t["seq_id"] <= parsed.final_update_id]
        if not before:  # the top has not changed since the snapshot
            assert (bids[0], asks[0]) == (truth.bids[0], truth.asks[0])
            continue
        last = before[-1]
        assert (bids[0], asks[0]) == ((last["bid_price"], last["bid_qty"]), (last["ask_price"], last["ask_qty"]))
        same_u += last["seq_id"] == parsed.final_update_id
        earlier += last["seq_id"] < parsed.final_update_id
    assert same_u > 0, "no depth event had a bookTicker of its own update id"
    if symbol == "DOGEUSDT":
        assert earlier > 0, "every top changed at every state: the closest earlier bookTicker was never needed"


def test_a_book_ticker_is_sent_for_each_state_whose_top_changed_and_not_for_the_others():
    sent = [e for e in streamed("DOGEUSDT", "depth@100ms", False, 20) if "B" in e]
    start, states = update_id(START_US), sorted(e["u"] for e in sent)
    tops = MARKET.book_tops([("DOGEUSDT", start, states[-1])])[0]
    changed = [start + i for i in range(1, len(tops)) if (tops[i] != tops[i - 1]).any()]
    assert states == changed and len(changed) < len(tops) - 1
