"""Dump files: data.binance.vision's layout and CSV format, equal row for row to what REST serves."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta

import pytest

from streamforge.sim.calendar import day_start_us

from sim_cases import DAY, MS_DAY, TODAY, US_HEADER


def agg_url(symbol: str, day: date) -> str:
    return f"/data/spot/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day.isoformat()}.zip"


def csv_rows(zip_bytes: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        (name,) = archive.namelist()
        return [line.split(",") for line in archive.read(name).decode().splitlines()]


@pytest.mark.parametrize(("day", "unit_header"), [(DAY, US_HEADER), (MS_DAY, {})])
def test_agg_trades_dump_rows_equal_rest_pages(api, day, unit_header):
    response = api.get(agg_url("ETHUSDT", day))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    rows = csv_rows(response.content)
    rest, from_id = [], int(rows[0][0])
    while len(rest) < len(rows):
        page = api.get("/api/v3/aggTrades", params={"symbol": "ETHUSDT", "fromId": from_id, "limit": 1000}, headers=unit_header).json()
        rest += page
        from_id = page[-1]["a"] + 1
    expected = [
        [str(r["a"]), r["p"], r["q"], str(r["f"]), str(r["l"]), str(r["T"]), str(r["m"]), str(r["M"])] for r in rest[: len(rows)]
    ]
    assert rows == expected
    assert int(rows[-1][0]) + 1 == rest[len(rows)]["a"] and rest[len(rows)]["T"] >= day_start_us(day + timedelta(days=1)) // (1 if unit_header else 1000)


def test_checksum_file_names_the_zip_and_its_sha256(api):
    data = api.get(agg_url("BTCUSDT", DAY)).content
    checksum = api.get(agg_url("BTCUSDT", DAY) + ".CHECKSUM").text
    assert checksum == f"{hashlib.sha256(data).hexdigest()}  BTCUSDT-aggTrades-{DAY.isoformat()}.zip\n"


def test_klines_dump_equals_rest_klines(api):
    url = f"/data/spot/daily/klines/SOLUSDT/5m/SOLUSDT-5m-{DAY.isoformat()}.zip"
    rows = csv_rows(api.get(url).content)
    rest = []
    for start in (day_start_us(DAY), day_start_us(DAY) + 144 * 300_000_000):
        rest += api.get("/api/v3/klines", params={"symbol": "SOLUSDT", "interval": "5m", "startTime": start, "limit": 144}, headers=US_HEADER).json()
    assert len(rows) == 288 and rows == [[str(v) for v in k] for k in rest]
    assert api.get(url + ".CHECKSUM").text.split()[0] == hashlib.sha256(api.get(url).content).hexdigest()


@pytest.mark.parametrize(
    "url",
    [
        agg_url("BTCUSDT", TODAY),  # not complete yet
        agg_url("BTCUSDT", TODAY + timedelta(days=3)),
        agg_url("BTCUSDX", DAY),
        agg_url("LUNAUSDT", DAY),  # never traded
        agg_url("BTCUSDT", DAY).replace("BTCUSDT-aggTrades", "ETHUSDT-aggTrades"),
        agg_url("BTCUSDT", date(2016, 12, 31)),
        f"/data/spot/daily/klines/BTCUSDT/7m/BTCUSDT-7m-{DAY.isoformat()}.zip",
        f"/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-{TODAY.isoformat()}.zip.CHECKSUM",
    ],
)
def test_only_completed_days_of_traded_symbols_have_files(api, url):
    assert api.get(url).status_code == 404


def test_range_requests_resume_a_download(api):
    full = api.get(agg_url("XRPUSDT", DAY)).content
    head = api.get(agg_url("XRPUSDT", DAY), headers={"Range": "bytes=0-999"})
    assert head.status_code == 206 and head.content == full[:1000]
    tail = api.get(agg_url("XRPUSDT", DAY), headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206 and tail.headers["content-range"] == f"bytes 1000-{len(full) - 1}/{len(full)}"
    assert head.content + tail.content == full


def test_dump_downloads_carry_no_weight(api):
    before = int(api.get("/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"])
    api.get(agg_url("BTCUSDT", DAY))
    assert int(api.get("/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"]) == before + 1
