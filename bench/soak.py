"""The 10-minute chaos soak (`make soak`): 5 symbols, abrupt disconnects every 30 s, 1% dropped, duplicated,
reordered and malformed events; at the end no agg id may be missing or duplicated in Kafka and every book checkpoint
must equal the simulator's true book. `make test` runs a 35-second version (tests/live/test_soak.py)."""

from __future__ import annotations

import dataclasses
import json
import sys

from streamforge.live.soak import soak


def run(seconds: float = 600, disconnect_every_s: int = 30) -> dict:
    report = soak(seconds, disconnect_every_s)
    return dataclasses.asdict(report) | {"ok": report.ok, "book_mismatches": report.book_mismatches[:10]}


if __name__ == "__main__":
    result = run(float(sys.argv[1]) if len(sys.argv) > 1 else 600)
    print(json.dumps(result, indent=1))
    sys.exit(0 if result["ok"] else 1)
