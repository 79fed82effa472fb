"""The live loader against the simulator's WebSocket and a real broker, with the faults Binance really has."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable

import httpx
import polars as pl
import pytest

from live_cases import BTC, ETH, SYMBOLS, assert_contiguous_without_duplicates, metric, read_frame, read_messages, run_loader
from streamforge.bus import codec
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.offsets import partition_for
from streamforge.live.connection import Connection, ControlRate
from streamforge.live.deadletter import REASON
from streamforge.live.feed import ConnectionPlan, Rules
from streamforge.live.health import Metrics
from streamforge.live import loader as loader_module
from streamforge.live.loader import LoaderThread
from streamforge.live.shards import Shard
from streamforge.schemas import AGG_TRADE

pytestmark = pytest.mark.slow


def counted(*names: str) -> Callable[[str], bool]:
    """Every metric in `names` (a name, or a name with its labels) has a non-zero sample."""
    return lambda text: all(metric(text, name) > 0 for name in names)


def test_publishes_trades_depth_books_and_klines_in_partitions_of_their_instruments_with_day_and_instrument_headers(
    sim, kafka, live_config
):
    with LoaderThread(live_config([ETH, BTC]), kafka) as loader:
        time.sleep(17)  # > one simulated minute: a kline closes
        port = loader.http_port
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for name in ("streamforge_live_events_total", "streamforge_live_last_event_age_seconds", "streamforge_live_reconnects",
                 "streamforge_live_gap_ids_repaired", "streamforge_live_book_resyncs", "streamforge_live_publish_latency_seconds",
                 "streamforge_live_dead_letters", "streamforge_live_events_per_second", "streamforge_live_shard_instruments"):
        assert f"# TYPE {name}" in text
    assert 'streamforge_live_shard_instruments{shard="0/1"} 2.0' in text
    trades = read_frame(kafka, "live_trades")
    assert set(trades["instrument"]) == {ETH, BTC}
    assert_contiguous_without_duplicates(trades)
    for message in read_messages(kafka, "live_trades"):
        headers = dict(message.headers)
        rows = codec.decode(AGG_TRADE, [(message.value, message.headers)])
        assert set(rows["time"].dt.date().cast(str)) == {headers["streamforge.day"].decode()}
        named = headers["streamforge.instruments"].decode().split(",")
        assert named == rows["instrument"].unique(maintain_order=True).to_list()
        assert all(partition_for(i, 2) == message.partition for i in named)
        ranges = [tuple(map(int, r.split("-"))) for r in headers["streamforge.id_ranges"].decode().split(",")]
        by_instrument = rows.group_by("instrument", maintain_order=True).agg(pl.col("agg_id").first().alias("first"), pl.col("agg_id").last().alias("last"))
        assert ranges == [(first, last) for _, first, last in by_instrument.iter_rows()]
    assert read_frame(kafka, "depth").height > 0
    assert read_frame(kafka, "book")["level"].max() == 19
    klines = read_frame(kafka, "live_klines_1m")
    assert klines.height >= 2 and klines.select("instrument", "open_time").is_unique().all()


def test_a_fleet_of_shards_follows_each_instrument_exactly_once(sim, kafka, live_config):
    instruments = [f"binance.spot.{s}" for s in SYMBOLS]
    shares = []
    for index in range(3):
        with LoaderThread(live_config(instruments, shard=Shard(index, 3)), kafka) as loader:
            shares.append(set(loader.states))
            wait_until(lambda: all(c.connected for c in loader.connections), "the shard's connections", 20)
    assert sorted(i for share in shares for i in share) == sorted(instruments)
    assert shares == [set(Shard(index, 3).select(instruments)) for index in range(3)]
    assert set(read_frame(kafka, "live_trades")["instrument"]) <= set(instruments)


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.1)


def test_dropped_events_are_fetched_by_rest_so_ids_stay_contiguous(sim, kafka, live_config):
    sim.post("/sim/faults", json={"ws_drop": 0.05})
    text = run_loader(live_config(["ETHUSDT", "SOLUSDT"]), kafka,
                      counted("streamforge_live_gap_ids_repaired_total", "streamforge_live_book_resyncs_total"))
    assert metric(text, "streamforge_live_gap_ids_repaired_total") > 0
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))
    assert metric(text, "streamforge_live_book_resyncs_total") > 0  # dropped depth diffs too: books restarted


def test_duplicated_and_reordered_events_are_never_published_twice(sim, kafka, live_config):
    sim.post("/sim/faults", json={"ws_duplicate": 0.05, "ws_reorder": 0.05})
    text = run_loader(live_config(["ETHUSDT", "XRPUSDT"]), kafka, counted("streamforge_live_duplicates_dropped_total"))
    assert metric(text, "streamforge_live_duplicates_dropped_total") > 0
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"ws_shutdown_s": 3, "ws_shutdown_grace_s": 2}, "server-shutdown"),
        ({"ws_abort_s": 3}, "closed-1006"),
        ({"ws_disconnect_s": 3}, "closed-1001"),
        ({"ws_stall_s": 3}, "stall"),
    ],
)
def test_reconnects_and_loses_nothing(sim, kafka, live_config, faults, reason):
    sim.post("/sim/faults", json=faults)
    reconnected = f'streamforge_live_reconnects_total{{reason="{reason}"}}'
    text = run_loader(live_config([ETH, BTC], stall_s=1.5), kafka, lambda text: reconnected in text)
    assert f'streamforge_live_reconnects_total{{reason="{reason}"}}' in text
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


def test_the_24_hour_limit_is_met_by_opening_the_new_connection_before_closing_the_old(sim, kafka, live_config):
    max_age = 'streamforge_live_reconnects_total{reason="max-age"}'
    text = run_loader(live_config(["ETHUSDT"], max_connection_s=2), kafka,
                      lambda text: max_age in text and metric(text, "streamforge_live_duplicates_dropped_total") > 0)
    assert 'streamforge_live_reconnects_total{reason="max-age"}' in text
    assert metric(text, "streamforge_live_duplicates_dropped_total") > 0  # the overlap delivered some twice
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


def test_malformed_events_go_to_the_dead_letter_topic_with_their_reason_and_the_loader_goes_on(sim, kafka, live_config):
    sim.post("/sim/faults", json={"ws_malformed": 0.05})
    text = run_loader(live_config([ETH, BTC]), kafka,
                      lambda text: metric(text, "streamforge_live_dead_letters_total") >= 4)  # both kinds: they alternate
    letters = read_messages(kafka, "deadletter")
    reasons = [dict(m.headers)[REASON].decode() for m in letters]
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("is not a decimal" in r for r in reasons)
    assert all(m.value for m in letters)
    assert metric(text, "streamforge_live_dead_letters_total") == len(letters)
    assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


def test_kafka_unavailable_buffers_within_budget_then_publishes_everything(sim, live_config, tmp_path, monkeypatch):
    """A hung broker (SIGSTOP) for a few seconds: rows wait in the buffer and all arrive, in order, once it is back."""
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", "2")
    with LocalBroker(tmp_path / "own-broker") as broker:
        kafka = kafka_config(broker.bootstrap)
        with LoaderThread(live_config([ETH, BTC]), kafka) as loader:
            time.sleep(3)
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                time.sleep(4)
                waiting = loader.publisher.pending_bytes
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            time.sleep(4)
        assert waiting > 0 and not loader.config.unpublished_path.exists()
        assert_contiguous_without_duplicates(read_frame(kafka, "live_trades"))


def test_kafka_unavailable_beyond_the_budget_is_loud_and_records_exactly_the_unpublished_ids(sim, live_config, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", "2")
    with LocalBroker(tmp_path / "own-broker") as broker:
        kafka = kafka_config(broker.bootstrap)
        config = live_config([ETH, BTC], buffer_bytes=60_000)
        with LoaderThread(config, kafka) as loader:
            time.sleep(3)
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                time.sleep(5)
                ready = httpx.get(f"http://127.0.0.1:{loader.http_port}/readyz").json()
                text = httpx.get(f"http://127.0.0.1:{loader.http_port}/metrics").text
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            time.sleep(5)
        assert "kafka" in ready["problems"]
        assert metric(text, "streamforge_live_unpublished_rows_total") > 0
        assert "KAFKA BUFFER BUDGET EXCEEDED" in caplog.text
        published = read_frame(kafka, "live_trades")
        lost = [json.loads(line) for line in config.unpublished_path.read_text().splitlines()]
        for instrument in (ETH, BTC):
            ids = set(published.filter(published["instrument"] == instrument)["agg_id"].to_list())
            recorded = {i for r in lost if r["instrument"] == instrument and r["record"] == "agg_trade" for i in range(r["first"], r["last"] + 1)}
            assert recorded and not ids & recorded  # what is recorded as lost was really not published...
            assert len(ids | recorded) == max(ids | recorded) - min(ids | recorded) + 1  # ...and nothing else is missing


def test_a_loader_stopped_while_repairs_hang_records_their_ranges_and_publishes_nothing_beyond_them(
    sim, kafka, live_config, monkeypatch
):
    """Repairs in flight get REPAIR_GRACE_S to finish on stop; one the venue keeps hanging is cancelled and its range
    recorded as unpublished, so the trades in Kafka plus the recorded ranges still leave no hole."""
    monkeypatch.setattr(loader_module, "REPAIR_GRACE_S", 0.5)
    config = live_config([ETH, BTC])
    with LoaderThread(config, kafka) as loader:
        url = f"http://127.0.0.1:{loader.http_port}/metrics"
        deadline = time.monotonic() + 30
        while metric(httpx.get(url).text, "streamforge_live_events_total") < 20:
            assert time.monotonic() < deadline, "the loader never started publishing"
            time.sleep(0.25)
        sim.post("/sim/faults", json={"slow_ms": 60_000, "ws_drop": 0.2})  # holes appear, REST never answers in time
        time.sleep(3)
    sim.post("/sim/faults", json={})
    lost = [json.loads(line) for line in config.unpublished_path.read_text().splitlines()]
    stopped = [r for r in lost if r["reason"] == "the loader stopped before the repair finished"]
    assert stopped, lost
    published = read_frame(kafka, "live_trades")
    for instrument in {r["instrument"] for r in stopped if r["record"] == "agg_trade"}:
        ids = set(published.filter(published["instrument"] == instrument)["agg_id"].to_list())
        recorded = {i for r in lost if r["instrument"] == instrument and r["record"] == "agg_trade"
                    for i in range(r["first"], r["last"] + 1)}
        assert not ids & recorded and len(ids | recorded) == max(ids | recorded) - min(ids | recorded) + 1


def test_control_messages_stay_within_five_per_second(sim_url):
    """Twelve SUBSCRIBEs through the connection's limiter take over two seconds and the server keeps the socket."""
    replies: list[dict] = []
    plan = ConnectionPlan(f"{sim_url.replace('http://', 'ws://')}/stream?streams=", [], frozenset())  # nothing streams
    connection = Connection(plan, Rules(control_per_s=5), lambda raw, ns: replies.append(json.loads(raw)) or False,
                            Metrics(), stall_s=5, max_age_s=60, backoff_s=0.1, backoff_max_s=1)

    async def run() -> float:
        stop = asyncio.Event()
        ws = await connection._open(stop)
        started = time.monotonic()
        for i, interval in enumerate(("1m", "3m", "5m") * 4, start=1):
            await connection.send_control(ws, json.dumps({"method": "SUBSCRIBE", "params": [f"ethusdt@kline_{interval}"], "id": i}))
        elapsed = time.monotonic() - started
        reason = asyncio.create_task(connection._read(ws, stop))
        await asyncio.sleep(1)
        stop.set()
        assert await reason is None  # still open
        await connection._close(ws)
        return elapsed

    elapsed = asyncio.run(run())
    assert elapsed >= 2.0
    assert [r for r in replies if "id" in r] == [{"result": None, "id": i} for i in range(1, 13)]


def test_control_rate_never_allows_six_in_a_second():
    rate = ControlRate(per_s=5)

    async def run() -> list[float]:
        times = []
        for _ in range(16):
            await rate.wait()
            times.append(time.monotonic())
        return times

    times = asyncio.run(run())
    assert all(later - earlier > 1.0 for earlier, later in zip(times, times[5:]))
