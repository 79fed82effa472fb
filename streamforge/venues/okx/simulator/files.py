"""OKX's daily trade files served from the simulated market: one zip per instrument and UTC+8 day.

`/cdn/okex/traderecords/trades/daily/YYYYMMDD/<instId>-trades-YYYY-MM-DD.zip` holds one CSV with the header
`instrument_name,trade_id,side,price,size,created_time` and the trades of [D-1 16:00, D 16:00) UTC (the day cut
okx.md reports, **unconfirmed**), sizes in contracts on swaps. A file exists once its UTC+8 day has ended on the
simulator's clock, for an instrument OKX lists today, on a day with trades; anything else is 404, like a day OKX has
not published. No checksum file is published beside it, as on OKX. File faults: `no_dumps` (404), `corrupt_zip`
(bytes flipped mid-file), `malformed` (the day's middle trade has a price that is not a number, as in REST).
Files carry no weight and no rate limit here (a CDN on OKX).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import polars as pl
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from streamforge.sim.memo import Memo
from streamforge.sim.state import SimState
from streamforge.venues.binance.simulator.dumps import corrupt, zip_bytes
from streamforge.venues.okx.simulator import wire
from streamforge.venues.okx.simulator.rest import malformed_trade_id
from streamforge.venues.okx.wire import FILE_DAY_ZONE, TRADES_FILE

PATH = "/" + TRADES_FILE.split("{compact}")[0] + "{compact}/{filename}"


def file_bounds_us(day: date) -> tuple[int, int]:
    start = datetime(day.year, day.month, day.day, tzinfo=FILE_DAY_ZONE)
    return int(start.timestamp()) * 1_000_000, int((start + timedelta(days=1)).timestamp()) * 1_000_000


def routes(sim: SimState) -> list[Route]:
    built: Memo[bytes] = Memo(lambda inst_id, day, malformed: _zip(sim, inst_id, day, malformed), maxsize=8)

    def respond(request: Request) -> Response:
        if sim.faults.slow_ms:
            time.sleep(sim.faults.slow_ms / 1000)
        response = _serve(sim, request, built)
        sim.stats.record(PATH.split("/{")[0], response.status_code)
        return response

    return [Route(PATH, respond, methods=["GET"])]


def _serve(sim: SimState, request: Request, built: Memo[bytes]) -> Response:
    name = request.path_params["filename"]
    inst_id = name.split("-trades-")[0]
    market = "okx.swap" if inst_id.endswith("-SWAP") else "okx.spot"
    spec = sim.market.listed(market, sim.clock.today()).get(inst_id)
    day = wire.file_day(name, inst_id) if spec else None
    if spec is None or day is None or request.path_params["compact"] != day.strftime("%Y%m%d"):
        return _not_found()
    start, end = file_bounds_us(day)
    faults = sim.faults
    if end > sim.clock.now_us() or faults.no_dumps.matches(inst_id, day) or sim.market.agg_trades(spec.id, start, end, 1).is_empty():
        return _not_found()
    data = built(inst_id, day, faults.malformed.matches(inst_id, day))
    if faults.corrupt_zip.matches(inst_id, day):
        data = corrupt(data)
    return Response(data, media_type="application/zip")


def _zip(sim: SimState, inst_id: str, day: date, malformed: bool) -> bytes:
    market = "okx.swap" if inst_id.endswith("-SWAP") else "okx.spot"
    spec = sim.market.listed(market, sim.clock.today())[inst_id]
    trades = sim.market.agg_trades(spec.id, *file_bounds_us(day))
    bad = {malformed_trade_id(sim, spec, d) for d in (day - timedelta(days=1), day) if malformed} - {None}
    columns = wire.trade_columns(spec, trades, frozenset(bad))
    csv = columns.select(
        pl.col("instId").alias("instrument_name"), pl.col("tradeId").alias("trade_id"), "side",
        pl.col("px").alias("price"), pl.col("sz").alias("size"), pl.col("ts").alias("created_time"),
    )
    return zip_bytes(f"{inst_id}-trades-{day.isoformat()}.csv", csv.write_csv().encode())


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404)

