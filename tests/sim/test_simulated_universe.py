"""A universe of 200 assets: a realistic cross-section, listings and delistings on known dates, and the wire formats
(REST, dumps, WebSocket) still agreeing exactly for its symbols."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE
from streamforge.sim.assets import CORE, universe
from streamforge.sim.calendar import MICROSECOND_DUMPS_FROM, US_PER_DAY, day_of, day_start_us
from streamforge.sim.market import Market
from streamforge.sim.runner import running_simulator, sim_client
from streamforge.sim.server import SimConfig
from streamforge.sim.universe import Universe

from sim_cases import DAY, SEED, TODAY, US_HEADER, peak_lag

SIZE = 200
UNIVERSE = Universe(SIZE)
SPOT = UNIVERSE.of_market("binance.spot")
VOLUME = 0.05  # the busiest generated symbol trades ~4 times a second at the server's speed
SPEED = 60.0
GENERATED = [i for i in SPOT.values() if i.base_asset not in {a.name for a in CORE}]
BUSIEST = max((i for i in GENERATED if i.listed is None and i.delisted is None), key=lambda i: i.agg_trades_per_day)
LISTED = max((i for i in SPOT.values() if i.listed and i.listed < DAY), key=lambda i: i.listed)
DELISTED = max((i for i in SPOT.values() if i.delisted and i.listed is None and i.delisted < DAY), key=lambda i: i.delisted)
UPCOMING = min((i for i in SPOT.values() if i.listed and i.listed > TODAY), key=lambda i: i.listed)


@pytest.fixture(scope="module")
def universe_market() -> Market:
    return Market(SEED, VOLUME, universe=SIZE)


@pytest.fixture(scope="module")
def universe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = SimConfig(
        seed=SEED, volume=VOLUME, universe=SIZE, today=TODAY, speed=SPEED, depth_window=100,
        cache_dir=tmp_path_factory.mktemp("sim-cache"),
    )
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def uapi(universe_url: str) -> Iterator[httpx.Client]:
    with sim_client(universe_url) as client:
        yield client


def day_of_returns(market: Market, asset: str, day: date, step_s: int) -> np.ndarray:
    return np.diff(market.prices.log_path(asset, day)[::step_s])


# --- the cross-section -----------------------------------------------------------------------------------------


def test_a_universe_is_a_prefix_of_a_larger_one_and_keeps_the_core_roles():
    small, large = universe(7), universe(SIZE)
    assert small == large[:7] == CORE and len({a.name for a in large}) == SIZE
    assert [a.name for a in small] == ["BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "LUNA"]
    assert len(SPOT) == SIZE and len(UNIVERSE.instruments) > 400
    assert {i.venue_market for i in UNIVERSE.instruments.values()} == {"binance.spot", "binance.usdm", "okx.spot", "okx.swap"}
    for bad in (6, 1001):
        with pytest.raises(ConfigError, match="universe"):
            universe(bad)


def test_activity_is_heavy_tailed():
    per_day = sorted((i.agg_trades_per_day for i in SPOT.values() if i.agg_trades_per_day), reverse=True)
    assert per_day[0] == 1_600_000 and 2_000 <= per_day[-1] <= 10_000
    assert sum(per_day[:10]) > 0.5 * sum(per_day) and np.median(per_day) < 0.3 * np.mean(per_day)


def test_sectors_move_together_and_groups_follow_an_earlier_leader_of_their_sector(universe_market):
    assets = list(UNIVERSE.assets.values())
    followers = [a for a in assets[len(CORE) :] if a.follows]
    assert len({a.leader for a in followers}) >= 5
    index = {a.name: n for n, a in enumerate(assets)}
    for a in followers:
        leader = UNIVERSE.assets[a.leader]
        assert index[leader.name] < index[a.name] and leader.sector == a.sector and not leader.follows
    independent: dict[str, list[str]] = {}
    for a in assets[len(CORE) :]:
        if not a.follows:
            independent.setdefault(a.sector, []).append(a.name)
    returns = {n: day_of_returns(universe_market, n, DAY, 300) for names in independent.values() for n in names[:3]}
    same = [np.corrcoef(returns[x], returns[y])[0, 1] for names in independent.values() for x, y in zip(names[:3], names[1:3])]
    heads = [names[0] for names in independent.values()]
    other = [np.corrcoef(returns[x], returns[y])[0, 1] for x, y in zip(heads, heads[1:])]
    assert np.mean(other) > 0.2, "everything moves with the market"
    assert np.mean(same) > np.mean(other) + 0.1, "and more with its sector"


def test_a_generated_follower_trails_its_leader_by_the_days_lag(universe_market):
    follower = next(a for a in UNIVERSE.assets.values() if a.follows and a.leader != "BTC" and a.lag_tier == 2)
    lag = universe_market.prices.lag_s(follower.name, DAY)
    leader, trailing = (day_of_returns(universe_market, n, DAY, 1)[: 6 * 3_600] for n in (follower.leader, follower.name))
    assert peak_lag(trailing, leader, 1_000) == lag


def test_an_instruments_data_do_not_depend_on_the_universe_size(universe_market):
    small = Market(SEED, VOLUME)
    assert small.day_trades("ETHUSDT", DAY).equals(universe_market.day_trades("ETHUSDT", DAY))
    mid = Market(SEED, VOLUME, universe=50)
    symbol = next(s for s in mid.symbols if s not in small.symbols)
    assert mid.day_trades(symbol, DAY).equals(universe_market.day_trades(symbol, DAY))
    with pytest.raises(UnknownSymbolError, match=BUSIEST.symbol):
        small.day_trades(BUSIEST.symbol, DAY)


def test_a_generated_symbols_day_is_a_valid_frame_on_its_grid(universe_market):
    trades = universe_market.day_trades(BUSIEST.symbol, DAY)
    assert trades.schema == AGG_TRADE.polars and trades.height > 1_000
    assert (trades["agg_id"].diff().drop_nulls() == 1).all()
    for column, increment in (("price", BUSIEST.tick_size), ("qty", BUSIEST.step_size)):
        units = trades[column].to_numpy() / increment
        assert np.allclose(units, np.rint(units), atol=1e-6, rtol=0), column


# --- listings and delistings -------------------------------------------------------------------------------------


def test_before_its_listing_day_a_symbol_does_not_exist_and_does_not_trade(universe_market):
    listed, before = LISTED.listed, LISTED.listed - timedelta(days=1)
    assert universe_market.status(LISTED.symbol, before) is None and universe_market.status(LISTED.symbol, listed) == "TRADING"
    assert LISTED.symbol not in universe_market.listed("binance.spot", before)
    assert universe_market.day_trades(LISTED.symbol, before).is_empty()
    first = universe_market.day_trades(LISTED.symbol, listed)
    assert first.height > 0 and first["agg_id"][0] == 0
    start = day_start_us(before)
    assert universe_market.klines(LISTED.symbol, "1h", start, start + US_PER_DAY).is_empty()
    assert universe_market.klines(LISTED.symbol, "1h", start + US_PER_DAY, start + 2 * US_PER_DAY).height == 24
    assert universe_market.depth(LISTED.symbol, start + 3_600_000_000, 5).bids == []


def test_from_its_delisting_day_a_symbol_is_on_break_without_trades_klines_or_book(universe_market):
    delisted, last = DELISTED.delisted, DELISTED.delisted - timedelta(days=1)
    assert universe_market.status(DELISTED.symbol, last) == "TRADING" and universe_market.status(DELISTED.symbol, delisted) == "BREAK"
    assert universe_market.day_trades(DELISTED.symbol, last).height > 0
    assert universe_market.day_trades(DELISTED.symbol, delisted).is_empty()
    start = day_start_us(delisted)
    assert universe_market.klines(DELISTED.symbol, "1m", start - US_PER_DAY, start).height == 1_440
    assert universe_market.klines(DELISTED.symbol, "1m", start, start + 3 * US_PER_DAY).is_empty()
    assert universe_market.depth(DELISTED.symbol, start + 60_000_000, 5).asks == []
    assert universe_market.depth(DELISTED.symbol, start - 60_000_000, 5).asks != []
    last_id = universe_market.day_agg_ids(DELISTED.symbol, last)[-1]
    assert universe_market.agg_trades_from_id(DELISTED.symbol, last_id + 1, start + 30 * US_PER_DAY, 10).is_empty()


def test_derived_instruments_are_listed_and_delisted_with_their_asset():
    for instrument in UNIVERSE.instruments.values():
        asset = UNIVERSE.assets[instrument.base_asset]
        assert instrument.delisted == asset.delisted
        if asset.listed is not None:
            assert instrument.listed is not None and instrument.listed >= asset.listed


# --- the wire, as of the simulator's clock ------------------------------------------------------------------------


def test_exchange_info_lists_what_exists_today_with_todays_status(uapi):
    info = uapi.get("/api/v3/exchangeInfo").json()
    statuses = {s["symbol"]: s["status"] for s in info["symbols"]}
    expected = {i.symbol: i.status_on(TODAY) for i in SPOT.values() if i.exists_on(TODAY)}
    assert statuses == expected and 180 < len(statuses) < SIZE
    assert statuses[LISTED.symbol] == "TRADING" and statuses[DELISTED.symbol] == "BREAK" and UPCOMING.symbol not in statuses
    delisted = uapi.get("/api/v3/exchangeInfo", params={"symbol": DELISTED.symbol}).json()["symbols"][0]
    assert delisted["isSpotTradingAllowed"] is False
    on_break = uapi.get("/api/v3/exchangeInfo", params={"symbolStatus": "BREAK"}).json()["symbols"]
    assert {s["symbol"] for s in on_break} == {s for s, status in expected.items() if status == "BREAK"} >= {"LUNAUSDT"}
    for path in ("/api/v3/aggTrades", "/api/v3/depth", "/api/v3/exchangeInfo"):
        assert uapi.get(path, params={"symbol": UPCOMING.symbol}).json()["code"] == -1121


def agg_url(symbol: str, day: date) -> str:
    return f"/data/spot/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day.isoformat()}.zip"


def rest_rows_from(api: httpx.Client, symbol: str, from_id: int, count: int, day: date) -> list[list[str]]:
    """REST pages from an id, in the time unit of the day's dump file (µs from 2025, ms before)."""
    unit = US_HEADER if day >= MICROSECOND_DUMPS_FROM else {}
    rows: list[dict] = []
    while len(rows) < count:
        page = api.get("/api/v3/aggTrades", params={"symbol": symbol, "fromId": from_id, "limit": 1000}, headers=unit).json()
        rows += page
        from_id = page[-1]["a"] + 1
    return [[str(r["a"]), r["p"], r["q"], str(r["f"]), str(r["l"]), str(r["T"]), str(r["m"]), str(r["M"])] for r in rows[:count]]


def dump_rows(api: httpx.Client, symbol: str, day: date) -> list[list[str]]:
    response = api.get(agg_url(symbol, day))
    assert response.status_code == 200, (symbol, day)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (name,) = archive.namelist()
        return [line.split(",") for line in archive.read(name).decode().splitlines()]


@pytest.mark.parametrize("case", ["universe symbol", "listing day", "last day before delisting"])
def test_dumps_equal_rest_pages_for_universe_symbols(uapi, case):
    symbol, day = {
        "universe symbol": (BUSIEST.symbol, DAY),
        "listing day": (LISTED.symbol, LISTED.listed),
        "last day before delisting": (DELISTED.symbol, DELISTED.delisted - timedelta(days=1)),
    }[case]
    rows = dump_rows(uapi, symbol, day)
    assert rows == rest_rows_from(uapi, symbol, int(rows[0][0]), len(rows), day)


def test_no_files_or_klines_outside_the_trading_days(uapi):
    assert uapi.get(agg_url(LISTED.symbol, LISTED.listed - timedelta(days=1))).status_code == 404
    assert uapi.get(agg_url(DELISTED.symbol, DELISTED.delisted)).status_code == 404
    start = day_start_us(DELISTED.delisted)
    params = {"symbol": DELISTED.symbol, "interval": "1h", "startTime": start, "limit": 24}
    assert uapi.get("/api/v3/klines", params=params, headers=US_HEADER).json() == []
    assert uapi.get("/api/v3/depth", params={"symbol": DELISTED.symbol}).json()["bids"] == []


async def collect(url: str, until, deadline_s: float) -> list[dict]:
    """Messages of a stream until `until(messages)` holds or the deadline passes."""
    messages: list[dict] = []
    async with connect(url, ping_interval=None) as socket:
        deadline = time.monotonic() + deadline_s
        while not until(messages) and time.monotonic() < deadline:
            try:
                messages.append(json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic())))
            except TimeoutError:
                break
    return messages


def test_streamed_trades_of_a_universe_symbol_are_its_rest_trades(uapi, universe_url):
    stream = f"{BUSIEST.symbol.lower()}@aggTrade"
    url = universe_url.replace("http://", "ws://") + f"/stream?streams={stream}&timeUnit=MICROSECOND"
    trades = [m["data"] for m in asyncio.run(collect(url, lambda got: len(got) >= 5, 60))]
    assert len(trades) >= 5
    ids = [t["a"] for t in trades]
    rest = uapi.get("/api/v3/aggTrades", params={"symbol": BUSIEST.symbol, "fromId": ids[0], "limit": len(ids)}, headers=US_HEADER).json()
    assert [{k: t[k] for k in "apqflTmM"} for t in trades] == rest


def test_a_delisted_symbol_streams_nothing_and_an_unlisted_one_is_refused(universe_url):
    base = universe_url.replace("http://", "ws://")
    trading = BUSIEST.symbol.lower()
    streams = "/".join(f"{s}@{kind}" for s in (DELISTED.symbol.lower(), trading) for kind in ("aggTrade", "depth@100ms"))
    messages = asyncio.run(collect(f"{base}/stream?streams={streams}", lambda got: len(got) >= 20, 60))
    assert len(messages) >= 20 and all(m["stream"].startswith(f"{trading}@") for m in messages)

    async def refused() -> int:
        async with connect(f"{base}/ws/{UPCOMING.symbol.lower()}@aggTrade", ping_interval=None) as socket:
            try:
                await asyncio.wait_for(socket.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 0
        return 0

    assert asyncio.run(refused()) == 1008


@pytest.mark.parametrize("change", ["listing", "delisting"])
def test_the_status_follows_the_simulators_clock_across_midnight(tmp_path, change):
    instrument, day = (LISTED, LISTED.listed) if change == "listing" else (DELISTED, DELISTED.delisted)
    config = SimConfig(seed=SEED, volume=VOLUME, universe=SIZE, today=day - timedelta(days=1), speed=50_000, cache_dir=tmp_path)
    seen: list[tuple[date, str | None]] = []  # (the simulator's day, the symbol's status then)
    with running_simulator(config) as url, httpx.Client(base_url=url, timeout=30) as api:
        deadline = time.monotonic() + 60  # a simulated day passes in ~2 s
        while (not seen or seen[-1][0] < day) and time.monotonic() < deadline:
            info = api.get("/api/v3/exchangeInfo").json()
            status = next((s["status"] for s in info["symbols"] if s["symbol"] == instrument.symbol), None)
            seen.append((day_of(info["serverTime"] * 1_000), status))
            time.sleep(0.05)  # polling, within the request weight limit (exchangeInfo weighs 20)
    assert seen[-1][0] >= day
    assert all(status == instrument.status_on(when) for when, status in seen)
