"""The manifests' probes at runtime: each StreamForge service runs as its manifest runs it, in a network namespace of
its own (the pod), and its probes and scrape are asked from another namespace (the node) on the pod's address, the
way the kubelet and Prometheus ask them — not on loopback, where a service bound to 127.0.0.1 would still answer.

The service gets the environment its Deployment gives it (the settings ConfigMap under the container's own `env`)
and the command line it names. Only what points outside the pod is replaced, because those services do not exist
here: Kafka, the exchange and their credentials become a broker and the simulator started inside the pod, on the
pod's own loopback (tests/deploy/pod.py), and the state folder a temporary one. The address and port each service
binds, and the probes' paths, ports and headers, are exactly the manifest's.

The namespaces and the veth pair between them need root (`ip netns`); elsewhere the test skips and says so.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from k8s_objects import container, find
from streamforge.deploy.workloads import FROM_A_SECRET, POD_INDEX, PROBES, environment

pytestmark = pytest.mark.slow

POD = Path(__file__).with_name("pod.py")
# What the test puts in place of the services outside the pod (see the module docstring).
REPLACED = ("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "STREAMFORGE_KAFKA_SASL_MECHANISM", "STREAMFORGE_KAFKA_SASL_USERNAME",
            "STREAMFORGE_KAFKA_SASL_PASSWORD", "STREAMFORGE_KAFKA_SSL_CAFILE", "STREAMFORGE_HOME")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def pod_network() -> Iterator[dict]:
    """A network namespace (the pod) joined to this one (the node) by a veth pair with a /30 of its own."""
    tag = f"{os.getpid() % 100000}{random.randrange(100)}"
    name, node_end, pod_end = f"sf-pod-{tag}", f"sfn{tag}", f"sfp{tag}"
    try:
        ip("netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot create a network namespace here (`ip netns add` needs root): {error}")
    try:
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        subnet = next(s for s in (f"10.{random.randrange(200, 250)}.{random.randrange(256)}" for _ in range(50))
                      if f"{s}." not in routes)
        ip("link", "add", node_end, "type", "veth", "peer", "name", pod_end)
        ip("link", "set", pod_end, "netns", name)
        ip("addr", "add", f"{subnet}.1/30", "dev", node_end)
        ip("link", "set", node_end, "up")
        for command in (["addr", "add", f"{subnet}.2/30", "dev", pod_end], ["link", "set", pod_end, "up"],
                        ["link", "set", "lo", "up"]):
            ip("netns", "exec", name, "ip", *command)
        yield {"name": name, "pod_ip": f"{subnet}.2"}
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", node_end], capture_output=True)


def manifest_environment(deployment: dict, docs: list[dict], home: Path) -> dict[str, str]:
    """The variables the workload's container gets, outside services replaced (module docstring); a StatefulSet's
    pod is its first, ordinal 0."""
    given = environment(container(deployment), deployment, docs, {POD_INDEX: "0"})
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMFORGE_", "DAGSTER_"))}
    kept = {k: str(v) for k, v in given.items() if k not in REPLACED and v is not FROM_A_SECRET}
    return base | kept | {"STREAMFORGE_HOME": str(home), "STREAMFORGE_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}


@contextmanager
def running_pod(network: dict, deployment: dict, docs: list[dict], home: Path) -> Iterator[subprocess.Popen]:
    c = container(deployment)
    argv = c["command"] + c.get("args", [])
    assert argv[0] == "streamforge"
    request = {"argv": [sys.executable, "-m", "streamforge_app.cli", *argv[1:]],
               "env": manifest_environment(deployment, docs, home), "home": str(home)}
    pod = subprocess.Popen(["ip", "netns", "exec", network["name"], sys.executable, str(POD), json.dumps(request)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert pod.stdout.readline().strip() == "pod ready", f"the pod did not start; see {home}"
        yield pod
    finally:
        pod.stdin.close()
        pod.wait(60)


def answered(url: str, headers: dict[str, str], within_s: float) -> httpx.Response | None:
    """The first answer the kubelet would count as success (2xx or 3xx) within the bound, else None."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, headers=headers, timeout=2)
            if 200 <= response.status_code < 400:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return None


@pytest.mark.parametrize(("kind", "name"), [("StatefulSet", "live-loader"), ("Deployment", "dashboard")])
def test_every_probe_and_scrape_reaches_the_service_from_another_network_namespace(rendered, pod_network, tmp_path, kind, name):
    docs = rendered["dev"]
    deployment = find(docs, kind, name)
    c = container(deployment)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    asked = {probe: c[probe]["httpGet"] for probe in PROBES if probe in c}
    scraped = deployment["spec"]["template"]["metadata"].get("annotations", {})
    if "prometheus.io/port" in scraped:
        asked["scrape"] = {"path": scraped["prometheus.io/path"], "port": int(scraped["prometheus.io/port"])}
    assert asked, f"{name} has no probe"

    with running_pod(pod_network, deployment, docs, tmp_path):
        for what, action in sorted(asked.items(), key=lambda item: item[0] != "startupProbe"):
            port = ports.get(action["port"], action["port"])
            url = f"http://{pod_network['pod_ip']}:{port}{action['path']}"
            headers = {h["name"]: h["value"] for h in action.get("httpHeaders", [])}
            probe = c.get(what, {})
            patience = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3) if what == "startupProbe" else 60
            response = answered(url, headers, patience)
            log = (tmp_path / "service.log").read_text(errors="replace")[-3000:]
            assert response is not None, f"{what} {url} never answered 2xx/3xx within {patience} s; service log:\n{log}"
            if what == "scrape":
                assert "streamforge_live_events" in response.text
