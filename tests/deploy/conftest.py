"""Rendered overlays and Helm values, built once per session (rendering runs the real kustomize)."""

from __future__ import annotations

import pytest

from streamforge.deploy import OVERLAYS
from streamforge_app import runjob
from streamforge.deploy.render import overlay


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    return {name: overlay(name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def values() -> dict:
    return runjob.load_values()

