"""A perpetual beside its spot on the page: which pair is shown, the basis from the two last prices, the newest mark
price, and the perpetual's liquidations reaching the spot page too."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.dashboard import perp, rows
from streamforge.dashboard.hub import Client, Hub
from streamforge.dashboard.views import Views

SPOT, PERP = "binance.spot.ETHUSDT", "binance.usdm.ETHUSDT"
US = 1_000_000


def _times(us: list[int]) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def _trades(trades: list[tuple[str, float, int]]) -> pl.DataFrame:
    """(instrument, price, time_us) in arrival order -> AGG_TRADE rows."""
    n = len(trades)
    return pl.DataFrame({
        "instrument": [t[0] for t in trades], "agg_id": list(range(n)), "price": [t[1] for t in trades],
        "qty": [1.0] * n, "first_trade_id": list(range(n)), "last_trade_id": list(range(n)),
        "time": _times([t[2] for t in trades]), "is_buyer_maker": [False] * n, "is_best_match": [True] * n,
        "contract_size": [None] * n,
    })


def _marks(marks: list[tuple[str, int, float]]) -> pl.DataFrame:
    """(instrument, time_us, mark_price) -> MARK_PRICE rows, funding due an hour after each."""
    return pl.DataFrame({
        "instrument": [m[0] for m in marks], "time": _times([m[1] for m in marks]), "mark_price": [m[2] for m in marks],
        "index_price": [m[2] - 1 for m in marks], "estimated_settle_price": [m[2] for m in marks],
        "funding_rate": [0.0001] * len(marks), "next_funding_time": _times([m[1] + 3600 * US for m in marks]),
    })


def _liquidations(liquidations: list[tuple[str, int, str, float, float]]) -> pl.DataFrame:
    """(instrument, time_us, side, price, qty) -> LIQUIDATION rows."""
    return pl.DataFrame({
        "instrument": [x[0] for x in liquidations], "time": _times([x[1] for x in liquidations]),
        "side": [x[2] for x in liquidations], "price": [x[3] for x in liquidations],
        "average_price": [x[3] for x in liquidations], "qty": [x[4] for x in liquidations],
        "filled_qty": [x[4] for x in liquidations], "status": ["FILLED"] * len(liquidations),
    })


@pytest.mark.parametrize(("instrument", "followed", "expected"), [
    (SPOT, [SPOT, PERP], (SPOT, PERP)),
    (PERP, [SPOT, PERP], (SPOT, PERP)),
    (PERP, [PERP], (SPOT, PERP)),  # a perpetual has its panel; its spot's price shows once the spot is followed
    (SPOT, [SPOT, "binance.usdm.BTCUSDT", "not an instrument"], None),
    ("okx.swap.BTC-USDT-SWAP", ["okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP"], None),  # no spot market declared
])
def test_the_pair_shown_is_the_perpetual_with_its_spot(instrument, followed, expected):
    assert perp.pair(instrument, followed) == expected


def test_the_basis_is_perp_minus_spot_and_in_bps_of_spot():
    assert perp.basis(2000.0, 2001.0) == {"basis": 1.0, "basis_bps": pytest.approx(5.0)}
    assert perp.basis(None, 2001.0) == {"basis": None, "basis_bps": None}


def test_a_poll_gives_the_newest_mark_price_and_the_newest_liquidations_per_instrument():
    marks = rows.mark_prices(_marks([(PERP, 3 * US, 3.0), (PERP, 5 * US, 5.0), (PERP, 4 * US, 4.0)]))
    assert marks[PERP].mark == {"time": 5 * US, "mark_price": 5.0, "index_price": 4.0, "funding_rate": 0.0001,
                                "next_funding_time": 3605 * US}
    tape = rows.liquidations(_liquidations([(PERP, i * US, "SELL", 100.0 + i, 0.5) for i in range(5)]), tape=3)
    assert tape[PERP].liquidations == [(i * US, "SELL", 100.0 + i, 0.5) for i in (2, 3, 4)]


@settings(max_examples=60, deadline=None)
@given(
    spot_prices=st.lists(st.floats(100, 200), min_size=1, max_size=12),
    perp_prices=st.lists(st.floats(100, 200), min_size=1, max_size=12),
    data=st.data(),
)
def test_the_basis_comes_from_the_two_last_prices_whatever_the_interleaving(spot_prices, perp_prices, data):
    """Each instrument's trades come in their own order (one Kafka partition each), but the two are interleaved and
    cut into polls anyhow."""
    spot = [(SPOT, p, i * 7 * US) for i, p in enumerate(spot_prices)]
    perps = [(PERP, p, i * 11 * US) for i, p in enumerate(perp_prices)]
    order = data.draw(st.permutations([0] * len(spot) + [1] * len(perps)))
    queues, arrivals = [spot, perps], []
    for which in order:
        arrivals.append(queues[which].pop(0))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(arrivals) - 1))) if len(arrivals) > 1 else set())
    views = Views(candles=10, tape=5, instruments=[])
    for start, end in zip([0, *cuts], [*cuts, len(arrivals)]):
        views.apply(rows.trades(_trades(arrivals[start:end]), tape=5))
    for instrument in (SPOT, PERP):
        shown = perp.panel(views, perp.pair(instrument, views.by_instrument))
        assert (shown["spot_price"], shown["perp_price"]) == (spot_prices[-1], perp_prices[-1])
        assert shown["basis"] == perp_prices[-1] - spot_prices[-1]
        assert shown["basis_bps"] == pytest.approx((perp_prices[-1] / spot_prices[-1] - 1) * 1e4)


@settings(max_examples=60, deadline=None)
@given(times=st.lists(st.integers(0, 10_000), min_size=1, max_size=20, unique=True), data=st.data())
def test_the_newest_mark_price_by_event_time_is_kept_whatever_order_the_polls_bring(times, data):
    arrivals = data.draw(st.permutations(times))
    views = Views(candles=10, tape=5, instruments=[])
    step = data.draw(st.integers(1, 5))
    for chunk in range(0, len(arrivals), step):
        part = arrivals[chunk:chunk + step]
        views.apply(rows.mark_prices(_marks([(PERP, t * US, float(t)) for t in part])))
    assert views.view(PERP).mark["time"] == max(times) * US


def test_a_spot_page_gets_the_perpetual_panel_and_the_perpetuals_new_liquidations():
    views = Views(candles=10, tape=3, instruments=[SPOT])
    views.apply(rows.trades(_trades([(SPOT, 2000.0, US), (PERP, 2001.0, US)]), tape=3))
    views.apply(rows.mark_prices(_marks([(PERP, 2 * US, 2000.9)])))
    views.apply(rows.liquidations(_liquidations([(PERP, i * US, "BUY", 2001.0, 1.0) for i in range(4)]), tape=3))
    hub = Hub(views, push_ms=0, client_queue=8)

    snapshot = json.loads(hub.snapshot(SPOT))
    assert snapshot["perp"] == {"spot": SPOT, "perp": PERP, "spot_price": 2000.0, "perp_price": 2001.0, "basis": 1.0,
                                "basis_bps": pytest.approx(5.0), "mark": views.view(PERP).mark}
    assert snapshot["liquidations"] == [[i * US, "BUY", 2001.0, 1.0] for i in (1, 2, 3)]
    assert json.loads(hub.snapshot("binance.spot.BTCUSDT"))["perp"] is None

    async def push() -> list[dict]:
        page = Client(websocket=None, queue_limit=8)
        page.instrument = SPOT
        hub.clients.add(page)
        hub.push_changes()  # everything above, once
        page.queue.get_nowait()
        views.apply(rows.liquidations(_liquidations([(PERP, 9 * US, "SELL", 1999.0, 2.0)]), tape=3))
        hub.push_changes()  # only the perpetual changed
        return [json.loads(page.queue.get_nowait()) for _ in range(page.queue.qsize())]

    [update] = asyncio.run(push())
    assert update["instrument"] == SPOT and update["trades"] == [] and update["candles"] == []
    assert update["liquidations"] == [[9 * US, "SELL", 1999.0, 2.0]]
    assert update["perp"]["basis"] == 1.0
