"""docs/benchmarks.md opens with one headline table (benchmark, figure, baseline, ratio, goal, met?) before the
details, generated from bench/results.json by bench/__main__.py from the figures each benchmark declares."""

from __future__ import annotations

import importlib
import json

import pytest

from bench.__main__ import BENCH, BENCHMARKS, ROOT, markdown
from bench.headline import Figure, row

RESULTS = json.loads((BENCH / "results.json").read_text())


def test_the_committed_page_is_what_the_stored_results_generate():
    assert (ROOT / "docs" / "benchmarks.md").read_text() == markdown(RESULTS), (
        "docs/benchmarks.md is stale: run `python -m bench --markdown`"
    )


def test_the_page_opens_with_the_headline_table_and_the_details_come_after():
    page = markdown(RESULTS)
    table = page.index("| benchmark | figure | baseline | ratio | goal | met? |")
    assert table < page.index("## Details") < page.index("### B1 ")
    rows = [line for line in page[table:page.index("## Details")].splitlines() if line.startswith("| B")]
    assert {r.split(" | ")[0][2:] for r in rows} == {d.split(" ")[0] for d in BENCHMARKS.values()}


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_declares_headline_figures_found_in_its_results(name):
    figures = importlib.import_module(f"bench.{name}").HEADLINE
    assert figures and all(isinstance(f, Figure) for f in figures)
    for figure in figures:
        assert len(row(name, figure, RESULTS["benchmarks"][name]["result"])) == 6


def test_ratio_and_goal_read_the_right_way_round():
    result = {"ours": {"p99": 40.0, "rate": 300.0, "ok": False}, "base": {"p99": 80.0, "rate": 100.0}}
    assert row("Bx", Figure("p99, ms", "ours.p99", "base.p99", "naive", goal=50), result) == [
        "Bx", "p99, ms: **40**", "naive: 80", "2.00×", "≤ 50", "✅"]
    assert row("Bx", Figure("rows/s", "ours.rate", "base.rate", "naive", lower_is_better=False, goal=400), result)[3:] == [
        "3.00×", "≥ 400", "❌"]
    assert row("Bx", Figure("nothing lost", "ours.ok", goal=True), result)[1:] == ["nothing lost: **no**", "—", "—", "yes", "❌"]


def test_a_number_from_a_capped_run_does_not_meet_a_goal_it_was_not_measured_for():
    result = {"train_s": 30.0, "to_early_stopping": False}
    capped = Figure("training to early stopping, s", "train_s", goal=600, counts_if="to_early_stopping")
    assert row("Bx", capped, result)[-1] == "❌ (to early stopping: no)"
    assert row("Bx", capped, result | {"to_early_stopping": True})[-1] == "✅"


def test_a_figure_of_a_case_added_since_the_stored_run_reads_not_measured_and_a_wrong_path_is_an_error():
    result = {"spot": {"p99": 40.0}}
    assert row("Bx", Figure("perp p99, ms", "perp.p99", goal=50), result)[1:] == [
        "perp p99, ms: **not measured**", "—", "—", "≤ 50", "❌ (not measured)"]
    with pytest.raises(KeyError):
        row("Bx", Figure("spot p99, ms", "spot.p999", goal=50), result)
