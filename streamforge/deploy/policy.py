"""StreamForge's own deployment rules: what a schema accepts but we refuse to run.

Each rule is a function from the rendered objects to violations that name the resource and the rule, so a rejected
manifest says what to fix ("Deployment/streamforge/dashboard: [resources] container dashboard has no limits.memory").
`check(docs, prod=True)` adds the rules only production must meet (Kafka over SASL_SSL, ArangoDB over https).
Rules that judge a workload by what surrounds it (its ConfigMaps, the NetworkPolicies that select it, the
ArangoDeployment whose root Secret it must not read) look among `docs` and `context`: objects deployed beside it,
not judged themselves — the overlay, for the run Job and the Helm chart's pods.

Further rules live beside their subject: `wiring` (probes and peers reachable at runtime) and `privilege` (least
privilege: credentials, NetworkPolicies, memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from streamforge.deploy import privilege, wiring
from streamforge.deploy.render import resource_id
from streamforge.deploy.workloads import LONG_RUNNING, Violation, containers, pod_spec, workloads
from streamforge.settings import SECRET_NAME

PROTOCOL, ARANGO_URL, ARANGO_CA = "STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "STREAMFORGE_ARANGO_URL", "STREAMFORGE_ARANGO_CA_CERT"


def security_context(docs: list[dict]) -> Iterator[Violation]:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp."""
    for doc, pod in workloads(docs):
        pod_sc = pod.get("securityContext", {})
        for c in containers(pod):
            sc = c.get("securityContext", {})
            problems = []
            if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
                problems.append("runAsNonRoot: true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                problems.append("a non-zero runAsUser")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append("readOnlyRootFilesystem: true")
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("privileged"):
                problems.append("allowPrivilegeEscalation: false (and not privileged)")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
                problems.append("capabilities.drop: [ALL] and nothing added")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append("seccompProfile.type: RuntimeDefault")
            if problems:
                yield Violation(resource_id(doc), "security-context", f"container {c.get('name')} needs {', '.join(problems)}")


def resources(docs: list[dict]) -> Iterator[Violation]:
    """Requests and limits for CPU and memory on every container, and on the operators' pods we size ourselves."""
    def missing(res: dict | None) -> list[str]:
        res = res or {}
        return [f"{kind}.{r}" for kind in ("requests", "limits") for r in ("cpu", "memory") if not res.get(kind, {}).get(r)]

    for doc in docs:
        named: list[tuple[str, dict | None]] = []
        pod = pod_spec(doc)
        if pod is not None:
            named = [(f"container {c.get('name')}", c.get("resources")) for c in containers(pod)]
        elif doc.get("kind") == "KafkaNodePool":
            named = [("the node pool", doc.get("spec", {}).get("resources"))]
        elif doc.get("kind") == "Kafka":
            operators = doc.get("spec", {}).get("entityOperator", {})
            named = [(name, (operators.get(name) or {}).get("resources")) for name in ("topicOperator", "userOperator")]
        for what, res in named:
            if missing(res):
                yield Violation(resource_id(doc), "resources", f"{what} has no {', '.join(missing(res))}")


def image_tags(docs: list[dict]) -> Iterator[Violation]:
    """Every image names an exact tag or digest: `latest` or no tag means a different image on every pull."""
    for doc, pod in workloads(docs):
        for c in containers(pod):
            image = c.get("image", "")
            if "@sha256:" in image:
                continue
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or tag == "latest":
                yield Violation(resource_id(doc), "image-tag", f"container {c.get('name')} image {image!r} needs a fixed tag, not 'latest'")


def inline_secrets(docs: list[dict]) -> Iterator[Violation]:
    """Secrets are referenced (secretKeyRef, operator-made Secrets), never written into the manifests."""
    for doc in docs:
        if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
            yield Violation(resource_id(doc), "inline-secret", "a Secret with its values in the manifests; create it out of band and reference it")
        if doc.get("kind") == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if SECRET_NAME.search(key) and value:
                    yield Violation(resource_id(doc), "inline-secret", f"ConfigMap key {key} holds a secret; reference a Secret instead")
        pod = pod_spec(doc)
        for c in containers(pod) if pod else []:
            for env in c.get("env", []):
                if SECRET_NAME.search(env.get("name", "")) and env.get("value"):
                    yield Violation(resource_id(doc), "inline-secret",
                                    f"container {c.get('name')} sets {env['name']} inline; use valueFrom.secretKeyRef")


def probes(docs: list[dict]) -> Iterator[Violation]:
    """Long-running workloads say when they are alive and when they are ready, so Kubernetes can restart or drain them."""
    for doc, pod in workloads(docs):
        if doc.get("kind") not in LONG_RUNNING:
            continue
        for c in pod.get("containers", []):
            lacking = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
            if lacking:
                yield Violation(resource_id(doc), "probes", f"container {c.get('name')} has no {' or '.join(lacking)}")


def network_isolation(docs: list[dict]) -> Iterator[Violation]:
    """Only StreamForge workloads reach Kafka (Strimzi makes NetworkPolicies from `networkPolicyPeers`) and ArangoDB."""
    for doc in docs:
        if doc.get("kind") == "Kafka":
            for listener in doc.get("spec", {}).get("kafka", {}).get("listeners", []):
                if not listener.get("networkPolicyPeers"):
                    yield Violation(resource_id(doc), "network-isolation",
                                    f"listener {listener.get('name')} is open to every pod; set networkPolicyPeers")
        if doc.get("kind") == "ArangoDeployment":
            name = doc["metadata"]["name"]
            guarded = any(
                d.get("kind") == "NetworkPolicy"
                and d.get("spec", {}).get("podSelector", {}).get("matchLabels", {}).get("arango_deployment") == name
                for d in docs
            )
            if not guarded:
                yield Violation(resource_id(doc), "network-isolation", "no NetworkPolicy selects its pods (arango_deployment label)")


def _settings(docs: list[dict]) -> Iterator[tuple[dict, str, str]]:
    """Every place a StreamForge setting is given a literal value: ConfigMaps and container env."""
    for doc in docs:
        if doc.get("kind") == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                yield doc, key, value
        pod = pod_spec(doc)
        for c in containers(pod) if pod else []:
            for env in c.get("env", []):
                if "value" in env:
                    yield doc, env["name"], env["value"]


def kafka_tls(docs: list[dict]) -> Iterator[Violation]:
    """Production Kafka: every listener encrypted and authenticated, every client on SASL_SSL."""
    for doc in docs:
        if doc.get("kind") == "Kafka":
            for listener in doc.get("spec", {}).get("kafka", {}).get("listeners", []):
                if listener.get("tls") is not True or not listener.get("authentication"):
                    yield Violation(resource_id(doc), "kafka-tls", f"listener {listener.get('name')} is plaintext or unauthenticated")
    for doc, key, value in _settings(docs):
        if key == PROTOCOL and value != "SASL_SSL":
            yield Violation(resource_id(doc), "kafka-tls", f"{PROTOCOL}={value}; production Kafka is SASL_SSL")


def arango_tls(docs: list[dict]) -> Iterator[Violation]:
    """Production ArangoDB: https with the operator's CA, never plain http."""
    values = {}
    for doc, key, value in _settings(docs):
        if key == ARANGO_URL and not value.startswith("https://"):
            yield Violation(resource_id(doc), "arango-tls", f"{ARANGO_URL}={value}; production ArangoDB is https")
        values[key] = (doc, value)
    if ARANGO_URL in values and not values.get(ARANGO_CA, (None, ""))[1]:
        yield Violation(resource_id(values[ARANGO_URL][0]), "arango-tls", f"{ARANGO_CA} is not set for {ARANGO_URL}")


RULES: tuple[Callable[[list[dict]], Iterator[Violation]], ...] = (
    security_context, resources, image_tags, inline_secrets, probes, network_isolation,
)
RULES_IN_CONTEXT: tuple[Callable[[list[dict], list[dict]], Iterator[Violation]], ...] = (
    wiring.served_ports, wiring.loopback_peers, wiring.shards, privilege.store_credentials, privilege.arango_root,
    privilege.network_policies, privilege.live_memory,
)
PROD_RULES = (kafka_tls, arango_tls)


def check(docs: list[dict], prod: bool = False, context: list[dict] = ()) -> list[Violation]:
    rules = RULES + PROD_RULES if prod else RULES
    known = list(docs) + list(context)
    return [v for rule in rules for v in rule(docs)] + [v for rule in RULES_IN_CONTEXT for v in rule(docs, known)]
