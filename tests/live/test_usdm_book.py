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


def test_a_pu_break_mid_stream_is_a_gap_the_book_is_dropped_and_after_the_resync_it_is_the_simulators():
    book = FuturesBook(PERP)
    before, lost, after, *rest = chain(START, [2, 3, 2, 4, 1])
    book.add(before)
    assert book.load(snapshot(START + 1))
    assert book.synced and book.top(20) == true_top(book)
    assert book.add(after) is Outcome.GAP  # `lost` never came: after's pu is lost's u, not the book's
    assert after.update.previous_final_update_id == lost.update.final_update_id != before.update.final_update_id
    assert not book.synced and book.top(20) == ([], []) and book.buffer == [after]
    for e in rest:
        assert book.add(e) is Outcome.BUFFERED
    assert not book.load(snapshot(START + 2))  # older than every buffered event: refused, fetched again
    assert book.load(snapshot(state_of(after.update.final_update_id) - 1))  # inside `after`: it straddles
    assert book.synced and book.last_update_id == rest[-1].update.final_update_id
    assert book.top(20) == true_top(book)


def test_a_snapshot_newer_than_every_buffered_event_is_joined_by_the_next_event_that_straddles_or_continues_it():
    """REST can answer with a state the stream has not sent yet: the buffered events are all older, and the next one
    to arrive either straddles the snapshot (its pu older than the snapshot's id) or ends at it and is old news (then
    the one after continues it: pu = the snapshot's id). Either joins it; one that does neither is a gap."""
    older, straddling, following = chain(START, [2, 3, 2])
    book = FuturesBook(PERP)
    assert book.add(older) is Outcome.BUFFERED
    assert book.load(snapshot(START + 4))  # older ends at START + 2; straddling covers START + 3 .. START + 5
    assert [book.add(straddling), book.add(following)] == [Outcome.APPLIED, Outcome.APPLIED]
    assert book.top(20) == true_top(book)

    book = FuturesBook(PERP)
    book.add(older)
    assert book.load(snapshot(START + 5))  # the state straddling ends at
    assert [book.add(straddling), book.add(following)] == [Outcome.IGNORED, Outcome.APPLIED]
    assert book.top(20) == true_top(book)

    book = FuturesBook(PERP)
    assert book.load(snapshot(START + 2))  # nothing buffered yet
    assert book.add(following) is Outcome.GAP  # straddling never came
