"""The producer settings' network client waits for a busy broker's answer instead of polling it without pause."""

from __future__ import annotations

from streamforge.bus.publisher import WaitingClient, producer_settings


def test_a_connected_broker_is_waited_for_and_any_other_asked_of_the_library(kafka):
    settings = producer_settings(kafka)
    assert settings["kafka_client"] is WaitingClient
    client = WaitingClient(**settings)
    try:
        node = client.least_loaded_node(bootstrap_fallback=True)
        assert client.connection_delay(node) == 0  # not connected yet: the library's own backoff (none)
        assert client.await_ready(node, timeout_ms=5_000)
        assert client.connection_delay(node) == float("inf")  # its answer or a new batch ends the sender's wait
    finally:
        client.close()
