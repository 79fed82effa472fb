"""Where the local stack `make dev` started runs: STREAMFORGE_HOME/stack.json, written by it, read by every command.

The file says where things are, never how to get in: names the settings registry calls secret are left out and URLs
lose their credentials, and it is readable by its owner only. A command started beside the stack takes the stack's
addresses for whatever its own environment does not say, so `streamforge live` next to `make dev` reaches the same
broker and simulator as `streamforge backfill` does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from streamforge import settings

STACK_FILE = "stack.json"


def stack_file() -> Path:
    return settings.home() / STACK_FILE


def publish(home: Path, webserver_url: str, sim_url: str, env: dict[str, str]) -> Path:
    """Write the stack's addresses (mode 0600, replaced atomically) and return the file's path."""
    exported = {
        key: settings.mask_credentials(value)
        for key, value in env.items()
        if (key.startswith("STREAMFORGE_") or key == "DAGSTER_HOME") and not settings.is_secret(key)
    }
    path = home / STACK_FILE
    partial = path.with_suffix(".json.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"webserver_url": webserver_url, "sim_url": sim_url, "env": exported}, out)
    partial.replace(path)
    return path


def running_stack() -> dict:
    """The running stack's addresses, or {} when none runs."""
    path = stack_file()
    return json.loads(path.read_text()) if path.exists() else {}


def use_running_stack() -> dict:
    """Point this process at the running local stack, unless the environment already says where things are."""
    stack = running_stack()
    for key, value in stack.get("env", {}).items():
        os.environ.setdefault(key, value)
    return stack
