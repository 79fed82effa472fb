"""The KafkaTopic resources come from the code's TOPICS and agree with each overlay's settings."""

from __future__ import annotations

import pytest

from k8s_objects import find
from streamforge import settings
from streamforge.bus.topics import build_topics
from streamforge.deploy import OVERLAYS, topics_manifest


def test_committed_topics_manifest_equals_a_fresh_generation():
    assert topics_manifest.MANIFEST.read_text() == topics_manifest.topics_yaml(), (
        "deployments/k8s/base/kafka-topics.yaml is stale: run `streamforge k8s topics`"
    )


@pytest.mark.parametrize("name", OVERLAYS)
def test_rendered_topics_are_what_the_code_declares_under_the_overlays_settings(rendered, name, monkeypatch):
    """build_topics() evaluated with the overlay's ConfigMap as environment must give exactly the rendered topics."""
    for key, value in find(rendered[name], "ConfigMap", "streamforge-settings")["data"].items():
        monkeypatch.setenv(key, value)
    expected = {spec.name: spec for spec in build_topics()}
    topics = {d["spec"]["topicName"]: d["spec"] for d in rendered[name] if d["kind"] == "KafkaTopic"}
    assert set(topics) == set(expected)
    for topic_name, spec in expected.items():
        assert topics[topic_name]["partitions"] == spec.partitions
        assert topics[topic_name]["replicas"] == spec.replication
        assert spec.configs.items() <= topics[topic_name]["config"].items()


def test_prod_topics_are_replicated_three_times_with_two_in_sync(rendered):
    for topic in (d for d in rendered["prod"] if d["kind"] == "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3 and topic["spec"]["config"]["min.insync.replicas"] == "2"


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_settings_configmap_holds_only_known_settings(rendered, name):
    data = find(rendered[name], "ConfigMap", "streamforge-settings")["data"]
    assert set(data) - set(settings.SETTINGS) == set()
