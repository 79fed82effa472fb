"""The local order book follows Binance's procedure exactly and arrives at the simulator's true book."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from streamforge.venues.binance.book import LocalBook, Outcome
from streamforge.venues.binance.events import DepthEvent
from streamforge.sim.book import update_id
from streamforge.sim.market import Market

MARKET = Market(7, 1.0)
START = update_id(1_767_268_800_000_000)  # 2026-01-01 12:00 UTC
WINDOW = 100


def event(symbol: str, first: int, final: int) -> DepthEvent:
    diff = MARKET.depth_diff(symbol, first, final, WINDOW)
    return DepthEvent(symbol, final * 100_000, first, final, diff.bids, diff.asks)


def synced_book(symbol: str, at: int) -> LocalBook:
    book = LocalBook(symbol)
    snapshot = MARKET.book_state(symbol, at, WINDOW)
    assert book.load_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
    return book


@settings(max_examples=25, deadline=None)
@given(
    symbol=st.sampled_from(["BTCUSDT", "ETHUSDT", "XRPUSDT", "DOGEUSDT"]),
    offset=st.integers(0, 50_000),
    spans=st.lists(st.integers(1, 30), min_size=1, max_size=40),
    snapshot_lag=st.integers(0, 5),
)
def test_snapshot_plus_buffered_diffs_equals_the_true_book_at_every_step(symbol, offset, spans, snapshot_lag):
    """Buffer from the subscription on, take a snapshot taken a little later, apply: the top 20 levels are the
    simulator's true book after every event, however the events group the 100 ms steps."""
    book = LocalBook(symbol)
    first = START + offset
    events, cursor = [], first
    for span in spans:
        events.append(event(symbol, cursor + 1, cursor + span))
        cursor += span
    buffered = events[: len(events) // 2 + 1]
    for e in buffered:
        assert book.add(e) is Outcome.BUFFERED
    at = min(buffered[0].first_update_id + snapshot_lag, buffered[-1].final_update_id)
    snapshot = MARKET.book_state(symbol, at, WINDOW)
    assert book.load_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
    for e in events[len(buffered):]:
        assert book.add(e) is Outcome.APPLIED
        truth = MARKET.book_state(symbol, book.last_update_id, 20)
        assert book.top(20) == (truth.bids, truth.asks)
    truth = MARKET.book_state(symbol, cursor, 20)
    assert book.last_update_id == cursor and book.top(20) == (truth.bids, truth.asks)


def test_events_at_or_below_the_snapshot_are_dropped_and_the_first_applied_straddles_it():
    book = LocalBook("ETHUSDT")
    for first, final in ((START + 1, START + 3), (START + 4, START + 6), (START + 7, START + 9)):
        book.add(event("ETHUSDT", first, final))
    snapshot = MARKET.book_state("ETHUSDT", START + 5, WINDOW)
    assert book.load_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
    assert book.last_update_id == START + 9  # (4..6) straddled 5+1, (7..9) followed; (1..3) was dropped
    truth = MARKET.book_state("ETHUSDT", START + 9, 20)
    assert book.top(20) == (truth.bids, truth.asks)


def test_a_snapshot_older_than_the_first_buffered_event_is_refused():
    book = LocalBook("ETHUSDT")
    book.add(event("ETHUSDT", START + 10, START + 12))
    snapshot = MARKET.book_state("ETHUSDT", START + 8, WINDOW)
    assert not book.load_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks)
    assert not book.synced


def test_a_gap_discards_the_book_and_restarts_buffering_from_the_event_after_it():
    book = synced_book("BTCUSDT", START)
    assert book.add(event("BTCUSDT", START + 1, START + 2)) is Outcome.APPLIED
    after_gap = event("BTCUSDT", START + 5, START + 6)  # 3..4 were lost
    assert book.add(after_gap) is Outcome.GAP
    assert not book.synced and book.buffer == [after_gap] and not book.bids
    snapshot = MARKET.book_state("BTCUSDT", START + 5, WINDOW)
    assert book.load_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks) and book.synced
    assert book.top(20) == (MARKET.book_state("BTCUSDT", START + 6, 20).bids, MARKET.book_state("BTCUSDT", START + 6, 20).asks)


def test_old_events_are_ignored_and_an_overlapping_one_is_applied_idempotently():
    book = synced_book("XRPUSDT", START)
    book.add(event("XRPUSDT", START + 1, START + 4))
    assert book.add(event("XRPUSDT", START + 1, START + 3)) is Outcome.IGNORED
    assert book.add(event("XRPUSDT", START + 3, START + 6)) is Outcome.APPLIED  # U <= id + 1: fine
    truth = MARKET.book_state("XRPUSDT", START + 6, 20)
    assert book.top(20) == (truth.bids, truth.asks)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "DOGEUSDT"])
def test_rest_snapshots_and_streamed_diffs_share_update_ids(symbol):
    """State k of the book is the same whether asked as a snapshot or reached by diffs (ids are 100 ms steps)."""
    book = synced_book(symbol, START)
    book.add(event(symbol, START + 1, START + 600))  # one minute in one event
    truth = MARKET.book_state(symbol, START + 600, 20)
    assert book.top(20) == (truth.bids, truth.asks)
