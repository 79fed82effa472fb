"""StreamForge's deployment rules: the overlays pass, and each kind of insecure or broken manifest is rejected
with a message that names the resource and the rule."""

from __future__ import annotations

import pytest

from k8s_objects import container, find, variant
from streamforge.deploy import OVERLAYS
from streamforge.deploy.policy import check


@pytest.fixture(scope="session")
def rejected(rendered):
    """What the rules say about `docs` deployed in place of their namesakes in the prod overlay, beside the rest of
    it (their ConfigMap, the NetworkPolicies that select them, the ArangoDeployment)."""

    def judge(docs: list[dict], prod: bool = False) -> list[str]:
        return [str(v) for v in check(docs, prod=prod, context=rendered["prod"])]

    return judge


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_overlays_pass_every_rule(rendered, name):
    assert [str(v) for v in check(rendered[name], prod=name == "prod")] == []


@pytest.fixture
def dashboard(rendered) -> dict:
    return find(rendered["prod"], "Deployment", "dashboard")


def test_missing_limits_are_rejected(dashboard, rejected):
    bad = variant(dashboard, lambda d: container(d)["resources"].pop("limits"))
    assert rejected([bad]) == [
        "Deployment/streamforge/dashboard: [resources] container dashboard has no limits.cpu, limits.memory"
    ]


def test_an_undersized_kafka_node_pool_without_resources_is_rejected(rendered, rejected):
    pool = variant(find(rendered["prod"], "KafkaNodePool"), lambda d: d["spec"].pop("resources"))
    assert rejected([pool]) == [
        "KafkaNodePool/streamforge/dual-role: [resources] the node pool has no requests.cpu, requests.memory, "
        "limits.cpu, limits.memory"
    ]


def test_an_inline_secret_is_rejected(dashboard, rejected):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "arango", "namespace": "streamforge"},
              "stringData": {"password": "hunter2"}}
    assert rejected([secret]) == [
        "Secret/streamforge/arango: [inline-secret] a Secret with its values in the manifests; create it out of band and reference it"
    ]


def test_a_password_written_into_the_environment_is_rejected(dashboard, rejected):
    def inline(d):
        env = container(d)["env"]
        env[:] = [e for e in env if e["name"] != "STREAMFORGE_KAFKA_SASL_PASSWORD"]
        env.append({"name": "STREAMFORGE_KAFKA_SASL_PASSWORD", "value": "hunter2"})

    assert rejected([variant(dashboard, inline)]) == [
        "Deployment/streamforge/dashboard: [inline-secret] container dashboard sets STREAMFORGE_KAFKA_SASL_PASSWORD "
        "inline; use valueFrom.secretKeyRef"
    ]


def test_a_password_in_the_settings_configmap_is_rejected(rendered, rejected):
    settings = variant(find(rendered["prod"], "ConfigMap"), lambda d: d["data"].update(STREAMFORGE_KAFKA_SASL_PASSWORD="x"))
    assert rejected([settings]) == [
        "ConfigMap/streamforge/streamforge-settings: [inline-secret] ConfigMap key STREAMFORGE_KAFKA_SASL_PASSWORD "
        "holds a secret; reference a Secret instead"
    ]


@pytest.mark.parametrize("image", ["registry.example.com/streamforge/streamforge:latest", "registry.example.com/streamforge/streamforge"])
def test_latest_or_missing_image_tags_are_rejected(dashboard, image, rejected):
    bad = variant(dashboard, lambda d: container(d).update(image=image))
    assert rejected([bad]) == [
        f"Deployment/streamforge/dashboard: [image-tag] container dashboard image {image!r} needs a fixed tag, not 'latest'"
    ]


def test_a_root_container_is_rejected(dashboard, rejected):
    def as_root(d):
        d["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False, runAsUser=0)
        container(d)["securityContext"].update(runAsNonRoot=False, readOnlyRootFilesystem=False)

    assert rejected([variant(dashboard, as_root)]) == [
        "Deployment/streamforge/dashboard: [security-context] container dashboard needs runAsNonRoot: true, "
        "a non-zero runAsUser, readOnlyRootFilesystem: true"
    ]


def test_privilege_escalation_and_capabilities_are_rejected(dashboard, rejected):
    def loosen(d):
        container(d)["securityContext"].update(allowPrivilegeEscalation=True, capabilities={"add": ["NET_ADMIN"]})

    assert rejected([variant(dashboard, loosen)]) == [
        "Deployment/streamforge/dashboard: [security-context] container dashboard needs allowPrivilegeEscalation: "
        "false (and not privileged), capabilities.drop: [ALL] and nothing added"
    ]


def test_a_long_running_workload_without_probes_is_rejected(rendered, rejected):
    live = find(rendered["prod"], "StatefulSet", "live-loader")
    bad = variant(live, lambda d: container(d).pop("readinessProbe"))
    assert rejected([bad]) == ["StatefulSet/streamforge/live-loader: [probes] container live-loader has no readinessProbe"]


def test_plaintext_kafka_in_prod_is_rejected(rendered, rejected):
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


def test_http_arangodb_in_prod_is_rejected(rendered, rejected):
    settings = variant(find(rendered["prod"], "ConfigMap"), lambda d: d["data"].update(STREAMFORGE_ARANGO_URL="http://streamforge-arango:8529"))
    assert rejected([settings], prod=True) == [
        "ConfigMap/streamforge/streamforge-settings: [arango-tls] STREAMFORGE_ARANGO_URL=http://streamforge-arango:8529; "
        "production ArangoDB is https"
    ]


def test_kafka_and_arangodb_open_to_every_pod_are_rejected(rendered, rejected):
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
    assert labelled == set(), "only Dagster's runs use the store (tests/deploy/test_runjob.py)"


# --- probes and peers reachable at runtime (issue 12, finding 1; tests/deploy/test_probes_at_runtime.py runs them)


@pytest.fixture
def loader(rendered) -> dict:
    return find(rendered["prod"], "StatefulSet", "live-loader")


def without_env(name: str):
    def change(d):
        container(d)["env"] = [e for e in container(d)["env"] if e["name"] != name]

    return change


def test_a_loader_serving_its_probes_on_loopback_is_rejected(loader, rejected):
    assert rejected([variant(loader, without_env("STREAMFORGE_LIVE_HTTP_HOST"))]) == [
        "StatefulSet/streamforge/live-loader: [served-ports] container live-loader serves on 127.0.0.1 "
        "(STREAMFORGE_LIVE_HTTP_HOST), which probes and scrapes from outside the pod cannot reach; set "
        "STREAMFORGE_LIVE_HTTP_HOST=0.0.0.0"
    ]


def test_a_probe_or_scrape_on_a_port_the_command_does_not_serve_is_rejected(loader, dashboard, rejected):
    def elsewhere(d):
        container(d)["ports"] = [{"name": "http", "containerPort": 9100}]
        d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9100"

    assert rejected([variant(loader, elsewhere)]) == [
        f"StatefulSet/streamforge/live-loader: [served-ports] container live-loader: {what} asks for port 9100, "
        "but `streamforge live` serves 9108 (STREAMFORGE_LIVE_HTTP_PORT)"
        for what in ("livenessProbe", "readinessProbe", "startupProbe", "scrape")
    ]
    on_another_port = variant(dashboard, lambda d: container(d).update(args=["dashboard", "--port", "8081"]))
    assert rejected([on_another_port]) == [
        f"Deployment/streamforge/dashboard: [served-ports] container dashboard: {probe} asks for port 8080, but "
        "`streamforge dashboard` serves 8081 (STREAMFORGE_DASHBOARD_PORT)" for probe in ("livenessProbe", "readinessProbe")
    ]


def test_a_dashboard_reading_metrics_from_its_own_pod_is_rejected(dashboard, rejected):
    assert rejected([variant(dashboard, without_env("STREAMFORGE_DASHBOARD_METRICS_URL"))]) == [
        "Deployment/streamforge/dashboard: [loopback-peer] container dashboard: "
        "STREAMFORGE_DASHBOARD_METRICS_URL=http://127.0.0.1:9108/metrics is the pod itself; name the service",
        "Deployment/streamforge/dashboard: [shards] container dashboard: STREAMFORGE_DASHBOARD_METRICS_URL does not "
        "name http://live-loader-0.live-loader:9108/metrics, http://live-loader-1.live-loader:9108/metrics, "
        "http://live-loader-2.live-loader:9108/metrics, http://live-loader-3.live-loader:9108/metrics: the health "
        "panel would not show every shard of live-loader",
    ]


def test_the_dashboard_reads_every_shard_of_the_loaders_by_pod_name_through_their_headless_service(rendered):
    url = next(e["value"] for e in container(find(rendered["prod"], "Deployment", "dashboard"))["env"]
               if e["name"] == "STREAMFORGE_DASHBOARD_METRICS_URL")
    loaders = find(rendered["prod"], "StatefulSet", "live-loader")
    service = find(rendered["prod"], "Service", loaders["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    port = service["spec"]["ports"][0]["port"]
    assert url.split(",") == [f"http://live-loader-{k}.live-loader:{port}/metrics" for k in range(loaders["spec"]["replicas"])]
    assert service["spec"]["selector"].items() <= loaders["spec"]["template"]["metadata"]["labels"].items()


# --- shards of the live loader (issue 8, item 7)


def with_shard(value: str):
    def change(d):
        for e in container(d)["env"]:
            if e["name"] == "STREAMFORGE_LIVE_SHARD":
                e["value"] = value

    return change


def test_loader_shards_that_do_not_match_the_replicas_or_the_pod_are_rejected(loader, rejected):
    assert rejected([variant(loader, with_shard("$(POD_INDEX)/2"))]) == [
        "StatefulSet/streamforge/live-loader: [shards] container live-loader: STREAMFORGE_LIVE_SHARD=$(POD_INDEX)/2 is "
        "not this pod's ordinal out of its 4 replicas; set it to $(POD_INDEX)/4, POD_INDEX from fieldRef "
        "metadata.labels['apps.kubernetes.io/pod-index'], defined before it"
    ]
    assert rejected([variant(loader, with_shard("0/4"))])[0].startswith(
        "StatefulSet/streamforge/live-loader: [shards] container live-loader: STREAMFORGE_LIVE_SHARD=0/4 is not this pod's")

    def index_after_shard(d):
        env = container(d)["env"]
        env.append(env.pop(next(i for i, e in enumerate(env) if e["name"] == "POD_INDEX")))

    assert len(rejected([variant(loader, index_after_shard)])) == 1, "$(POD_INDEX) is only expanded from earlier variables"


def test_a_loader_deployment_with_replicas_is_rejected(loader, rejected):
    def as_deployment(d):
        d["kind"] = "Deployment"
        d["spec"].pop("serviceName")
        d["spec"].pop("podManagementPolicy")

    assert rejected([variant(loader, as_deployment)]) == [
        "Deployment/streamforge/live-loader: [shards] 4 replicas of one loader follow the same instruments and publish "
        "them 4 times; run a StatefulSet whose pods take STREAMFORGE_LIVE_SHARD=$(<pod index>)/<replicas>"
    ]


def test_a_dashboard_missing_a_shard_is_rejected(dashboard, rejected):
    def three_of_four(d):
        for e in container(d)["env"]:
            if e["name"] == "STREAMFORGE_DASHBOARD_METRICS_URL":
                e["value"] = ",".join(e["value"].split(",")[:3])

    assert rejected([variant(dashboard, three_of_four)]) == [
        "Deployment/streamforge/dashboard: [shards] container dashboard: STREAMFORGE_DASHBOARD_METRICS_URL does not "
        "name http://live-loader-3.live-loader:9108/metrics: the health panel would not show every shard of live-loader"
    ]


# --- least privilege (issue 12, finding 5)


def test_store_credentials_or_the_store_label_where_no_store_is_used_are_rejected(dashboard, rejected):
    def with_store_access(d):
        d["spec"]["template"]["metadata"]["labels"]["streamforge.io/arango-client"] = "true"
        container(d)["env"].append({"name": "STREAMFORGE_ARANGO_PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": "streamforge-arango-user", "key": "password"}}})

    assert rejected([variant(dashboard, with_store_access)]) == [
        "Deployment/streamforge/dashboard: [least-privilege] container dashboard uses no store but gets "
        "STREAMFORGE_ARANGO_PASSWORD",
        "Deployment/streamforge/dashboard: [least-privilege] its pods use no store but carry "
        "streamforge.io/arango-client, which lets them reach ArangoDB",
    ]


def test_reading_the_arangodb_root_credentials_is_rejected(loader, rejected):
    def as_root(d):
        container(d)["envFrom"].append({"secretRef": {"name": "streamforge-arango-root"}})

    assert rejected([variant(loader, as_root)]) == [
        "StatefulSet/streamforge/live-loader: [least-privilege] container live-loader reads the ArangoDB root "
        "credentials (Secret streamforge-arango-root); give it a user of its own"
    ]


@pytest.mark.parametrize("policy", ["live-loader", "dashboard"])
def test_a_workload_no_networkpolicy_limits_is_rejected(rendered, policy):
    everything_else = [d for d in rendered["prod"] if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == policy)]
    kind = "StatefulSet" if policy == "live-loader" else "Deployment"
    assert {str(v) for v in check(everything_else)} == {
        f"{kind}/streamforge/{policy}: [network-policy] no NetworkPolicy limits its ingress or egress"
    }


def test_a_networkpolicy_open_to_every_destination_or_source_is_rejected(rendered, dashboard, rejected):
    policy = find(rendered["prod"], "NetworkPolicy", "dashboard")
    wide_open = variant(policy, lambda p: p["spec"].update(egress=[{}], ingress=[{"ports": [{"port": 8080}]}]))
    others = [d for d in rendered["prod"] if d is not policy]
    assert [str(v) for v in check([dashboard], context=others + [wide_open])] == [
        "Deployment/streamforge/dashboard: [network-policy] NetworkPolicy dashboard lets it reach anything",
        "Deployment/streamforge/dashboard: [network-policy] NetworkPolicy dashboard lets every source reach it",
    ]


def test_a_loader_whose_memory_limit_cannot_hold_its_buffer_is_rejected(loader, rejected):
    small = variant(loader, lambda d: container(d)["resources"]["limits"].update(memory="512Mi"))
    assert rejected([small]) == [
        "StatefulSet/streamforge/live-loader: [memory] container live-loader: limits.memory 512Mi cannot hold the "
        "loader (192 MiB) and STREAMFORGE_LIVE_BUFFER_BYTES=268435456 at 2.5 times its size: it needs 832 Mi"
    ]
