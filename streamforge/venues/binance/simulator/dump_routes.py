"""HTTP side of the dump files: `/data/spot/daily/...` paths, availability rules, file faults, Range downloads.

A file exists for a symbol listed today and a completed day (before today on the simulator's clock) on which it traded;
anything else is 404, like a file data.binance.vision has not published. Zips are served from the disk cache with
`FileResponse`, which answers `Range` requests with 206 so that clients can resume a download. Dump requests carry
no weight: on Binance they are a different host.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from streamforge.sim.calendar import EPOCH
from streamforge.sim.faults import dump_defect
from streamforge.sim.instruments import BINANCE_SPOT
from streamforge.sim.klines import INTERVALS
from streamforge.sim.state import SimState

_FILE = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<kind>[A-Za-z0-9]+)-(?P<day>\d{4}-\d{2}-\d{2})\.zip(?P<checksum>\.CHECKSUM)?$")


def not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404)


def agg_trades_file(sim: SimState, request: Request) -> Response:
    return _serve(sim, request, "aggTrades", None)


def klines_file(sim: SimState, request: Request) -> Response:
    interval = request.path_params["interval"]
    return _serve(sim, request, interval, interval) if interval in INTERVALS else not_found()


def _serve(sim: SimState, request: Request, kind: str, interval: str | None) -> Response:
    symbol, match = request.path_params["symbol"], _FILE.match(request.path_params["filename"])
    listed = sim.market.listed(BINANCE_SPOT, sim.clock.today())
    if match is None or match["symbol"] != symbol or match["kind"] != kind or symbol not in listed:
        return not_found()
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return not_found()
    faults = sim.faults
    if not (EPOCH <= day < sim.clock.today()) or not sim.market.day_agg_ids(symbol, day) or faults.no_dumps.matches(symbol, day):
        return not_found()

    corrupted = faults.corrupt_zip.matches(symbol, day)
    if interval is None:
        malformed, defect = faults.malformed.matches(symbol, day), dump_defect(faults, symbol, day)
        damaged = corrupted and not match["checksum"]
        path = sim.dumps.agg_trades(symbol, day, malformed=malformed, corrupted=damaged, defect=defect)
    else:
        path = sim.dumps.klines(symbol, interval, day, corrupted=corrupted and not match["checksum"])
    if not match["checksum"]:
        return FileResponse(path, media_type="application/zip")
    return PlainTextResponse(_checksum_line(sim, path, symbol, day))


def _checksum_line(sim: SimState, zip_path: Path, symbol: str, day: date) -> str:
    digest = sim.dumps.checksum(zip_path)
    if sim.faults.bad_checksum.matches(symbol, day):
        digest = hashlib.sha256(f"wrong {digest}".encode()).hexdigest()
    return f"{digest}  {zip_path.name}\n"
