"""HTTP side of the USD-M dump files: `/data/futures/um/...` paths, availability, file faults, Range downloads.

The rules are spot's (`dump_routes`): a file exists for a symbol listed today and a completed day (a monthly file: a
completed month) on which it traded; anything else is 404. Files come from `usdm_dumps`.
"""

from __future__ import annotations

import re
from datetime import date

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from streamforge.sim.calendar import EPOCH
from streamforge.sim.faults import dump_defect
from streamforge.sim.klines import INTERVALS
from streamforge.sim.state import SimState
from streamforge.venues.binance.simulator.dump_routes import _checksum_line, not_found
from streamforge.venues.binance.simulator.usdm_dumps import KLINE_KINDS, USDM

_DAILY = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<kind>[A-Za-z0-9]+)-(?P<day>\d{4}-\d{2}-\d{2})\.zip(?P<checksum>\.CHECKSUM)?$")
_MONTHLY = re.compile(r"^(?P<symbol>[A-Z0-9]+)-fundingRate-(?P<month>\d{4}-\d{2})\.zip(?P<checksum>\.CHECKSUM)?$")


def agg_trades_file(sim: SimState, request: Request) -> Response:
    return _serve_daily(sim, request, "aggTrades", None)


def klines_file(sim: SimState, request: Request) -> Response:
    kind, interval = request.path_params["kind"], request.path_params["interval"]
    if kind not in KLINE_KINDS or interval not in INTERVALS:
        return not_found()
    return _serve_daily(sim, request, kind, interval)


def funding_file(sim: SimState, request: Request) -> Response:
    symbol, match = request.path_params["symbol"], _MONTHLY.match(request.path_params["filename"])
    if match is None or match["symbol"] != symbol or symbol not in sim.market.listed(USDM, sim.clock.today()):
        return not_found()
    try:
        month = date.fromisoformat(match["month"] + "-01")
    except ValueError:
        return not_found()
    this_month = sim.clock.today().replace(day=1)
    faults, key = sim.faults, f"{USDM}.{symbol}"
    if not (EPOCH <= month < this_month) or faults.no_dumps.matches(key, month):
        return not_found()
    path = sim.usdm_dumps.funding(symbol, month, corrupted=faults.corrupt_zip.matches(key, month) and not match["checksum"])
    return PlainTextResponse(_checksum_line(sim, path, key, month)) if match["checksum"] else FileResponse(path, media_type="application/zip")


def _serve_daily(sim: SimState, request: Request, kind: str, interval: str | None) -> Response:
    symbol, match = request.path_params["symbol"], _DAILY.match(request.path_params["filename"])
    if match is None or match["symbol"] != symbol or match["kind"] != (interval or kind):
        return not_found()
    if symbol not in sim.market.listed(USDM, sim.clock.today()):
        return not_found()
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return not_found()
    faults, key = sim.faults, f"{USDM}.{symbol}"
    if not (EPOCH <= day < sim.clock.today()) or not sim.market.day_agg_ids(key, day) or faults.no_dumps.matches(key, day):
        return not_found()
    damaged = faults.corrupt_zip.matches(key, day) and not match["checksum"]
    if interval is None:
        malformed, defect = faults.malformed.matches(key, day), dump_defect(faults, key, day)
        path = sim.usdm_dumps.agg_trades(symbol, day, malformed=malformed, corrupted=damaged, defect=defect)
    else:
        path = sim.usdm_dumps.klines(symbol, interval, day, corrupted=damaged, kind=kind)
    return PlainTextResponse(_checksum_line(sim, path, key, day)) if match["checksum"] else FileResponse(path, media_type="application/zip")
