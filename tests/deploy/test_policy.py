"""StreamForge's deployment rules: the overlays pass, and each kind of insecure or broken manifest is rejected
with a message that names the resource and the rule."""

from __future__ import annotations

import pytest

from k8s_objects import container, find, variant
from streamforge.deploy import OVERLAYS
from streamforge.deploy.policy import check


def rejected(docs: list[dict], prod: bool = False) -> list[str]:
    return [str(v) for v in check(docs, prod=prod)]


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_overlays_pass_every_rule(rendered, name):
    assert rejected(rendered[name], prod=name == "prod") == []


@pytest.fixture
def dashboard(rendered) -> dict:
    return find(rendered["prod"], "Deployment", "dashboard")


def test_missing_limits_are_rejected(dashboard):
    bad = variant(dashboard, lambda d: container(d)["resources"].pop("limits"))
    assert rejected([bad]) == [
        "Deployment/streamforge/dashboard: [resources] container dashboard has no limits.cpu, limits.memory"
    ]


def test_an_undersized_kafka_node_pool_without_resources_is_rejected(rendered):
    pool = variant(find(rendered["prod"], "KafkaNodePool"), lambda d: d["spec"].pop("resources"))
    assert rejected([pool]) == [
        "KafkaNodePool/streamforge/dual-role: [resources] the node pool has no requests.cpu, requests.memory, "
        "limits.cpu, limits.memory"
    ]


def test_an_inline_secret_is_rejected(dashboard):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "arango", "namespace": "streamforge"},
              "stringData": {"password": "hunter2"}}
    assert rejected([secret]) == [
        "Secret/streamforge/arango: [inline-secret] a Secret with its values in the manifests; create it out of band and reference it"
    ]


def test_a_password_written_into_the_environment_is_rejected(dashboard):
    def inline(d):
        env = container(d)["env"]
        env[:] = [e for e in env if e["name"] != "STREAMFORGE_ARANGO_PASSWORD"]
        env.append({"name": "STREAMFORGE_ARANGO_PASSWORD", "value": "hunter2"})

    assert rejected([variant(dashboard, inline)]) == [
        "Deployment/streamforge/dashboard: [inline-secret] container dashboard sets STREAMFORGE_ARANGO_PASSWORD inline; "
        "use valueFrom.secretKeyRef"
    ]


def test_a_password_in_the_settings_configmap_is_rejected(rendered):
    settings = variant(find(rendered["prod"], "ConfigMap"), lambda d: d["data"].update(STREAMFORGE_KAFKA_SASL_PASSWORD="x"))
    assert rejected([settings]) == [
        "ConfigMap/streamforge/streamforge-settings: [inline-secret] ConfigMap key STREAMFORGE_KAFKA_SASL_PASSWORD "
        "holds a secret; reference a Secret instead"
    ]


@pytest.mark.parametrize("image", ["registry.example.com/streamforge/streamforge:latest", "registry.example.com/streamforge/streamforge"])
def test_latest_or_missing_image_tags_are_rejected(dashboard, image):
    bad = variant(dashboard, lambda d: container(d).update(image=image))
    assert rejected([bad]) == [
        f"Deployment/streamforge/dashboard: [image-tag] container dashboard image {image!r} needs a fixed tag, not 'latest'"
    ]


def test_a_root_container_is_rejected(dashboard):
    def as_root(d):
        d["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False, runAsUser=0)
        container(d)["securityContext"].update(runAsNonRoot=False, readOnlyRootFilesystem=False)

    assert rejected([variant(dashboard, as_root)]) == [
        "Deployment/streamforge/dashboard: [security-context] container dashboard needs runAsNonRoot: true, "
        "a non-zero runAsUser, readOnlyRootFilesystem: true"
    ]


def test_privilege_escalation_and_capabilities_are_rejected(dashboard):
    def loosen(d):
        container(d)["securityContext"].update(allowPrivilegeEscalation=True, capabilities={"add": ["NET_ADMIN"]})

    assert rejected([variant(dashboard, loosen)]) == [
        "Deployment/streamforge/dashboard: [security-context] container dashboard needs allowPrivilegeEscalation: "
        "false (and not privileged), capabilities.drop: [ALL] and nothing added"
    ]


def test_a_long_running_workload_without_probes_is_rejected(rendered):
    live = find(rendered["prod"], "Deployment", "live-loader-majors")
    bad = variant(live, lambda d: container(d).pop("readinessProbe"))
    assert rejected([bad]) == ["Deployment/streamforge/live-loader-majors: [probes] container live-loader has no readinessProbe"]


def test_plaintext_kafka_in_prod_is_rejected(rendered):
    kafka = variant(find(rendered["prod"], "Kafka"), lambda d: d["spec"]["kafka"]["listeners"][0].update(tls=False))
    settings = variant(find(rendered["prod"], "ConfigMap"), lambda d: d["data"].update(STREAMFORGE_KAFKA_SECURITY_PROTOCOL="PLAINTEXT"))
    assert rejected([kafka, settings], prod=True) == [
        "Kafka/streamforge/streamforge: [kafka-tls] listener tls is plaintext or unauthenticated",
        "ConfigMap/streamforge/streamforge-settings: [kafka-tls] STREAMFORGE_KAFKA_SECURITY_PROTOCOL=PLAINTEXT; "
        "production Kafka is SASL_SSL",
    ]


def test_the_dev_overlay_would_not_pass_as_prod(rendered):
    """dev runs SCRAM over a plaintext listener: fine for dev, and exactly what the prod rules must catch."""
    rules = {v.rule for v in check(rendered["dev"], prod=True)}
    assert rules == {"kafka-tls"}


def test_http_arangodb_in_prod_is_rejected(rendered):
    settings = variant(find(rendered["prod"], "ConfigMap"), lambda d: d["data"].update(STREAMFORGE_ARANGO_URL="http://streamforge-arango:8529"))
    assert rejected([settings], prod=True) == [
        "ConfigMap/streamforge/streamforge-settings: [arango-tls] STREAMFORGE_ARANGO_URL=http://streamforge-arango:8529; "
        "production ArangoDB is https"
    ]


def test_kafka_and_arangodb_open_to_every_pod_are_rejected(rendered):
    kafka = variant(find(rendered["prod"], "Kafka"), lambda d: d["spec"]["kafka"]["listeners"][0].pop("networkPolicyPeers"))
    arango = find(rendered["prod"], "ArangoDeployment")
    assert rejected([kafka, arango]) == [
        "Kafka/streamforge/streamforge: [network-isolation] listener tls is open to every pod; set networkPolicyPeers",
        "ArangoDeployment/streamforge/streamforge-arango: [network-isolation] no NetworkPolicy selects its pods "
        "(arango_deployment label)",
    ]


def test_only_labelled_streamforge_workloads_may_reach_arangodb(rendered):
    policy = find(rendered["prod"], "NetworkPolicy", "arangodb-clients-only")
    clients = policy["spec"]["ingress"][0]["from"]
    assert clients == [{"podSelector": {"matchLabels": {"streamforge.io/arango-client": "true"}}}]
    labelled = {d["metadata"]["name"] for d in rendered["prod"] if d["kind"] == "Deployment"
                and d["spec"]["template"]["metadata"]["labels"].get("streamforge.io/arango-client") == "true"}
    assert labelled == {"dashboard"}
