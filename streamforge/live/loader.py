"""The live loader: Binance's combined WebSocket stream → exact, typed, micro-batched Kafka topics.

Per instrument it subscribes `<sym>@aggTrade`, `<sym>@depth@100ms` and `<sym>@kline_1m` and publishes (see the Kafka
contract in docs/dev/contracts.md), keyed by instrument id:
- `live-aggtrades` (AGG_TRADE): every agg id exactly once, contiguous — holes are fetched by REST first (`gaps`);
- `depth` (DEPTH_UPDATE): the diff events as received, without duplicates (u above the last one published);
- `book` (BOOK_SNAPSHOT): every STREAMFORGE_LIVE_BOOK_INTERVAL_S, the top levels of the local book (`book`), which
  follows Binance's snapshot + diff procedure;
- `live-klines-1m` (KLINE): each closed 1-minute kline once, missed ones fetched by REST.

Each instrument has a worker task that handles its events in order, so a REST repair for one instrument holds back
only that instrument's events. Book snapshots are fetched by one scheduler for all of them, spaced apart and through the REST
client's weight limiter, so a resync of hundreds of books after the daily reconnect cannot earn a 429; while a book
waits for its snapshot its diffs are buffered and its trades keep flowing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from kafka import KafkaProducer
from kafka.errors import KafkaError

from streamforge import settings
from streamforge.bus.config import kafka_config, timeout_s, unreachable
from streamforge.bus.publisher import producer_settings
from streamforge.bus.topics import build_topics, ensure_topics
from streamforge.catalog import BOOK, DATASETS, DEADLETTER, DEPTH, LIVE_KLINES_1M, LIVE_TRADES
from streamforge.errors import StreamForgeError
from streamforge.venues.binance.rest import BinanceRest
from streamforge.live import health
from streamforge.venues.binance import events
from streamforge.venues.binance.book import LocalBook, Outcome
from streamforge.live.connection import MAX_STREAMS, Connection
from streamforge.live.deadletter import DeadLetters
from streamforge.live.gaps import Sequence
from streamforge.instruments import parse_instrument
from streamforge.live.publisher import Publisher, Unpublished
from streamforge.schemas import INSTRUMENT

log = logging.getLogger(__name__)

STREAM_SUFFIXES = ("aggTrade", "depth@100ms", "kline_1m")
EVENT_TYPES = ("aggTrade", "depthUpdate", "kline")
OTHER = "other"  # the metric label of a stream or event type the loader did not subscribe to
KLINE_STEP_US = 60_000_000
REPAIRED_ROW_BYTES = 150  # budget estimate for a row fetched by REST (it has no raw message)


@dataclass(frozen=True)
class LiveConfig:
    instruments: tuple[str, ...]
    ws_url: str
    rest_url: str
    home: Path
    http_host: str
    http_port: int
    stall_s: float
    max_connection_s: float
    backoff_s: float
    backoff_max_s: float
    batch_ms: float
    batch_rows: int
    buffer_bytes: int
    delivery_timeout_s: float
    snapshot_limit: int
    snapshot_spacing_s: float
    book_interval_s: float
    book_top: int
    book_buffer_events: int

    @classmethod
    def from_settings(cls, instruments: list[str], **overrides: object) -> LiveConfig:
        g = settings.get
        values = dict(
            instruments=tuple(instruments),
            ws_url=g("STREAMFORGE_WS_URL"),
            rest_url=g("STREAMFORGE_REST_URL"),
            home=settings.home(),
            http_host=g("STREAMFORGE_LIVE_HTTP_HOST"),
            http_port=int(g("STREAMFORGE_LIVE_HTTP_PORT")),
            stall_s=float(g("STREAMFORGE_LIVE_STALL_S")),
            max_connection_s=float(g("STREAMFORGE_LIVE_MAX_CONNECTION_S")),
            backoff_s=float(g("STREAMFORGE_LIVE_BACKOFF_S")),
            backoff_max_s=float(g("STREAMFORGE_LIVE_BACKOFF_MAX_S")),
            batch_ms=float(g("STREAMFORGE_LIVE_BATCH_MS")),
            batch_rows=int(g("STREAMFORGE_LIVE_BATCH_ROWS")),
            buffer_bytes=int(g("STREAMFORGE_LIVE_BUFFER_BYTES")),
            delivery_timeout_s=float(g("STREAMFORGE_LIVE_DELIVERY_TIMEOUT_S")),
            snapshot_limit=int(g("STREAMFORGE_LIVE_SNAPSHOT_LIMIT")),
            snapshot_spacing_s=float(g("STREAMFORGE_LIVE_SNAPSHOT_SPACING_MS")) / 1000,
            book_interval_s=float(g("STREAMFORGE_LIVE_BOOK_INTERVAL_S")),
            book_top=int(g("STREAMFORGE_LIVE_BOOK_TOP")),
            book_buffer_events=int(g("STREAMFORGE_LIVE_BOOK_BUFFER_EVENTS")),
        )
        return cls(**(values | overrides))

    @property
    def unpublished_path(self) -> Path:
        return self.home / "live" / "unpublished.jsonl"


def live_producer(kafka: dict, delivery_timeout_s: float) -> KafkaProducer:
    """The shared producer settings, but patient: while Kafka is away the producer retries in order for
    `delivery_timeout_s` instead of failing after seconds (every loss would otherwise need a REST repair), and
    no linger, because the rows were already batched."""
    patient = {"delivery_timeout_ms": int(delivery_timeout_s * 1000), "linger_ms": 0, "max_block_ms": 1000}
    try:
        return KafkaProducer(**(producer_settings(kafka) | patient))
    except KafkaError as error:
        raise unreachable(kafka, error) from error


@dataclass
class InstrumentState:
    """One instrument's sequences and book; its events are handled in order by one worker."""

    instrument: str
    book: LocalBook
    trades: Sequence = field(default_factory=Sequence)
    klines: Sequence = field(default_factory=lambda: Sequence(KLINE_STEP_US))
    last_depth_u: int = -1
    last_book_published: int | None = None
    snapshot_pending: bool = False
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class Loader:
    def __init__(self, config: LiveConfig, kafka: dict | None = None, on_acked: Callable[[str, list[int]], None] | None = None) -> None:
        self.config = config
        self.kafka = kafka or kafka_config()
        self.metrics = health.Metrics()
        self.rest = BinanceRest(config.rest_url)
        # Built from the settings now (not at import), so a test or a second deployment can use its own prefix.
        self.topics = {spec.dataset: spec for spec in build_topics() if DATASETS[spec.dataset].live}
        self.publisher = Publisher(
            live_producer(self.kafka, config.delivery_timeout_s), self.metrics,
            Unpublished(config.unpublished_path, self.metrics), config.buffer_bytes, config.batch_ms, config.batch_rows,
            on_acked,
        )
        self.dead_letters = DeadLetters(self.publisher, self.metrics, self.topics[DEADLETTER].name)
        instruments = [parse_instrument(i) for i in config.instruments]
        self.states = {
            i.id: InstrumentState(i.id, LocalBook(i.id, max_levels=config.snapshot_limit, max_buffered=config.book_buffer_events))
            for i in instruments
        }
        # Binance names the symbol in every event ("s"): the route from it to the instrument's state.
        self.by_symbol = {i.symbol: self.states[i.id] for i in instruments}
        streams = [f"{i.symbol.lower()}@{suffix}" for i in instruments for suffix in STREAM_SUFFIXES]
        self.streams = frozenset(streams)
        self.connections = [
            Connection(
                config.ws_url, streams[i : i + MAX_STREAMS], self.deliver, self.metrics, stall_s=config.stall_s,
                max_age_s=config.max_connection_s, backoff_s=config.backoff_s, backoff_max_s=config.backoff_max_s,
            )
            for i in range(0, len(streams), MAX_STREAMS)
        ]
        self.snapshots: asyncio.Queue[str] = asyncio.Queue()
        self.http_port: int | None = None
        self.started = threading.Event()

    # --- running

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(ensure_topics, self.kafka, tuple(self.topics.values()))
        server = await health.serve(self.metrics, self.readiness, self.config.http_host, self.config.http_port, stop)
        self.http_port = health.bound_port(server)
        tasks = [asyncio.create_task(c.run(stop)) for c in self.connections]
        tasks += [asyncio.create_task(self._work(state)) for state in self.states.values()]
        tasks += [asyncio.create_task(self._fetch_snapshots()), asyncio.create_task(self._publish_books(stop))]
        self.started.set()
        log.info("live loader: %d instruments on %d connection(s); metrics on %s:%d", len(self.states), len(self.connections),
                 self.config.http_host, self.http_port)
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.publisher.close, timeout_s() * 2)
            self.rest.close()

    def readiness(self) -> dict[str, str]:
        problems = {}
        if not all(c.connected for c in self.connections):
            problems["websocket"] = "not connected"
        unsynced = [s for s, state in self.states.items() if not state.book.synced]
        if unsynced:
            problems["books"] = f"waiting for a snapshot: {', '.join(unsynced)}"
        if self.publisher.over_budget:
            problems["kafka"] = "buffer budget exceeded: rows are not being published"
        return problems

    # --- the edge: one WebSocket message

    def deliver(self, raw: str, received_ns: int) -> None:
        """Parse one message and queue it for its instrument's worker; what cannot be parsed becomes a dead letter."""
        try:
            message = json.loads(raw)
        except ValueError as error:
            self.dead_letters.send(raw, f"not JSON: {error}", "json")
            return
        stream = message.get("stream", "") if isinstance(message, dict) else ""
        data = message.get("data") if isinstance(message, dict) else None
        if not isinstance(data, dict):
            self.dead_letters.send(raw, "not a combined-stream message {stream, data}", "shape", str(stream))
            return
        symbol = data.get("s")
        state = self.by_symbol.get(symbol) if isinstance(symbol, str) else None
        if state is None:
            self.dead_letters.send(raw, f"event for a symbol this loader does not follow: {symbol!r}", "schema", stream)
            return
        kind, instrument = data.get("e"), state.instrument
        # Labels only from what the loader subscribed to: a server's strings would make a label set without bound.
        known_stream = isinstance(stream, str) and stream in self.streams
        self.metrics.seen(stream if known_stream else OTHER, instrument, kind if kind in EVENT_TYPES else OTHER)
        try:
            if kind == "aggTrade":
                item = ("trade", events.agg_trade(data, instrument))
            elif kind == "depthUpdate":
                item = ("depth", events.depth_update(data, instrument))
            elif kind == "kline":
                closed, row = events.kline(data, instrument)
                if not closed:
                    return  # only closed klines are published; the open one changes until it closes
                item = ("kline", row)
            else:
                self.dead_letters.send(raw, f"unknown event type {kind!r}", "schema", stream, instrument)
                return
        except events.BadEvent as error:
            self.dead_letters.send(raw, str(error), "schema", stream, instrument)
            return
        state.queue.put_nowait((*item, len(raw), received_ns))

    # --- per-instrument work, in order

    async def _work(self, state: InstrumentState) -> None:
        handlers = {"trade": self._trade, "depth": self._depth, "kline": self._kline, "snapshot": self._snapshot}
        while True:
            kind, payload, size, received_ns = await state.queue.get()
            try:
                await handlers[kind](state, payload, size, received_ns)
            except StreamForgeError as error:  # a REST repair that failed: recorded, and the stream goes on
                log.error("%s %s: %s", state.instrument, kind, error)

    async def _trade(self, state: InstrumentState, row: dict, size: int, received_ns: int) -> None:
        agg_id = row["agg_id"]
        decision = state.trades.offer(agg_id)
        if decision is None:
            self.metrics.duplicates.labels(state.instrument, "aggTrade").inc()
            return
        if decision.missing:
            await self._repair_trades(state, *decision.missing)
        self.publisher.add(self.topics[LIVE_TRADES], state.instrument, row, row["time"], size, received_ns)
        state.trades.published(agg_id)

    async def _repair_trades(self, state: InstrumentState, first: int, last: int) -> None:
        """Fetch agg ids first..last by REST and publish them; ids REST cannot give are recorded as unpublished."""
        symbol = parse_instrument(state.instrument).symbol
        try:
            frame = await asyncio.to_thread(self.rest.agg_trades_between, symbol, first, last)
        except StreamForgeError as error:
            log.error("%s: REST repair of agg ids %d..%d failed: %s", state.instrument, first, last, error)
            frame = None
        spec = self.topics[LIVE_TRADES]
        rows = [] if frame is None else list(frame.with_columns(pl.col("time").dt.epoch("us")).iter_rows(named=True))
        now = time.time_ns()
        for row in rows:
            self.publisher.add(spec, state.instrument, row, row["time"], REPAIRED_ROW_BYTES, now)
        got = {row["agg_id"] for row in rows}
        lost = [i for i in range(first, last + 1) if i not in got]
        self.publisher.unpublished.record(spec.name, state.instrument, spec.record, lost, "REST repair failed")
        self.metrics.gaps_repaired.labels(state.instrument, "aggTrade").inc(len(rows))

    async def _depth(self, state: InstrumentState, event: events.DepthEvent, size: int, received_ns: int) -> None:
        if event.final_update_id > state.last_depth_u:
            self.publisher.add(self.topics[DEPTH], state.instrument, event.row(), event.event_time_us, size, received_ns)
            state.last_depth_u = event.final_update_id
        outcome = state.book.add(event)
        if outcome is Outcome.GAP:
            self.metrics.book_resyncs.labels(state.instrument, "gap").inc()
            log.warning("%s: depth update ids jumped to U=%d; resyncing the book", state.instrument, event.first_update_id)
        if outcome in (Outcome.GAP, Outcome.BUFFERED):
            self._want_snapshot(state)

    async def _snapshot(self, state: InstrumentState, snapshot: dict, size: int, received_ns: int) -> None:
        state.snapshot_pending = False
        try:
            last_update_id = int(snapshot["lastUpdateId"])
            bids = [(float(p), float(q)) for p, q in snapshot["bids"]]
            asks = [(float(p), float(q)) for p, q in snapshot["asks"]]
        except (KeyError, TypeError, ValueError) as error:
            log.error("%s: unusable depth snapshot (%s); fetching another", state.instrument, error)
            self._want_snapshot(state)
            return
        if not state.book.load_snapshot(last_update_id, bids, asks) or not state.book.synced:
            self.metrics.book_resyncs.labels(state.instrument, "stale-snapshot").inc()
            self._want_snapshot(state)

    async def _kline(self, state: InstrumentState, row: dict, size: int, received_ns: int) -> None:
        open_us = row["open_time"]
        decision = state.klines.offer(open_us)
        if decision is None:
            self.metrics.duplicates.labels(state.instrument, "kline").inc()
            return
        spec = self.topics[LIVE_KLINES_1M]
        if decision.missing:
            first, last = decision.missing
            symbol, interval = parse_instrument(state.instrument).symbol, DATASETS[LIVE_KLINES_1M].interval
            frame = await asyncio.to_thread(self.rest.klines, symbol, interval, first, last + KLINE_STEP_US)
            times = [pl.col(c).dt.epoch("us") for c in ("open_time", "close_time")]
            for missed in frame.with_columns(times).iter_rows(named=True):
                self.publisher.add(spec, state.instrument, missed, missed["open_time"], REPAIRED_ROW_BYTES, time.time_ns())
            self.metrics.gaps_repaired.labels(state.instrument, "kline").inc(frame.height)
        self.publisher.add(spec, state.instrument, row, open_us, size, received_ns)
        state.klines.published(open_us)

    # --- book snapshots: fetched one at a time, published periodically

    def _want_snapshot(self, state: InstrumentState) -> None:
        if not state.snapshot_pending:
            state.snapshot_pending = True
            self.snapshots.put_nowait(state.instrument)

    async def _fetch_snapshots(self) -> None:
        """One REST depth snapshot at a time, spaced, through the client's weight limiter (it waits rather than
        exceeding the exchange's budget), so any number of resyncing books stays under the REST limit."""
        while True:
            instrument = await self.snapshots.get()
            try:
                snapshot = await asyncio.to_thread(self.rest.depth, parse_instrument(instrument).symbol, self.config.snapshot_limit)
            except StreamForgeError as error:
                log.error("%s: depth snapshot failed (%s); trying again", instrument, error)
                await asyncio.sleep(self.config.backoff_s)
                self.snapshots.put_nowait(instrument)
                continue
            self.states[instrument].queue.put_nowait(("snapshot", snapshot, 0, time.time_ns()))
            await asyncio.sleep(self.config.snapshot_spacing_s)

    async def _publish_books(self, stop: asyncio.Event) -> None:
        spec, top = self.topics[BOOK], self.config.book_top
        while not stop.is_set():
            await asyncio.sleep(self.config.book_interval_s)
            for state in self.states.values():
                book = state.book
                if not book.synced or book.last_update_id == state.last_book_published:
                    continue
                bids, asks = book.top(top)
                now = time.time_ns()
                for side, levels in (("bid", bids), ("ask", asks)):
                    for level, (price, qty) in enumerate(levels):
                        row = {INSTRUMENT: state.instrument, "time": book.last_event_time_us,
                               "last_update_id": book.last_update_id, "side": side, "level": level, "price": price, "qty": qty}
                        self.publisher.add(spec, state.instrument, row, book.last_event_time_us, 64, now)
                state.last_book_published = book.last_update_id


class LoaderThread:
    """Run a Loader on an event loop of its own in a background thread: `with LoaderThread(config) as loader:`."""

    def __init__(self, config: LiveConfig, kafka: dict | None = None, on_acked: Callable[[str, list[int]], None] | None = None) -> None:
        self.loader = Loader(config, kafka, on_acked)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="live-loader", daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await self.loader.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # surfaced by __enter__ / __exit__
            self._error = error
            self.loader.started.set()

    def __enter__(self) -> Loader:
        self._thread.start()
        self.loader.started.wait(60)
        if self._error:
            raise self._error
        return self.loader

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._error and not exc[0]:
            raise self._error

    def stop(self) -> None:
        """Stop the loader and wait until what it buffered is published (also done on leaving the `with`)."""
        if self._loop and self._stop and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
