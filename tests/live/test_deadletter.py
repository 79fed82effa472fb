"""Dead letters on the session's real broker: the raw payload travels whole, the reason is cut short."""

from __future__ import annotations

from pathlib import Path

from streamforge.bus.topics import ensure_topics
from streamforge.live.deadletter import PAYLOAD, REASON, DeadLetters
from streamforge.live.health import Metrics
from streamforge.live.loader import live_producer
from streamforge.live.publisher import Publisher, Unpublished

from live_cases import read_messages, topics


def test_a_reason_quoting_a_huge_bad_value_is_cut_short_and_the_payload_kept_whole(kafka, tmp_path: Path):
    ensure_topics(kafka, (topics()["deadletter"],))
    metrics = Metrics()
    publisher = Publisher(live_producer(kafka, 10), metrics, Unpublished(tmp_path / "unpublished.jsonl", metrics),
                          10**8, batch_ms=10, batch_rows=100)  # fmt: skip
    price = "9" * 500_000
    raw = '{"e":"aggTrade","p":"%s"}' % price
    why = f"aggTrade: field 'p' = {price!r} is not a decimal number"
    DeadLetters(publisher, metrics, topics()["deadletter"].name).send(raw, why, "schema", "ethusdt@aggTrade", "ETHUSDT")
    publisher.close()
    [letter] = read_messages(kafka, "deadletter")
    headers = dict(letter.headers)
    reason = headers[REASON].decode()
    assert reason.startswith("aggTrade: field 'p' = '9999") and reason.endswith(f"… ({len(why)} characters)")
    assert len(reason) < 1_100
    assert letter.value == raw.encode() and len(headers[PAYLOAD]) == 65_536
