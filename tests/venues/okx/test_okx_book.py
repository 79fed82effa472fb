"""OKX's book procedure (seqId chain, checksums) against the simulator's true book: whatever messages are lost or
corrupted, the local book is either exactly the true book or not synced — never a wrong book."""

from __future__ import annotations

import zlib
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamforge.dates import day_bounds_us
from streamforge.live.feed import BookUpdate, Outcome
from streamforge.sim import book as sim_book
from streamforge.sim.market import Market
from streamforge.venues.okx.book import BookMessage, OkxBook, TextSnapshot, checksum
from streamforge.venues.okx.simulator import wire

MARKET = Market(7, 0.01)
SPOT, SWAP = "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP"
START = sim_book.update_id(day_bounds_us(date(2025, 1, 7))[0] + 12 * 3_600_000_000)
LEVELS = 400


# --- the checksum, as OKX documents it ---------------------------------------------------------------------------


def okx_reference(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """The documented rule written out independently: 'bid:size:ask:size:...' over 25 levels, trailing ':' cut,
    CRC32 as a signed 32-bit integer (as okx-sample-market-maker and the Java SDK compute it)."""
    text = ""
    for i in range(25):
        if i < len(bids):
            text += f"{bids[i][0]}:{bids[i][1]}:"
        if i < len(asks):
            text += f"{asks[i][0]}:{asks[i][1]}:"
    value = zlib.crc32(text[:-1].encode())
    return value if value < 2**31 else value - 2**32


def test_the_checksum_interleaves_bids_and_asks_and_is_a_signed_32_bit_integer():
    bids, asks = [("3366.1", "7")], [("3366.8", "9")]
    assert checksum(bids, asks) == zlib.crc32(b"3366.1:7:3366.8:9") - (2**32 if zlib.crc32(b"3366.1:7:3366.8:9") >= 2**31 else 0)
    deep_bids = [(f"{100 - i}.5", str(i + 1)) for i in range(30)]
    short_asks = [(f"{101 + i}.0", "2") for i in range(3)]  # the longer side continues alone, then stops at 25
    assert checksum(deep_bids, short_asks) == okx_reference(deep_bids, short_asks)
    values = {checksum([(f"{p}.1", "1")], [(f"{p}.2", "1")]) for p in range(200)}
    assert min(values) < 0 < max(values) and all(-(2**31) <= v < 2**31 for v in values)


def test_the_exact_strings_count_not_the_numbers():
    assert checksum([("3366.1", "7")], [("3366.8", "9")]) != checksum([("3366.10", "7")], [("3366.8", "9")])


# --- messages from the simulated market's true book --------------------------------------------------------------------


def text(instrument: str, levels: list[tuple[float, float]]) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(row[:2]) for row in wire.book_rows(MARKET.spec(instrument), levels))


def true_top(instrument: str, update: int, levels: int = 25):
    state = MARKET.book_state(instrument, update, levels)
    return text(instrument, state.bids), text(instrument, state.asks)


def message(instrument: str, action: str, seq: int, prev: int, bids, asks, check: int) -> BookUpdate:
    return BookUpdate(instrument, {}, seq * 100_000, BookMessage(action, seq, prev, check, seq * 100_000, bids, asks))


def snapshot(instrument: str, update: int, with_checksum: bool = True) -> BookUpdate:
    state = MARKET.book_state(instrument, update, LEVELS)
    bids, asks = text(instrument, state.bids), text(instrument, state.asks)
    return message(instrument, "snapshot", update, -1, bids, asks, checksum(*true_top(instrument, update)) if with_checksum else 0)


def updates(instrument: str, steps: list[int]) -> list[BookUpdate]:
    """Updates from START through the given step sizes (100 ms each), chained, each with the true checksum."""
    out, previous = [], START
    for step in steps:
        now = previous + step
        diff = MARKET.depth_diff(instrument, previous + 1, now, LEVELS)
        out.append(message(instrument, "update", now, previous, text(instrument, diff.bids), text(instrument, diff.asks),
                           checksum(*true_top(instrument, now))))
        previous = now
    return out


def assert_true_or_unsynced(book: OkxBook, instrument: str) -> None:
    if book.synced:
        assert book.text_top() == tuple(map(list, true_top(instrument, book.last_update_id))), "a wrong book"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instrument=st.sampled_from([SPOT, SWAP]),
    steps=st.lists(st.integers(1, 30), min_size=1, max_size=12),
    faults=st.lists(st.sampled_from(["none", "none", "none", "drop", "checksum", "zero"]), min_size=12, max_size=12),
)
def test_whatever_is_lost_or_corrupted_the_book_is_true_or_not_synced(instrument, steps, faults):
    book = OkxBook(instrument, MARKET.spec(instrument).contract_size if instrument == SWAP else None, max_levels=LEVELS)
    assert book.add(snapshot(instrument, START)) is Outcome.APPLIED
    assert_true_or_unsynced(book, instrument)
    broke = False
    for update, fault in zip(updates(instrument, steps), faults):
        m = update.update
        if fault == "drop":
            broke = True
            continue
        if fault == "checksum":
            update = message(instrument, "update", m.seq_id, m.prev_seq_id, m.bids, m.asks, m.checksum + 1 or 1)
        elif fault == "zero":
            update = message(instrument, "update", m.seq_id, m.prev_seq_id, m.bids, m.asks, 0)
        outcome = book.add(update)
        if broke:
            assert outcome in (Outcome.BUFFERED, Outcome.GAP) and not book.synced
        elif fault == "checksum":
            assert outcome is Outcome.CHECKSUM and not book.synced
            broke = True
        else:
            assert outcome is Outcome.APPLIED  # a zero checksum is "no checksum", never an error
        assert_true_or_unsynced(book, instrument)


def test_a_rest_snapshot_restarts_the_book_and_replays_what_follows_it():
    later = updates(SPOT, [3, 2, 4, 1])
    book = OkxBook(SPOT, None, max_levels=LEVELS)
    for update in later:
        assert book.add(update) is Outcome.BUFFERED
    middle = later[1].update.seq_id  # the state after the second update: the third straddles it
    state = MARKET.book_state(SPOT, middle, LEVELS)
    rest = TextSnapshot(middle, state.bids, state.asks, text(SPOT, state.bids), text(SPOT, state.asks))
    assert book.load(rest) and book.synced and book.last_update_id == later[-1].update.seq_id
    assert_true_or_unsynced(book, SPOT)
    assert [u.update.seq_id for u in book.applied()] == [u.update.seq_id for u in later[2:]]


def test_a_rest_snapshot_older_than_every_buffered_update_is_refused():
    later = updates(SPOT, [3, 2])[1:]  # the first update is gone: nothing straddles the START snapshot
    book = OkxBook(SPOT, None)
    book.add(later[0])
    state = MARKET.book_state(SPOT, START, LEVELS)
    assert not book.load(TextSnapshot(START, state.bids, state.asks, text(SPOT, state.bids), text(SPOT, state.asks)))
    assert not book.synced


def test_a_repeat_and_a_keep_alive_change_nothing():
    book = OkxBook(SPOT, None, max_levels=LEVELS)
    book.add(snapshot(SPOT, START))
    [update] = updates(SPOT, [2])
    assert book.add(update) is Outcome.APPLIED
    assert book.add(update) is Outcome.IGNORED
    seq = update.update.seq_id
    assert book.add(message(SPOT, "update", seq, seq, (), (), 0)) is Outcome.IGNORED
    assert book.synced and book.last_update_id == seq


def test_a_swap_s_levels_are_published_in_base_units():
    contract = MARKET.spec(SWAP).contract_size
    book = OkxBook(SWAP, contract, max_levels=LEVELS)
    book.add(snapshot(SWAP, START))
    state = MARKET.book_state(SWAP, START, 5)
    bids, asks = book.top(5)
    assert [p for p, _ in bids] == [p for p, _ in state.bids]
    assert all(abs(q - t) < 1e-9 for (_, q), (_, t) in zip(bids + asks, state.bids + state.asks))
