"""OKX's live streams as a `Feed`: trades, the order book and top of book on the public WebSocket, 1-minute candles
on the business one (every `candle*` channel moved there on 2023-06-20 [HC]; on /public they fail with 60018).

Per instrument: `trades`, `books` (400 levels: a snapshot, then updates chained by seqId, `book`) and `bbo-tbt` on
`<STREAMFORGE_OKX_WS_URL>/ws/v5/public`; `candle1m` on `<...>/ws/v5/business`. Subscriptions are
`{"op":"subscribe","args":[{"channel":..,"instId":..},..]}`, at most ARGS_PER_MESSAGE args each; OKX allows 480
(un)subscriptions an hour per connection [SL, NTO], far more than these take, and they are sent one a second.
An IP may open 3 connections a second, and REST limits are per IP too: a feed of one of n loaders paces its
connection attempts (`live.connection.ConnectPacer`) and takes 1/n of each endpoint's budget. Heartbeat: OKX closes
a connection after 30 s without data (4004, "No data received in 30s."; whose data is unconfirmed, so it may be the
client's), so the client sends the text `ping` every PING_AFTER_S, however busy the feed, and OKX answers `pong`
[SL] — below both OKX's 30 s and the loader's stall window.

Wire shapes (capture, okx.md):
    ack      {"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":".."}
    error    {"event":"error","code":"60018","msg":"..","connId":".."}
    notice   {"event":"notice","code":"64008","msg":".."}  (the connection will close for an upgrade: reconnect now)
    trades   {"arg":{..},"data":[{"instId","tradeId","px","sz","side","ts"(,"count")}]}
    books    {"arg":{..},"action":"snapshot"|"update","data":[{"asks":[[px,sz,"0",n]],"bids":..,"ts","checksum",
              "seqId","prevSeqId"}]}
    bbo-tbt  {"arg":{..},"data":[{"asks":[[px,sz,"0",n]],"bids":..,"ts","seqId"}]}
    candle1m {"arg":{..},"data":[[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]]}

Trade ids are ordered, not contiguous (`contiguous_trade_ids` False): a stream that (re)starts — every subscription
acknowledged — marks its next trade `resumes`, and the loader fetches by REST the trades between the last one it
published and that one. Sizes of swaps are contracts: base = sz × ctVal at the edge, as in the historical path.
"""

from __future__ import annotations

import math

import orjson
import polars as pl

from streamforge import settings
from streamforge.catalog import DATASETS, LIVE_KLINES_1M, TOP
from streamforge.errors import MalformedDataError, shown
from streamforge.instruments import Instrument
from streamforge.live.feed import (
    BadEvent,
    Book,
    BookUpdate,
    ConnectionPlan,
    Event,
    Feed,
    Kline,
    Reconnect,
    Record,
    Refused,
    Rules,
    Snapshot,
    Trade,
    json_object,
)
from streamforge.schemas import INSTRUMENT
from streamforge.venues.market import Endpoints
from streamforge.venues.okx.book import BookMessage, OkxBook
from streamforge.venues.okx.limiter import EndpointLimiter
from streamforge.venues.okx.listing import Listing
from streamforge.venues.okx.parse import book_levels
from streamforge.venues.okx.rest import OkxRest
from streamforge.venues.okx.wire import BUY, CONFIRMED, SELL, WS_BUSINESS, WS_PUBLIC

ARGS_PER_MESSAGE = 100
CHANNEL_LEVELS = 400  # the books channel's depth [HC22, CCXTWS]
PING_AFTER_S = 5.0
TRADES, BOOKS, BBO, CANDLE = "trades", "books", "bbo-tbt", f"candle{DATASETS[LIVE_KLINES_1M].interval}"
UPGRADE_NOTICE = "64008"
US_PER_MS, MINUTE_US = 1000, 60_000_000


class OkxFeed(Feed):
    rules = Rules(control_per_s=1, connects=(3, 1.0), ping_text="ping", ping_after_s=PING_AFTER_S)
    contiguous_trade_ids = False

    def __init__(self, endpoints: Endpoints, instruments: list[Instrument], share: float = 1.0) -> None:
        super().__init__(endpoints, instruments, share)
        budget = float(settings.get("STREAMFORGE_WEIGHT_BUDGET")) * share
        self.rest = OkxRest(endpoints.rest_url, limiter=EndpointLimiter(share=budget))
        self.listings: dict[str, Listing] = {i.symbol: self.rest.listing(i.market_id, i.symbol) for i in instruments}
        self.by_inst_id = {symbol: listing.instrument for symbol, listing in self.listings.items()}
        self._resumed: set[str] = set()  # instruments whose trades channel was (re)subscribed: next trade resumes

    # --- connections

    def plan(self) -> list[ConnectionPlan]:
        base = self.endpoints.ws_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
        public = [{"channel": c, "instId": s} for s in self.listings for c in (TRADES, BOOKS, BBO)]
        business = [{"channel": CANDLE, "instId": s} for s in self.listings]
        return [self._connection(base + WS_PUBLIC, public), self._connection(base + WS_BUSINESS, business)]

    @staticmethod
    def _connection(url: str, args: list[dict]) -> ConnectionPlan:
        messages = [
            orjson.dumps({"op": "subscribe", "args": args[i : i + ARGS_PER_MESSAGE]}).decode()
            for i in range(0, len(args), ARGS_PER_MESSAGE)
        ]
        return ConnectionPlan(url, messages, frozenset(f"{a['channel']}:{a['instId']}" for a in args))

    # --- messages

    def parse(self, raw: str, received_us: int) -> list[Event]:
        if raw == "pong":
            return []
        message = json_object(raw)
        if "event" in message:
            return self._control(message)
        arg, data = message.get("arg"), message.get("data")
        if not isinstance(arg, dict) or not isinstance(data, list):
            raise BadEvent(f"neither an event nor a push {{arg, data}}: {shown(message)}")
        inst_id, channel = arg.get("instId"), arg.get("channel")
        instrument = self.by_inst_id.get(inst_id) if isinstance(inst_id, str) else None
        if instrument is None:
            raise BadEvent(f"push for an instrument this loader does not follow: {shown(inst_id)}")
        listing = self.listings[inst_id]
        if channel == TRADES:
            return [self._trade(row, listing) for row in data]
        if channel == BOOKS:
            return [self._book(row, listing, message.get("action")) for row in data]
        if channel == BBO:
            return [self._bbo(row, listing) for row in data]
        if channel == CANDLE:
            return [self._candle(row, listing) for row in data]
        raise BadEvent(f"push of an unknown channel {shown(channel)}")

    def _control(self, message: dict) -> list[Event]:
        event = message.get("event")
        if event == "subscribe":
            arg = message.get("arg") if isinstance(message.get("arg"), dict) else {}
            if arg.get("channel") == TRADES and arg.get("instId") in self.by_inst_id:
                self._resumed.add(self.by_inst_id[arg["instId"]])
            return []
        if event == "error":
            return [Refused(f"OKX error {shown(message.get('code'))}: {shown(message.get('msg'))}")]
        if event == "notice" and message.get("code") == UPGRADE_NOTICE:
            return [Reconnect(f"notice {UPGRADE_NOTICE}")]
        if event in ("unsubscribe", "notice", "channel-conn-count"):
            return []
        raise BadEvent(f"unknown event {shown(event)}")

    def _trade(self, row: object, listing: Listing) -> Trade:
        what = "trades"
        fields = _strings(row, ("instId", "tradeId", "px", "sz", "side", "ts"), what)
        if fields["instId"] != listing.inst_id:
            raise BadEvent(f"{what}: instId {shown(fields['instId'])} in a push of {listing.inst_id}")
        trade_id, time_us = _integer(fields["tradeId"], what, "tradeId"), _ms(fields["ts"], what) * US_PER_MS
        if fields["side"] not in (BUY, SELL):
            raise BadEvent(f"{what}: side {shown(fields['side'])} is neither buy nor sell")
        size = _decimal(fields["sz"], what, "sz", positive=True)
        factor = listing.contract_size
        trade = {
            INSTRUMENT: listing.instrument, "agg_id": trade_id, "price": _decimal(fields["px"], what, "px", positive=True),
            "qty": size * factor if factor else size, "first_trade_id": trade_id, "last_trade_id": trade_id,
            "time": time_us, "is_buyer_maker": fields["side"] == SELL, "is_best_match": None, "contract_size": factor,
        }
        resumes = listing.instrument in self._resumed
        self._resumed.discard(listing.instrument)
        return Trade(listing.instrument, trade, trade_id, time_us, resumes)

    def _book(self, row: object, listing: Listing, action: object) -> BookUpdate:
        what = "books"
        if action not in ("snapshot", "update") or not isinstance(row, dict):
            raise BadEvent(f"{what}: action {shown(action)} with {shown(row)} is not a book snapshot or update")
        seq, prev, check = row.get("seqId"), row.get("prevSeqId"), row.get("checksum", 0)
        if not all(type(v) is int for v in (seq, prev, check)):
            raise BadEvent(f"{what}: seqId {shown(seq)}, prevSeqId {shown(prev)} and checksum {shown(check)} must be integers")
        bids, asks = _levels(row, what)
        time_us = _ms(row.get("ts"), what) * US_PER_MS
        message = BookMessage(action, seq, prev, check, time_us, bids, asks)
        factor = listing.contract_size or 1.0
        depth = {
            INSTRUMENT: listing.instrument, "event_time": time_us, "first_update_id": prev + 1, "final_update_id": seq,
            "bids": [{"price": float(p), "qty": float(q) * factor} for p, q in bids],
            "asks": [{"price": float(p), "qty": float(q) * factor} for p, q in asks],
        }
        return BookUpdate(listing.instrument, depth, time_us, message)

    def _bbo(self, row: object, listing: Listing) -> Record:
        what = "bbo-tbt"
        if not isinstance(row, dict) or type(row.get("seqId")) is not int:
            raise BadEvent(f"{what}: not a top of book with an integer seqId: {shown(row)}")
        bids, asks = _levels(row, what)
        if not (bids and asks):
            raise BadEvent(f"{what}: a side is empty: {shown(row)}")
        time_us, factor = _ms(row.get("ts"), what) * US_PER_MS, listing.contract_size or 1.0
        top = {
            INSTRUMENT: listing.instrument, "time": time_us, "seq_id": row["seqId"],
            "bid_price": float(bids[0][0]), "bid_qty": float(bids[0][1]) * factor,
            "ask_price": float(asks[0][0]), "ask_qty": float(asks[0][1]) * factor,
        }
        return Record(TOP, listing.instrument, top, time_us)

    def _candle(self, row: object, listing: Listing) -> Kline:
        what = CANDLE
        if not (isinstance(row, list) and len(row) == 9 and all(isinstance(v, str) for v in row)):
            raise BadEvent(f"{what}: not nine strings [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]: {shown(row)}")
        open_us = _ms(row[0], what) * US_PER_MS
        o, h, low, c = (_decimal(v, what, name, positive=True) for v, name in zip(row[1:5], ("o", "h", "l", "c")))
        vol, vol_ccy, vol_quote = (_decimal(v, what, name, positive=False) for v, name in zip(row[5:8], ("vol", "volCcy", "volCcyQuote")))
        if row[8] not in ("0", CONFIRMED):
            raise BadEvent(f"{what}: confirm {shown(row[8])} is neither '0' nor '1'")
        kline = {
            INSTRUMENT: listing.instrument, "interval": DATASETS[LIVE_KLINES_1M].interval, "open_time": open_us,
            "open": o, "high": h, "low": low, "close": c, "volume": vol_ccy if listing.contract_size else vol,
            "close_time": open_us + MINUTE_US - 1, "quote_volume": vol_quote, "trade_count": None,
            "taker_buy_base_volume": None, "taker_buy_quote_volume": None,
        }
        return Kline(listing.instrument, kline, open_us, row[8] == CONFIRMED)

    # --- books and repairs

    def book(self, instrument: str, max_levels: int, max_buffered: int) -> Book:
        """At least the channel's 400 levels are kept: OKX sends a level again only when it changes or enters the
        top 400, so a book that forgot one would show a hole once the price moved to it."""
        return OkxBook(instrument, self._listing(instrument).contract_size, max(max_levels, CHANNEL_LEVELS), max_buffered)

    def snapshot(self, instrument: str, levels: int) -> Snapshot:
        """The channel's depth, whatever `levels` asks: the book then has every level the updates assume."""
        return self.rest.books(self._listing(instrument), CHANNEL_LEVELS)

    def trades_between(self, instrument: str, first: int, last: int) -> pl.DataFrame:
        return self.rest.trades_with_ids(self._listing(instrument), first, last)

    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        return self.rest.candles(self._listing(instrument), interval, start_us // US_PER_MS, -(-end_us // US_PER_MS))

    def close(self) -> None:
        self.rest.close()

    def _listing(self, instrument: str) -> Listing:
        return self.listings[instrument.rsplit(".", 1)[-1]]



def _levels(row: dict, what: str) -> tuple[tuple, tuple]:
    try:
        return book_levels(row.get("bids"), "bids", what), book_levels(row.get("asks"), "asks", what)
    except MalformedDataError as error:
        raise BadEvent(str(error)) from None


def _strings(row: object, keys: tuple[str, ...], what: str) -> dict[str, str]:
    if not isinstance(row, dict):
        raise BadEvent(f"{what}: a row is not an object: {shown(row)}")
    for key in keys:
        if not isinstance(row.get(key), str):
            raise BadEvent(f"{what}: field {key!r} = {shown(row.get(key))} is not a string (OKX sends numbers as strings)")
    return {key: row[key] for key in keys}


def _integer(text: str, what: str, key: str) -> int:
    if not (text.isdigit() and len(text) <= 18):
        raise BadEvent(f"{what}: {key} {shown(text)} is not a non-negative integer")
    return int(text)


def _ms(text: object, what: str) -> int:
    if not (isinstance(text, str) and text.isdigit() and 946_684_800_000 <= int(text) < 4_102_444_800_000):
        raise BadEvent(f"{what}: ts {shown(text)} is not a time in ms between 2000 and 2100")
    return int(text)


_DECIMAL_CHARS = frozenset("0123456789.-+eE")


def _decimal(text: str, what: str, key: str, positive: bool) -> float:
    # float() also reads '١٢٣', ' 1 ' and '1_000', which OKX never sends: only ASCII number characters pass.
    if not text or not _DECIMAL_CHARS.issuperset(text):
        raise BadEvent(f"{what}: {key} {shown(text)} is not a decimal")
    try:
        value = float(text)
    except ValueError:
        raise BadEvent(f"{what}: {key} {shown(text)} is not a decimal") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise BadEvent(f"{what}: {key} {shown(text)} is not a {'positive' if positive else 'non-negative'} decimal")
    return value
