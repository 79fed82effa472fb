"""`leaderboard`: every line-up model evaluated walk-forward, one partition per model × evaluation date.

A partition fits its model on the window before the date (STREAMFORGE_LEADERBOARD_TRAIN_DAYS, sliding or expanding;
seeds STREAMFORGE_LEADERBOARD_SEEDS) over the instruments STREAMFORGE_LEADERBOARD_INSTRUMENTS (or the run's
`streamforge/instruments` tag), forecasts the date,
and stores the forecasts in the store's `leaderboard` collection (`streamforge.models.standings`). Its metadata is
the date's table for the model against the closed-form baselines; the leaderboard over a span — every model, the
MLP baseline, DM tests against the best baseline — is `streamforge leaderboard`, `make demo` and the notebook.
"""

from datetime import date

import dagster as dg

from resources import StoreResource
from streamforge import settings
from streamforge.catalog import LEADERBOARD, dataset
from streamforge.models.leaderboard import summarise
from streamforge.models.report import leaderboard_markdown
from streamforge.models.window import TrainingWindow
from streamforge.models.lineup import instruments, lineup, lineup_spec
from streamforge_assets.metadata import OWNERS
from streamforge_assets.partitions import DAYS
from streamforge_assets.training import GROUP, UPSTREAM, require_upstream, surfaced

MODELS = dg.StaticPartitionsDefinition([spec.label for spec in lineup()])
MODEL_DAYS = dg.MultiPartitionsDefinition({"date": DAYS, "model": MODELS})
# The lineage covers the sliding window of the settings where the definitions load; a run reads its own settings.
LINEAGE_DAYS = int(settings.get("STREAMFORGE_LEADERBOARD_TRAIN_DAYS"))
# A run may name its instruments (`streamforge leaderboard --symbols`, the demo's); else the setting decides.
INSTRUMENTS_TAG = "streamforge/instruments"
WINDOW_MAPPING = dg.MultiPartitionMapping(
    {
        "date": dg.DimensionPartitionMapping(
            dimension_name="date",
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-LINEAGE_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        )
    }
)


def leaderboard_key(label: str, day: date) -> str:
    return str(dg.MultiPartitionKey({"date": day.isoformat(), "model": label}))


@dg.asset(
    key=dataset(LEADERBOARD).asset,
    partitions_def=MODEL_DAYS,
    deps=[dg.AssetDep(dg.AssetKey(a.split("/")), partition_mapping=WINDOW_MAPPING) for a in UPSTREAM],
    kinds={"pytorch"},
    owners=OWNERS,
    group_name=GROUP,
    metadata={"store/collections": dataset(LEADERBOARD).collection},
    description="Walk-forward evaluation of one line-up model on one date: its forecasts of the date for every seed, "
    "fitted on the window before it. Partition: date × model.",
)
def leaderboard(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    # PyTorch comes with these: imported by the runs that evaluate, not by every process that loads the definitions.
    from streamforge.models.standings import evaluate_partition
    from streamforge.models.walkforward import Protocol

    with surfaced():
        dims = MODEL_DAYS.get_partition_key_from_str(context.partition_key).keys_by_dimension
        day, spec = date.fromisoformat(dims["date"]), lineup_spec(dims["model"])
        tagged = [s for s in context.run.tags.get(INSTRUMENTS_TAG, "").split(",") if s]
        universe, protocol = sorted(tagged) or instruments(), Protocol.from_settings()
        require_upstream(context.instance, TrainingWindow.of(universe, day, (day - protocol.first_day(day)).days + 1))
        evaluation = evaluate_partition(store.open(), spec, day, universe, protocol)
        summary = summarise(evaluation.forecasts)
    return dg.MaterializeResult(
        metadata={
            "model": spec.label,
            "config": dg.MetadataValue.json(spec.to_dict()),
            "protocol": dg.MetadataValue.json(protocol.to_dict()),
            "instruments": dg.MetadataValue.json(universe),
            "metrics": dg.MetadataValue.md(leaderboard_markdown(summary, [day])),
            "fits": dg.MetadataValue.json([{"seed": f.forecaster.seed, **vars(f.report)} for f in evaluation.fitted if f.spec.label == spec.label]),
        }
    )
