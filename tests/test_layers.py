"""Dependencies point down: the application layer (`streamforge_app`) drives the Dagster layer (`streamforge_assets`,
`sensors`, `resources`), which calls the Dagster-free core (`streamforge`). Every import is read — also the ones
inside functions, which a lazy import would otherwise hide — and none may point up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each package may not import, package by package.
FORBIDDEN = {
    "streamforge": {"streamforge_app", "streamforge_assets", "resources", "sensors", "dagster", "dagster_k8s"},
    "resources": {"streamforge_app", "streamforge_assets", "sensors"},
    "streamforge_assets": {"streamforge_app"},
    "sensors": {"streamforge_app"},
}


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in the module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", FORBIDDEN)
def test_no_import_points_up_a_layer(package):
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, target in imported(path)
        if target in FORBIDDEN[package]
    ]
    assert not upward, "\n".join(upward)


def test_the_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from streamforge_assets import definitions\n")
    assert imported(module) == [(2, "streamforge_assets")]
