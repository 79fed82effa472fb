"""The local stack: broker, simulator, Dagster webserver and daemon, as processes this one owns.

`make demo`, `make dev` and the end-to-end tests start the same stack the same way. Each service is a child process
on a free loopback port; the stack passes the addresses on to the Dagster processes through the same environment
variables a production deployment sets, so the code under test never knows it runs locally. Stopping is ordered
(Dagster first, then the simulator, then the broker) and bounded: SIGINT, then SIGKILL — `dagster dev` is known to
ignore SIGTERM, so the webserver and the daemon are run as separate processes this module controls.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from streamforge import settings
from streamforge.bus.broker import LocalBroker
from streamforge.net import free_port, wait_http
from streamforge.venues import simulator_urls
from streamforge_app import running_stack

REPO = Path(__file__).resolve().parent.parent
INSTANCE_TEMPLATE = REPO / "deployments" / "local" / "dagster.yaml"


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout_s: float = 20) -> None:
    """Stop a child and its process group: `sig` first, SIGKILL if it has not exited after `timeout_s`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def prepare_instance(dagster_home: Path) -> Path:
    """Create the Dagster instance folder with the local run-queue configuration (kept across runs), and its storage.

    The storage is created here, once, because the webserver and the daemon start together and would otherwise both
    run the SQLite schema migrations on a new instance and race ("table alembic_version already exists").
    """
    from dagster import DagsterInstance  # only the stack that runs Dagster needs it

    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_TEMPLATE, dagster_home / "dagster.yaml")
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs_count()
    return dagster_home


@dataclass
class Stack:
    """Everything a local StreamForge needs. Use as a context manager; `env` is what child processes receive."""

    home: Path = field(default_factory=settings.home)
    dagster: bool = True
    sim_env: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    webserver_url: str = ""
    sim_url: str = ""
    broker: LocalBroker | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # by service: simulator, dagster-webserver, …
    _exit: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._exit.close()

    def _spawn(self, args: list[str], log_name: str, env: dict[str, str], stop_signal: int) -> subprocess.Popen:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / log_name, "ab")
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=REPO, start_new_session=True,
        )
        self._exit.callback(log.close)
        self._exit.callback(stop_process, proc, stop_signal)
        self.processes[log_name.removesuffix(".log")] = proc
        return proc

    def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.broker = self._exit.enter_context(LocalBroker(log_dir=self.home / "logs"))
        sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{sim_port}"
        self.env = {
            **os.environ,
            "STREAMFORGE_HOME": str(self.home),
            "STREAMFORGE_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            **simulator_urls(self.sim_url),
            "DAGSTER_HOME": str(self.home / "dagster"),
        }
        sim_env = {**self.env, **self.sim_env, "STREAMFORGE_SIM_PORT": str(sim_port)}
        sim = self._spawn([sys.executable, "-m", "streamforge.sim"], "simulator.log", sim_env, signal.SIGTERM)
        wait_http(f"{self.sim_url}/api/v3/ping", 30, sim, "the simulator")
        self._export({k: v for k, v in self.env.items() if k.startswith(("STREAMFORGE_", "DAGSTER_HOME"))})
        if not self.dagster:
            return
        prepare_instance(self.home / "dagster")
        bin_dir = Path(sys.executable).parent
        workspace = str(REPO / "workspace.yaml")
        port = free_port()
        self.webserver_url = f"http://127.0.0.1:{port}"
        web = self._spawn(
            [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
            "dagster-webserver.log", self.env, signal.SIGINT,
        )
        self._spawn([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], "dagster-daemon.log", self.env, signal.SIGINT)
        wait_http(f"{self.webserver_url}/server_info", 120, web, "the Dagster webserver")
        from streamforge_app.webserver import DagsterWebserver  # the Dagster layer, needed only with Dagster

        DagsterWebserver(self.webserver_url).wait_until_loaded()
        self._publish()

    def _export(self, values: dict[str, str]) -> None:
        """Point this process at the stack too (the demo reads the store and instance); restored on exit."""
        before = {k: os.environ.get(k) for k in values}
        os.environ.update(values)

        def restore() -> None:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

        self._exit.callback(restore)

    def _publish(self) -> None:
        """Write where everything runs to STREAMFORGE_HOME/stack.json, so other commands find this stack."""
        path = running_stack.publish(self.home, self.webserver_url, self.sim_url, self.env)
        self._exit.callback(path.unlink, missing_ok=True)
