"""Headline figures: the few numbers of each benchmark a reader wants first, declared beside its `run()`.

A benchmark module lists its figures in `HEADLINE`: where StreamForge's number and its baseline's sit in the dict
`run()` returns (dotted paths; a number in a path indexes a list), which way is better, and the goal if there is
one. docs/benchmarks.md opens with one table of them, built from bench/results.json, so it can be written again
from stored results without measuring anything anew (`python -m bench --markdown`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str  # what is measured, with its unit
    value: str  # path of StreamForge's number (or yes/no) in the result
    baseline: str | None = None  # path of the baseline's number, measured in the same run
    baseline_name: str = ""  # what the baseline is
    lower_is_better: bool = True
    goal: float | bool | None = None  # StreamForge's number must be at most (lower is better) / at least this
    counts_if: str | None = None  # path of a yes/no without which the number cannot meet the goal (a capped run)


def _at(result: dict, path: str):
    node = result
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _number(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and abs(value) < 100:
        return f"{value:,.3g}"
    return f"{value:,.0f}"


def _goal(figure: Figure) -> str:
    if figure.goal is None:
        return "—"
    if isinstance(figure.goal, bool):
        return _number(figure.goal)
    return f"{'≤' if figure.lower_is_better else '≥'} {_number(figure.goal)}"


def row(benchmark: str, figure: Figure, result: dict) -> list[str]:
    """benchmark | figure | baseline | ratio | goal | met?, for the headline table. A figure of a case the stored run
    predates (the first part of its path is not in the result: the case was added since) reads "not measured" and
    meets no goal; any other path that is not found is an error."""
    goal = _goal(figure)
    if figure.value.split(".")[0] not in result:
        met = "—" if figure.goal is None else "❌ (not measured)"
        return [benchmark, f"{figure.name}: **not measured**", "—", "—", goal, met]
    value = _at(result, figure.value)
    base = _at(result, figure.baseline) if figure.baseline else None
    if base is None:
        baseline, ratio = "—", "—"
    else:
        better = base / value if figure.lower_is_better else value / base
        baseline, ratio = f"{figure.baseline_name}: {_number(base)}", f"{better:,.2f}×"
    if figure.goal is None:
        met = "—"
    elif isinstance(figure.goal, bool):
        met = "✅" if value == figure.goal else "❌"
    else:
        met = "✅" if (value <= figure.goal if figure.lower_is_better else value >= figure.goal) else "❌"
        if figure.counts_if and not _at(result, figure.counts_if):
            met = f"❌ ({figure.counts_if.rsplit('.', 1)[-1].replace('_', ' ')}: no)"
    return [benchmark, f"{figure.name}: **{_number(value)}**", baseline, ratio, goal, met]
