"""Rules about the workloads reaching each other at runtime, which a schema cannot see.

A probe or a Prometheus scrape comes from the node to the pod's address: the port it asks for must be the one the
command serves, on an address other than loopback. A setting that names another service must not name loopback,
which inside a pod is the pod itself (the dashboard's default metrics URL would point at the dashboard). And the live
loaders are shards: one per pod of a StatefulSet, each pod's shard its ordinal out of the replicas, and the dashboard
reads every one's /metrics (`shards`).
"""

from __future__ import annotations

from collections.abc import Iterator

from streamforge.deploy.commands import COMMANDS, LOOPBACK, hosts, served, streamforge_command
from streamforge.deploy.render import resource_id
from streamforge.deploy.workloads import (
    POD_INDEX, Violation, environment, pod_metadata, probed_ports, setting, workloads,
)

SCRAPE_PORT = "prometheus.io/port"


def served_ports(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    """Every probed or scraped port of a StreamForge container is served by its command, on the pod's address."""
    for doc, pod in workloads(docs):
        scraped = pod_metadata(doc).get("annotations", {}).get(SCRAPE_PORT)
        for c in pod.get("containers", []):
            asked = probed_ports(c) | ({"scrape": int(scraped)} if scraped else {})
            name = streamforge_command(c)
            if not asked or name is None:
                continue
            command = COMMANDS.get(name)
            if command is None:
                yield Violation(resource_id(doc), "served-ports",
                                f"container {c.get('name')} is probed, but `streamforge {name}` serves no port")
                continue
            host, port = served(c, command, environment(c, doc, known))
            if host in LOOPBACK:
                yield Violation(resource_id(doc), "served-ports",
                                f"container {c.get('name')} serves on {host} ({command.host}), which probes and scrapes "
                                f"from outside the pod cannot reach; set {command.host}=0.0.0.0")
            for what, wanted in asked.items():
                if wanted != port:
                    yield Violation(resource_id(doc), "served-ports",
                                    f"container {c.get('name')}: {what} asks for port {wanted}, but `streamforge {name}` "
                                    f"serves {port} ({command.port})")


def loopback_peers(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    """A StreamForge container's settings that name other services do not name loopback."""
    for doc, pod in workloads(docs):
        for c in pod.get("containers", []):
            command = COMMANDS.get(streamforge_command(c) or "")
            if command is None:
                continue
            values = environment(c, doc, known)
            for env in command.peers:
                value = setting(values, env)
                if any(host in LOOPBACK for host in hosts(value)):
                    yield Violation(resource_id(doc), "loopback-peer",
                                    f"container {c.get('name')}: {env}={value} is the pod itself; name the service")


SHARD = "STREAMFORGE_LIVE_SHARD"
METRICS = "STREAMFORGE_DASHBOARD_METRICS_URL"


def shards(docs: list[dict], known: list[dict]) -> Iterator[Violation]:
    """A live loader with more than one replica is a StatefulSet whose pods follow shard <ordinal>/<replicas> each
    (two pods of one shard publish every trade twice, and a count other than the replicas leaves instruments
    unfollowed); the dashboard reads the /metrics of every one of its pods."""
    loaders = []
    for doc, pod in workloads(known):
        for c in pod.get("containers", []):
            if streamforge_command(c) == "live":
                loaders.append((doc, c))
    for doc, c in loaders:
        if doc not in docs:
            continue
        replicas = doc.get("spec", {}).get("replicas", 1)
        shard = setting(environment(c, doc, known, {POD_INDEX: "$(ordinal)"}), SHARD)
        if doc.get("kind") != "StatefulSet":
            if replicas > 1:
                yield Violation(resource_id(doc), "shards",
                                f"{replicas} replicas of one loader follow the same instruments and publish them "
                                f"{replicas} times; run a StatefulSet whose pods take {SHARD}=$(<pod index>)/<replicas>")
        elif shard != f"$(ordinal)/{replicas}":
            raw = next((e.get("value") for e in c.get("env", []) if e["name"] == SHARD), None)
            yield Violation(resource_id(doc), "shards",
                            f"container {c.get('name')}: {SHARD}={raw or setting({}, SHARD)} is not this pod's ordinal "
                            f"out of its {replicas} replicas; set it to $(POD_INDEX)/{replicas}, POD_INDEX from "
                            f"fieldRef {POD_INDEX}, defined before it")
    sets = [(doc, c) for doc, c in loaders if doc.get("kind") == "StatefulSet"]
    for doc, pod in workloads(docs):
        for c in pod.get("containers", []):
            if streamforge_command(c) != "dashboard":
                continue
            urls = {u.strip() for u in setting(environment(c, doc, known), METRICS).split(",")}
            for loader, lc in sets:
                port = served(lc, COMMANDS["live"], environment(lc, loader, known))[1]
                name, service = loader["metadata"]["name"], loader["spec"].get("serviceName", "")
                wanted = [f"http://{name}-{k}.{service}:{port}/metrics" for k in range(loader["spec"].get("replicas", 1))]
                missing = [u for u in wanted if u not in urls]
                if missing:
                    yield Violation(resource_id(doc), "shards",
                                    f"container {c.get('name')}: {METRICS} does not name {', '.join(missing)}: "
                                    f"the health panel would not show every shard of {name}")
