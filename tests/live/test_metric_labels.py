"""The loader's metric labels come from what it subscribed to, never from the server's strings: a hostile or broken
stream cannot grow the label set (and Prometheus's memory) without bound."""

from __future__ import annotations

import json

from streamforge.live.connection import closed_reason
from streamforge.live.loader import Loader


def label_values(loader: Loader) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for metric in loader.metrics.registry.collect():
        for sample in metric.samples:
            for name, value in sample.labels.items():
                values.setdefault(f"{metric.name}.{name}", set()).add(value)
    return values


def test_streams_and_event_types_the_server_invents_add_no_label(kafka, live_config):
    loader = Loader(live_config(["BTCUSDT"]), kafka)
    [feed] = loader.feeds
    try:
        for i in range(500):
            event = {"e": f"invented{i}", "E": 1, "s": "BTCUSDT"}
            loader.deliver(feed, json.dumps({"stream": f"btcusdt@invented{i}", "data": event}), 0)
        loader.metrics.render()
        values = label_values(loader)
    finally:
        loader.publisher.close(5)
        feed.close()
    assert values.get("streamforge_live_events.type", set()) <= {"trade", "book", "kline"}
    assert values.get("streamforge_live_last_event_age_seconds.type", set()) <= {"trade", "book", "kline"}
    assert values["streamforge_live_dead_letters.reason"] == {"schema"}


def test_close_codes_outside_the_standard_ones_share_one_label():
    assert [closed_reason(code) for code in (1000, 1006, 1015, 4000, 4999, 0, 65535)] == [
        "closed-1000", "closed-1006", "closed-1015", "closed-other", "closed-other", "closed-other", "closed-other"
    ]
