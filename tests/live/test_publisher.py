"""The live publisher on the session's real broker: a row goes out by its batch deadline without anyone asking,
close() sends what is left, and a batch that cannot be encoded is recorded as unpublished while the publisher goes on;
its rows become tables of their record field by field."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa

from streamforge.bus.topics import ensure_topics
from streamforge.live.health import Metrics
from streamforge.live.loader import live_producer
from streamforge.live.publisher import Publisher, Unpublished, table_of
from streamforge.schemas import AGG_TRADE, DEPTH_UPDATE

from live_cases import read_frame, topics


ETH = "binance.spot.ETHUSDT"


def trade(agg_id: int, price: float | None = 100.0) -> tuple[dict, int]:
    """An AGG_TRADE row (its fields, µs times) and its time."""
    time_us = time.time_ns() // 1000
    row = {"instrument": ETH, "agg_id": agg_id, "price": price, "qty": 1.0, "first_trade_id": agg_id,
           "last_trade_id": agg_id, "time": time_us, "is_buyer_maker": False, "is_best_match": True,
           "contract_size": None}
    return row, time_us


def start_publisher(kafka: dict, home: Path, acked: list[int]) -> Publisher:
    ensure_topics(kafka, (topics()["live_trades"],))
    metrics = Metrics()
    return Publisher(live_producer(kafka, 10), metrics, Unpublished(home / "unpublished.jsonl", metrics), 10**6,
                     batch_ms=50, batch_rows=1000, on_acked=lambda _topic, received: acked.extend(received))


def add(publisher: Publisher, agg_id: int, price: float | None = 100.0) -> None:
    row, time_us = trade(agg_id, price)
    assert publisher.add(topics()["live_trades"], ETH, row, time_us, 64, time.time_ns())


def wait_for(condition, what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        time.sleep(0.01)


def test_a_row_goes_out_by_its_deadline_and_close_sends_the_rest(kafka, tmp_path):
    acked: list[int] = []
    publisher = start_publisher(kafka, tmp_path, acked)
    add(publisher, 1)
    wait_for(lambda: acked, "the first row's acknowledgement")  # nothing but its deadline sent it
    add(publisher, 2)
    add(publisher, 3)
    publisher.close()
    assert len(acked) == 3 and publisher.pending_bytes == 0
    assert read_frame(kafka, "live_trades")["agg_id"].to_list() == [1, 2, 3]


def test_a_batch_that_cannot_be_encoded_is_recorded_and_the_publisher_goes_on(kafka, tmp_path):
    acked: list[int] = []
    publisher = start_publisher(kafka, tmp_path, acked)
    add(publisher, 1, price=None)  # no price: the schema refuses the batch
    wait_for(lambda: publisher.unpublished.rows == 1, "recording the refused row")
    add(publisher, 2)
    publisher.close()
    assert read_frame(kafka, "live_trades")["agg_id"].to_list() == [2]
    [lost] = [json.loads(line) for line in publisher.unpublished.path.read_text().splitlines()]
    assert (lost["first"], lost["last"], lost["instrument"]) == (1, 1, ETH)
    assert "null values in non-nullable columns ['price']" in lost["reason"]
    assert publisher.pending_bytes == 0


def test_rows_become_a_table_of_their_record_field_by_field():
    row, time_us = trade(7)
    trades = table_of(AGG_TRADE, [row, row | {"agg_id": 8, "is_best_match": None}])
    assert trades.schema.equals(AGG_TRADE.arrow)
    assert trades.column("agg_id").to_pylist() == [7, 8] and trades.column("instrument").to_pylist() == [ETH, ETH]
    assert trades.column("time").cast(pa.int64()).to_pylist() == [time_us, time_us]
    assert trades.column("is_best_match").to_pylist() == [True, None]
    depth = table_of(DEPTH_UPDATE, [{"instrument": ETH, "event_time": time_us, "first_update_id": 1,
                                     "final_update_id": 2, "bids": [(10.0, 1.5), (9.0, 0.0)], "asks": []}])
    assert depth.schema.equals(DEPTH_UPDATE.arrow)
    assert depth.column("bids").to_pylist() == [[{"price": 10.0, "qty": 1.5}, {"price": 9.0, "qty": 0.0}]]
    assert depth.column("asks").to_pylist() == [[]]
