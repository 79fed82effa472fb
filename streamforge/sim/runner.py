"""Run the simulator in a background thread for tests and benchmarks: `with running_simulator(config) as url:`.

The port is bound before uvicorn starts (port 0, the OS picks a free one) and the bound socket is handed over, so
parallel test sessions never race for a port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from streamforge.errors import ConfigError
from streamforge.sim.server import SimConfig, create_app, uvicorn_options

STARTUP_TIMEOUT_S = 10.0


@contextmanager
def running_simulator(config: SimConfig | None = None) -> Iterator[str]:
    """Yield the base URL (http://127.0.0.1:<port>) of a simulator serving `config` (default: from settings)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = config or SimConfig.from_settings()
    server = uvicorn.Server(uvicorn.Config(create_app(config), lifespan="off", **uvicorn_options(config)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            listener.close()
            raise ConfigError(f"the simulator did not start on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        listener.close()
