"""Runs sized by data volume: every cell in exactly one run, a run's estimated trades and cells within the limits
(a busier cell alone excepted), and every run a box of consecutive days × instruments consecutive in the dimension's
order, all of one market: one partition range."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.catalog import cell_key, parse_cell
from streamforge.errors import ConfigError
from streamforge.run_sizes import Run, plan_runs, stored_trades_per_day, trades_per_day
from streamforge.schemas import AGG_TRADE
from streamforge.store import EmbeddedStore
from trade_frames import trades_frame

FIRST = date(2025, 3, 1)
POOL = [f"binance.spot.S{n:02d}" for n in range(8)] + [f"binance.usdm.P{n:02d}" for n in range(4)]


@st.composite
def backfills(draw):
    order = draw(st.permutations(POOL).map(lambda p: p[: draw(st.integers(1, len(POOL)))]))
    wanted = draw(st.lists(st.sampled_from(order), min_size=1, unique=True))
    volume = st.one_of(st.none(), st.integers(0, 3_000), st.integers(0, 30_000))
    per_day = {i: draw(volume) for i in order}
    days = [FIRST + timedelta(days=i) for i in range(draw(st.integers(1, 40)))]
    return days, wanted, order, per_day, draw(st.integers(1, 20_000)), draw(st.integers(1, 60))


@given(backfills())
def test_every_cell_is_in_exactly_one_run_and_no_run_is_over_its_limits_unless_one_cell_is(case):
    days, wanted, order, per_day, trades, cells = case
    runs = plan_runs(days, wanted, order, per_day, trades, cells)
    planned = [c for run in runs for c in run.cells]
    assert sorted(planned) == sorted(cell_key(i, d) for d in days for i in wanted)
    for run in runs:
        assert len(run.cells) <= cells
        assert run.trades == sum(per_day[parse_cell(c).instrument] or 0 for c in run.cells)
        assert run.trades <= trades or len(run.cells) == 1


@given(backfills())
def test_every_run_is_a_box_of_days_and_consecutive_instruments_of_one_market(case):
    days, wanted, order, per_day, trades, cells = case
    for run in plan_runs(days, wanted, order, per_day, trades, cells):
        first, last = (order.index(i) for i in (run.instruments[0], run.instruments[-1]))
        assert list(run.instruments) == order[first:last + 1]
        assert len({i.split(".")[1] for i in run.instruments}) == 1
        assert run.cells == [cell_key(i, d) for d in run.days for i in run.instruments]


@settings(max_examples=40, deadline=None)
@given(backfills())
def test_each_runs_partition_range_covers_exactly_its_cells_in_dagster(case):
    """The claim the launcher relies on, asked of Dagster itself: a range of two-dimensional keys is the box of its
    ends' days × the instruments between its ends in the dimension's order."""
    import dagster as dg

    days, wanted, order, per_day, trades, cells = case
    cells_def = dg.MultiPartitionsDefinition({
        "date": dg.DailyPartitionsDefinition(start_date=FIRST.isoformat(), end_date="2025-05-01"),
        "instrument": dg.StaticPartitionsDefinition(order),
    })
    for run in plan_runs(days, wanted, order, per_day, trades, cells):
        covered = cells_def.get_partition_keys_in_range(dg.PartitionKeyRange(*run.partition_range))
        assert sorted(covered) == sorted(run.cells)


def test_a_busy_instrument_gets_a_run_per_day_and_quiet_ones_share_days_and_runs():
    order = ["binance.spot.BTCUSDT", "binance.spot.DOGEUSDT", "binance.spot.ETHUSDT", "binance.spot.XRPUSDT"]
    per_day = {order[0]: 1_500_000, order[1]: 20_000, order[2]: 900_000, order[3]: 30_000}
    days = [FIRST + timedelta(days=i) for i in range(4)]
    runs = plan_runs(days, order, order, per_day, trades_per_run=1_000_000, cells_per_run=50)
    assert [(len(r.days), r.instruments, r.trades) for r in runs] == (
        [(1, (order[0],), 1_500_000)] * 4 + [(1, tuple(order[1:]), 950_000)] * 4)  # busiest first
    quiet = plan_runs(days, order[1::2], order, per_day, trades_per_run=1_000_000, cells_per_run=50)
    # ETHUSDT lies between them in the order but is not asked for: no box may span it
    assert [(len(r.days), r.instruments) for r in quiet] == [(4, (order[3],)), (4, (order[1],))]


def test_quiet_instruments_fill_a_run_up_to_the_cells_it_may_hold():
    order = [f"binance.spot.Q{n:03d}" for n in range(120)]
    days = [FIRST + timedelta(days=i) for i in range(30)]
    runs = plan_runs(days, order, order, dict.fromkeys(order, 100), trades_per_run=5_000_000, cells_per_run=50)
    # blocks of 50, 50 and 20 instruments: a day per run of each of the first two, two days per run of the third
    assert len(runs) == 30 + 30 + 15
    assert max(len(r.cells) for r in runs) == 50


def test_unknown_volume_is_bounded_by_the_number_of_cells_alone():
    order = ["binance.spot.AAA", "binance.spot.BBB"]
    runs = plan_runs([FIRST, FIRST + timedelta(days=1)], order, order, {}, trades_per_run=1, cells_per_run=4)
    assert runs == [Run(FIRST, FIRST + timedelta(days=1), tuple(order), 0)]


def test_days_split_into_runs_of_nearly_equal_length():
    runs = plan_runs([FIRST + timedelta(days=i) for i in range(10)], ["binance.spot.AAA"], ["binance.spot.AAA"],
                     {"binance.spot.AAA": 100}, trades_per_run=400, cells_per_run=50)
    assert sorted(len(r.days) for r in runs) == [3, 3, 4]


@pytest.mark.parametrize(
    ("days", "wanted", "trades", "message"),
    [
        ([FIRST, FIRST + timedelta(days=2)], ["binance.spot.AAA"], 10, "the days of a backfill must be consecutive"),
        ([FIRST], ["binance.spot.ZZZ"], 10, "binance.spot.ZZZ not in the instrument order"),
        ([FIRST], ["binance.spot.AAA"], 0, "a run must be allowed at least one trade and one cell"),
    ],
)
def test_a_plan_that_cannot_be_made_says_why(days, wanted, trades, message):
    with pytest.raises(ConfigError, match=message):
        plan_runs(days, wanted, ["binance.spot.AAA"], {}, trades, 5)


def test_the_stored_days_of_an_instrument_give_its_mean_trades_per_day(tmp_path):
    store = EmbeddedStore(tmp_path)
    for day, rows in [(FIRST, 300), (FIRST + timedelta(days=1), 100)]:
        offsets = list(range(0, rows * 1000, 1000))
        frame = trades_frame(offsets, [1.0] * rows, [1.0] * rows, instrument="okx.spot.BTC-USDT", day=day)
        store.replace_partition("trades", AGG_TRADE, "okx.spot.BTC-USDT", day, frame)
    assert stored_trades_per_day(store, ["okx.spot.BTC-USDT", "okx.spot.ETH-USDT"]) == {"okx.spot.BTC-USDT": 200}
    # OKX publishes no trade count: its instruments are estimated from the store, or not at all
    estimates = trades_per_day(["okx.spot.BTC-USDT", "okx.spot.ETH-USDT"], store)
    assert estimates == {"okx.spot.BTC-USDT": 200, "okx.spot.ETH-USDT": None}
