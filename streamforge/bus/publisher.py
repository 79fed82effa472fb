"""One KafkaProducer per process, tuned for a few large Arrow messages rather than many small ones.

A producer owns sockets, a buffer and a sender thread; making one per materialisation would pay the connection and
metadata round trips every time. Producers are not fork-safe, hence one per process id.
"""

from __future__ import annotations

import os
import threading

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.net.compat import KafkaNetClient

from streamforge.bus.config import kafka_config, max_message_bytes, timeout_s
from streamforge.errors import BusError

_producers: dict[tuple[int, str], KafkaProducer] = {}
_lock = threading.Lock()


class WaitingClient(KafkaNetClient):
    """kafka-python's network client, but a connected broker that cannot take another request yet (its one request
    in flight unanswered) is waited for, not polled for.

    The producer's sender asks `connection_delay` how long to wait for a broker that has batches ready but is not
    ready itself, and kafka-python (3.0.12) answers 0 for a connected one: with one request in flight, every batch
    made while it is unanswered sent the sender round its loop without pause until the answer came: about half of
    the network thread's CPU in the live loader (bench/live_cost.py). The Java client answers "indefinitely" for a
    connected broker, since its answer (or a new batch, which wakes the sender) ends the wait; so does this one.
    """

    def connection_delay(self, node_id):
        return float("inf") if self.connected(node_id) else super().connection_delay(node_id)


def producer_settings(config: dict) -> dict:
    """`config` plus the producer settings for Arrow batches.

    - acks=all and one request in flight: an acknowledged message is on every in-sync replica and messages stay in
      order. Idempotence is not needed for exactness: readers read only the offsets the acknowledgements reported,
      so a duplicate left by a retried send is never read. (It is also what lets a producer carry on after the
      brokers forgot its producer id — a restarted broker, an expired id — where an idempotent one fails every send
      with UnknownProducerIdError.)
    - No Kafka-level compression: the Arrow batches are already compressed column by column; lz4 on top saves no
      bytes (bench/b1_kafka_io.py: 8.5 MB either way for 500k trades). Live micro-batches are sent uncompressed
      (codec.COMPRESS_FROM_BYTES): a few kB each, where latency and CPU count more than bytes.
    - batch_size and max_request_size equal the message bound: each Kafka batch holds at most one bound's worth,
      which the topic's max.message.bytes accepts.
    - A short linger lets the small messages of small frames share a request; large messages do not wait for it.
    - max_block_ms and delivery_timeout_ms keep a dead broker from blocking a send for kafka-python's 60-120 s.
    - No auto-creation: topics are created by ensure_topics with their declared partitions and retention.
    - `WaitingClient`: the sender waits for the broker's answer instead of spinning while its one request is in
      flight.
    """
    bound_ms = int(timeout_s() * 1000)
    return config | {
        "acks": "all",
        "enable_idempotence": False,
        "max_in_flight_requests_per_connection": 1,
        "compression_type": None,
        "batch_size": max_message_bytes(),
        "max_request_size": max_message_bytes(),
        "linger_ms": 5,
        "max_block_ms": bound_ms,
        "delivery_timeout_ms": 2 * bound_ms + 5,
        "allow_auto_create_topics": False,
        "kafka_client": WaitingClient,
    }


def shared_producer(config: dict | None = None) -> KafkaProducer:
    """The process's producer for `config` (default: `kafka_config()`), created on first use."""
    full = producer_settings(config or kafka_config())
    key = (os.getpid(), repr(sorted(full.items())))
    with _lock:
        if key not in _producers:
            try:
                _producers[key] = KafkaProducer(**full)
            except KafkaError as exc:
                raise BusError(f"Kafka at {full['bootstrap_servers']} is unreachable: {exc}") from exc
        return _producers[key]
