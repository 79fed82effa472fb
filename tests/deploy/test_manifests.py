"""Every manifest file and every rendered overlay passes schema validation.

Built-in kinds are validated by kubernetes-validate against the Kubernetes OpenAPI schemas (strict: unknown fields
fail). Strimzi (Kafka, KafkaNodePool, KafkaTopic, KafkaUser) and kube-arangodb (ArangoDeployment) resources have no
schema there; they get our own structural checks (streamforge/deploy/validate.py) of the fields StreamForge relies on.
"""

from __future__ import annotations

import pytest

from k8s_objects import container, find, variant
from streamforge.deploy import K8S_DIR, OVERLAYS
from streamforge.deploy.render import load, manifest_files
from streamforge.deploy.validate import all_schema_errors, schema_errors


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S_DIR)))
def test_every_manifest_file_is_schema_valid(path):
    assert all_schema_errors(load(path)) == []


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_rendered_overlay_is_schema_valid(rendered, name):
    assert all_schema_errors(rendered[name]) == []


def test_a_misspelt_field_is_rejected_naming_the_resource(rendered):
    deployment = find(rendered["prod"], "Deployment", "dashboard")
    bad = variant(deployment, lambda d: container(d).update(readinessprobe=container(d).pop("readinessProbe")))
    errors = schema_errors(bad)
    assert errors and errors[0].startswith("Deployment/streamforge/dashboard:") and "readinessprobe" in errors[0]


def test_a_custom_resource_without_the_fields_we_rely_on_is_rejected(rendered):
    arango = find(rendered["prod"], "ArangoDeployment")
    bad = variant(arango, lambda d: d["spec"].update(mode="ActiveFailover") or d["spec"].pop("tls"))
    errors = schema_errors(bad)
    assert any("spec.mode must be Single or Cluster" in e for e in errors)
    assert any("spec.tls.caSecretName is required" in e for e in errors)


def test_a_kafka_with_zookeeper_is_rejected(rendered):
    kafka = find(rendered["dev"], "Kafka")
    bad = variant(kafka, lambda d: d["spec"].update(zookeeper={"replicas": 3}))
    assert any("KRaft" in e for e in schema_errors(bad))


def test_an_unknown_custom_resource_kind_is_an_error_not_a_pass():
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema_errors(doc) == ["Widget/w: no schema for example.com/v1 Widget and no structural check either"]


def test_dev_is_one_kafka_node_and_a_single_arangodb_and_prod_three_nodes_and_a_cluster(rendered):
    assert find(rendered["dev"], "KafkaNodePool")["spec"]["replicas"] == 1
    assert find(rendered["dev"], "ArangoDeployment")["spec"]["mode"] == "Single"
    assert find(rendered["prod"], "KafkaNodePool")["spec"]["replicas"] == 3
    prod_arango = find(rendered["prod"], "ArangoDeployment")["spec"]
    assert prod_arango["mode"] == "Cluster" and "single" not in prod_arango


def test_the_live_loader_is_a_statefulset_of_shards_over_the_market_with_health_probes(rendered):
    for name, shards in (("dev", 2), ("prod", 4)):
        loaders = find(rendered[name], "StatefulSet", "live-loader")
        assert loaders["spec"]["replicas"] == shards and loaders["spec"]["podManagementPolicy"] == "Parallel"
        c = container(loaders)
        assert c["args"] == ["live", "--markets", "binance.spot"]
        env = [(e["name"], e.get("value"), e.get("valueFrom")) for e in c["env"]][:2]
        assert env == [("POD_INDEX", None, {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}),
                       ("STREAMFORGE_LIVE_SHARD", f"$(POD_INDEX)/{shards}", None)]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["ports"] == [{"name": "http", "containerPort": 9108}]
    assert not [d for d in rendered["prod"] if d["kind"] == "Deployment" and "live-loader" in d["metadata"]["name"]]


def test_the_dashboard_has_a_service_on_its_http_port(rendered):
    service = find(rendered["dev"], "Service", "dashboard")
    assert service["spec"]["ports"][0]["port"] == 8080
    assert container(find(rendered["dev"], "Deployment", "dashboard"))["ports"][0]["containerPort"] == 8080
