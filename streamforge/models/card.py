"""The model card: what a stored model is, what it was fitted on and how it did, in one document beside its files.

Everything a reader needs to trust or reproduce a number: the forecaster and its config, the seed, the data window
with its training, validation and test blocks, the instruments, the feature set, the graph configuration and the
statistics fitted on the training block (RV floor, lead-lag pairs), the code version, and the test-block metrics
against the baselines with their uncertainty.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from streamforge.graph.builder import GraphConfig, GraphStats
from streamforge.models.forecaster import FitReport, ModelSpec
from streamforge.models.split import Split

_REPO = Path(__file__).resolve().parents[2]


def code_version() -> str:
    """The git commit of the code that trained the model ('+dirty' with uncommitted changes), or 'unknown' outside
    a git checkout (an installed image: its tag names the version)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()


def model_card(
    model_id: str,
    spec: ModelSpec,
    seed: int,
    stats: GraphStats,
    graph_config: GraphConfig,
    split: Split,
    report: FitReport,
    metrics: pl.DataFrame,
) -> dict:
    return {
        "model_id": model_id,
        "model": spec.to_dict(),
        "seed": seed,
        "data_window": {
            "start": _iso(split.start_us), "train_end": _iso(split.train_end_us),
            "validation": [_iso(split.val_start_us), _iso(split.val_end_us)],
            "test": [_iso(split.test_start_us), _iso(split.end_us)],
        },
        "instruments": sorted(stats.normalisation.mean),
        "features": {"version": stats.feature_set.version, "names": list(stats.feature_set.names),
                     "absent": list(stats.absent_features)},
        "graph": graph_config.to_dict(),
        "rv_floor": stats.rv_floor.to_dict(),
        "lead_lag": stats.lead_lag.to_dicts(),
        "code_version": code_version(),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fit": vars(report),
        "test_metrics": metrics.to_dicts(),
    }


def card_markdown(card: dict, table: str) -> str:
    window = card["data_window"]
    pairs = ", ".join(f"{p['leader']}→{p['follower']} lag {p['lag']} (z {p['z']:.1f})" for p in card["lead_lag"]) or "none"
    return "\n".join([
        f"# Model card: {card['model_id']}",
        "",
        f"- model: `{card['model']['label']}` (forecaster `{card['model']['forecaster']}`), config `{card['model']['config']}`",
        f"- seed {card['seed']}; code version `{card['code_version']}`; trained {card['trained_at']}",
        f"- data window {window['start']} .. {window['test'][1]}: training until {window['train_end']}, validation "
        f"{window['validation'][0]} .. {window['validation'][1]}, test {window['test'][0]} .. {window['test'][1]}",
        f"- instruments: {', '.join(card['instruments'])}",
        f"- features (v{card['features']['version']}): {', '.join(card['features']['names'])}"
        + (f"; absent: {', '.join(card['features']['absent'])}" if card["features"]["absent"] else ""),
        f"- RV floor: {card['rv_floor']['quantile']:.0%} quantile of the training RVs per instrument",
        f"- lead-lag pairs (training block, HAC z, {card['graph']['cross_correction']} at {card['graph']['cross_level']}): {pairs}",
        f"- fit: {card['fit']['epochs']} epochs, best {card['fit']['best_epoch']}, {card['fit']['seconds']:.1f} s",
        "",
        "## Test block, against the baselines",
        "",
        table,
        "",
    ])
