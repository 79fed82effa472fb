"""Typed parsing at the edge: Binance REST pages and dump CSV files into AGG_TRADE and KLINE frames.

Every later stage receives typed frames in µs and trusts them, so all checks happen here and nothing is repaired: a
row that does not parse fails its whole page or file, and the error names the source (URL with parameters, or file
name), the row number (1-based) and the bad value (cut to a few hundred characters). A silently dropped or patched
trade would make a day quietly wrong. Values are range-checked, not only typed: integers fit 64 bits, ids and counts
are not negative, a trade's last raw id is not below its first, a kline's low ≤ open, close ≤ high and its close time
is not before its open time, times lie between 1973 and 2100.

Parsing is vectorised (polars); the row-by-row work only runs after something failed, to say where. A dump CSV may
come in chunks of whole rows (`archive.csv_chunks`), so a day is never held as text all at once, and explaining a
bad row only ever looks at the chunk it is in.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from streamforge.dates import day_bounds_us
from streamforge.errors import MalformedDataError, shown
from streamforge.live.feed import Snapshot
from streamforge.schemas import AGG_TRADE, INSTRUMENT, KLINE, Record
from streamforge.venues.rows import Problem
from streamforge.venues.rows import fail_first as _fail_first

# Kinds of wire fields: how they are typed on the wire and in the parsed frame.
INT, DECIMAL, BOOL, TIME, IGNORED = "int", "decimal", "bool", "time", "ignored"
_DTYPE = {INT: pl.Int64, DECIMAL: pl.Float64, BOOL: pl.Boolean, TIME: pl.Int64, IGNORED: pl.String}
_JSON_TYPE = {INT: int, TIME: int, BOOL: bool, DECIMAL: str}  # Binance sends decimals as strings to keep precision
_MEANING = {INT: "an integer", TIME: "an integer timestamp", DECIMAL: "a decimal number", BOOL: "true or false"}

# Binance's spot dumps switched from ms to µs on this day; REST answers in µs because we ask for it.
DUMPS_IN_US_FROM = date(2025, 1, 1)
# A timestamp at or above this is in µs: in ms it would be after the year 5000, in µs it is after 1973.
_US_THRESHOLD = 10**14
_LATEST_US = 4_102_444_800_000_000  # 2100-01-01: no exchange time is later
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Times:
    """The unit a source's times are in ("ms" or "us") and why: a time found in the other unit fails, naming `why`."""

    unit: str
    why: str


@dataclass(frozen=True)
class Layout:
    """A wire format: fields in wire order (column name, kind), their JSON keys, and the checks on parsed values."""

    record: Record
    fields: tuple[tuple[str, str], ...]
    json_keys: tuple[str | int, ...]
    positive: tuple[str, ...]  # must be > 0 (prices, trade quantities)
    non_negative: tuple[str, ...]  # must be >= 0 (ids, volumes, counts)
    ordered: tuple[tuple[str, str], ...] = ()  # (lower, upper): lower <= upper in every row
    header: tuple[str, ...] = ()  # the names of a dump's header row, where the venue's newer files have one
    # A dump's rows must be a sequence (`check_sequence`): a file is the whole day, so an id missing inside it means
    # trades are. REST pages are checked across pages by their reader, which knows where the previous page ended.
    sequence: bool = False

    @property
    def time_columns(self) -> list[str]:
        return [name for name, kind in self.fields if kind == TIME]

    @property
    def csv_schema(self) -> dict[str, pl.DataType]:
        return {name: _DTYPE[kind] for name, kind in self.fields}


AGG_TRADES = Layout(
    record=AGG_TRADE,
    fields=(
        ("agg_id", INT),
        ("price", DECIMAL),
        ("qty", DECIMAL),
        ("first_trade_id", INT),
        ("last_trade_id", INT),
        ("time", TIME),
        ("is_buyer_maker", BOOL),
        ("is_best_match", BOOL),
    ),
    json_keys=("a", "p", "q", "f", "l", "T", "m", "M"),
    positive=("price", "qty"),
    non_negative=("agg_id", "first_trade_id"),
    ordered=(("first_trade_id", "last_trade_id"),),
    sequence=True,
)

_KLINE_DECIMALS = ("quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume")
KLINES = Layout(
    record=KLINE,
    fields=(
        ("open_time", TIME),
        ("open", DECIMAL),
        ("high", DECIMAL),
        ("low", DECIMAL),
        ("close", DECIMAL),
        ("volume", DECIMAL),
        ("close_time", TIME),
        ("quote_volume", DECIMAL),
        ("trade_count", INT),
        ("taker_buy_base_volume", DECIMAL),
        ("taker_buy_quote_volume", DECIMAL),
        ("ignore", IGNORED),
    ),
    json_keys=tuple(range(12)),
    positive=("open", "high", "low", "close"),
    non_negative=("volume", "trade_count", *_KLINE_DECIMALS),
    ordered=(
        ("low", "high"),
        ("low", "open"),
        ("open", "high"),
        ("low", "close"),
        ("close", "high"),
        ("open_time", "close_time"),
    ),
)


# --- REST JSON -------------------------------------------------------------------------------------------------------


_ASKED_US = Times("us", "µs were asked for with X-MBX-TIME-UNIT")


def agg_trades_from_json(rows: object, instrument: str, source: str) -> pl.DataFrame:
    """An aggTrades page (list of {a,p,q,f,l,T,m,M}) → AGG_TRADE. `source` is the request URL with parameters."""
    return from_json(rows, AGG_TRADES, {INSTRUMENT: instrument}, _ASKED_US, source)


def klines_from_json(rows: object, instrument: str, interval: str, source: str) -> pl.DataFrame:
    """A klines page (list of 12-field arrays) → KLINE. `source` is the request URL with parameters."""
    return from_json(rows, KLINES, {INSTRUMENT: instrument, "interval": interval}, _ASKED_US, source)


def from_json(rows: object, layout: Layout, constants: dict[str, object], times: Times, source: str) -> pl.DataFrame:
    """A page of `layout` rows (JSON objects when its keys are names, arrays when they are positions) → its record,
    with `constants` as columns and times in `times`."""
    row_type = dict if isinstance(layout.json_keys[0], str) else list
    return _finish(_raw_from_json(rows, layout, row_type, source), layout, constants, times, None, source, 1)


def _raw_from_json(rows: object, layout: Layout, row_type: type, source: str) -> pl.DataFrame:
    """Columns of the page with exact JSON types checked; decimals still strings (cast with row numbers later)."""
    if not isinstance(rows, list):
        raise MalformedDataError(f"{source}: expected a JSON array of rows, got {type(rows).__name__}")
    if not all(type(row) is row_type for row in rows):
        _explain_json(rows, layout, row_type, source)
    columns = {}
    for (name, kind), key in zip(layout.fields, layout.json_keys):
        try:
            values = [row[key] for row in rows]
        except (KeyError, IndexError):
            _explain_json(rows, layout, row_type, source)
        if kind == IGNORED:
            continue
        if not all(type(v) is _JSON_TYPE[kind] for v in values) or (kind in (INT, TIME) and not _fit_int64(values)):
            _explain_json(rows, layout, row_type, source)
        columns[name] = pl.Series(name, values, dtype=pl.String if kind == DECIMAL else _DTYPE[kind])
    raw = pl.DataFrame(columns, schema={n: c.dtype for n, c in columns.items()})
    return _cast_strings(raw, layout, source)


def _fit_int64(values: list[int]) -> bool:
    return not values or (_INT64[0] <= min(values) and max(values) <= _INT64[1])


def _explain_json(rows: list, layout: Layout, row_type: type, source: str) -> None:
    """Raise for the first row whose shape or field types are wrong (only called once something is)."""
    for number, row in enumerate(rows, start=1):
        if type(row) is not row_type:
            raise MalformedDataError(f"{source}: row {number}: expected a JSON {row_type.__name__}, got {shown(row)}")
        for (name, kind), key in zip(layout.fields, layout.json_keys):
            if (key not in row) if row_type is dict else (key >= len(row)):
                raise MalformedDataError(f"{source}: row {number}: field {key!r} ({name}) is missing")
            if kind == IGNORED:
                continue
            value = row[key]
            wrong = type(value) is not _JSON_TYPE[kind]
            if wrong or (kind in (INT, TIME) and not _fit_int64([value])):
                meaning = _MEANING[kind] if wrong else f"{_MEANING[kind]} of 64 bits"
                raise MalformedDataError(
                    f"{source}: row {number}: field {key!r} ({name}) = {shown(value)} is not {meaning}"
                )
    raise AssertionError("_explain_json called on valid rows")  # pragma: no cover


# --- dump CSV --------------------------------------------------------------------------------------------------------


def agg_trades_from_csv(data: bytes | Iterable[bytes], instrument: str, day: date, source: str) -> pl.DataFrame:
    """A spot aggTrades dump CSV (no header, 8 columns) of `day` → AGG_TRADE, times normalised to µs. `data` is the
    whole file or its chunks of whole rows."""
    return from_csv(data, AGG_TRADES, {INSTRUMENT: instrument}, _dump_times(day), day, source)


def klines_from_csv(data: bytes | Iterable[bytes], instrument: str, interval: str, day: date, source: str) -> pl.DataFrame:
    """A spot klines dump CSV (no header, 12 columns) of `day` → KLINE, times normalised to µs. `data` is the whole
    file or its chunks of whole rows."""
    return from_csv(data, KLINES, {INSTRUMENT: instrument, "interval": interval}, _dump_times(day), day, source)


def from_csv(
    data: bytes | Iterable[bytes],
    layout: Layout,
    constants: dict[str, object],
    times: Times,
    day: date | None,
    source: str,
) -> pl.DataFrame:
    """A dump CSV of `layout` rows → its record, with `constants` as columns and times in `times`; every row inside
    `day` when given, and a sequence when the layout says so. A layout with a `header` accepts that header as the
    first row (some of the venue's files have one, older ones not: told apart by content, never by date). A bad row
    is named by its row in the file, the header counted."""
    raw, first_row = _raw_from_csv(data, layout, source)
    frame = _finish(raw, layout, constants, times, day, source, first_row)
    if layout.sequence:
        check_sequence(frame, source, first_row=first_row)
    return frame


def _dump_times(day: date) -> Times:
    if day >= DUMPS_IN_US_FROM:
        return Times("us", f"spot dumps dated from {DUMPS_IN_US_FROM} are in µs")
    return Times("ms", f"spot dumps dated before {DUMPS_IN_US_FROM} are in ms")


def _raw_from_csv(data: bytes | Iterable[bytes], layout: Layout, source: str) -> tuple[pl.DataFrame, int]:
    """Typed read with the explicit schema, chunk by chunk; when one fails, re-read it as text to name the first
    bad row. Returns the rows and the file's row number of the first (2 after a header row)."""
    frames, first_row, data_from = [], 1, 1
    for chunk in [data] if isinstance(data, bytes) else data:
        if first_row == 1 and layout.header:
            chunk, first_row = _without_header(chunk, layout, source)
            data_from = first_row
        frames.append(_read_chunk(chunk, layout, source, first_row))
        first_row += frames[-1].height
    raw = pl.concat(frames) if frames else _read_chunk(b"", layout, source, first_row)
    return _fail_missing(raw, layout, source, data_from), data_from


def _without_header(chunk: bytes, layout: Layout, source: str) -> tuple[bytes, int]:
    """The first chunk without its header row, and the file's row number of what remains. The first row is data when
    its first field is a number, the layout's header when it spells exactly that, and refused otherwise: an unknown
    header means an unknown column order, which no parse can guess."""
    end = chunk.find(b"\n")
    line = (chunk if end < 0 else chunk[:end]).decode("utf-8", errors="replace").strip()
    first = line.split(",", 1)[0]
    if first.lstrip("-").isdigit() or not line:
        return chunk, 1
    if tuple(line.split(",")) != layout.header:
        raise MalformedDataError(
            f"{source}: row 1: unknown header {shown(line)}; expected {','.join(layout.header)} or no header"
        )
    return (b"" if end < 0 else chunk[end + 1 :]), 2


def _read_chunk(data: bytes, layout: Layout, source: str, first_row: int) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(data), has_header=False, schema=layout.csv_schema, quote_char=None)
    except pl.exceptions.PolarsError as exc:
        _explain_csv(data, layout, source, first_row)
        raise MalformedDataError(f"{source}: not a {layout.record.name} CSV: {shown(str(exc))}") from exc


def _explain_csv(data: bytes, layout: Layout, source: str, first_row: int) -> None:
    """Split the chunk into text fields row by row to raise for the first bad row (only called once one is)."""
    lines = data.decode("utf-8", errors="replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    names = list(layout.csv_schema)
    fields = pl.DataFrame({"line": lines}, schema={"line": pl.String}).with_columns(
        pl.col("line").str.split(",").alias("fields")
    )
    count = pl.col("fields").list.len()
    header = (
        pl.col("line").str.strip_chars() == ",".join(layout.header),
        lambda row: f"a header row ({shown(row['line'])}) in the middle of the file",
    )
    if layout.header:
        _fail_first(fields, [header], source, first_row)
    wrong_count = (
        count != len(names),
        lambda row: f"has {len(row['fields'])} fields, expected {len(names)}: {shown(row['line'])}",
    )
    _fail_first(fields, [wrong_count], source, first_row)
    text = fields.select(pl.col("fields").list.get(i).alias(name) for i, name in enumerate(names))
    _cast_strings(text, layout, source, first_row)


def _fail_missing(raw: pl.DataFrame, layout: Layout, source: str, first_row: int) -> pl.DataFrame:
    """Short rows and empty fields read as nulls; none is allowed."""
    problems: list[Problem] = [
        (pl.col(name).is_null(), lambda row, name=name: f"{name} is missing") for name, _ in layout.fields
    ]
    _fail_first(raw, problems, source, first_row)
    return raw


def check_sequence(
    trades: pl.DataFrame, source: str, first_id: int | None = None, after: datetime | None = None, first_row: int = 1
) -> None:
    """Aggregate trades must be complete: consecutive agg ids (from `first_id` when given) and times that never go
    back (not before `after`, the previous page's last time, when given). A gap means trades are missing. Rows are
    numbered from `first_row` (a file's after its header row)."""
    if trades.height == 0:
        return
    start = trades["agg_id"][0] if first_id is None else first_id
    previous_time = pl.col("time").shift(1, fill_value=after) if after is not None else pl.col("time").shift(1)
    problems: list[Problem] = [
        (
            pl.col("agg_id") != pl.int_range(start, start + pl.len()),
            _describe("agg_id", f"breaks the sequence from {start}"),
        ),
        (pl.col("time") < previous_time, _describe("time", "is before the previous trade's")),
    ]
    _fail_first(trades, [(bad.fill_null(False), describe) for bad, describe in problems], source, first_row)


# --- shared: casting, checks, unit normalisation ------------------------------------------------------------------


def _cast_strings(raw: pl.DataFrame, layout: Layout, source: str, first_row: int = 1) -> pl.DataFrame:
    """Cast text columns to their kinds; the first value that does not cast fails the source, naming row and value."""
    casts = {}
    problems: list[Problem] = []
    for name, kind in layout.fields:
        if name in raw.columns and raw[name].dtype == pl.String and kind != IGNORED:
            casts[name] = _cast_text(pl.col(name), kind)
            problems.append((pl.col(name).is_null(), lambda row, name=name: f"{name} is missing"))
            problems.append((casts[name].is_null(), _describe(name, f"is not {_MEANING[kind]}")))
    _fail_first(raw, problems, source, first_row)
    return raw.with_columns(expr.alias(name) for name, expr in casts.items())


def _cast_text(column: pl.Expr, kind: str) -> pl.Expr:
    if kind == BOOL:  # the spellings Binance uses: JSON true/false, dump CSV True/False
        lower = column.str.to_lowercase()
        return pl.when(lower == "true").then(True).when(lower == "false").then(False).otherwise(None)
    return column.cast(_DTYPE[kind], strict=False)


def _finish(
    raw: pl.DataFrame,
    layout: Layout,
    constants: dict[str, object],
    times: Times,
    day: date | None,
    source: str,
    first_row: int,
) -> pl.DataFrame:
    """Check values and time units, convert times to µs timestamps, add constant columns, conform to the record.
    Rows are numbered from `first_row`."""
    problems: list[Problem] = []
    for name in layout.positive:
        problems.append((~(pl.col(name).is_finite() & (pl.col(name) > 0)), _describe(name, "is not a positive number")))
    for name in layout.non_negative:
        bad = pl.col(name) < 0 if raw[name].dtype == pl.Int64 else ~(pl.col(name).is_finite() & (pl.col(name) >= 0))
        problems.append((bad, _describe(name, "is negative or not a number")))
    scale = 1 if times.unit == "us" else 1000
    for name in layout.time_columns:
        in_us = pl.col(name) >= _US_THRESHOLD
        wrong_unit = ~in_us if times.unit == "us" else in_us
        found = "ms" if times.unit == "us" else "µs"
        problems.append((wrong_unit, _describe(name, f"looks like {found}, but {times.why}")))
        problems.append((pl.col(name) >= _LATEST_US // scale, _describe(name, "is after 2100: not an exchange time")))
    for lower, upper in layout.ordered:
        problems.append((pl.col(upper) < pl.col(lower), _describe(upper, f"is below {lower}")))
    _fail_first(raw, problems, source, first_row)

    # A ms close time means "the last ms of the interval"; its last µs is 999 µs later.
    last_us = {"close_time": scale - 1}
    frame = raw.with_columns(
        (pl.col(name) * scale + last_us.get(name, 0)).alias(name) for name in layout.time_columns
    )
    if day is not None:
        start, end = day_bounds_us(day)
        key = layout.record.time_column
        outside = (pl.col(key) < start) | (pl.col(key) >= end)
        _fail_first(frame, [(outside, _describe(key, f"(µs) is outside the file's day {day}"))], source, first_row)
    # A nullable column of the record that the wire format lacks is null: the venue has no such field (USD-M aggTrades
    # have no `M`, so is_best_match is unknown, not false).
    absent = [n for n in layout.record.nullable if n not in frame.columns and n not in constants]
    frame = frame.with_columns(
        [pl.col(name).cast(pl.Datetime("us", "UTC")) for name in layout.time_columns]
        + [pl.lit(value).alias(name) for name, value in constants.items()]
        + [pl.lit(None, dtype=layout.record.polars[name]).alias(name) for name in absent]
    )
    return layout.record.conform(frame.drop([n for n, k in layout.fields if k == IGNORED], strict=False))


def _describe(name: str, text: str) -> Callable[[dict], str]:
    def describe(row: dict) -> str:
        value = row[name]
        return f"{name} = {shown(value) if isinstance(value, str) else value} {text}"

    return describe


def trade_counts(rows: object, source: str) -> dict[str, int]:
    """A 24-hour ticker of every symbol (`[{"symbol": "BNBBTC", ..., "count": 76}, ...]`, spot and USD-M alike) →
    {symbol: trades in the last 24 hours}; MalformedDataError naming the row and field for anything else."""
    if not isinstance(rows, list):
        raise MalformedDataError(f"{source}: not a list of tickers: {shown(rows)}")
    counts = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or type(row.get("symbol")) is not str:
            raise MalformedDataError(f"{source}: ticker {number} = {shown(row)} has no symbol")
        count = row.get("count")
        if type(count) is not int or not 0 <= count <= _INT64[1]:
            raise MalformedDataError(f"{source}: ticker {number} ({row['symbol']}): count = {shown(count)} is not a trade count")
        counts[row["symbol"]] = count
    return counts


def depth_snapshot(book: object, source: str) -> Snapshot:
    """A REST depth answer → Snapshot; MalformedDataError naming the field for anything else."""
    if not isinstance(book, dict) or not {"lastUpdateId", "bids", "asks"} <= book.keys():
        raise MalformedDataError(f"{source}: not a depth snapshot: {shown(book)}")
    last = book["lastUpdateId"]
    if type(last) is not int or not 0 <= last <= _INT64[1]:
        raise MalformedDataError(f"{source}: lastUpdateId = {shown(last)} is not an update id")
    return Snapshot(last, _levels(book["bids"], "bids", source), _levels(book["asks"], "asks", source))


def _levels(levels: object, key: str, source: str) -> list[tuple[float, float]]:
    if not isinstance(levels, list):
        raise MalformedDataError(f"{source}: {key} is not a list of [price, qty] pairs")
    parsed = []
    for number, level in enumerate(levels, start=1):
        price, qty = _level(level)
        if not (price > 0 and qty >= 0):
            raise MalformedDataError(f"{source}: {key} level {number} = {shown(level)} is not [price, qty] as decimal strings")
        parsed.append((price, qty))
    return parsed


def _level(level: object) -> tuple[float, float]:
    """(price, qty) of a [price, qty] pair of ASCII decimal strings; NaNs for anything else."""
    if not (isinstance(level, list) and len(level) == 2 and all(type(v) is str and v.isascii() for v in level)):
        return math.nan, math.nan
    try:
        price, qty = float(level[0]), float(level[1])
    except ValueError:
        return math.nan, math.nan
    return (price, qty) if math.isfinite(price) and math.isfinite(qty) else (math.nan, math.nan)
