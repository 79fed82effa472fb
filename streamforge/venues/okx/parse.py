"""OKX rows into records, once, at the edge: REST trades, candles and funding pages, and the daily trades CSV.

OKX sends every number and timestamp as a string (ms since the epoch). Parsing is strict and names what is wrong:
a field that is not a string, a price that is not a positive decimal, a side that is neither `buy` nor `sell`, a row
of another instrument all fail their whole page or file with the source, the 1-based row and the value — a silently
dropped trade would make a day quietly wrong. Checks are vectorised (a day's file holds millions of rows); the
row-by-row work runs only once something failed.

Conversions, each stated where it happens:
- a trade's `sz` is the base currency on spot and **contracts** on swaps (**unconfirmed**): qty = sz × ctVal, and
  ctVal is kept in the row (`contract_size`);
- `side` is the taker's side (**unconfirmed**), so `is_buyer_maker` is side == "sell";
- a trade becomes one AGG_TRADE row with first = last trade id = tradeId (OKX has no aggregates over raw ids);
- a candle's `vol` is the base currency on spot and contracts on swaps, `volCcy` the quote on spot and the base on
  swaps, `volCcyQuote` the quote (**unconfirmed**): each candle is held to that reading (spot volCcy = volCcyQuote,
  swap vol × ctVal = volCcy) and refused when it does not hold; OKX's candles carry no trade count or taker volumes,
  which stay null.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable

import polars as pl

from streamforge.candles import interval_us
from streamforge.errors import MalformedDataError, shown
from streamforge.schemas import AGG_TRADE, FUNDING_RATE, INSTRUMENT, KLINE
from streamforge.venues.okx.book import BookMessage
from streamforge.venues.okx.wire import BUY, CONFIRMED, OLD_TRADE_COLUMNS, SELL, TRADE_COLUMNS
from streamforge.venues.rows import Problem, fail_first

US_PER_MS = 1000
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 .. 2100-01-01: an exchange time
_DIGITS = r"^[0-9]{1,18}$"  # a non-negative integer that fits 64 bits
_VOLUME_TOLERANCE = (1e-8, 1e-9)  # absolute, relative: a candle's two volumes agree to the 8th decimal



# --- trades -----------------------------------------------------------------------------------------------------------


def trades_from_json(rows: object, inst_id: str, instrument: str, contract_size: float | None, source: str) -> pl.DataFrame:
    """A history-trades page (objects of strings instId, tradeId, px, sz, side, ts) → AGG_TRADE, in page order."""
    keys = ("instId", "tradeId", "px", "sz", "side", "ts")
    raw = _strings(rows, dict, keys, source)
    raw = raw.rename({"instId": "instrument_name", "tradeId": "trade_id", "px": "price", "sz": "size", "ts": "created_time"})
    return _trades(raw, inst_id, instrument, contract_size, source)


def trades_from_csv(
    chunks: Iterable[bytes], inst_id: str, instrument: str, contract_size: float | None, source: str
) -> pl.DataFrame:
    """A daily trades CSV (its chunks of whole rows, the first starting with the header) → AGG_TRADE in file order.

    The header must be one OKX has published (`wire.TRADE_COLUMNS`, or the older bilingual `trade_id/交易id,...`,
    read by its English part); anything else is refused naming it, since columns matched by guess could swap price
    and size."""
    frames, header, first_row = [], None, 1
    for chunk in chunks:
        if header is None:
            line, _, chunk = chunk.partition(b"\n")
            header = _header(line.decode("utf-8", errors="replace").strip(), source)
        if not chunk.strip():
            continue
        raw = _read_csv(chunk, header, source, first_row)
        frames.append(_trades(raw, inst_id, instrument, contract_size, source, first_row))
        first_row += raw.height
    if header is None:
        raise MalformedDataError(f"{source}: empty file, not even a header")
    return pl.concat(frames) if frames else AGG_TRADE.empty()


def _header(line: str, source: str) -> tuple[str, ...]:
    names = tuple(name.split("/", 1)[0].strip() for name in line.split(","))
    if names not in (TRADE_COLUMNS, OLD_TRADE_COLUMNS):
        raise MalformedDataError(
            f"{source}: header {shown(line)} is neither {','.join(TRADE_COLUMNS)} nor the older "
            f"{','.join(OLD_TRADE_COLUMNS)} (bilingual): refused, its columns cannot be told apart safely"
        )
    return names


def _read_csv(chunk: bytes, header: tuple[str, ...], source: str, first_row: int) -> pl.DataFrame:
    schema = dict.fromkeys(header, pl.String)
    try:
        return pl.read_csv(io.BytesIO(chunk), has_header=False, schema=schema, quote_char=None)
    except pl.exceptions.PolarsError:
        lines = chunk.decode("utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=first_row + 1):  # row 1 of the file is its header
            if line.count(",") != len(header) - 1:
                raise MalformedDataError(
                    f"{source}: line {number}: has {line.count(',') + 1} fields, expected {len(header)}: {shown(line)}"
                ) from None
        raise


def _trades(
    raw: pl.DataFrame, inst_id: str, instrument: str, contract_size: float | None, source: str, first_row: int = 1
) -> pl.DataFrame:
    """String columns trade_id, side, price, size, created_time (and instrument_name when the source has it) → AGG_TRADE."""
    price, size = pl.col("price").cast(pl.Float64, strict=False), pl.col("size").cast(pl.Float64, strict=False)
    time_ms = pl.col("created_time").cast(pl.Int64, strict=False)
    problems: list[Problem] = [
        (~pl.col("trade_id").str.contains(_DIGITS), _says("trade_id", "is not a trade id (digits)")),
        (~(price.is_finite() & (price > 0)), _says("price", "is not a positive decimal")),
        (~(size.is_finite() & (size > 0)), _says("size", "is not a positive decimal")),
        (~pl.col("side").is_in([BUY, SELL]), _says("side", f"is neither {BUY!r} nor {SELL!r}")),
        (
            ~pl.col("created_time").str.contains(_DIGITS) | (time_ms < _EARLIEST_MS) | (time_ms >= _LATEST_MS),
            _says("created_time", "is not a time in ms between 2000 and 2100"),
        ),
    ]
    if "instrument_name" in raw.columns:
        problems.insert(0, (pl.col("instrument_name") != inst_id, _says("instrument_name", f"is not {inst_id}")))
    fail_first(raw, problems, source, first_row)
    trade_id = pl.col("trade_id").cast(pl.Int64)
    qty = size if contract_size is None else size * contract_size
    return AGG_TRADE.conform(
        raw.select(
            pl.lit(instrument).alias(INSTRUMENT),
            trade_id.alias("agg_id"),
            price.alias("price"),
            qty.alias("qty"),
            trade_id.alias("first_trade_id"),
            trade_id.alias("last_trade_id"),
            (time_ms * US_PER_MS).cast(pl.Datetime("us", "UTC")).alias("time"),
            (pl.col("side") == SELL).alias("is_buyer_maker"),
            pl.lit(None, dtype=pl.Boolean).alias("is_best_match"),
            pl.lit(contract_size, dtype=pl.Float64).alias("contract_size"),
        )
    )


# --- candles ----------------------------------------------------------------------------------------------------------


def candles_from_json(
    rows: object, instrument: str, interval: str, contract_size: float | None, source: str
) -> tuple[pl.DataFrame, int]:
    """A candles page (arrays of strings [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]) → (KLINE of the
    confirmed bars, how many were still open). `contract_size` is None on spot, ctVal on a swap."""
    names = ("ts", "open", "high", "low", "close", "vol", "vol_ccy", "vol_quote", "confirm")
    raw = _strings(rows, list, tuple(range(len(names))), source).rename({str(i): n for i, n in enumerate(names)})
    number = {n: pl.col(n).cast(pl.Float64, strict=False) for n in names[1:8]}
    ts = pl.col("ts").cast(pl.Int64, strict=False)
    if contract_size is None:  # spot: vol is the base; volCcy and volCcyQuote are both the quote
        base, quote, stated, derived = number["vol"], number["vol_quote"], "vol_quote", number["vol_ccy"]
        reading = "volCcy = volCcyQuote, both the quote on spot"
    else:  # swap: vol counts contracts; volCcy is the base, volCcyQuote the quote
        base, quote, stated, derived = number["vol_ccy"], number["vol_quote"], "vol_ccy", number["vol"] * contract_size
        reading = f"vol × ctVal {contract_size:g} = volCcy, the base on swaps"
    tol_abs, tol_rel = _VOLUME_TOLERANCE
    problems: list[Problem] = [
        (~pl.col("ts").str.contains(_DIGITS) | (ts < _EARLIEST_MS) | (ts >= _LATEST_MS), _says("ts", "is not a time in ms")),
        *[(~(number[n].is_finite() & (number[n] > 0)), _says(n, "is not a positive decimal")) for n in names[1:5]],
        *[(~(number[n].is_finite() & (number[n] >= 0)), _says(n, "is not a non-negative decimal")) for n in names[5:8]],
        (~pl.col("confirm").is_in(["0", "1"]), _says("confirm", "is neither '0' nor '1'")),
        (number["high"] < pl.max_horizontal(number["open"], number["close"], number["low"]), _says("high", "is below open, close or low")),
        (number["low"] > pl.min_horizontal(number["open"], number["close"]), _says("low", "is above open or close")),
        (
            (derived - number[stated]).abs() > tol_abs + tol_rel * number[stated].abs(),
            _says(stated, f"breaks the documented reading {reading} (okx.md: unconfirmed): refused"),
        ),
    ]
    fail_first(raw, problems, source)
    step = interval_us(interval)
    open_us = ts * US_PER_MS
    confirmed = raw.filter(pl.col("confirm") == CONFIRMED)
    kline = confirmed.select(
        pl.lit(instrument).alias(INSTRUMENT),
        pl.lit(interval).alias("interval"),
        open_us.cast(pl.Datetime("us", "UTC")).alias("open_time"),
        *[number[n].alias(n) for n in ("open", "high", "low", "close")],
        base.alias("volume"),
        (open_us + step - 1).cast(pl.Datetime("us", "UTC")).alias("close_time"),
        quote.alias("quote_volume"),
        pl.lit(None, dtype=pl.Int64).alias("trade_count"),
        pl.lit(None, dtype=pl.Float64).alias("taker_buy_base_volume"),
        pl.lit(None, dtype=pl.Float64).alias("taker_buy_quote_volume"),
    )
    return KLINE.conform(kline), raw.height - confirmed.height


# --- funding ----------------------------------------------------------------------------------------------------------


def funding_from_json(rows: object, inst_id: str, instrument: str, source: str) -> pl.DataFrame:
    """A funding-rate-history page (objects with instId, fundingTime, realizedRate, ...) → instrument, funding_time,
    funding_rate: the rate is `realizedRate`, what was actually charged (`fundingRate` is the rate announced for the
    period). OKX's rows do not say the interval they end; `with_intervals` adds it from their spacing."""
    raw = _strings(rows, dict, ("instId", "fundingTime", "realizedRate"), source)
    rate = pl.col("realizedRate").cast(pl.Float64, strict=False)
    time_ms = pl.col("fundingTime").cast(pl.Int64, strict=False)
    fail_first(
        raw,
        [
            (pl.col("instId") != inst_id, _says("instId", f"is not {inst_id}")),
            (
                ~pl.col("fundingTime").str.contains(_DIGITS) | (time_ms < _EARLIEST_MS) | (time_ms >= _LATEST_MS),
                _says("fundingTime", "is not a time in ms"),
            ),
            (~rate.is_finite() | (rate.abs() >= 1), _says("realizedRate", "is not a funding rate (a decimal under 1)")),
        ],
        source,
    )
    return raw.select(
        pl.lit(instrument).alias(INSTRUMENT),
        (time_ms * US_PER_MS).cast(pl.Datetime("us", "UTC")).alias("funding_time"),
        rate.alias("funding_rate"),
    )


def with_intervals(settlements: pl.DataFrame, source: str) -> pl.DataFrame:
    """FUNDING_RATE of settlements sorted by time, each interval the hours since the settlement before it (the first
    takes the next one's); a spacing that is not whole hours dividing a day is refused, not rounded."""
    hours = settlements["funding_time"].dt.epoch("us").diff() / 3_600_000_000
    hours = hours.fill_null(hours.drop_nulls().head(1).to_list()[0] if hours.drop_nulls().len() else None)
    bad = [h for h in hours.drop_nulls().to_list() if h != int(h) or h <= 0 or 24 % int(h)]
    if bad or hours.null_count():
        raise MalformedDataError(
            f"{source}: funding settlements {'spaced ' + str(bad[0]) + ' hours apart' if bad else 'too few to tell their interval'}"
            ": not an interval of whole hours dividing a day"
        )
    return FUNDING_RATE.conform(
        settlements.with_columns(
            funding_interval_hours=hours.cast(pl.Int64), mark_price=pl.lit(None, dtype=pl.Float64)
        ).select(FUNDING_RATE.names)
    )


# --- books ------------------------------------------------------------------------------------------------------------


def book_levels(side: object, name: str, source: str) -> tuple[tuple[str, str], ...]:
    """Book rows [px, sz, "0", numOrders] (strings; the third is a deprecated count) → (px, sz) as received: the
    checksum is computed over these very strings. Prices must be positive, sizes non-negative ("0" deletes)."""
    if not isinstance(side, list):
        raise MalformedDataError(f"{source}: {name} is not a list of levels: {shown(side)}")
    levels = []
    for number, row in enumerate(side, start=1):
        if not (isinstance(row, list) and len(row) >= 2 and all(isinstance(v, str) for v in row)):
            raise MalformedDataError(f"{source}: {name} level {number} is not [px, sz, ...] strings: {shown(row)}")
        try:
            price, size = float(row[0]), float(row[1])
        except ValueError:
            raise MalformedDataError(f"{source}: {name} level {number}: {shown(row[:2])} are not decimals") from None
        if not (math.isfinite(price) and price > 0 and math.isfinite(size) and size >= 0):
            raise MalformedDataError(f"{source}: {name} level {number}: price {row[0]!r} or size {row[1]!r} out of range")
        levels.append((row[0], row[1]))
    return tuple(levels)


def book_from_json(rows: object, source: str) -> BookMessage:
    """A REST books answer (one object: asks, bids, ts, seqId) → a snapshot message."""
    if not (isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict)):
        raise MalformedDataError(f"{source}: expected one book object in data, got {shown(rows)}")
    book = rows[0]
    seq, ts = book.get("seqId"), book.get("ts")
    # seqId is a JSON integer on the WebSocket; REST may send it as a string like its other numbers (unconfirmed).
    seq = int(seq) if isinstance(seq, str) and seq.isdigit() else seq
    if type(seq) is not int or not (isinstance(ts, str) and ts.isdigit()):
        raise MalformedDataError(f"{source}: a book without a seqId and a ts string: seqId {shown(seq)}, ts {shown(ts)}")
    return BookMessage(
        "snapshot", seq, -1, 0, int(ts) * US_PER_MS, book_levels(book.get("bids"), "bids", source),
        book_levels(book.get("asks"), "asks", source),
    )


# --- shared -----------------------------------------------------------------------------------------------------------


def _strings(rows: object, row_type: type, keys: tuple, source: str) -> pl.DataFrame:
    """The fields `keys` of each row as string columns (named by the key); a row of another shape, a missing field or
    a field that is not a string (OKX sends numbers as strings) fails the page naming it."""
    if not isinstance(rows, list):
        raise MalformedDataError(f"{source}: expected a JSON array of rows in data, got {shown(rows)}")
    for number, row in enumerate(rows, start=1):
        if type(row) is not row_type:
            raise MalformedDataError(f"{source}: row {number}: expected a JSON {row_type.__name__}, got {shown(row)}")
        for key in keys:
            if (key not in row) if row_type is dict else (key >= len(row)):
                raise MalformedDataError(f"{source}: row {number}: field {key!r} is missing")
            if type(row[key]) is not str:
                raise MalformedDataError(
                    f"{source}: row {number}: field {key!r} = {shown(row[key])} is not a string (OKX sends numbers as strings)"
                )
    return pl.DataFrame({str(k): [row[k] for row in rows] for k in keys}, schema=dict.fromkeys(map(str, keys), pl.String))


def _says(name: str, text: str) -> Callable[[dict], str]:
    return lambda row: f"{name} = {shown(row[name])} {text}"
