"""OKX's v5 public wire format, as documented (shared/docs/okx.md): the one place its facts are written down.

The REST client, the file reader and the simulator's OKX side all take their paths, limits, codes, bar names and day
cut from here, so a fact corrected here is corrected everywhere. Where OKX's own documentation could not be found the
fact is a choice, marked **chosen** with why; the code built on it refuses loudly when reality differs (a wrong day
cut, an unknown CSV header, a candle volume that does not add up) rather than produce a quietly wrong day.
"""

from __future__ import annotations

from datetime import timedelta, timezone

# --- REST -------------------------------------------------------------------------------------------------------------

INSTRUMENTS = "/api/v5/public/instruments"
TIME = "/api/v5/public/time"  # {"ts": "<ms>"} (python-okx consts SYSTEM_TIME; not in okx.md)
FUNDING_HISTORY = "/api/v5/public/funding-rate-history"  # burakoner/OKX.Api OkxFundingRateHistory (not in okx.md)
TRADES = "/api/v5/market/trades"
HISTORY_TRADES = "/api/v5/market/history-trades"
CANDLES = "/api/v5/market/candles"
HISTORY_CANDLES = "/api/v5/market/history-candles"
BOOKS = "/api/v5/market/books"

#: Requests per 2 s per IP, per endpoint [CCXT cost table, BT, MIR]. history-trades: MIR's 20 (ccxt budgets 10).
#: **Chosen**: funding-rate-history and time are not in okx.md; 10 each, the lowest any source gives an endpoint.
LIMIT_WINDOW_S = 2.0
LIMITS = {
    INSTRUMENTS: 20,
    TIME: 10,
    FUNDING_HISTORY: 10,
    TRADES: 100,
    HISTORY_TRADES: 20,
    CANDLES: 40,
    HISTORY_CANDLES: 20,
    BOOKS: 40,
}

#: Most rows one page returns (also the default of history-trades and history-candles).
PAGE = {TRADES: 500, HISTORY_TRADES: 100, CANDLES: 300, HISTORY_CANDLES: 100, FUNDING_HISTORY: 100, BOOKS: 400}
#: candles serves only the latest 1,440 bars; history-candles the older ones (and, observed, the recent ones too).
CANDLES_REACH_BARS = 1440

#: history-trades reaches back 3 months [BT, MIR]. **Chosen**: 89 days, the shortest 3 calendar months can be (Feb-Apr),
#: so a day we call within reach is within OKX's.
TRADES_REACH = timedelta(days=89)

#: Codes of the envelope `{"code": "0", "msg": "", "data": [...]}` [DSM, ATW]; "0" is success.
OK = "0"
BAD_PARAMETER = "51000"  # e.g. a bar in the wrong case
UNKNOWN_INSTRUMENT = "51001"
RATE_LIMITED = "50011"  # its HTTP status (429) is **unconfirmed**: the client reads the code, whatever the status

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
LIVE = "live"  # instrument state of one that trades (suspend / preopen / test **unconfirmed**)
LINEAR = "linear"  # ctType of a USDT-margined swap, whose ctVal counts the base currency

#: history-trades `type`: page by trade id (the default) or by time [MIR].
BY_TRADE_ID, BY_TIME = "1", "2"
BUY, SELL = "buy", "sell"  # a trade's `side`: the taker's (**unconfirmed**; CCXT and cryptofeed read it so)
CONFIRMED = "1"  # a candle's last field: "1" closed, "0" still open

# --- bars -------------------------------------------------------------------------------------------------------------

#: OKX's bars, case-sensitive [DSM, CCXT]: `1H` is an hour, `1h` is refused (51000). 6H and longer open at UTC+8
#: midnight; their `…utc` twins at UTC midnight [DEX].
BARS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H",
    "6H", "12H", "1D", "1W", "1M", "3M", "6Hutc", "12Hutc", "1Dutc", "1Wutc", "1Mutc", "3Mutc",
)
#: Our intervals (Binance's spelling, every bar opening on the UTC grid) → OKX's UTC bar.
UTC_BARS = {
    "1s": "1s", "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1H", "2h": "2H", "4h": "4H",
    "6h": "6Hutc", "12h": "12Hutc", "1d": "1Dutc",
}

# --- historical data files --------------------------------------------------------------------------------------------

#: Daily trade files as users have found them (**unconfirmed**), under static.okx.com:
#: /cdn/okex/traderecords/trades/daily/YYYYMMDD/<instId>-trades-YYYY-MM-DD.zip, one CSV inside, no checksum file.
TRADES_FILE = "cdn/okex/traderecords/trades/daily/{compact}/{inst_id}-trades-{day}.zip"
#: A daily file's day runs from midnight UTC+8 (**unconfirmed**): file D holds [D-1 16:00, D 16:00) UTC, so a UTC day
#: takes the end of file D and the start of file D+1. The reader refuses a file holding trades outside its UTC+8 day.
FILE_DAY_ZONE = timezone(timedelta(hours=8))
#: The header of a trades CSV: the current one, and the older bilingual one (the English part before '/').
TRADE_COLUMNS = ("instrument_name", "trade_id", "side", "price", "size", "created_time")
OLD_TRADE_COLUMNS = ("trade_id", "side", "size", "price", "created_time")

# --- WebSocket --------------------------------------------------------------------------------------------------------

WS_PUBLIC = "/ws/v5/public"  # trades, books, bbo-tbt
WS_BUSINESS = "/ws/v5/business"  # every candle channel since 2023-06-20 [HC]


class ApiError(Exception):
    """An OKX error as OKX answers it: the envelope's code and message (and the HTTP status it came with)."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(f"OKX error {code}: {msg}")
        self.status, self.code, self.msg = status, code, msg

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg, "data": []}


def trades_file(inst_id: str, day_text: str) -> str:
    """The daily trades file's path under the files URL, for the UTC+8 day `day_text` (YYYY-MM-DD)."""
    return TRADES_FILE.format(compact=day_text.replace("-", ""), inst_id=inst_id, day=day_text)
