"""The local order book follows Binance's procedure exactly and arrives at the simulator's true book."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from streamforge.live.feed import BookUpdate, Outcome, Snapshot
from streamforge.sim.book import update_id
from streamforge.sim.market import Market
from streamforge.venues.binance.book import SpotBook
from streamforge.venues.binance.events import DepthEvent

MARKET = Market(7, 1.0)
START = update_id(1_767_268_800_000_000)  # 2026-01-01 12:00 UTC
WINDOW = 100


def event(symbol: str, first: int, final: int) -> BookUpdate:
    diff = MARKET.depth_diff(symbol, first, final, WINDOW)
    depth = DepthEvent(symbol, final * 100_000, first, final, diff.bids, diff.asks)
    return BookUpdate(symbol, depth.row(), depth.event_time_us, depth)


def load(book: SpotBook, symbol: str, at: int) -> bool:
    state = MARKET.book_state(symbol, at, WINDOW)
    return book.load(Snapshot(state.last_update_id, state.bids, state.asks))


def synced_book(symbol: str, at: int) -> SpotBook:
    book = SpotBook(symbol)
    assert load(book, symbol, at)
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
    book = SpotBook(symbol)
    first = START + offset
    events, cursor = [], first
    for span in spans:
        events.append(event(symbol, cursor + 1, cursor + span))
        cursor += span
    buffered = events[: len(events) // 2 + 1]
    for e in buffered:
        assert book.add(e) is Outcome.BUFFERED
    at = min(buffered[0].update.first_update_id + snapshot_lag, buffered[-1].update.final_update_id)
    assert load(book, symbol, at)
    for e in events[len(buffered):]:
        assert book.add(e) is Outcome.APPLIED
        truth = MARKET.book_state(symbol, book.last_update_id, 20)
        assert book.top(20) == (truth.bids, truth.asks)
    truth = MARKET.book_state(symbol, cursor, 20)
    assert book.last_update_id == cursor and book.top(20) == (truth.bids, truth.asks)


def test_events_at_or_below_the_snapshot_are_dropped_and_the_first_applied_straddles_it():
    book = SpotBook("ETHUSDT")
    for first, final in ((START + 1, START + 3), (START + 4, START + 6), (START + 7, START + 9)):
        book.add(event("ETHUSDT", first, final))
    assert load(book, "ETHUSDT", START + 5)
    assert book.last_update_id == START + 9  # (4..6) straddled 5+1, (7..9) followed; (1..3) was dropped
    assert [u.update.first_update_id for u in book.applied()] == [START + 4, START + 7]  # what the depth topic gets
    truth = MARKET.book_state("ETHUSDT", START + 9, 20)
    assert book.top(20) == (truth.bids, truth.asks)


def test_a_snapshot_older_than_every_buffered_event_is_refused():
    book = SpotBook("ETHUSDT")
    book.add(event("ETHUSDT", START + 10, START + 12))
    assert not load(book, "ETHUSDT", START + 8)
    assert not book.synced


def test_a_wild_event_at_the_head_of_the_buffer_does_not_keep_the_book_from_syncing():
    """A corrupt update id far ahead must not make every later snapshot look stale: the first buffered event that
    straddles the snapshot is where the book starts, and the wild one is dropped with what came before it."""
    book = SpotBook("ETHUSDT")
    wild = event("ETHUSDT", START + 10**9, START + 10**9)
    book.add(wild)
    for first, final in ((START + 1, START + 3), (START + 4, START + 6)):
        book.add(event("ETHUSDT", first, final))
    assert load(book, "ETHUSDT", START + 2) and book.synced and book.last_update_id == START + 6
    truth = MARKET.book_state("ETHUSDT", START + 6, 20)
    assert book.top(20) == (truth.bids, truth.asks)


def test_a_gap_discards_the_book_and_restarts_buffering_from_the_event_after_it():
    book = synced_book("BTCUSDT", START)
    assert book.add(event("BTCUSDT", START + 1, START + 2)) is Outcome.APPLIED
    after_gap = event("BTCUSDT", START + 5, START + 6)  # 3..4 were lost
    assert book.add(after_gap) is Outcome.GAP
    assert not book.synced and book.buffer == [after_gap] and not book.bids
    assert load(book, "BTCUSDT", START + 5) and book.synced
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


def test_waiting_for_a_snapshot_keeps_only_the_newest_events_and_still_syncs():
    """While REST is away a book keeps buffering: only the newest `max_buffered` events are kept (any snapshot
    fetched later is newer than the dropped ones), and the book still syncs exactly once a snapshot comes."""
    book = SpotBook("BTCUSDT", max_buffered=100)
    for step in range(1, 5_001):
        assert book.add(event("BTCUSDT", START + step, START + step)) is Outcome.BUFFERED
        assert len(book.buffer) <= 100
    assert [e.update.first_update_id for e in book.buffer] == list(range(START + 4_901, START + 5_001))
    assert not load(book, "BTCUSDT", START + 4_000)  # older than all that is kept
    assert load(book, "BTCUSDT", START + 4_950) and book.synced
    truth = MARKET.book_state("BTCUSDT", START + 5_000, 20)
    assert book.last_update_id == START + 5_000 and book.top(20) == (truth.bids, truth.asks)
