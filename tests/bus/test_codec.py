"""codec: any frame of a record survives encode/decode exactly, and every message fits the size bound."""

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamforge.bus import codec
from streamforge.errors import ConfigError, SchemaError
from streamforge.schemas import AGG_TRADE, CANDLE, DEPTH_UPDATE

_I64 = st.integers(-(2**63), 2**63 - 1)
_FLOAT = st.floats(allow_nan=False)
_ROW = st.fixed_dictionaries(
    {
        "instrument": st.text(max_size=12),
        "agg_id": _I64,
        "price": _FLOAT,
        "qty": _FLOAT,
        "first_trade_id": _I64,
        "last_trade_id": _I64,
        "time": st.integers(0, 4_102_444_800_000_000),
        "is_buyer_maker": st.booleans(),
        "is_best_match": st.booleans(),
        "contract_size": st.none() | st.floats(0.0001, 1000.0),
    }
)


def _frame(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={**AGG_TRADE.polars, "time": pl.Int64})
    return AGG_TRADE.conform(frame.with_columns(pl.col("time").cast(pl.Datetime("us", "UTC"))))


def _wire(messages: list[codec.Message]) -> list[tuple[bytes, list]]:
    return [(bytes(m.value), m.headers) for m in messages]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_ROW, max_size=400), max_bytes=st.integers(3_000, 40_000))
def test_any_frame_round_trips_in_messages_under_the_bound(rows, max_bytes):
    frame = _frame(rows)
    messages = list(codec.encode(AGG_TRADE, frame, "2025-01-02|binance.spot.BTCUSDT", max_bytes))
    assert all(m.size <= max_bytes for m in messages)
    assert sum(m.rows for m in messages) == frame.height
    assert codec.decode(AGG_TRADE, _wire(messages)).equals(frame)


def test_headers_name_record_key_rows_and_id_span(make_trades):
    frame = make_trades(50_000, first_id=1_000)
    messages = list(codec.encode(AGG_TRADE, frame, "2025-01-02|binance.spot.BTCUSDT", 100_000))
    assert len(messages) > 1
    first = dict(messages[0].headers)
    assert first[codec.RECORD] == b"agg_trade" and first[codec.VERSION] == b"3"
    assert first[codec.PARTITION_KEY] == b"2025-01-02|binance.spot.BTCUSDT"
    assert first[codec.FIRST_ID] == b"1000"
    assert int(dict(messages[-1].headers)[codec.LAST_ID]) == 50_999
    assert sum(int(dict(m.headers)[codec.ROWS]) for m in messages) == 50_000


def test_nested_depth_updates_round_trip():
    frame = DEPTH_UPDATE.conform(
        pl.DataFrame(
            {
                "instrument": ["binance.spot.BTCUSDT", "binance.spot.BTCUSDT"],
                "event_time": [1, 2],
                "first_update_id": [10, 12],
                "final_update_id": [11, 15],
                "bids": [[{"price": 1.0, "qty": 2.0}], []],
                "asks": [[], [{"price": 3.0, "qty": 0.0}, {"price": 4.0, "qty": 1.5}]],
            }
        ).with_columns(pl.col("event_time").cast(pl.Datetime("us", "UTC")))
    )
    messages = list(codec.encode(DEPTH_UPDATE, frame, "2025-01-02|binance.spot.BTCUSDT", 10_000))
    assert dict(messages[0].headers)[codec.LAST_ID] == b"15"
    assert codec.decode(DEPTH_UPDATE, _wire(messages)).equals(frame)


def test_an_empty_frame_is_one_message_that_decodes_to_an_empty_frame():
    messages = list(codec.encode(AGG_TRADE, AGG_TRADE.empty(), "2025-01-02|binance.spot.BTCUSDT", 10_000))
    assert len(messages) == 1 and codec.FIRST_ID not in dict(messages[0].headers)
    assert codec.decode(AGG_TRADE, _wire(messages)).equals(AGG_TRADE.empty())


def test_decoding_as_another_record_names_both(make_trades):
    messages = list(codec.encode(AGG_TRADE, make_trades(10), "2025-01-02|binance.spot.BTCUSDT", 100_000))
    with pytest.raises(SchemaError, match="holds agg_trade v3, but the reader expects candle v2"):
        codec.decode(CANDLE, _wire(messages))


def test_a_row_larger_than_the_bound_names_the_setting(make_trades):
    with pytest.raises(ConfigError, match="STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES=1000"):
        list(codec.encode(AGG_TRADE, make_trades(1), "2025-01-02|binance.spot.BTCUSDT", 1_000))


def test_an_arrow_table_encodes_like_the_frame_it_came_from(make_trades):
    frame = make_trades(50)
    from_arrow = list(codec.encode_arrow(AGG_TRADE, frame.to_arrow().cast(AGG_TRADE.arrow), "2025-01-02|binance.spot.BTCUSDT", 100_000))
    from_frame = list(codec.encode(AGG_TRADE, frame, "2025-01-02|binance.spot.BTCUSDT", 100_000))
    assert _wire(from_arrow) == _wire(from_frame)


def test_an_arrow_table_of_another_schema_or_with_nulls_is_refused_before_anything_is_encoded(make_trades):
    table = make_trades(5).to_arrow().cast(AGG_TRADE.arrow)
    with pytest.raises(SchemaError, match="is not this record"):
        codec.encode_arrow(AGG_TRADE, table.drop_columns(["qty"]), "2025-01-02|binance.spot.BTCUSDT", 100_000)
    columns = table.columns
    columns[2] = pa.chunked_array([pa.array([1.0, None, 2.0, 3.0, 4.0], pa.float64())])
    with_null = pa.Table.from_arrays(columns, schema=AGG_TRADE.arrow)  # Arrow does not enforce nullable=False
    with pytest.raises(SchemaError, match=r"null values in non-nullable columns \['price'\]"):
        codec.encode_arrow(AGG_TRADE, with_null, "2025-01-02|binance.spot.BTCUSDT", 100_000)


def test_micro_batches_go_uncompressed_and_large_batches_compressed(make_trades, monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_ARROW_COMPRESSION", "zstd")
    small, large = make_trades(20), make_trades(50_000)
    [plain] = codec.encode(AGG_TRADE, small, "2025-01-02|binance.spot.BTCUSDT", 10**8)
    [packed] = codec.encode(AGG_TRADE, large, "2025-01-02|binance.spot.BTCUSDT", 10**8)
    small_bytes, large_bytes = (f.to_arrow().cast(AGG_TRADE.arrow).nbytes for f in (small, large))
    assert small_bytes < codec.COMPRESS_FROM_BYTES < large_bytes
    assert len(plain.value) > small_bytes  # the columns as they are, plus the IPC framing
    assert len(packed.value) < 0.6 * large_bytes
    assert codec.decode(AGG_TRADE, _wire([plain, packed])).equals(pl.concat([small, large]))
