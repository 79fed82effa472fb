"""The application layer: the `streamforge` commands and what they drive.

It sits above both the core (`streamforge`) and the Dagster layer (`streamforge_assets`, `resources`, `sensors`):
the local stack of processes (`stack`), the requests the commands make of Dagster — instruments, backfills, status,
training, the demo (`control`) — through the instance and the webserver's GraphQL API (`webserver`), scenario 2 for a
bounded time (`demo_live`), and the Kubernetes tooling that asks dagster-k8s what it would launch (`runjob`, `k8s`).
Nothing below imports it (tests/test_layers.py).
"""
