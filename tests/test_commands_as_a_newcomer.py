"""The commands as a newcomer runs them, each a process of its own: what they say when Kafka, the exchange or the
store is not there (one line naming what, where and which setting; never a traceback), where `streamforge broker`
listens, and that `live` and `dashboard` find the stack `make dev` runs the way `backfill` and `status` do.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient

from streamforge.dashboard.config import DashboardConfig
from streamforge_app import running_stack
from streamforge.net import free_port
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig

pytestmark = pytest.mark.slow


def environment(home: Path, **settings: str) -> dict[str, str]:
    """A shell's environment: no StreamForge setting but the test's home and the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMFORGE_", "DAGSTER_"))}
    return env | {"STREAMFORGE_HOME": str(home), "STREAMFORGE_KAFKA_TIMEOUT_S": "3", "STREAMFORGE_HTTP_RETRIES": "1"} | settings


@contextmanager
def service(home: Path, *args: str, **settings: str) -> Iterator[subprocess.Popen]:
    """A command in a process group of its own; on leaving, Ctrl-C as a user would press it, then SIGKILL to the
    whole group if it has not stopped (a broker it started must not outlive the test)."""
    proc = subprocess.Popen([sys.executable, "-m", "streamforge_app.cli", *args], env=environment(home, **settings),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        except ProcessLookupError:
            pass
        proc.wait()


def streamforge(home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """Run a command to its end (bounded); a command that hangs is stopped with everything it started."""
    with service(home, *args, **settings) as proc:
        try:
            stdout, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            stdout = ""
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, "")


def the_one_line(done: subprocess.CompletedProcess) -> str:
    output = (done.stdout + done.stderr).strip()
    assert "Traceback" not in output, output
    assert done.returncode == 2, output
    lines = output.splitlines()
    assert len(lines) == 1, output
    return lines[0]


def read_until(proc: subprocess.Popen, text: str, timeout_s: float = 60) -> list[str]:
    """The lines the process printed up to and including the first that holds `text`."""
    deadline, lines = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:  # silent until the deadline: a blocking readline would outlive it
            break
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line.rstrip())
        if text in line:
            return lines
    raise AssertionError(f"{text!r} not printed within {timeout_s} s; got:\n" + "\n".join(lines))


def wait_for_json(url: str, condition, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    body: dict = {}
    while time.monotonic() < deadline:
        try:
            body = httpx.get(url, timeout=2).json()
            if condition(body):
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never met the condition; last answer: {body}")


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Iterator[str]:
    with running_simulator(SimConfig(seed=5, volume=0.001, cache_dir=tmp_path_factory.mktemp("sim"))) as url:
        yield url


def test_live_without_kafka_says_where_it_looked_in_one_line(tmp_path):
    port = free_port()
    line = the_one_line(streamforge(tmp_path, "live", "--symbols", "BTCUSDT",
                                    STREAMFORGE_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}"))
    assert line.startswith(f"error: cannot reach Kafka at 127.0.0.1:{port} (STREAMFORGE_KAFKA_BOOTSTRAP)"), line


def test_adding_a_symbol_without_the_exchange_says_where_it_looked_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    line = the_one_line(streamforge(tmp_path, "symbols", "add", "XRPUSDT", STREAMFORGE_REST_URL=url))
    assert line.startswith(f"error: GET {url}/api/v3/exchangeInfo failed"), line
    assert "Connection refused" in line and "STREAMFORGE_REST_URL" in line


def test_reading_the_store_without_arangodb_says_where_in_one_line_and_keeps_the_password(tmp_path):
    port = free_port()
    line = the_one_line(streamforge(tmp_path, "models", STREAMFORGE_STORE="arangodb",
                                    STREAMFORGE_ARANGO_URL=f"http://root:hunter2@127.0.0.1:{port}"))
    assert f"at http://***@127.0.0.1:{port}" in line and "STREAMFORGE_ARANGO_URL" in line, line
    assert "hunter2" not in line


def test_the_dashboard_without_kafka_keeps_serving_and_says_where_it_looked(tmp_path):
    kafka, port = free_port(), free_port()
    with service(tmp_path, "dashboard", STREAMFORGE_KAFKA_BOOTSTRAP=f"127.0.0.1:{kafka}",
                 STREAMFORGE_DASHBOARD_PORT=str(port)) as proc:
        printed = read_until(proc, "STREAMFORGE_KAFKA_BOOTSTRAP")
        assert f"Kafka at 127.0.0.1:{kafka} (STREAMFORGE_KAFKA_BOOTSTRAP)" in printed[-1]
        health = wait_for_json(f"http://127.0.0.1:{port}/healthz", lambda body: body["kafka"]["error"])
        assert "STREAMFORGE_KAFKA_BOOTSTRAP" in health["kafka"]["error"]
    assert not any("Traceback" in line for line in printed)


def test_the_broker_listens_where_every_other_command_looks(tmp_path):
    bootstrap = f"127.0.0.1:{free_port()}"
    with service(tmp_path, "broker", STREAMFORGE_KAFKA_BOOTSTRAP=bootstrap) as proc:
        assert read_until(proc, "broker ready")[-1].endswith(f"STREAMFORGE_KAFKA_BOOTSTRAP={bootstrap}")
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            assert isinstance(admin.list_topics(), list)
        finally:
            admin.close()


def test_a_broker_on_a_port_in_use_or_an_address_elsewhere_is_refused_in_one_line(tmp_path, broker):
    line = the_one_line(streamforge(tmp_path, "broker", STREAMFORGE_KAFKA_BOOTSTRAP=broker.bootstrap))
    assert line == (f"error: cannot start a broker on {broker.bootstrap}: the port is in use (a broker already running "
                    "there? STREAMFORGE_KAFKA_BOOTSTRAP names it)")
    line = the_one_line(streamforge(tmp_path, "broker", STREAMFORGE_KAFKA_BOOTSTRAP="kafka-1:9092"))
    assert line.startswith("error: STREAMFORGE_KAFKA_BOOTSTRAP=kafka-1:9092 does not name a loopback address"), line


def test_live_and_dashboard_use_the_stack_make_dev_runs(tmp_path, broker, sim):
    """A stack.json as `make dev` writes it, and shells that set nothing: the loader reaches the stack's broker and
    simulator, and the dashboard reads the topics the loader created there (under the stack's topic prefix)."""
    prefix = f"stack-{uuid.uuid4().hex[:8]}"
    running_stack.publish(tmp_path, "", sim, {
        "STREAMFORGE_HOME": str(tmp_path), "STREAMFORGE_KAFKA_BOOTSTRAP": broker.bootstrap,
        "STREAMFORGE_REST_URL": sim, "STREAMFORGE_WS_URL": sim.replace("http://", "ws://"),
        "STREAMFORGE_TOPIC_PREFIX": prefix, "STREAMFORGE_TOPIC_PARTITIONS": "1",
    })
    loader_port, dashboard_port = free_port(), free_port()
    dashboard_topics = [spec.name for spec in DashboardConfig.from_settings("unused:9092").topics]  # one partition each
    with service(tmp_path, "live", "--symbols", "BTCUSDT", "--port", str(loader_port)) as live:
        read_until(live, "1 of 1 instruments")
        with service(tmp_path, "dashboard", STREAMFORGE_DASHBOARD_PORT=str(dashboard_port),
                     STREAMFORGE_DASHBOARD_METRICS_URL=f"http://127.0.0.1:{loader_port}/metrics"):
            health = wait_for_json(f"http://127.0.0.1:{dashboard_port}/healthz",
                                   lambda body: body["kafka"]["partitions"] == len(dashboard_topics)
                                   and "binance.spot.BTCUSDT" in body["instruments"])
    assert health["kafka"]["error"] is None
    assert set(health["kafka"]["lag"]) == {f"{prefix}.{name.split('.', 1)[1]}" for name in dashboard_topics}


def test_the_stack_file_holds_addresses_but_no_secret_and_only_its_owner_reads_it(tmp_path):
    env = {
        "STREAMFORGE_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "STREAMFORGE_KAFKA_SASL_PASSWORD": "kafka-secret",
        "STREAMFORGE_ARANGO_PASSWORD": "arango-secret",
        "STREAMFORGE_ARANGO_URL": "https://root:url-secret@arango:8529",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "HOME": "/root",
    }
    path = running_stack.publish(tmp_path, "http://127.0.0.1:3000", "http://127.0.0.1:8765", env)
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "secret" not in text
    assert json.loads(text)["env"] == {
        "STREAMFORGE_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "STREAMFORGE_ARANGO_URL": "https://***@arango:8529",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }


def test_settings_print_neither_passwords_nor_credentials_in_urls(tmp_path):
    done = streamforge(tmp_path, "settings", STREAMFORGE_ARANGO_URL="https://root:url-secret@arango:8529",
                       STREAMFORGE_ARANGO_PASSWORD="arango-secret")
    assert "secret" not in done.stdout
    assert "STREAMFORGE_ARANGO_URL=https://***@arango:8529" in done.stdout
    assert "STREAMFORGE_ARANGO_PASSWORD=***" in done.stdout


def test_make_notebook_starts_jupyter_even_for_root():
    """Jupyter refuses to run as root without --allow-root, and containers and CI machines run as root."""
    root = Path(__file__).resolve().parent.parent
    plan = subprocess.run(["make", "-n", "notebook"], cwd=root, capture_output=True, text=True, check=True).stdout
    [line] = [line for line in plan.splitlines() if "jupyter lab" in line]
    assert ("--allow-root" in line) == (os.getuid() == 0), line
