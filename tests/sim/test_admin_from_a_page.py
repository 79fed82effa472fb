"""The simulator's admin endpoints refuse what a web page sends: any site open in a developer's browser can POST to
loopback (a form or `fetch` needs no CORS consent for that), and must not break or reset the simulator."""

from __future__ import annotations


def test_a_post_from_a_web_page_changes_no_fault_and_resets_nothing(api):
    api.post("/sim/faults", json={"slow_ms": 1}).raise_for_status()
    api.get("/api/v3/ping").raise_for_status()
    page = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    assert api.post("/sim/faults", content='{"rate429": 1}', headers=page).status_code == 403
    assert api.post("/sim/reset", headers=page).status_code == 403
    assert api.get("/sim/faults").json()["slow_ms"] == 1
    assert api.get("/sim/stats").json()["responses"].get("200", 0) > 0, "the reset was refused, counters kept"
