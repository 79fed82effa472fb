"""Loopback plumbing shared by the local stack, tests and benchmarks: free ports, waiting for HTTP, and serving an
ASGI app from a thread."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from streamforge.errors import StreamForgeError

STARTUP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None, what: str = "service") -> None:
    """Block until `url` answers (any status below 500); fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StreamForgeError(f"{what} exited with code {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise StreamForgeError(f"{what} did not answer {url} within {timeout_s:.0f} s")


@contextmanager
def serving_in_thread(app, name: str, **uvicorn_config) -> Iterator[str]:
    """Serve `app` from a daemon thread on a free loopback port; yield http://127.0.0.1:<port>.

    The socket is bound before uvicorn starts and handed over, so parallel test sessions never race for a port.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            listener.close()
            raise StreamForgeError(f"the {name} did not start on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        listener.close()
