"""What each long-running `streamforge` command serves and reaches, as the deployment rules judge its container.

A probe or a scrape only works when the command listens on the pod's address and on the probed port; a setting that
names another service only works when it does not name loopback, which inside a pod is the pod itself; and a command
that uses no store needs no store credentials. This table says, per command, which settings decide each of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from streamforge.deploy.workloads import setting

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Command:
    host: str  # the setting of the address it listens on (`--host` overrides it where the command has one)
    port: str  # the setting of its port (`--port` overrides it)
    peers: tuple[str, ...]  # settings that name the services it talks to
    uses_store: bool


COMMANDS = {
    "live": Command("STREAMFORGE_LIVE_HTTP_HOST", "STREAMFORGE_LIVE_HTTP_PORT",
                    ("STREAMFORGE_KAFKA_BOOTSTRAP", "STREAMFORGE_REST_URL", "STREAMFORGE_WS_URL"), uses_store=False),
    "dashboard": Command("STREAMFORGE_DASHBOARD_HOST", "STREAMFORGE_DASHBOARD_PORT",
                         ("STREAMFORGE_KAFKA_BOOTSTRAP", "STREAMFORGE_DASHBOARD_METRICS_URL", "STREAMFORGE_REST_URL"),
                         uses_store=False),
    "sim": Command("STREAMFORGE_SIM_HOST", "STREAMFORGE_SIM_PORT", (), uses_store=False),
}


def streamforge_command(container: dict) -> str | None:
    """`live` for a container that runs `streamforge live ...`; None when it runs something else."""
    argv = container.get("command", []) + container.get("args", [])
    return argv[1] if len(argv) > 1 and argv[0] == "streamforge" else None


def _option(container: dict, name: str) -> str | None:
    args = container.get("args", [])
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def served(container: dict, command: Command, values: dict[str, object]) -> tuple[str, int]:
    """(address, port) the command listens on in this container; a CLI option wins over the setting, as in the CLI."""
    host = _option(container, "--host") or setting(values, command.host)
    return host, int(_option(container, "--port") or setting(values, command.port))


def hosts(value: str) -> list[str]:
    """The host names in a setting that names services: a URL, or a `host:port,host:port` list."""
    if "://" in value:
        return [urlsplit(value).hostname or ""]
    return [entry.strip().rpartition(":")[0] or entry.strip() for entry in value.split(",") if entry.strip()]
