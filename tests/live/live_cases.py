"""What the live tests share: constants and read-back helpers (a module of its own: conftest modules of several
test folders share the name `conftest`, so they cannot be imported by name)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import polars as pl

from streamforge.bus import codec
from streamforge.bus.topics import TopicSpec, build_topics
from streamforge.live.loader import LoaderThread
from streamforge.live.soak import read_records

SEED = 7
SPEED = 4.0  # four market seconds per second: more trades per test second, klines close every 15 s
WINDOW = 100  # depth levels the simulator keeps exact; the loader's snapshots take as many
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
ETH, BTC = "binance.spot.ETHUSDT", "binance.spot.BTCUSDT"


def topics() -> dict[str, TopicSpec]:
    return {spec.dataset: spec for spec in build_topics()}


def read_messages(kafka: dict, kind: str) -> list:
    return read_records(kafka, topics()[kind])


def read_frame(kafka: dict, kind: str) -> pl.DataFrame:
    spec = topics()[kind]
    return codec.decode(spec.record, [(m.value, m.headers) for m in read_messages(kafka, kind)])


def assert_contiguous_without_duplicates(trades: pl.DataFrame) -> None:
    assert trades.height > 0
    for instrument, group in trades.group_by("instrument"):
        ids = group["agg_id"].sort()
        assert ids.n_unique() == ids.len(), f"{instrument}: duplicated agg ids"
        assert ids[-1] - ids[0] + 1 == ids.len(), f"{instrument}: agg ids {ids[0]}..{ids[-1]} have holes"


def metric(text: str, name: str) -> float:
    """Sum of a Prometheus metric's samples (all label sets) in exposition text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " "))


def run_loader(config, kafka, until: Callable[[str], bool], settle_s: float = 1.5, timeout_s: float = 60) -> str:
    """Run a loader until its /metrics text satisfies `until` (the fault was met), then `settle_s` more, so that what
    follows it is published too; return the /metrics text as of the end. Waiting for the event instead of a fixed
    time keeps the test short on a quiet machine and still right on a loaded one."""
    with LoaderThread(config, kafka) as loader:
        url = f"http://127.0.0.1:{loader.http_port}/metrics"
        deadline = time.monotonic() + timeout_s
        while not until(httpx.get(url).text):
            assert time.monotonic() < deadline, f"no sign of the fault in the loader's metrics after {timeout_s} s"
            time.sleep(0.25)
        time.sleep(settle_s)
        return httpx.get(url).text
