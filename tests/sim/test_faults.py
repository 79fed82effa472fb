"""Each injected fault behaves as documented in streamforge/sim/faults.py, on Binance spot and USD-M alike, and turning
it off restores the truth."""

from __future__ import annotations

import hashlib
import io
import math
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamforge.errors import ConfigError
from streamforge.sim.calendar import day_start_us
from streamforge.sim.faults import Faults, ShareCounter, malformed_agg_id
from streamforge.sim.server import SimConfig

from sim_cases import DAY, TODAY


@dataclass(frozen=True)
class Binance:
    """One Binance market on the simulator as the fault tests reach it: its API, its dump archive, and how a fault
    names its BTCUSDT (spot: the bare symbol; USD-M: the instrument id, which hits the perpetual only)."""

    market: str
    api: str
    archive: str
    header: bool  # the day's aggTrades file starts with a header row
    target: str
    recent: date  # a completed day its REST aggTrades still serve (USD-M's reach back only 48 hours)

    @property
    def key(self) -> str:
        return f"{self.market}.BTCUSDT"

    @property
    def ping(self) -> str:
        return f"{self.api}/ping"

    @property
    def zip(self) -> str:
        return self.zip_of(DAY)

    def zip_of(self, day: date) -> str:
        return f"{self.archive}/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-{day.isoformat()}.zip"


SPOT = Binance("binance.spot", "/api/v3", "/data/spot", header=False, target="BTCUSDT", recent=DAY)
USDM = Binance("binance.usdm", "/fapi/v1", "/data/futures/um", header=True, target="binance.usdm.BTCUSDT",
               recent=TODAY - timedelta(days=1))


@pytest.fixture(params=[SPOT, USDM], ids=lambda b: b.market)
def binance(request) -> Binance:
    return request.param


def ping_statuses(api, binance: Binance, n: int) -> list[int]:
    return [api.get(binance.ping).status_code for _ in range(n)]


def test_faults_parse_from_the_settings_syntax():
    faults = Faults.parse("rate429=0.25, slow_ms=5, corrupt_zip=BTCUSDT:2025-01-02|ETHUSDT, no_dumps=all")
    assert faults.rate429 == 0.25 and faults.slow_ms == 5
    assert faults.corrupt_zip.matches("ETHUSDT", DAY) and not faults.corrupt_zip.matches("BTCUSDT", DAY)
    assert faults.no_dumps.matches("XRPUSDT", DAY)
    assert Faults.from_mapping(faults.to_json()) == faults
    for bad in ("rate429", "typo=1", "rate429=2", "slow_ms=fast", "malformed=BTCUSDT:yesterday"):
        with pytest.raises(ConfigError):
            Faults.parse(bad)


def test_faults_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_SIM_FAULTS", "error5xx=0.1,malformed=SOLUSDT")
    monkeypatch.setenv("STREAMFORGE_SIM_WEIGHT_WINDOW_S", "10")
    config = SimConfig.from_settings()
    assert config.faults.error5xx == 0.1 and config.faults.malformed.matches("SOLUSDT", DAY)
    assert config.weight_window_s == 10


@given(share=st.floats(0.0, 1.0), n=st.integers(0, 300))
def test_share_counter_hits_exactly_the_share(share, n):
    counter = ShareCounter()
    assert sum(counter.hit("fault", share) for _ in range(n)) == math.floor(n * share)


def test_faults_are_replaced_at_runtime_and_refused_by_name(api):
    assert api.post("/sim/faults", json={"slow_ms": 1}).json()["slow_ms"] == 1
    refused = api.post("/sim/faults", json={"typo": 1})
    assert refused.status_code == 400 and "typo" in refused.json()["error"]
    assert api.get("/sim/faults").json()["slow_ms"] == 1


def test_429_storm_hits_its_share_and_expects_the_client_to_wait_on_that_api_only(api, binance):
    api.post("/sim/faults", json={"rate429": 0.5, "retry_after_s": 1})
    assert api.get(binance.ping).status_code == 200
    storm = api.get(binance.ping)
    assert storm.status_code == 429 and storm.headers["Retry-After"] == "1" and storm.json()["code"] == -1003
    time.sleep(1.05)
    assert ping_statuses(api, binance, 2) == [200, 429]
    assert api.get(binance.ping).status_code == 418, "coming back before Retry-After is a ban"
    api.post("/sim/faults", json={})
    other = USDM if binance is SPOT else SPOT
    assert api.get(other.ping).status_code == 200, "spot and USD-M are separate hosts with separate limits"
    assert api.get(binance.ping).status_code == 418


def test_5xx_share(api, binance):
    api.post("/sim/faults", json={"error5xx": 0.25})
    statuses = ping_statuses(api, binance, 8)
    assert statuses.count(503) == 2 and statuses.count(200) == 6
    assert api.get(binance.ping).status_code in (200, 503)


def test_slow_responses(api, binance):
    api.post("/sim/faults", json={"slow_ms": 300})
    for path in (binance.ping, binance.zip):
        started = time.perf_counter()
        api.get(path)
        assert time.perf_counter() - started >= 0.3


def test_corrupt_zip_fails_its_checksum_and_unzipping(api, binance):
    good = api.get(binance.zip).content
    api.post("/sim/faults", json={"corrupt_zip": f"{binance.target}:{DAY.isoformat()}"})
    damaged = api.get(binance.zip).content
    assert len(damaged) == len(good) and damaged != good
    assert api.get(binance.zip + ".CHECKSUM").text.split()[0] == hashlib.sha256(good).hexdigest()
    with pytest.raises((zipfile.BadZipFile, zlib.error)), zipfile.ZipFile(io.BytesIO(damaged)) as archive:
        archive.read(archive.namelist()[0])
    api.post("/sim/faults", json={})
    assert api.get(binance.zip).content == good


def test_wrong_checksum_for_a_good_zip(api, binance):
    api.post("/sim/faults", json={"bad_checksum": binance.target})
    data = api.get(binance.zip).content
    zipfile.ZipFile(io.BytesIO(data)).testzip()
    assert api.get(binance.zip + ".CHECKSUM").text.split()[0] != hashlib.sha256(data).hexdigest()


def test_malformed_row_is_the_same_in_rest_and_dump(api, market, binance):
    api.post("/sim/faults", json={"malformed": binance.target})
    bad_id = malformed_agg_id(market.day_agg_ids(binance.key, binance.recent))
    page = api.get(f"{binance.api}/aggTrades", params={"symbol": "BTCUSDT", "fromId": bad_id - 1, "limit": 3}).json()
    assert [r["p"] == "not-a-number" for r in page] == [False, True, False]
    with zipfile.ZipFile(io.BytesIO(api.get(binance.zip_of(binance.recent)).content)) as archive:
        lines = archive.read(archive.namelist()[0]).decode().splitlines()
    bad = [line for line in lines if "not-a-number" in line]
    assert len(bad) == 1 and bad[0].startswith(f"{bad_id},not-a-number,")


def test_no_dumps_leaves_rest_serving(api, binance):
    api.post("/sim/faults", json={"no_dumps": "all"})
    assert api.get(binance.zip).status_code == 404 and api.get(binance.zip + ".CHECKSUM").status_code == 404
    assert api.get(f"{binance.api}/aggTrades", params={"symbol": "BTCUSDT", "limit": 1}).status_code == 200


def test_a_fault_naming_the_perpetual_leaves_spot_alone(api):
    api.post("/sim/faults", json={"no_dumps": USDM.target})
    assert api.get(USDM.zip).status_code == 404 and api.get(SPOT.zip).status_code == 200


# --- dump defects reported by Binance users: each passes its checksum ------------------------------------------------


def served_zip(api, binance: Binance, fault: str, target: str) -> zipfile.ZipFile:
    """The fault's zip, after checking that its .CHECKSUM matches it (only looking inside can tell)."""
    api.post("/sim/faults", json={fault: target}).raise_for_status()
    data = api.get(binance.zip).content
    assert api.get(binance.zip + ".CHECKSUM").text.split()[0] == hashlib.sha256(data).hexdigest()
    return zipfile.ZipFile(io.BytesIO(data))


def dump_lines(archive: zipfile.ZipFile, binance: Binance) -> list[str]:
    """The day's rows, without the header row its market's file starts with."""
    (name,) = archive.namelist()
    return archive.read(name).decode().splitlines()[binance.header:]


def test_a_dump_that_ends_early_stops_at_09_29_utc(api, market, binance):
    lines = dump_lines(served_zip(api, binance, "dump_ends_early", f"{binance.target}:{DAY.isoformat()}"), binance)
    trades = market.day_trades(binance.key, DAY)
    stop_us = day_start_us(DAY) + (9 * 3600 + 29 * 60) * 1_000_000
    kept = trades.filter(pl.col("time").dt.epoch("us") < stop_us)
    assert 0 < len(lines) == kept.height < trades.height
    assert [int(line.split(",")[0]) for line in lines] == kept["agg_id"].to_list()


def test_a_dump_that_differs_from_rest_doubles_the_quantity_of_every_50th_agg_id(api, market, binance):
    lines = dump_lines(served_zip(api, binance, "dump_differs", binance.target), binance)
    trades = market.day_trades(binance.key, DAY)
    assert len(lines) == trades.height
    dump_qty = {int(line.split(",")[0]): float(line.split(",")[2]) for line in lines}
    differing = [agg_id for agg_id, qty in zip(trades["agg_id"], trades["qty"]) if dump_qty[agg_id] != qty]
    assert differing == [i for i in trades["agg_id"] if i % 50 == 0]
    assert all(dump_qty[i] == 2 * q for i, q in zip(trades["agg_id"], trades["qty"]) if i % 50 == 0)


def test_a_dump_with_two_csvs_holds_the_day_and_a_different_one(api, binance):
    archive = served_zip(api, binance, "dump_two_csvs", "all")
    name = f"BTCUSDT-aggTrades-{DAY.isoformat()}.csv"
    assert archive.namelist() == [name, f"BTCUSDT-aggTrades-{DAY.isoformat()}/{name}"]
    assert archive.read(archive.namelist()[0]) != archive.read(archive.namelist()[1])


def test_a_zip_bomb_dump_unpacks_to_400_mib_from_a_hundredth_of_that(api, binance):
    archive = served_zip(api, binance, "dump_bomb", binance.target)
    (member,) = archive.infolist()
    assert member.file_size == 400 << 20 and member.compress_size < member.file_size / 100
