"""Schema validation of Kubernetes objects, offline.

Built-in kinds are validated with `kubernetes-validate` (the Kubernetes OpenAPI schemas, strict: unknown fields are
errors, so a misspelt `readinessProbe` fails here instead of being silently dropped by the API server).

Custom resources of the operators we use (Strimzi, kube-arangodb) have no schema in that package, and their CRDs are
not vendored here; each gets a structural check of the fields StreamForge depends on instead. A custom resource kind
with neither a schema nor a check is an error, so a new kind cannot slip through unvalidated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import kubernetes_validate

from streamforge.deploy.render import resource_id

K8S_VERSION = "1.33"  # the oldest Kubernetes minor the manifests are meant for


def _required(doc: dict, *paths: str) -> Iterator[str]:
    for path in paths:
        node = doc
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node in (None, "", [], {}):
            yield f"{path} is required"


def _strimzi_cluster(doc: dict) -> Iterator[str]:
    if not doc.get("metadata", {}).get("labels", {}).get("strimzi.io/cluster"):
        yield "metadata.labels['strimzi.io/cluster'] is required (which Kafka cluster it belongs to)"


def check_kafka(doc: dict) -> Iterator[str]:
    yield from _required(doc, "spec.kafka.version", "spec.kafka.listeners", "spec.entityOperator.topicOperator",
                         "spec.entityOperator.userOperator")
    if "zookeeper" in doc.get("spec", {}):
        yield "spec.zookeeper: StreamForge runs Kafka in KRaft mode (KafkaNodePools), not with ZooKeeper"
    annotations = doc.get("metadata", {}).get("annotations", {})
    for key in ("strimzi.io/kraft", "strimzi.io/node-pools"):
        if annotations.get(key) != "enabled":
            yield f"metadata.annotations['{key}'] must be 'enabled'"
    for listener in doc.get("spec", {}).get("kafka", {}).get("listeners", []):
        for missing in _required(listener, "name", "port", "type"):
            yield f"listener {listener.get('name', '?')}: {missing}"
        if not isinstance(listener.get("tls"), bool):
            yield f"listener {listener.get('name', '?')}: tls must be true or false"


def check_node_pool(doc: dict) -> Iterator[str]:
    yield from _strimzi_cluster(doc)
    yield from _required(doc, "spec.replicas", "spec.roles", "spec.storage.type")
    if not set(doc.get("spec", {}).get("roles", [])) <= {"broker", "controller"}:
        yield "spec.roles may hold only 'broker' and 'controller'"


def check_topic(doc: dict) -> Iterator[str]:
    yield from _strimzi_cluster(doc)
    yield from _required(doc, "spec.topicName", "spec.partitions", "spec.replicas")
    spec = doc.get("spec", {})
    for key in ("partitions", "replicas"):
        if not isinstance(spec.get(key), int) or spec.get(key) < 1:
            yield f"spec.{key} must be a positive integer"
    if not all(isinstance(v, str) for v in spec.get("config", {}).values()):
        yield "spec.config values must be strings, as Kafka topic configs are"


def check_user(doc: dict) -> Iterator[str]:
    yield from _strimzi_cluster(doc)
    if doc.get("spec", {}).get("authentication", {}).get("type") not in ("scram-sha-512", "tls"):
        yield "spec.authentication.type must be scram-sha-512 or tls"
    for acl in doc.get("spec", {}).get("authorization", {}).get("acls", []):
        yield from (f"acl: {m}" for m in _required(acl, "resource.type", "operations"))


def check_arango(doc: dict) -> Iterator[str]:
    spec = doc.get("spec", {})
    if spec.get("mode") not in ("Single", "Cluster"):
        yield "spec.mode must be Single or Cluster"
    yield from _required(doc, "spec.image", "spec.tls.caSecretName", "spec.bootstrap.passwordSecretNames.root")
    groups = ["single"] if spec.get("mode") == "Single" else ["agents", "dbservers", "coordinators"]
    for group in groups:
        yield from _required(doc, f"spec.{group}.resources.requests", f"spec.{group}.resources.limits")
        if group != "single" and not spec.get(group, {}).get("count"):
            yield f"spec.{group}.count is required in Cluster mode"


CUSTOM_RESOURCE_CHECKS: dict[tuple[str, str], Callable[[dict], Iterator[str]]] = {
    ("kafka.strimzi.io/v1beta2", "Kafka"): check_kafka,
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): check_node_pool,
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): check_topic,
    ("kafka.strimzi.io/v1beta2", "KafkaUser"): check_user,
    ("database.arangodb.com/v1", "ArangoDeployment"): check_arango,
}


def schema_errors(doc: dict) -> list[str]:
    """Messages naming the resource for every schema problem of one object; empty when it is valid."""
    name = resource_id(doc)
    check = CUSTOM_RESOURCE_CHECKS.get((doc.get("apiVersion"), doc.get("kind")))
    if check:
        return [f"{name}: {message}" for message in check(doc)]
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(root)"
        return [f"{name}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} and no structural check either"]
    return []


def all_schema_errors(docs: list[dict]) -> list[str]:
    return [error for doc in docs for error in schema_errors(doc)]
