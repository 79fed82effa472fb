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


# A venue's code is reached through the market registry (instruments.MARKETS names its client and feed classes) and
# composed into the simulator's server; nothing else may import a venue's folder (#8 item 4).
VENUE_DOORS = {"streamforge/sim/server.py", "streamforge/sim/state.py", "streamforge/live/soak.py"}
VENUES = {p.name for p in (ROOT / "streamforge" / "venues").iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def venue_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]  # from streamforge.venues import okx
        else:
            names = []
        found += [(node.lineno, n) for n in names if n.split(".")[:2] == ["streamforge", "venues"] and
                  len(n.split(".")) > 2 and n.split(".")[2] in VENUES]
    return found


def test_only_the_registry_and_the_simulator_reach_into_a_venues_folder():
    packages = ("streamforge", "streamforge_assets", "resources", "sensors", "streamforge_app")
    reached = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
        if "venues" not in path.relative_to(ROOT).parts and str(path.relative_to(ROOT)) not in VENUE_DOORS
        for line, name in venue_imports(path)
    ]
    assert not reached, "\n".join(reached)


def test_no_two_test_files_share_a_name():
    """Test folders are not packages, so pytest imports each test file by its basename: two files of one name in
    different folders are a collection error when both are collected in one process."""
    seen: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert not {name: where for name, where in seen.items() if len(where) > 1}
