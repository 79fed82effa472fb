"""Reading workloads out of rendered objects: their pods, containers and labels, and the settings a container runs
with (its env, the ConfigMaps it takes whole, the registry's defaults) — what every deployment rule looks at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from streamforge import settings

LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
FROM_A_SECRET = object()  # the value of a variable set from a Secret: known to be set, not known here
FROM_THE_POD = object()  # the value of a variable set from the pod's own fields (downward API): known only at runtime
POD_INDEX = "metadata.labels['apps.kubernetes.io/pod-index']"  # a StatefulSet pod's ordinal (Kubernetes 1.28+)
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Violation:
    resource: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: [{self.rule}] {self.message}"


def pod_spec(doc: dict) -> dict | None:
    """The pod spec inside a workload, wherever its kind keeps it; None for objects that run no pods."""
    kind, spec = doc.get("kind"), doc.get("spec", {})
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind in LONG_RUNNING | {"Job", "ReplicaSet"}:
        return spec.get("template", {}).get("spec")
    return None


def pod_metadata(doc: dict) -> dict:
    """The metadata its pods get (labels, annotations)."""
    kind, spec = doc.get("kind"), doc.get("spec", {})
    if kind == "Pod":
        return doc.get("metadata", {})
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("metadata", {})
    return spec.get("template", {}).get("metadata", {})


def containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod.get("containers", [])


def workloads(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    for doc in docs:
        pod = pod_spec(doc)
        if pod is not None:
            yield doc, pod


def namespace(doc: dict) -> str | None:
    return doc.get("metadata", {}).get("namespace")


def environment(container: dict, doc: dict, known: list[dict], fields: dict[str, str] | None = None) -> dict[str, object]:
    """The variables a container starts with: its ConfigMaps (`envFrom`, found among `known`) under its own `env`.
    Values set from a Secret are FROM_A_SECRET; from the pod's fields (`fieldRef`), `fields[path]` when given, else
    FROM_THE_POD. `$(NAME)` in a value is replaced as Kubernetes does: by a variable defined before it, whose value
    is known; any other reference stays as it is."""
    maps = {(namespace(d), d["metadata"]["name"]): d.get("data") or {} for d in known if d.get("kind") == "ConfigMap"}
    values: dict[str, object] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            values |= maps.get((namespace(doc), ref.get("name")), {})
    for env in container.get("env", []):
        field = env.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if "value" in env:
            values[env["name"]] = _REFERENCE.sub(lambda m: _known(values, m), env["value"])
        elif field:
            values[env["name"]] = (fields or {}).get(field, FROM_THE_POD)
        else:
            values[env["name"]] = FROM_A_SECRET
    return values


def _known(values: dict[str, object], match: re.Match) -> str:
    value = values.get(match[1])
    return value if isinstance(value, str) else match[0]


def setting(values: dict[str, object], env: str) -> str:
    """A setting as the container sees it: set, or the registry's default."""
    value = values.get(env, settings.SETTINGS[env].default)
    return "" if value in (FROM_A_SECRET, FROM_THE_POD) else str(value)


def secret_refs(container: dict) -> set[str]:
    """Names of the Secrets a container reads, by variable or whole."""
    names = {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    return names | {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}


def probed_ports(container: dict) -> dict[str, int | str]:
    """The port each probe asks for, by probe, with named ports resolved to numbers where the container names them."""
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if p.get("name")}
    ports = {}
    for probe in PROBES:
        action = container.get(probe, {}).get("httpGet") or container.get(probe, {}).get("tcpSocket")
        if action:
            ports[probe] = named.get(action["port"], action["port"])
    return ports


def quantity_bytes(quantity: str) -> float:
    """A Kubernetes memory quantity (`512Mi`, `1Gi`, `2G`, `1000000`) in bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity)


def selected_by(doc: dict, policy: dict) -> bool:
    """Whether a NetworkPolicy's podSelector (matchLabels) selects the pods of `doc` (same namespace, or unknown)."""
    if namespace(doc) and namespace(policy) and namespace(doc) != namespace(policy):
        return False
    wanted = policy.get("spec", {}).get("podSelector", {}).get("matchLabels", {})
    return wanted.items() <= pod_metadata(doc).get("labels", {}).items()

