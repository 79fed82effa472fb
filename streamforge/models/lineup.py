"""What the leaderboard evaluates: the line-up of models (forecaster, label, config overrides) and the instruments.

Kept apart from the forecasters themselves (`streamforge.models.zoo`, which loads PyTorch) so that naming the line-up —
the `leaderboard` asset's partitions, loaded by every Dagster process and run — costs no PyTorch import.
"""

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.instruments import resolve
from streamforge.models.forecaster import ModelSpec

LINEUP = (
    ModelSpec("persistence"),
    ModelSpec("har"),
    ModelSpec("harx"),
    ModelSpec("mlp"),
    ModelSpec("relational"),
    ModelSpec("relational", "relational-temporal", (("edge_types", ("temporal",)),)),
    ModelSpec("relational", "relational-cross", (("edge_types", ("cross_asset",)),)),
    ModelSpec("relational", "relational-similarity", (("edge_types", ("similarity",)),)),
    ModelSpec("gat"),
    ModelSpec("sage"),
    ModelSpec("temporal"),
    ModelSpec("gnnhar"),
)


def lineup_spec(label: str) -> ModelSpec:
    for spec in LINEUP:
        if spec.label == label:
            return spec
    raise ConfigError(f"no model {label!r} in the line-up; known: {', '.join(s.label for s in LINEUP)}")


def instruments() -> list[str]:
    """STREAMFORGE_LEADERBOARD_INSTRUMENTS as instrument ids (a bare symbol belongs to the market named before it)."""
    return sorted({i.id for i in resolve(settings.get("STREAMFORGE_LEADERBOARD_INSTRUMENTS").split(","))})


def lineup() -> list[ModelSpec]:
    """The line-up the leaderboard asset is partitioned by (STREAMFORGE_LEADERBOARD_MODELS, default all)."""
    wanted = [m.strip() for m in settings.get("STREAMFORGE_LEADERBOARD_MODELS").split(",") if m.strip()]
    return [s for s in LINEUP if s.label in wanted] if wanted else list(LINEUP)
