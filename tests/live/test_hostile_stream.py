"""Nothing an exchange sends stops the live loader: hostile and broken messages become dead letters, ids far ahead
are not believed alone, every task is supervised — on the real broker, through the loader's own message path."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time

import httpx
import pytest

from live_cases import BTC, ETH, metric, read_frame
from streamforge.errors import StreamForgeError
from streamforge.live.health import Metrics, bound_port, serve
from streamforge.live.loader import Loader
from streamforge.live.supervise import Supervisor
from streamforge.venues.binance import parse

pytestmark = pytest.mark.slow

NOW_US = 1_767_268_800_000_000  # 2026-01-01 12:00 UTC


def trade(agg_id: int, symbol: str = "ETHUSDT", **changes) -> str:
    data = {"e": "aggTrade", "E": NOW_US, "s": symbol, "a": agg_id, "p": "3400.01", "q": "0.5", "f": agg_id * 2,
            "l": agg_id * 2 + 1, "T": NOW_US + agg_id, "m": False, "M": True} | changes
    return json.dumps({"stream": f"{symbol.lower()}@aggTrade", "data": data})


def depth(first: int, final: int, **changes) -> str:
    data = {"e": "depthUpdate", "E": NOW_US, "s": "ETHUSDT", "U": first, "u": final, "b": [["3400.00", "1.5"]],
            "a": [["3400.02", "0"]]} | changes
    return json.dumps({"stream": "ethusdt@depth@100ms", "data": data})


def kline(open_us: int, **changes) -> str:
    k = {"t": open_us, "T": open_us + 59_999_999, "s": "ETHUSDT", "i": "1m", "f": 1, "L": 2, "o": "3400.0",
         "c": "3401.0", "h": "3402.0", "l": "3399.0", "v": "10", "n": 2, "x": True, "q": "34000", "V": "5",
         "Q": "17000", "B": "0"} | changes
    return json.dumps({"stream": "ethusdt@kline_1m", "data": {"e": "kline", "E": NOW_US, "s": "ETHUSDT", "k": k}})


@pytest.fixture
def loader(kafka, live_config):
    """A loader whose message path is driven directly (no socket): what it publishes goes to the session broker."""
    built = Loader(live_config([ETH, BTC], max_repair_ids=1_000), kafka)
    yield built
    built.publisher.close(10)
    for feed in built.feeds:
        feed.close()


def deliver(loader: Loader, *messages: str) -> None:
    [feed] = loader.feeds
    for raw in messages:
        loader.deliver(feed, raw, time.time_ns())


def published_ids(loader: Loader, kafka: dict) -> list[int]:
    loader.publisher.close(10)
    trades = read_frame(kafka, "live_trades")
    return trades.filter(trades["instrument"] == ETH)["agg_id"].to_list()


def test_the_reviews_messages_are_dead_letters_not_dead_tasks(loader, kafka):
    """A trade time of 2^62 µs raised ValueError in the partition-key code and a control reply with a list id raised
    TypeError in the connection; both stopped a task. Now each is refused at the edge and the stream goes on."""
    deliver(loader, trade(100), trade(101, T=2**62), json.dumps({"id": [1], "result": None}), trade(101))
    assert metric(loader.metrics.render().decode(), "streamforge_live_handling_errors_total") == 0
    assert published_ids(loader, kafka) == [100, 101]
    assert metric(loader.metrics.render().decode(), "streamforge_live_dead_letters_total") == 1  # the 2^62 time


def test_an_id_far_ahead_is_not_believed_alone_and_the_real_next_ids_are_published(loader, kafka):
    deliver(loader, trade(100), trade(100 + 10**6), trade(101), trade(102))
    assert published_ids(loader, kafka) == [100, 101, 102]


def test_a_confirmed_jump_of_a_billion_ids_is_recorded_by_range_without_listing_them(loader, kafka):
    deliver(loader, trade(100), trade(100 + 10**9), trade(101 + 10**9))
    ids = published_ids(loader, kafka)
    assert ids == [100, 101 + 10**9]
    lost = [json.loads(line) for line in loader.config.unpublished_path.read_text().splitlines()]
    assert [(r["first"], r["last"], r["reason"]) for r in lost] == [(101, 100 + 10**9, "the stream jumped")]


def test_a_wild_depth_id_does_not_freeze_the_depth_topic_or_the_book(loader, kafka):
    """The depth topic holds what the book applied, so a u of 10^18 can neither block later diffs nor be published."""
    state = loader.states[ETH]
    state.book.load(parse.depth_snapshot({"lastUpdateId": 10, "bids": [["3400.0", "1"]], "asks": [["3400.1", "1"]]}, "test"))
    deliver(loader, depth(11, 12), depth(10**18, 10**18), depth(13, 14))
    assert state.book.synced or state.snapshot_pending  # a gap means a resync, never a wrong book
    loader.publisher.close(10)
    assert read_frame(kafka, "depth")["final_update_id"].to_list() == [12]


def test_a_hundred_thousand_mutated_messages_raise_nothing_but_the_projects_own_and_the_loader_goes_on(loader, kafka, caplog):
    caplog.set_level(logging.ERROR)  # a warning per dead letter would be 10^5 log lines
    rng = random.Random(7)
    templates = [trade(1_000), depth(11, 12), kline(NOW_US // 60_000_000 * 60_000_000)]
    count = 0
    for template in templates * 34_000:
        for raw in mutations(rng, template):
            deliver(loader, raw)
            count += 1
    assert count >= 100_000
    assert metric(loader.metrics.render().decode(), "streamforge_live_handling_errors_total") == 0  # only BadEvents
    assert not loader.supervisor.failing()
    deliver(loader, trade(1_001), trade(1_002))
    assert {1_001, 1_002} <= set(published_ids(loader, kafka))  # still publishing afterwards


def test_rest_pages_as_hostile_as_the_stream_raise_only_malformed_data(caplog):
    rng = random.Random(11)
    page = [{"a": 1, "p": "3400.01", "q": "0.5", "f": 2, "l": 3, "T": NOW_US, "m": False, "M": True}]
    klines = [[NOW_US, "1.0", "2.0", "0.5", "1.5", "10", NOW_US + 59_999_999, "15", 3, "5", "7.5", "0"]]
    book = {"lastUpdateId": 10, "bids": [["3400.0", "1"]], "asks": [["3400.1", "1"]]}
    parsers = [
        (json.dumps(page), lambda rows: parse.agg_trades_from_json(rows, ETH, "page")),
        (json.dumps(klines), lambda rows: parse.klines_from_json(rows, ETH, "1m", "page")),
        (json.dumps(book), lambda answer: parse.depth_snapshot(answer, "page")),
    ]
    for template, parser in parsers * 3_000:
        for raw in mutations(rng, template, per_template=3):
            try:
                parser(json.loads(raw))
            except json.JSONDecodeError:
                continue  # the REST client refuses what is not JSON before a parser sees it
            except StreamForgeError:
                continue


_WILD = [None, True, -1, 0, 2**62, 2**63, 2**64, -(2**63) - 1, 1e308, "", "NaN", "inf", "-1", "١٢٣", "1e999", " 1",
         [], {}, [[]], [["1"]], [["1", "2", "3"]], "x" * 10_000, {"a": {"b": {"c": []}}}]


def mutations(rng: random.Random, template: str, per_template: int = 1) -> list[str]:
    """`template` with one field (at any depth) replaced by a wild value, removed or renamed, or the text cut short."""
    out = []
    for _ in range(per_template):
        message = json.loads(template)
        choice = rng.random()
        if choice < 0.1:
            out.append(template[: rng.randrange(len(template))])
            continue
        node, key = _random_field(rng, message)
        if choice < 0.2:
            node.pop(key) if isinstance(node, dict) else node.pop(key)
        elif choice < 0.25 and isinstance(node, dict):
            node[f"{key}x"] = node.pop(key)
        else:
            node[key] = rng.choice(_WILD)
        out.append(json.dumps(message))
    return out


def _random_field(rng: random.Random, message) -> tuple[object, object]:
    node = message
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = rng.choice(keys)
        child = node[key]
        if isinstance(child, (dict, list)) and child and rng.random() < 0.6:
            node = child
            continue
        return node, key


def test_a_task_that_keeps_failing_is_restarted_counted_and_fails_liveness():
    metrics = Metrics()
    supervisor = Supervisor(metrics, recovery_s=0.3, stable_s=5, backoff_s=0.01, backoff_max_s=0.02)
    runs = []

    async def broken() -> None:
        runs.append(time.monotonic())
        raise RuntimeError("a bug")

    async def run() -> list[str]:
        supervisor.start("broken", broken)
        await asyncio.sleep(0.6)
        failing = supervisor.failing()
        await supervisor.stop()
        return failing

    assert asyncio.run(run()) == ["broken"]
    assert len(runs) > 3
    assert metric(metrics.render().decode(), 'streamforge_live_task_restarts_total{task="broken"}') == len(runs)


def test_healthz_answers_503_naming_the_task_that_keeps_failing_over_a_real_socket():
    """What the kubelet's liveness probe sees: 200 while every task runs, 503 with the task's name once one keeps
    failing past the recovery bound."""
    metrics = Metrics()
    supervisor = Supervisor(metrics, recovery_s=0.3, stable_s=5, backoff_s=0.01, backoff_max_s=0.02)

    async def broken() -> None:
        raise RuntimeError("a bug")

    async def probe(client: httpx.AsyncClient, url: str) -> tuple[int, str]:
        answer = await client.get(url)
        return answer.status_code, answer.text

    async def run() -> tuple[tuple[int, str], tuple[int, str]]:
        stop = asyncio.Event()
        server = await serve(metrics, dict, supervisor.failing, "127.0.0.1", 0, stop)
        url = f"http://127.0.0.1:{bound_port(server)}/healthz"
        async with httpx.AsyncClient() as client:
            before = await probe(client, url)
            supervisor.start("broken", broken)
            await asyncio.sleep(0.6)
            after = await probe(client, url)
        await supervisor.stop()
        stop.set()
        return before, after

    before, after = asyncio.run(run())
    assert before == (200, "ok")
    assert after == (503, "tasks keep failing: broken")


def test_a_task_that_recovers_does_not_fail_liveness():
    supervisor = Supervisor(Metrics(), recovery_s=0.2, stable_s=0.1, backoff_s=0.01, backoff_max_s=0.01)
    calls = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("once")
        await asyncio.sleep(10)

    async def run() -> list[str]:
        supervisor.start("flaky", flaky)
        await asyncio.sleep(0.5)
        failing = supervisor.failing()
        await supervisor.stop()
        return failing

    assert asyncio.run(run()) == [] and len(calls) == 2
