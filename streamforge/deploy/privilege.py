"""Least privilege: each workload gets the credentials, network paths and memory it needs, and nothing more.

- Store credentials (and the label the ArangoDB NetworkPolicy admits) only where the store is used: by Dagster's run
  and step workers, which materialise assets; not by the live loader, the dashboard, the webserver, the daemon or the
  code location.
- Nobody reads the ArangoDB root credentials (the Secret the ArangoDeployment bootstraps root from); the pipeline
  has a user of its own.
- Every workload is selected by NetworkPolicies that limit both its ingress and its egress, and none of them lets
  every source in or every destination out.
- The live loader's memory limit holds the loader itself and its Kafka buffer, which costs about 2.5 times its size
  in process memory: under a smaller limit it is OOM-killed before its own over-budget handling starts.
"""

from __future__ import annotations

from collections.abc import Iterator

from streamforge.deploy.commands import COMMANDS, streamforge_command
from streamforge.deploy.render import resource_id
from streamforge.deploy.workloads import (
    Violation,
    environment,
    pod_metadata,
    quantity_bytes,
    secret_refs,
    selected_by,
    setting,
    workloads,
)

STORE_CREDENTIALS = ("STREAMFORGE_ARANGO_USER", "STREAMFORGE_ARANGO_PASSWORD")
STORE_CLIENT_LABEL = "streamforge.io/arango-client"
# `streamforge live` for two symbols against the simulator, idle: 180 MB RSS (measured); rounded up.
LIVE_BASE_BYTES = 192 * 2**20
BUFFER_COST = 2.5  # process memory per byte of STREAMFORGE_LIVE_BUFFER_BYTES in use (the review of issue 12)


def uses_store(container: dict) -> bool:
    name = streamforge_command(container)
    if name is not None:
        return name in COMMANDS and COMMANDS[name].uses_store
    argv = container.get("command", []) + container.get("args", [])
    return "api" in argv and ("execute_run" in argv or "execute_step" in argv)


def store_credentials(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    for doc, pod in workloads(docs):
        users = [c for c in pod.get("containers", []) if uses_store(c)]
        for c in pod.get("containers", []):
            given = [e["name"] for e in c.get("env", []) if e["name"] in STORE_CREDENTIALS]
            if given and c not in users:
                yield Violation(resource_id(doc), "least-privilege",
                                f"container {c.get('name')} uses no store but gets {', '.join(given)}")
        if pod_metadata(doc).get("labels", {}).get(STORE_CLIENT_LABEL) == "true" and not users:
            yield Violation(resource_id(doc), "least-privilege",
                            f"its pods use no store but carry {STORE_CLIENT_LABEL}, which lets them reach ArangoDB")


def arango_root(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    roots = {
        d.get("spec", {}).get("bootstrap", {}).get("passwordSecretNames", {}).get("root")
        for d in known if d.get("kind") == "ArangoDeployment"
    } - {None}
    for doc, pod in workloads(docs):
        for c in pod.get("containers", []):
            for name in sorted(secret_refs(c) & roots):
                yield Violation(resource_id(doc), "least-privilege",
                                f"container {c.get('name')} reads the ArangoDB root credentials (Secret {name}); "
                                "give it a user of its own")


def network_policies(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    policies = [d for d in known if d.get("kind") == "NetworkPolicy"]
    for doc, _ in workloads(docs):
        selecting = [p for p in policies if selected_by(doc, p)]
        limited = {t for p in selecting for t in p.get("spec", {}).get("policyTypes", [])}
        missing = [t for t in ("Ingress", "Egress") if t not in limited]
        if missing:
            yield Violation(resource_id(doc), "network-policy",
                            f"no NetworkPolicy limits its {' or '.join(t.lower() for t in missing)}")
        for p in selecting:
            spec, name = p.get("spec", {}), p["metadata"]["name"]
            if any(not rule.get("to") and not rule.get("ports") for rule in spec.get("egress", [])):
                yield Violation(resource_id(doc), "network-policy", f"NetworkPolicy {name} lets it reach anything")
            if any(not rule.get("from") for rule in spec.get("ingress", [])):
                yield Violation(resource_id(doc), "network-policy", f"NetworkPolicy {name} lets every source reach it")


def live_memory(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    for doc, pod in workloads(docs):
        for c in pod.get("containers", []):
            limit = c.get("resources", {}).get("limits", {}).get("memory")
            if streamforge_command(c) != "live" or not limit:
                continue
            buffer = int(setting(environment(c, doc, known), "STREAMFORGE_LIVE_BUFFER_BYTES"))
            need = LIVE_BASE_BYTES + BUFFER_COST * buffer
            if quantity_bytes(limit) < need:
                yield Violation(resource_id(doc), "memory",
                                f"container {c.get('name')}: limits.memory {limit} cannot hold the loader "
                                f"({LIVE_BASE_BYTES >> 20} MiB) and STREAMFORGE_LIVE_BUFFER_BYTES={buffer} at "
                                f"{BUFFER_COST:g} times its size: it needs {need / 2**20:.0f} Mi")
