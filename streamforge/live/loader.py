"""The live loader: venues' WebSocket streams → exact, typed, micro-batched Kafka topics.

Each market's streams come from its venue's `Feed` (`streamforge.live.feed`: connections, subscriptions, parsing,
book procedure, REST repairs); the loader is the same for every venue. It publishes (see the Kafka contract in
docs/dev/contracts.md), keyed by instrument id:
- `live-aggtrades` (AGG_TRADE): every trade id exactly once and, where the venue's ids are contiguous, without holes
  — holes are fetched by REST first (`gaps`);
- `depth` (DEPTH_UPDATE): the diffs the local book applied, in order, so the topic holds the chain the book followed;
- `book` (BOOK_SNAPSHOT): every STREAMFORGE_LIVE_BOOK_INTERVAL_S, the top levels of each local book, which follows its
  venue's snapshot + diff procedure;
- `live-klines-1m` (KLINE): each closed 1-minute kline once, missed ones fetched by REST;
- other records a feed emits (liquidations, mark prices...) to their datasets' topics, as they come.

Events are handled as they are parsed, in the socket's own task: an instrument's events stay in order without a
queue per instrument. Only while a REST repair of an instrument is in flight are its later events held, and handled
after it. Book snapshots are fetched by one scheduler for all instruments, spaced apart and through each venue's
weight limiter, so a resync of hundreds of books after the daily reconnect cannot earn a 429; while a book waits for
its snapshot its diffs are buffered and its trades keep flowing. Nothing a venue sends stops a task: a message that
does not parse is a dead letter, an error while handling one is a dead letter too (logged with its traceback), and
every task runs under a supervisor that restarts it and fails liveness when it cannot recover (`supervise`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

from kafka import KafkaProducer
from kafka.errors import KafkaError

from streamforge import settings, venues
from streamforge.bus.config import kafka_config, timeout_s, unreachable
from streamforge.bus.offsets import partition_for
from streamforge.bus.publisher import producer_settings
from streamforge.bus.topics import TopicSpec, build_topics, ensure_topics
from streamforge.catalog import BOOK, DATASETS, DEADLETTER, DEPTH, LIVE_KLINES_1M, LIVE_TRADES
from streamforge.errors import StreamForgeError, shown
from streamforge.instruments import parse_instrument
from streamforge.live import health
from streamforge.live.connection import ConnectPacer, Connection, compression
from streamforge.live.deadletter import DeadLetters
from streamforge.live.feed import BadEvent, Book, BookUpdate, Feed, Kline, Outcome, Reconnect, Record, Refused, Trade
from streamforge.live.gaps import DUPLICATE, Jump, Sequence, Suspect
from streamforge.live.publisher import Publisher, Unpublished, rows_of
from streamforge.live.shards import Shard
from streamforge.live.supervise import Supervisor
from streamforge.schemas import INSTRUMENT

log = logging.getLogger(__name__)

KLINE_STEP_US = 60_000_000
KLINE_MAX_GAP = 24 * 60  # minutes of klines one repair may fetch: a day
STOPPED_BEFORE_REPAIR = "the loader stopped before the repair finished"
REPAIR_GRACE_S = 10.0  # on stop, how long repairs in flight may still take before they are cancelled and recorded
REPAIRED_ROW_BYTES = 150  # budget estimate for a row fetched by REST (it has no raw message)
BOOK_SLICES = 10  # book snapshots are published in this many turns per interval


@dataclass(frozen=True)
class LiveConfig:
    instruments: tuple[str, ...]  # the fleet's universe; this loader follows its shard's share of it
    shard: Shard
    urls: dict[str, str]  # venue URL settings overridden for this loader (tests: a simulator); empty: the settings
    home: Path
    http_host: str
    http_port: int
    ws_compression: str | None  # the `websockets` client's `compression`
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
    max_repair_ids: int
    recovery_s: float

    @classmethod
    def from_settings(cls, instruments: list[str], **overrides: object) -> LiveConfig:
        g = settings.get
        values = dict(
            instruments=tuple(instruments),
            shard=Shard.parse(g("STREAMFORGE_LIVE_SHARD")),
            urls={},
            home=settings.home(),
            http_host=g("STREAMFORGE_LIVE_HTTP_HOST"),
            http_port=int(g("STREAMFORGE_LIVE_HTTP_PORT")),
            ws_compression=compression(),
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
            max_repair_ids=int(g("STREAMFORGE_LIVE_MAX_REPAIR_IDS")),
            recovery_s=float(g("STREAMFORGE_LIVE_RECOVERY_S")),
        )
        return cls(**(values | overrides))

    @property
    def unpublished_path(self) -> Path:
        return self.home / "live" / "unpublished.jsonl"


def live_producer(kafka: dict, delivery_timeout_s: float) -> KafkaProducer:
    """The shared producer settings, but patient: while Kafka is away the producer retries in order for
    `delivery_timeout_s` instead of failing after seconds (every loss would otherwise need a REST repair), no
    linger, because the rows were already batched, and without the client's own metrics: nothing reads them (the
    loader's are in `health`), and recording them cost its network thread a sixth of its CPU."""
    patient = {"delivery_timeout_ms": int(delivery_timeout_s * 1000), "linger_ms": 0, "max_block_ms": 1000,
               "metrics_enabled": False}
    try:
        return KafkaProducer(**(producer_settings(kafka) | patient))
    except KafkaError as error:
        raise unreachable(kafka, error) from error


class Received(NamedTuple):
    """A message as it arrived: kept with its events, for a dead letter, the buffer budget and the latency metric."""

    raw: str
    size: int  # bytes of the message attributed to one of its events
    ns: int


KIND = {Trade: "trade", BookUpdate: "book", Kline: "kline"}  # metric label of each event type


@dataclass
class InstrumentState:
    """One instrument's sequences and book. While a repair is in flight (`busy`) its events wait in `held`."""

    instrument: str
    feed: Feed
    book: Book
    trades: Sequence
    klines: Sequence
    last_book_published: int | None = None
    snapshot_pending: bool = False
    busy: bool = False
    held: deque = field(default_factory=deque)


class Loader:
    def __init__(self, config: LiveConfig, kafka: dict | None = None, on_acked: Callable[[str, list[int]], None] | None = None) -> None:
        self.config = config
        self.kafka = kafka or kafka_config()
        self.metrics = health.Metrics()
        self.supervisor = Supervisor(self.metrics, config.recovery_s)
        # Built from the settings now (not at import), so a test or a second deployment can use its own prefix.
        self.topics = {spec.dataset: spec for spec in build_topics() if DATASETS[spec.dataset].live}
        self.publisher = Publisher(
            live_producer(self.kafka, config.delivery_timeout_s), self.metrics,
            Unpublished(config.unpublished_path, self.metrics), config.buffer_bytes, config.batch_ms, config.batch_rows,
            on_acked,
        )
        self.dead_letters = DeadLetters(self.publisher, self.metrics, self.topics[DEADLETTER].name)
        by_market: dict[str, list] = {}
        for instrument in (parse_instrument(i) for i in config.shard.select(list(config.instruments))):
            by_market.setdefault(instrument.market_id, []).append(instrument)
        share = 1 / config.shard.count
        self.feeds = [venues.feed(market_id, members, config.urls, share) for market_id, members in by_market.items()]
        self.states = {
            i.id: InstrumentState(
                i.id, feed, feed.book(i.id, config.snapshot_limit, config.book_buffer_events),
                Sequence(1, config.max_repair_ids), Sequence(KLINE_STEP_US, KLINE_MAX_GAP),
            )
            for feed in self.feeds
            for i in feed.instruments
        }
        self.connections = []
        for feed in self.feeds:
            pacer = ConnectPacer(*feed.rules.connects, config.shard.index, config.shard.count) if feed.rules.connects else None
            self.connections += [
                Connection(
                    plan, feed.rules, partial(self.deliver, feed), self.metrics, pacer=pacer,
                    compression=config.ws_compression, stall_s=config.stall_s,
                    max_age_s=config.max_connection_s, backoff_s=config.backoff_s, backoff_max_s=config.backoff_max_s,
                )
                for plan in feed.plan()
            ]
        self.metrics.shard.labels(str(config.shard)).set(len(self.states))
        self.snapshots: asyncio.Queue[str] = asyncio.Queue()
        self.repairs: set[asyncio.Task] = set()
        self.stopping = False  # from here on a hole is recorded, not fetched: shutting down takes a bounded time
        self.http_port: int | None = None
        self.started = threading.Event()

    # --- running

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(ensure_topics, self.kafka, tuple(self.topics.values()))
        server = await health.serve(
            self.metrics, self.readiness, self.supervisor.failing, self.config.http_host, self.config.http_port, stop
        )
        self.http_port = health.bound_port(server)
        for number, connection in enumerate(self.connections):
            self.supervisor.start(f"connection-{number}", partial(connection.run, stop))
        self.supervisor.start("snapshots", self._fetch_snapshots)
        self.supervisor.start("books", partial(self._publish_books, stop))
        self.started.set()
        log.info("live loader, shard %s: %d of %d instruments on %d connection(s); metrics on %s:%d", self.config.shard,
                 len(self.states), len(self.config.instruments), len(self.connections), self.config.http_host, self.http_port)
        try:
            await stop.wait()
        finally:
            await self.supervisor.stop()
            self.stopping = True
            if self.repairs:  # a repair in flight finishes (REST answers in moments), unless the venue hangs
                await asyncio.wait(set(self.repairs), timeout=REPAIR_GRACE_S)
            for task in list(self.repairs):
                task.cancel()
            await asyncio.gather(*self.repairs, return_exceptions=True)
            await asyncio.to_thread(self.publisher.close, timeout_s() * 2)
            for feed in self.feeds:
                feed.close()

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

    def deliver(self, feed: Feed, raw: str, received_ns: int) -> bool:
        """Parse one message and handle its events; True when the venue announced it will close the connection.
        Whatever cannot be parsed or handled becomes a dead letter: one bad message never stops a socket's task."""
        try:
            parsed = feed.parse(raw, received_ns // 1000)
        except BadEvent as error:
            self.dead_letters.send(raw, str(error), "schema")
            return False
        reconnect, received = False, Received(raw, len(raw) // max(len(parsed), 1), received_ns)
        for event in parsed:
            try:
                reconnect |= self._event(event, received)
            except Exception as error:  # noqa: BLE001 - a bug met by one event: recorded, and the stream goes on
                log.exception("handling an event of %s failed", getattr(event, "instrument", "?"))
                self.metrics.handling_errors.inc()
                self.dead_letters.send(raw, f"handling failed: {type(error).__name__}: {error}", "handling")
        return reconnect

    def _event(self, event, received: Received) -> bool:
        if isinstance(event, Reconnect):
            return True
        if isinstance(event, Refused):
            log.error("the venue refused a control message: %s", event.reason)
            self.metrics.dead_letters.labels("refused").inc()
            return False
        state = self.states.get(event.instrument)
        if state is None:
            self.dead_letters.send(received.raw, f"event for an instrument this loader does not follow: {shown(event.instrument)}",
                                   "schema")
            return False
        self.metrics.seen(state.instrument, KIND[type(event)] if not isinstance(event, Record) else event.dataset)
        if state.busy:
            state.held.append((event, received))
        else:
            self._handle(state, event, received)
        return False

    def _handle(self, state: InstrumentState, event, received: Received) -> None:
        if isinstance(event, Trade):
            self._trade(state, event, received)
        elif isinstance(event, BookUpdate):
            self._book_update(state, event, received)
        elif isinstance(event, Kline):
            self._kline(state, event, received)
        elif isinstance(event, Record):
            self.publisher.add(self.topics[event.dataset], state.instrument, event.row, event.time_us, received.size,
                               received.ns)

    # --- trades and klines: sequences, repaired by REST where they have holes

    def _trade(self, state: InstrumentState, trade: Trade, received: Received) -> None:
        decision = state.trades.offer(trade.id)
        if self._rejected(state, decision, f"trade id {trade.id}", received):
            return
        if decision.missing and (state.feed.contiguous_trade_ids or trade.resumes):
            first, last = decision.missing
            if isinstance(decision, Jump) and last - first + 1 > self.config.max_repair_ids:
                spec = self.topics[LIVE_TRADES]
                self.publisher.unpublished.record_ranges(spec.name, state.instrument, spec.record, [decision.missing],
                                                         "the stream jumped")
            else:
                self._repair(state, LIVE_TRADES, decision.missing, trade, received)
                return
        self._publish(state, trade, received)

    def _kline(self, state: InstrumentState, kline: Kline, received: Received) -> None:
        if not kline.closed:
            return  # only closed klines are published; the open one changes until it closes
        decision = state.klines.offer(kline.open_us)
        if self._rejected(state, decision, f"kline open time {kline.open_us}", received):
            return
        if decision.missing:
            self._repair(state, LIVE_KLINES_1M, decision.missing, kline, received)
            return
        self._publish(state, kline, received)

    def _rejected(self, state: InstrumentState, decision, what: str, received: Received) -> bool:
        """True for a duplicate (dropped, counted) and for an id too far ahead to believe alone (a dead letter)."""
        if decision is DUPLICATE:
            self.metrics.duplicates.labels(state.instrument, what.split(" ")[0]).inc()
            return True
        if isinstance(decision, Suspect):
            reason = f"{what} is implausibly far ahead of the last published {decision.last}: not believed until the stream confirms it"
            self.dead_letters.send(received.raw, reason, "implausible", instrument=state.instrument)
            return True
        return False

    def _publish(self, state: InstrumentState, event: Trade | Kline, received: Received) -> None:
        if isinstance(event, Trade):
            self.publisher.add(self.topics[LIVE_TRADES], state.instrument, event.row, event.time_us, received.size, received.ns)
            state.trades.published(event.id)
        else:
            self.publisher.add(self.topics[LIVE_KLINES_1M], state.instrument, event.row, event.open_us, received.size, received.ns)
            state.klines.published(event.open_us)

    def _repair(self, state: InstrumentState, dataset: str, missing: tuple[int, int], event: Trade | Kline,
                received: Received) -> None:
        """Fetch the `missing` ids [first, last] of `dataset` by REST while the instrument's events are held; then
        publish the event that found the hole and the held ones, in order. What REST cannot give is recorded as
        unpublished by range; the stream goes on either way. Once the loader is stopping, the hole is recorded at once
        and the event published, so the events held behind a cancelled repair are all accounted for."""
        spec = self.topics[dataset]
        if self.stopping:
            self.publisher.unpublished.record_ranges(spec.name, state.instrument, spec.record, [missing],
                                                     STOPPED_BEFORE_REPAIR)
            self._publish(state, event, received)
            return
        state.busy = True

        async def repair() -> None:
            try:
                await self._fetch_missing(state, spec, missing)
            except asyncio.CancelledError:  # stopped before REST answered: the hole is recorded, never left silent
                self.publisher.unpublished.record_ranges(spec.name, state.instrument, spec.record, [missing],
                                                         STOPPED_BEFORE_REPAIR)
                raise
            except Exception as error:  # noqa: BLE001 - a repair that fails is recorded, never the end of the stream
                log.exception("%s: repair of %s %d..%d failed", state.instrument, dataset, *missing)
                self.publisher.unpublished.record_ranges(spec.name, state.instrument, spec.record, [missing], f"repair failed: {error}")
            finally:
                state.busy = False
                self._publish(state, event, received)
                held, state.held = state.held, deque()
                while held and not state.busy:
                    self._handle(state, *held.popleft())
                state.held.extendleft(reversed(held))

        task = asyncio.create_task(repair(), name=f"repair-{state.instrument}")
        self.repairs.add(task)
        task.add_done_callback(self.repairs.discard)

    async def _fetch_missing(self, state: InstrumentState, spec: TopicSpec, missing: tuple[int, int]) -> None:
        first, last = missing
        if spec.dataset == LIVE_TRADES:
            frame = await asyncio.to_thread(state.feed.trades_between, state.instrument, first, last)
            key, time_column, step = "agg_id", "time", 1
        else:
            interval = DATASETS[LIVE_KLINES_1M].interval
            frame = await asyncio.to_thread(state.feed.klines, state.instrument, interval, first, last + KLINE_STEP_US)
            key, time_column, step = "open_time", "open_time", KLINE_STEP_US
        rows = rows_of(frame)
        now = time.time_ns()
        for row in rows:
            self.publisher.add(spec, state.instrument, row, row[time_column], REPAIRED_ROW_BYTES, now)
        got, lost, expected = sorted(row[key] for row in rows), [], first
        for value in got + [last + step]:
            if value > expected:
                lost.append((expected, value - step))
            expected = value + step
        if lost and (spec.dataset != LIVE_TRADES or state.feed.contiguous_trade_ids):  # else REST's rows are all there are
            self.publisher.unpublished.record_ranges(spec.name, state.instrument, spec.record, lost, "not on REST")
        self.metrics.gaps_repaired.labels(state.instrument, "trade" if spec.dataset == LIVE_TRADES else "kline").inc(len(rows))

    # --- books: the venue's procedure, snapshots fetched one at a time, applied diffs published

    def _book_update(self, state: InstrumentState, update: BookUpdate, received: Received) -> None:
        outcome = state.book.add(update)
        self._publish_applied(state, received.size, received.ns)
        if outcome in (Outcome.GAP, Outcome.CHECKSUM):
            self.metrics.book_resyncs.labels(state.instrument, outcome.value).inc()
            log.warning("%s: book %s; resyncing the book", state.instrument,
                        "updates were lost" if outcome is Outcome.GAP else "failed its checksum")
        if outcome in (Outcome.GAP, Outcome.CHECKSUM, Outcome.BUFFERED):
            self._want_snapshot(state)

    def _publish_applied(self, state: InstrumentState, size: int, received_ns: int) -> None:
        spec = self.topics[DEPTH]
        for applied in state.book.applied():
            self.publisher.add(spec, state.instrument, applied.row, applied.time_us, size, received_ns)

    def _want_snapshot(self, state: InstrumentState) -> None:
        if not state.snapshot_pending:
            state.snapshot_pending = True
            self.snapshots.put_nowait(state.instrument)

    async def _fetch_snapshots(self) -> None:
        """One REST snapshot at a time, spaced, through the venue client's weight limiter (it waits rather than
        exceeding the venue's budget), so any number of resyncing books stays under the REST limit."""
        while True:
            instrument = await self.snapshots.get()
            state = self.states[instrument]
            try:
                snapshot = await asyncio.to_thread(state.feed.snapshot, instrument, self.config.snapshot_limit)
            except StreamForgeError as error:
                log.error("%s: book snapshot failed (%s); trying again", instrument, error)
                await asyncio.sleep(self.config.backoff_s)
                self.snapshots.put_nowait(instrument)
                continue
            state.snapshot_pending = False
            if not state.book.load(snapshot) or not state.book.synced:
                self.metrics.book_resyncs.labels(instrument, "stale-snapshot").inc()
                self._want_snapshot(state)
            self._publish_applied(state, REPAIRED_ROW_BYTES, time.time_ns())
            await asyncio.sleep(self.config.snapshot_spacing_s)

    async def _publish_books(self, stop: asyncio.Event) -> None:
        """Every book once per STREAMFORGE_LIVE_BOOK_INTERVAL_S, a tenth of them every tenth of it: hundreds of
        snapshots at once would hold the event loop and the next batch long enough to show in every row's latency.
        A tenth is a run of the books in the order of their Kafka partitions, so that each turn's snapshots make one
        or two messages (a message costs far more than a row), not one per partition."""
        spec, top = self.topics[BOOK], self.config.book_top
        states = sorted(self.states.values(), key=lambda state: partition_for(state.instrument, spec.partitions))
        size = -(-len(states) // BOOK_SLICES)
        turn = 0
        while not stop.is_set():
            await asyncio.sleep(self.config.book_interval_s / BOOK_SLICES)
            for state in states[turn * size : (turn + 1) * size]:
                self._publish_book(spec, top, state)
            turn = (turn + 1) % BOOK_SLICES

    def _publish_book(self, spec: TopicSpec, top: int, state: InstrumentState) -> None:
        book = state.book
        if not book.synced or book.last_update_id == state.last_book_published:
            return
        bids, asks = book.top(top)
        instrument, at, last = state.instrument, book.last_event_time_us, book.last_update_id
        rows = [{INSTRUMENT: instrument, "time": at, "last_update_id": last, "side": side, "level": level, "price": price,
                 "qty": qty} for side, levels in (("bid", bids), ("ask", asks)) for level, (price, qty) in enumerate(levels)]
        self.publisher.add_rows(spec, state.instrument, rows, book.last_event_time_us, 64, time.time_ns())
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
