"""What Dagster on Kubernetes does with our Helm values, computed by Dagster's and dagster-k8s's own code.

There is no cluster and no `helm` binary here, so two steps of the official chart are reproduced, and only those:
how `runLauncher.config.k8sRunLauncher` and `dagsterDaemon.runCoordinator` become the `run_launcher` and
`run_coordinator` sections of the instance's dagster.yaml (the chart's `_run-launcher.tpl` / `_run-coordinator.tpl`
do a camelCase → snake_case copy of the keys we use). Everything after that is Dagster's: the sections are checked
against `K8sRunLauncher`'s and our run coordinator's config schemas, a real `K8sRunLauncher` is built from them,
and the Job of a sample run comes from `K8sContainerContext.create_for_run` + `construct_dagster_k8s_job`, the calls
`K8sRunLauncher.launch_run` makes before it sends the Job to the API server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import kubernetes
import yaml
from dagster import Shape
from dagster._config import process_config
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.instance.config import dagster_instance_config_schema, validate_concurrency_config
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs
from dagster_k8s import K8sRunLauncher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_job_name_from_run_id

from streamforge.deploy import HELM_VALUES
from streamforge.errors import ConfigError

RELEASE = "dagster"  # the Helm release name the README installs; the chart names its objects after it
CODE_LOCATION_MODULE = "streamforge_assets.definitions"

# K8sRunLauncher values → instance config keys, as the chart's _run-launcher.tpl maps them.
_LAUNCHER_KEYS = {
    "imagePullPolicy": "image_pull_policy", "envVars": "env_vars", "volumeMounts": "volume_mounts",
    "volumes": "volumes", "labels": "labels", "resources": "resources", "securityContext": "security_context",
    "schedulerName": "scheduler_name", "failPodOnRunFailure": "fail_pod_on_run_failure",
}
_RUN_K8S_KEYS = {
    "containerConfig": "container_config", "podSpecConfig": "pod_spec_config",
    "podTemplateSpecMetadata": "pod_template_spec_metadata", "jobSpecConfig": "job_spec_config",
    "jobMetadata": "job_metadata",
}
# The offline stand-in for a cluster: K8sRunLauncher loads a client configuration when it is built, and this
# run never reaches the point where a request would be sent.
_OFFLINE_KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "offline",
    "clusters": [{"name": "offline", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "offline", "user": {}}],
    "contexts": [{"name": "offline", "context": {"cluster": "offline", "user": "offline"}}],
}


def load_values(path: Path = HELM_VALUES) -> dict:
    return yaml.safe_load(path.read_text())


def image(values: dict) -> str:
    """The code location's image: the one every run Job runs (the chart sets it as the location's container image)."""
    img = values["dagster-user-deployments"]["deployments"][0]["image"]
    return f"{img['repository']}:{img['tag']}"


def run_launcher_config(values: dict, namespace: str) -> dict:
    """The `run_launcher.config` section the chart renders into dagster.yaml for a K8sRunLauncher."""
    if values["runLauncher"]["type"] != "K8sRunLauncher":
        raise ConfigError("deployments/helm/values.yaml must use runLauncher.type K8sRunLauncher (each run a Job)")
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace") or namespace,
        "service_account_name": values.get("global", {}).get("serviceAccountName") or RELEASE,
        "dagster_home": values["global"]["dagsterHome"],
        "instance_config_map": f"{RELEASE}-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    config |= {ours: launcher[theirs] for theirs, ours in _LAUNCHER_KEYS.items() if launcher.get(theirs)}
    for key in ("envConfigMaps", "envSecrets"):
        names = [ref["name"] for ref in launcher.get(key, []) if ref.get("name")]
        if names:
            config["env_config_maps" if key == "envConfigMaps" else "env_secrets"] = names
    run_k8s = launcher.get("runK8sConfig") or {}
    if run_k8s:
        config["run_k8s_config"] = {ours: run_k8s[theirs] for theirs, ours in _RUN_K8S_KEYS.items() if run_k8s.get(theirs)}
    return config


def run_coordinator(values: dict) -> dict:
    """The `run_coordinator` section (module, class, config) the chart renders for a CustomRunCoordinator."""
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    if coordinator["type"] != "CustomRunCoordinator":
        raise ConfigError("the run queue must be streamforge_assets.run_queue.InstrumentQueuedRunCoordinator (CustomRunCoordinator)")
    return coordinator["config"]["customRunCoordinator"]


def checked(config_schema: dict, config: dict, what: str) -> dict:
    """`config` after Dagster's own config processing (defaults filled in); ConfigError listing what Dagster refuses."""
    result = process_config(Shape(config_schema), config)
    if not result.success:
        raise ConfigError(f"{what} refused by Dagster: " + "; ".join(e.message for e in result.errors))
    return result.value


def checked_run_coordinator(values: dict) -> dict:
    from streamforge_assets.run_queue import InstrumentQueuedRunCoordinator

    section = run_coordinator(values)
    if (section["module"], section["class"]) != ("streamforge_assets.run_queue", "InstrumentQueuedRunCoordinator"):
        raise ConfigError(f"unexpected run coordinator {section['module']}.{section['class']}")
    return checked(InstrumentQueuedRunCoordinator.config_type(), section.get("config") or {}, "run coordinator config")


def instance_config(values: dict, namespace: str) -> dict:
    """The sections of the chart's dagster.yaml that our values decide, checked against Dagster's instance schema."""
    config = {
        "run_coordinator": run_coordinator(values),
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": run_launcher_config(values, namespace)},
        **(values.get("additionalInstanceConfig") or {}),
    }
    checked(dagster_instance_config_schema(), config, "instance config")
    validate_concurrency_config(config)
    return config


def launcher(values: dict, namespace: str, kubeconfig: Path) -> K8sRunLauncher:
    """A real K8sRunLauncher from the chart's config, with the client pointed at `kubeconfig` instead of the cluster."""
    config = checked(K8sRunLauncher.config_type(), run_launcher_config(values, namespace), "K8sRunLauncher config")
    return K8sRunLauncher(**{**config, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)})


def sample_run(values: dict, tags: dict[str, str], job_name: str = "historical") -> DagsterRun:
    """A run of `job_name` as the code location would submit it (its origin names our image and module)."""
    origin = JobPythonOrigin(
        job_name,
        RepositoryPythonOrigin(
            executable_path="/opt/venv/bin/python",
            code_pointer=ModuleCodePointer(CODE_LOCATION_MODULE, "defs", working_directory=None),
            container_image=image(values),
        ),
    )
    return DagsterRun(job_name=job_name, tags=tags, job_code_origin=origin)


def run_job(values: dict, tags: dict[str, str], namespace: str = "streamforge") -> dict:
    """The Kubernetes Job (as the API server would receive it) that the K8sRunLauncher builds for a sample run."""
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(_OFFLINE_KUBECONFIG))
        run_launcher = launcher(values, namespace, kubeconfig)
    run = sample_run(values, tags)
    context = K8sContainerContext.create_for_run(run, run_launcher, include_run_tags=True)
    origin = run.job_code_origin
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=origin.repository_origin.container_image, run_launcher=run_launcher),
        args=ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=None).get_command_args(),
        job_name=get_job_name_from_run_id(run.run_id),
        pod_name=get_job_name_from_run_id(run.run_id),
        component="run_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": run.job_name, "dagster/run-id": run.run_id},
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": run.job_name}],
    )
    job.metadata.namespace = context.namespace
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def chart_pods(values: dict) -> list[dict]:
    """The long-running pods the chart makes (webserver, daemon, code location), as far as our values shape them.

    Without helm the chart's templates cannot be rendered; this wraps what the values give each pod (image,
    security contexts, resources, environment, and the labels the chart's templates set, which NetworkPolicies select
    by) into Pod objects so the same policy rules can judge them.
    """
    sections = {
        "dagster-webserver": (values["dagsterWebserver"], {"component": "dagster-webserver"}),
        "dagster-daemon": (values["dagsterDaemon"], {"component": "dagster-daemon"}),
        **{f"user-code-{d['name']}": (d, {"component": "user-deployments", "deployment": d["name"]})
           for d in values["dagster-user-deployments"]["deployments"]},
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "dagster", "release": RELEASE} | labels | section.get("labels", {})},
            "spec": {
                "securityContext": section.get("podSecurityContext", {}),
                "containers": [{
                    "name": name,
                    "image": f"{section['image']['repository']}:{section['image'].get('tag', '')}",
                    "env": section.get("env", []),
                    "envFrom": [{"configMapRef": ref} for ref in section.get("envConfigMaps", [])],
                    "resources": section.get("resources", {}),
                    "securityContext": section.get("securityContext", {}),
                }],
            },
        }
        for name, (section, labels) in sections.items()
    ]
