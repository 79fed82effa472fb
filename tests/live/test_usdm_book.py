"""The futures book follows Binance's USD-M procedure (straddle, then the pu chain) and, whatever events are lost,
duplicated or late, is never a wrong book: whenever it is synced its top equals the simulator's true book, and a
break of the chain is a resync (GAP), counted by the loader."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from streamforge.live.feed import BookUpdate, Outcome, Snapshot
from streamforge.sim.book import update_id
from streamforge.sim.market import Market
from streamforge.venues.binance.events import DepthEvent
from streamforge.venues.binance.simulator.usdm_ws import snapshot_id, state_of, wire_ids
from streamforge.venues.binance.usdm.book import FuturesBook
from streamforge.venues.binance.usdm.events import FuturesDepth

MARKET = Market(7, 1.0)
START = update_id(1_767_268_800_000_000)  # 2026-01-01 12:00 UTC
WINDOW = 100
PERP = "binance.usdm.BTCUSDT"


def event(first: int, final: int) -> BookUpdate:
    """The simulator's futures diff from state first - 1 to state final, with its wire ids (U, u, pu)."""
    diff = MARKET.depth_diff(PERP, first, final, WINDOW)
    u_first, u_final, pu = wire_ids(first, final)
    depth = DepthEvent(PERP, final * 100_000, u_first, u_final, diff.bids, diff.asks)
    return BookUpdate(PERP, depth.row(), depth.event_time_us, FuturesDepth(depth, pu))


def snapshot(state: int) -> Snapshot:
    truth = MARKET.book_state(PERP, state, WINDOW)
    return Snapshot(snapshot_id(state), truth.bids, truth.asks)


def true_top(book: FuturesBook) -> tuple:
    truth = MARKET.book_state(PERP, state_of(book.last_update_id), 20)
    return truth.bids, truth.asks


def chain(first: int, spans: list[int]) -> list[BookUpdate]:
    events, cursor = [], first
    for span in spans:
        events.append(event(cursor + 1, cursor + span))
        cursor += span
    return events


def test_u_is_not_the_previous_u_plus_one_but_pu_is_the_previous_u():
    a, b = chain(START, [3, 2])
    assert b.update.first_update_id != a.update.final_update_id + 1
    assert b.update.previous_final_update_id == a.update.final_update_id


def test_the_first_event_applied_straddles_the_snapshot_and_older_ones_are_dropped():
    book = FuturesBook(PERP)
    events = chain(START, [3, 3, 3])
    for e in events:
        assert book.add(e) is Outcome.BUFFERED
    assert book.load(snapshot(START + 5))  # inside the second event (states 4..6)
    assert [u.update.final_update_id for u in book.applied()] == [e.update.final_update_id for e in events[1:]]
    assert book.top(20) == true_top(book)


def test_a_snapshot_no_buffered_event_straddles_is_refused():
    book = FuturesBook(PERP)
    book.add(event(START + 10, START + 12))
    assert not book.load(snapshot(START + 5))
    assert not book.synced


@settings(max_examples=30, deadline=None)
@given(
    offset=st.integers(0, 50_000),
    spans=st.lists(st.integers(1, 20), min_size=2, max_size=40),
    fate=st.lists(st.sampled_from(["send", "send", "send", "send", "drop", "duplicate", "late"]), min_size=40, max_size=40),
    snapshot_lag=st.integers(0, 3),
)
def test_whatever_is_lost_the_book_is_right_whenever_it_is_synced(offset, spans, fate, snapshot_lag):
    events = chain(START + offset, spans)
    sent: list[BookUpdate] = []
    late = None
    for e, what in zip(events, fate):
        if what == "drop":
            continue
        sent += [e, e] if what == "duplicate" else [e]
        if late is not None:
            sent.append(late)
            late = None
        if what == "late":
            late, sent = sent[-1], sent[:-1]
    book, gaps = FuturesBook(PERP), 0
    for e in sent:
        outcome = book.add(e)
        gaps += outcome is Outcome.GAP
        if not book.synced and book.buffer:  # fetch a snapshot of a state the first buffered event straddles
            first = book.buffer[0].update
            state = min(state_of(first.first_update_id) + 1 + snapshot_lag, state_of(first.final_update_id))
            assert book.load(snapshot(state))
        if book.synced:
            assert book.top(20) == true_top(book)
    if all(what in ("send", "duplicate") for what in fate[: len(events)]):
        assert gaps == 0


def test_a_snapshot_newer_than_every_buffered_event_is_followed_by_the_event_that_straddles_it():
    """REST can answer before the stream has caught up: the book is the snapshot, and the next event (whose pu is
    older than the snapshot) straddles it and is applied — not a gap and a resync, again and again."""
    book = FuturesBook(PERP)
    book.add(event(START + 1, START + 3))
    assert book.load(snapshot(START + 5)) and book.synced and book.last_update_id == snapshot_id(START + 5)
    assert book.add(event(START + 4, START + 7)) is Outcome.APPLIED
    assert book.add(event(START + 8, START + 9)) is Outcome.APPLIED
    assert book.top(20) == true_top(book)
    assert book.add(event(START + 11, START + 12)) is Outcome.GAP  # after that, the pu chain again
