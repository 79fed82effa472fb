"""Binance's REST wire format: parameter rules, error codes, time units and number formatting.

Kept apart from the routes so that each endpoint in `server` reads as "parse, ask the market, format".
Binance sends numbers as strings with 8 decimals, times as integers in ms, or in µs when the request carries the
header `X-MBX-TIME-UNIT: MICROSECOND` (or the `timeUnit` parameter); the unit applies to request and response times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import polars as pl

from streamforge.sim.book import UNIT, Diffs
from streamforge.sim.calendar import US_PER_MS
from streamforge.sim.instruments import TRADING, Instrument

_LONG = re.compile(r"^[0-9]{1,20}$")
_SYMBOL = re.compile(r"^[A-Z0-9-_.]{1,20}$")


class ApiError(Exception):
    """An error answered as Binance does: HTTP status and `{"code": ..., "msg": ...}`."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def invalid_symbol() -> ApiError:
    return ApiError(400, -1121, "Invalid symbol.")


def invalid_interval() -> ApiError:
    return ApiError(400, -1120, "Invalid interval.")


def invalid_value(name: str) -> ApiError:
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def bad_combination() -> ApiError:
    return ApiError(400, -1128, "Combination of optional parameters invalid.")


def lookup_too_big(hours: int) -> ApiError:
    return ApiError(400, -1127, f"More than {hours} hours between startTime and endTime.")


class Params:
    """The query parameters of one request, read the way Binance reads them."""

    def __init__(self, query: Mapping[str, str], allowed: Iterable[str]) -> None:
        self._query = dict(query)
        unread = [name for name in self._query if name not in set(allowed) | {"timeUnit"}]
        if unread:
            raise ApiError(
                400,
                -1104,
                f"Not all sent parameters were read; read '{len(self._query) - len(unread)}' parameter(s) "
                f"but was sent '{len(self._query)}'.",
            )

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self._query.get(name)
        if value is None or value == "":
            if required:
                raise ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
            if value == "":
                raise ApiError(400, -1105, f"Parameter '{name}' was empty.")
            return None
        return value

    def symbol(self, name: str = "symbol") -> str:
        value = self.text(name, required=True)
        if not _SYMBOL.match(value):
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{_SYMBOL.pattern}'.")
        return value

    def long(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _LONG.match(value):
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{_LONG.pattern}'.")
        return int(value)

    def limit(self, default: int, maximum: int) -> int:
        """Binance caps a too-large limit at the maximum and refuses zero."""
        value = self.long("limit")
        if value is None:
            return default
        if value < 1:
            raise invalid_value("limit")
        return min(value, maximum)


def time_unit_us(headers: Mapping[str, str], query: Mapping[str, str]) -> int:
    """µs per unit of the request's times: 1000 (ms, the default) or 1 (MICROSECOND)."""
    unit = headers.get("x-mbx-time-unit") or query.get("timeUnit") or "MILLISECOND"
    units = {"MILLISECOND": US_PER_MS, "MICROSECOND": 1}
    try:
        return units[unit.upper()]
    except KeyError:
        raise invalid_value("timeUnit") from None


def decimal(value: float) -> str:
    return f"{value:.8f}"


def _agg_trade_columns(trades: pl.DataFrame) -> pl.DataFrame:
    return trades.select(
        "agg_id", "price", "qty", "first_trade_id", "last_trade_id", pl.col("time").dt.epoch("us"), "is_buyer_maker", "is_best_match"
    )


def agg_trade_texts(trades: pl.DataFrame, unit_us: int, best_match: bool = True) -> list[str]:
    """`agg_trade_rows` as JSON text, made directly: the WebSocket streams send thousands a second. Without
    `best_match`, no `M` field (USD-M futures do not send one)."""
    return [
        f'{{"a":{a},"p":"{decimal(p)}","q":"{decimal(q)}","f":{first},"l":{last},"T":{time_us // unit_us},'
        f'"m":{_JSON[maker]}' + (f',"M":{_JSON[best]}}}' if best_match else "}")
        for a, p, q, first, last, time_us, maker, best in _agg_trade_columns(trades).iter_rows()
    ]


_JSON = {True: "true", False: "false", None: "null"}


def depth_sides(diffs: Diffs, requests: int) -> list[tuple[str, str]]:
    """The `b` and `a` arrays (without brackets) of each request's depthUpdate: `["price","qty"]` pairs of 8-decimal
    strings, formatted for every level of the batch at once from the integer units."""
    sides = [["", ""] for _ in range(requests)]
    if len(diffs.request) == 0:
        return [tuple(s) for s in sides]
    levels = pl.DataFrame({"request": diffs.request, "side": diffs.side, "p": diffs.price_units, "q": diffs.qty_units})
    joined = (
        levels.with_columns(pl.format('["{}","{}"]', _units_text("p"), _units_text("q")).alias("level"))
        .group_by("request", "side", maintain_order=True)
        .agg(pl.col("level").str.join(","))
    )
    for request, side, text in joined.iter_rows():
        sides[request][side] = text
    return [tuple(s) for s in sides]


def units_text(units: int) -> str:
    """Integer units of 1e-8 as `decimal` writes the number they stand for (8 decimals), for one value."""
    return f"{units // UNIT}.{units % UNIT:08d}"


def _units_text(column: str) -> pl.Expr:
    """Integer units of 1e-8 as `decimal` writes the number they stand for (8 decimals)."""
    units = pl.col(column)
    return pl.format("{}.{}", units // UNIT, (units % UNIT).cast(pl.String).str.zfill(8))


def agg_trade_rows(trades: pl.DataFrame, unit_us: int, malformed_ids: frozenset[int] = frozenset()) -> list[dict]:
    """aggTrades JSON objects; rows whose agg id is in `malformed_ids` get a price that is not a number (a fault)."""
    columns = _agg_trade_columns(trades)
    return [
        {
            "a": a,
            "p": "not-a-number" if a in malformed_ids else decimal(p),
            "q": decimal(q),
            "f": first,
            "l": last,
            "T": time_us // unit_us,
            "m": maker,
            "M": best,
        }
        for a, p, q, first, last, time_us, maker, best in columns.iter_rows()
    ]


def ticker_24h(symbol: str, trades: pl.DataFrame, open_us: int, close_us: int, unit_us: int) -> dict[str, object]:
    """The MINI 24-hour ticker of a symbol from the window's aggregate trades: first and last raw trade ids and the
    raw trades between them (`count`); a window without trades has zero prices, ids -1 and count 0."""
    ids = {"firstId": -1, "lastId": -1, "count": 0}
    prices = dict.fromkeys(("openPrice", "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume"), decimal(0.0))
    if trades.height:
        first, last = int(trades["first_trade_id"][0]), int(trades["last_trade_id"][-1])
        ids = {"firstId": first, "lastId": last, "count": last - first + 1}
        price, qty = trades["price"], trades["qty"]
        prices = {
            "openPrice": decimal(price[0]), "highPrice": decimal(price.max()), "lowPrice": decimal(price.min()),
            "lastPrice": decimal(price[-1]), "volume": decimal(qty.sum()), "quoteVolume": decimal((price * qty).sum()),
        }
    return {"symbol": symbol, **prices, "openTime": open_us // unit_us, "closeTime": close_us // unit_us, **ids}


def ticker_changes(mini: dict[str, object], trades: pl.DataFrame) -> dict[str, str]:
    """The FULL ticker's fields beyond MINI's that its trades give: the change over the window, the volume-weighted
    average price and the last trade's quantity (zeros without trades)."""
    if not trades.height:
        return dict.fromkeys(("priceChange", "priceChangePercent", "weightedAvgPrice", "lastQty"), decimal(0.0))
    opened, last = float(trades["price"][0]), float(trades["price"][-1])
    return {
        "priceChange": decimal(last - opened),
        "priceChangePercent": f"{100 * (last - opened) / opened:.3f}",
        "weightedAvgPrice": decimal(float(mini["quoteVolume"]) / float(mini["volume"])),
        "lastQty": decimal(trades["qty"][-1]),
    }


def kline_rows(klines: pl.DataFrame, unit_us: int) -> list[list]:
    """klines JSON arrays; close time = next open - 1 in the response's unit (ms or µs)."""
    return [
        [
            open_us // unit_us,
            decimal(o),
            decimal(h),
            decimal(low),
            decimal(c),
            decimal(v),
            (close_us + 1) // unit_us - 1,
            decimal(qv),
            n,
            decimal(tb),
            decimal(tq),
            "0",
        ]
        for open_us, o, h, low, c, v, close_us, qv, n, tb, tq in klines.select(
            pl.col("open_time").dt.epoch("us"),
            "open",
            "high",
            "low",
            "close",
            "volume",
            pl.col("close_time").dt.epoch("us"),
            "quote_volume",
            "trade_count",
            "taker_buy_base_volume",
            "taker_buy_quote_volume",
        ).iter_rows()
    ]


def symbol_info(spec: Instrument, status: str) -> dict[str, object]:
    """A symbol's exchangeInfo entry with its status of the day (the fields market-data clients read, in Binance's
    shape)."""
    return {
        "symbol": spec.symbol,
        "status": status,
        "baseAsset": spec.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": status == TRADING,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal(spec.tick_size),
                "maxPrice": decimal(1_000_000.0),
                "tickSize": decimal(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": decimal(spec.step_size),
                "maxQty": decimal(9_000_000.0),
                "stepSize": decimal(spec.step_size),
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
