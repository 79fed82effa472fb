"""The container image's Dockerfile and the CI workflow meet what the deployment depends on.

No Docker engine here, so the Dockerfile is read, not built: these are the rules a reviewer would check by eye.
"""

from __future__ import annotations

import re

import yaml

from streamforge.deploy import DEPLOYMENTS

ROOT = DEPLOYMENTS.parent
DOCKERFILE = (DEPLOYMENTS / "Dockerfile").read_text()
STAGES = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]


def test_the_base_images_are_pinned_to_exact_releases():
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base
    node = re.search(r"^ARG NODE_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE).group(1)
    assert re.fullmatch(r"node:\d+\.\d+\.\d+-[\w-]+(@sha256:[0-9a-f]{64})?", node), node
    assert all(stage.startswith(("${PYTHON_IMAGE}", "${NODE_IMAGE} AS web")) for stage in STAGES)
    assert STAGES[-1].startswith("${PYTHON_IMAGE}")


def test_the_image_is_multi_stage_and_the_final_stage_has_no_build_tools_and_runs_as_non_root():
    assert len(STAGES) >= 2
    final = STAGES[-1]
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert not re.search(r"apt-get|build-essential|gcc|pip install", final)
    assert re.search(r"^USER 10001", final, re.MULTILINE)


def test_torch_comes_from_the_cpu_wheel_index_and_the_project_from_pyproject():
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in DOCKERFILE
    assert "COPY pyproject.toml" in DOCKERFILE and "'.[k8s]'" in DOCKERFILE


def test_no_entrypoint_because_dagster_k8s_starts_pods_with_args_only():
    assert not re.search(r"^ENTRYPOINT", DOCKERFILE, re.MULTILINE)


def test_the_build_context_is_only_what_pip_install_needs():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*") + 1:][:2] == ["!pyproject.toml", "!README.md"] and "!streamforge/" in lines


def test_ci_runs_make_test_with_an_arangodb_service_and_the_arangodb_tests_enabled():
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    test = workflow["jobs"]["test"]
    assert test["services"]["arangodb"]["image"].startswith("arangodb/arangodb:")
    assert test["env"]["STREAMFORGE_ARANGO_URL"] == "http://127.0.0.1:8529"
    assert any(step.get("run") == "make test" for step in test["steps"])


def test_every_package_pip_installs_is_in_the_build_context_and_copied_into_the_image():
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [p.removesuffix("*") for p in patterns]
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for package in packages:
        assert f"!{package}/" in ignore, package
        assert f"COPY {package} ./{package}" in DOCKERFILE, package
