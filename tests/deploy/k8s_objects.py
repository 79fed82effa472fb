"""Helpers for the deployment tests: find objects in rendered output, and make bad variants of good ones."""

from __future__ import annotations

import copy


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    """The one object of `kind` (and `name`), failing the test when it is not there."""
    matches = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert matches, f"no {kind} {name or ''} in {[(d['kind'], d['metadata']['name']) for d in docs]}"
    return matches[0]


def container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def variant(doc: dict, change) -> dict:
    """A deep copy of `doc` with `change(copy)` applied: the bad manifest a test expects to be rejected."""
    bad = copy.deepcopy(doc)
    change(bad)
    return bad
