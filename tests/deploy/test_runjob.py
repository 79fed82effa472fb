"""The Dagster side: the run Job dagster-k8s builds from our Helm values, and the instance config they render to.

The Job comes from dagster-k8s's own code (a real K8sRunLauncher, K8sContainerContext.create_for_run,
construct_dagster_k8s_job) and is validated exactly like the kustomize output: schema + policy.
"""

from __future__ import annotations

import json

import pytest

from streamforge.deploy import policy
from streamforge_app import runjob
from streamforge.deploy.validate import schema_errors
from streamforge.errors import ConfigError

BACKFILL_TAGS = {
    "dagster/asset_partition_range_start": "2025-01-01|BTCUSDT",
    "dagster/asset_partition_range_end": "2025-01-07|BTCUSDT",
    "streamforge/instrument": "binance.spot.BTCUSDT",
}


@pytest.fixture(scope="module")
def job(values) -> dict:
    return runjob.run_job(values, BACKFILL_TAGS)


def test_the_run_job_is_schema_valid_and_passes_the_prod_policy_beside_the_prod_overlay(job, rendered):
    assert schema_errors(job) == []
    assert [str(v) for v in policy.check([job], prod=True, context=rendered["prod"])] == []


def test_finished_run_jobs_are_deleted_and_never_retried_by_kubernetes(job):
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert job["spec"]["backoffLimit"] == 0


def test_the_run_pod_runs_our_image_with_settings_and_referenced_credentials(job, values):
    pod = job["spec"]["template"]
    c = pod["spec"]["containers"][0]
    assert c["image"] == runjob.image(values)
    # The code server reports its interpreter; the Dockerfile's virtual environment is where it lives.
    assert c["args"][:5] == ["/opt/venv/bin/python", "-m", "dagster", "api", "execute_run"]
    assert c["envFrom"] == [{"configMapRef": {"name": "streamforge-settings"}}]
    password = next(e for e in c["env"] if e["name"] == "STREAMFORGE_KAFKA_SASL_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "streamforge-dagster", "key": "password"}
    store_user = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if e["name"].startswith("STREAMFORGE_ARANGO_")}
    assert store_user == {"STREAMFORGE_ARANGO_USER": "streamforge-arango-user", "STREAMFORGE_ARANGO_PASSWORD": "streamforge-arango-user"}
    assert c["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    labels = pod["metadata"]["labels"]
    assert labels["streamforge.io/kafka-client"] == labels["streamforge.io/arango-client"] == "true", \
        "NetworkPolicies must admit run pods to Kafka and ArangoDB"


def test_a_heavy_run_can_ask_for_more_through_its_tags_and_stays_within_policy(values, rendered):
    """The `dagster-k8s/config` tag (what a training job sets) changes resources; the policy still holds."""
    big = {"container_config": {"resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "8", "memory": "16Gi"}}}}
    job = runjob.run_job(values, {**BACKFILL_TAGS, "dagster-k8s/config": json.dumps(big)})
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "16Gi"
    assert policy.check([job], prod=True, context=rendered["prod"]) == []


def test_the_run_queue_limits_runs_and_caps_each_symbol_at_half_the_slots(values):
    config = runjob.checked_run_coordinator(values)
    assert config["max_concurrent_runs"] > 2
    per_instrument = {"key": "streamforge/instrument", "limit": config["max_concurrent_runs"] // 2, "value": {"applyLimitPerUniqueValue": True}}
    assert per_instrument in config["tag_concurrency_limits"]


def test_the_rendered_instance_config_is_accepted_by_dagster(values):
    instance = runjob.instance_config(values, "streamforge")
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    assert instance["run_coordinator"]["class"] == "InstrumentQueuedRunCoordinator"


def test_a_run_launcher_setting_dagster_does_not_know_is_refused(values):
    bad = {**values, "runLauncher": {"type": "K8sRunLauncher", "config": {"k8sRunLauncher": {
        **values["runLauncher"]["config"]["k8sRunLauncher"], "runK8sConfig": {"jobSpecConfig": "ttl=3600"}}}}}
    with pytest.raises(ConfigError, match="K8sRunLauncher config refused by Dagster"):
        runjob.run_job(bad, BACKFILL_TAGS)


def test_the_charts_long_running_pods_pass_the_policy_as_our_values_configure_them(values, rendered):
    pods = runjob.chart_pods(values)
    assert {p["metadata"]["name"] for p in pods} == {"dagster-webserver", "dagster-daemon", "user-code-streamforge"}
    assert [str(v) for v in policy.check(pods, context=rendered["prod"])] == []


def test_only_the_runs_get_store_credentials_and_never_as_arangodb_root(values, job, rendered):
    """The code location evaluates sensors (Kafka only); giving it the runs' store credentials is refused."""
    runs_env = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["containerConfig"]["env"]
    code_location = values["dagster-user-deployments"]["deployments"][0]
    greedy = {**values, "dagster-user-deployments": {**values["dagster-user-deployments"],
                                                       "deployments": [{**code_location, "env": runs_env}]}}
    pod = next(p for p in runjob.chart_pods(greedy) if p["metadata"]["name"] == "user-code-streamforge")
    assert [str(v) for v in policy.check([pod], context=rendered["prod"])] == [
        "Pod/user-code-streamforge: [least-privilege] container user-code-streamforge uses no store but gets "
        "STREAMFORGE_ARANGO_USER, STREAMFORGE_ARANGO_PASSWORD"
    ]
    root = json.loads(json.dumps(job).replace("streamforge-arango-user", "streamforge-arango-root"))
    assert {v.rule for v in policy.check([root], prod=True, context=rendered["prod"])} == {"least-privilege"}
