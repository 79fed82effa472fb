"""What the live loader needs of one market's streams: the one interface each venue folder implements.

The loader (`streamforge.live.loader`) knows Kafka, the catalog, sequences, books and repairs; it knows nothing of a
venue's URLs, subscription messages, wire formats or book procedure. A `Feed` says all of that for one market:
how its streams are laid out over connections (`plan`), what to send to subscribe and to keep a socket alive, how a
raw message becomes typed events (`parse`, strict: a message that does not match the venue's documented format
raises `BadEvent` with a reason), which order-book procedure its diffs follow (`book`), and how REST repairs what a
stream lost (`trades_between`, `klines`, `snapshot`). Add a market: implement a Feed in its venue folder and name it
in `streamforge.instruments.MARKETS`.

Events carry the catalog records' fields by name (`row`), the instrument id, and what the loader needs to sequence
them; nothing positional crosses this line.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
import polars as pl

from streamforge.errors import shown
from streamforge.instruments import Instrument

if TYPE_CHECKING:  # a venue's feed is made with its market's endpoints; the live package itself never reads them
    from streamforge.venues.market import Endpoints


class BadEvent(ValueError):
    """A message that does not match its venue's documented format; the message says which field and why."""


def json_object(raw: str) -> dict:
    """The JSON object a text message holds: every venue's stream messages are objects, so anything else is a
    BadEvent saying what it is."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadEvent(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise BadEvent(f"not a JSON object: {shown(message)}")
    return message


# --- events: what a message becomes


@dataclass(slots=True)
class Trade:
    """A trade (AGG_TRADE fields); `id` is its place in the instrument's id sequence. `resumes`: the first trade of
    a stream that (re)started, so trades may have been missed before it even where ids need not be contiguous."""

    instrument: str
    row: dict
    id: int
    time_us: int
    resumes: bool = False


@dataclass(slots=True)
class Kline:
    """A kline (KLINE fields); only closed ones are published."""

    instrument: str
    row: dict
    open_us: int
    closed: bool


@dataclass(slots=True)
class BookUpdate:
    """A diff of the order book: `row` holds DEPTH_UPDATE's fields, `update` what the venue's book procedure needs."""

    instrument: str
    row: dict
    time_us: int
    update: object


@dataclass(slots=True)
class Record:
    """A row published as it is to a catalog dataset's topic (liquidations, mark prices, top of book...)."""

    dataset: str
    instrument: str
    row: dict
    time_us: int


@dataclass(slots=True)
class Reconnect:
    """The venue announced that it will close this connection (e.g. Binance's serverShutdown): open a new one now."""

    reason: str


@dataclass(slots=True)
class Refused:
    """The venue refused a control message (a subscription): logged and counted, the stream goes on."""

    reason: str


Event = Trade | Kline | BookUpdate | Record | Reconnect | Refused


# --- the order book procedure


class Outcome(enum.Enum):
    APPLIED = "applied"
    BUFFERED = "buffered"  # waiting for a snapshot
    IGNORED = "ignored"  # older than the book
    GAP = "gap"  # updates were lost: the book was discarded, a snapshot is needed
    CHECKSUM = "checksum"  # the book failed the checksum its venue sent: discarded, a snapshot is needed


@dataclass(frozen=True)
class Snapshot:
    """A REST book snapshot: levels (price, qty), best first, and the id of the state it shows."""

    last_update_id: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


class Book(ABC):
    """A local order book kept by the venue's documented procedure (pure: no I/O, no clock). `add` says when a
    snapshot is needed; `load` takes one. `applied` returns, and forgets, the updates applied since the last call —
    the diffs the loader publishes, so the depth topic holds exactly the chain the book followed."""

    @property
    @abstractmethod
    def synced(self) -> bool: ...

    @property
    @abstractmethod
    def last_update_id(self) -> int | None: ...

    @property
    @abstractmethod
    def last_event_time_us(self) -> int: ...

    @abstractmethod
    def add(self, update: BookUpdate) -> Outcome: ...

    @abstractmethod
    def load(self, snapshot: Snapshot) -> bool:
        """Start from `snapshot`; False when it is too old for the buffered updates (fetch another one)."""

    @abstractmethod
    def top(self, levels: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]: ...

    @abstractmethod
    def applied(self) -> list[BookUpdate]: ...


# --- connections


@dataclass(frozen=True)
class ConnectionPlan:
    """One socket: where to connect, what to send once it is open, and the stream names it carries (metric labels)."""

    url: str
    subscribe: list[str]
    streams: frozenset[str]


@dataclass(frozen=True)
class Rules:
    """A venue's connection rules, which `streamforge.live.connection` keeps."""

    control_per_s: float  # control messages the venue accepts per connection and second (more: disconnected)
    connects: tuple[int, float] | None = None  # (attempts, seconds): connection attempts the venue accepts per IP
    ping_text: str | None = None  # a text the client sends every `ping_after_s` (OKX); None: the server pings
    ping_after_s: float = 0.0


class Feed(ABC):
    """One market's live streams for a set of its instruments. Subclasses set `rules` and `contiguous_trade_ids`
    (ids that advance by one: a hole is repaired by REST; otherwise duplicates are dropped, and only the trades
    between the last published one and the first of a (re)started stream (`Trade.resumes`) are fetched by REST)."""

    rules: Rules
    contiguous_trade_ids: bool

    def __init__(self, endpoints: "Endpoints", instruments: list[Instrument], share: float = 1.0) -> None:
        """`share`: the part of the venue's per-IP limits (REST weight) this feed may use — 1/n for one of a fleet
        of n loaders behind one address."""
        self.endpoints, self.instruments, self.share = endpoints, instruments, share

    @abstractmethod
    def plan(self) -> list[ConnectionPlan]:
        """The connections that carry trades, book diffs and 1-minute klines of every instrument."""

    @abstractmethod
    def parse(self, raw: str, received_us: int) -> list[Event]:
        """The events of one message, received at `received_us` (the time of an event that carries none of its own:
        Binance spot's bookTicker); BadEvent when it is not what the venue documents. Messages that need nothing
        done (acknowledgements, pongs, klines still open) give no event."""

    @abstractmethod
    def book(self, instrument: str, max_levels: int, max_buffered: int) -> Book: ...

    @abstractmethod
    def snapshot(self, instrument: str, levels: int) -> Snapshot:
        """A REST book snapshot of at least `levels` levels per side (blocking; the loader calls it in a thread)."""

    @abstractmethod
    def trades_between(self, instrument: str, first: int, last: int) -> pl.DataFrame:
        """The trades with ids first..last from REST (AGG_TRADE), what the venue still has of them."""

    @abstractmethod
    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        """The venue's klines opening in [start_us, end_us) from REST (KLINE)."""

    @abstractmethod
    def close(self) -> None: ...
