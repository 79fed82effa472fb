"""Kubernetes deployment tooling: generate, render and check the manifests under `deployments/`.

Dagster-free on purpose (except `runjob`, which asks dagster-k8s itself what it would launch), so the checks run in
`make test` without a cluster: kustomize renders the overlays (`render`), a schema validator and our structural
checks for custom resources validate them (`validate`), and the project's rules reject insecure workloads (`policy`).
"""

from pathlib import Path

DEPLOYMENTS = Path(__file__).resolve().parents[2] / "deployments"
K8S_DIR = DEPLOYMENTS / "k8s"
HELM_VALUES = DEPLOYMENTS / "helm" / "values.yaml"
OVERLAYS = ("dev", "prod")
