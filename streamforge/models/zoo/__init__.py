"""Every registered forecaster, and the leaderboard's line-up.

Importing this package registers the models: add a module here and its import below, and the protocol, the
leaderboard asset and the model cards take it up (`LINEUP` lists what the leaderboard evaluates by default).
"""

from streamforge.errors import ConfigError
from streamforge.models.forecaster import ModelSpec
from streamforge.models.zoo import gat, gnnhar, har, harx, mlp, persistence, relational, sage, temporal  # noqa: F401 (registration)

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
