"""Events that could not be parsed go to the dead-letter topic, whole, with the reason — and the loader carries on.

A bad event must neither stop the loader nor disappear: the raw payload is the message value (and, for readers that
only look at headers, also the `streamforge.payload` header, cut to 64 KiB), `streamforge.reason` says what was
wrong (cut to REASON_CHARS: a reason quoting a hostile value whole would carry it twice), `streamforge.stream` where
it came from. A dropped event leaves a hole in its id sequence; `gaps` repairs it
by REST like any other hole.
"""

from __future__ import annotations

import logging
import time

from streamforge.errors import cut
from streamforge.live.health import Metrics
from streamforge.live.publisher import Publisher

log = logging.getLogger(__name__)

REASON, STREAM, PAYLOAD, RECEIVED = "streamforge.reason", "streamforge.stream", "streamforge.payload", "streamforge.received_ns"
PAYLOAD_HEADER_BYTES = 65_536
REASON_CHARS = 1_000


class DeadLetters:
    def __init__(self, publisher: Publisher, metrics: Metrics, topic_name: str) -> None:
        self.publisher, self.metrics, self.topic = publisher, metrics, topic_name

    def send(self, raw: str | bytes, reason: str, kind: str, stream: str = "", instrument: str = "") -> None:
        """`kind` is a short label for the metric (e.g. "json", "schema"); `reason` the full explanation."""
        payload = raw.encode() if isinstance(raw, str) else raw
        reason = cut(reason, REASON_CHARS)
        headers = [
            (REASON, reason.encode()),
            (STREAM, stream.encode()),
            (PAYLOAD, payload[:PAYLOAD_HEADER_BYTES]),
            (RECEIVED, str(time.time_ns()).encode()),
        ]
        self.metrics.dead_letters.labels(kind).inc()
        log.warning("dead letter (%s) from %s: %s", kind, stream or "?", reason)
        self.publisher.add_raw(self.topic, instrument.encode(), payload, headers)
