"""Rules about the workloads reaching each other at runtime, which a schema cannot see.

A probe or a Prometheus scrape comes from the node to the pod's address: the port it asks for must be the one the
command serves, on an address other than loopback. And a setting that names another service must not name loopback,
which inside a pod is the pod itself (the dashboard's default metrics URL would point at the dashboard).
"""

from __future__ import annotations

from collections.abc import Iterator

from streamforge.deploy.commands import COMMANDS, LOOPBACK, hosts, served, streamforge_command
from streamforge.deploy.render import resource_id
from streamforge.deploy.workloads import Violation, environment, pod_metadata, probed_ports, setting, workloads

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
