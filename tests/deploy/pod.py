"""A pod for the runtime probe test: run inside a network namespace of its own (`ip netns exec NS python pod.py`),
it starts what a StreamForge service needs beside it — a Kafka-protocol broker and the exchange simulator, on the
namespace's own loopback — then the service itself, and keeps them until its standard input closes.

The request comes as JSON on the command line: {"argv": [...], "env": {...}, "home": "..."}. The service gets `env`
with the peers pointed at the broker and the simulator; everything else (what it binds, which port) is as given.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from streamforge.bus.broker import LocalBroker
from streamforge.sim.runner import running_simulator


def main(request: dict) -> None:
    home = Path(request["home"])
    with LocalBroker(home / "tansu") as broker, running_simulator() as sim:
        peers = {
            "STREAMFORGE_KAFKA_BOOTSTRAP": broker.bootstrap,
            "STREAMFORGE_REST_URL": sim,
            "STREAMFORGE_DUMP_URL": sim,
            "STREAMFORGE_WS_URL": sim.replace("http://", "ws://"),
        }
        with open(home / "service.log", "ab") as log:
            service = subprocess.Popen(request["argv"], env=request["env"] | peers, stdout=log, stderr=subprocess.STDOUT)
            print("pod ready", flush=True)
            try:
                sys.stdin.read()  # until the test closes it
            finally:
                service.terminate()
                service.wait(30)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
