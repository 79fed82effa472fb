"""Strimzi `KafkaTopic` resources generated from `streamforge.bus.topics.TOPICS`.

The code creates its topics from `TOPICS` (`ensure_topics`); on Kubernetes the Strimzi topic operator creates them
from these resources instead. Generating the YAML from the same `TOPICS` (never a second list) and testing that the
committed file equals a fresh generation keeps the two from drifting: adding a topic to the code without running
`streamforge k8s topics` fails the tests.

The base manifest carries the defaults of the settings (replication 1); an overlay changes replication for every
topic at once with one kustomize patch that targets `kind: KafkaTopic`, and the tests check each rendered overlay
against `build_topics()` evaluated under that overlay's own settings ConfigMap.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from streamforge.bus.topics import TOPICS, TopicSpec
from streamforge.deploy import K8S_DIR

CLUSTER = "streamforge"  # metadata.name of the Strimzi `Kafka` resource the topics belong to
MANIFEST = K8S_DIR / "base" / "kafka-topics.yaml"
HEADER = "# GENERATED from streamforge.bus.topics.TOPICS by `streamforge k8s topics` -- do not edit.\n"


def resource_name(topic_name: str) -> str:
    """A Kubernetes name for a topic: dots are legal in names but dashes read better in `kubectl get kt`."""
    return topic_name.replace(".", "-").replace("_", "-").lower()


def kafka_topic(spec: TopicSpec, cluster: str = CLUSTER) -> dict:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": resource_name(spec.name),
            "labels": {"strimzi.io/cluster": cluster, "app.kubernetes.io/part-of": "streamforge"},
            "annotations": {"streamforge.io/description": spec.description},
        },
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication,
            "config": dict(spec.configs),
        },
    }


def topics_yaml(topics: tuple[TopicSpec, ...] = TOPICS) -> str:
    docs = [kafka_topic(spec) for spec in topics]
    return HEADER + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)


def write(path: Path = MANIFEST) -> Path:
    path.write_text(topics_yaml())
    return path
