"""The Dagster layer: declares assets, partitions, checks and jobs, and calls the core package `streamforge`."""

import warnings

import dagster as _dagster

# backfill_policy and partition mappings across multi-partitions are beta/preview in Dagster 1.13; StreamForge relies
# on them knowingly (see docs/dev/contracts.md), so their warnings would only bury what the commands print.
warnings.filterwarnings("ignore", category=_dagster.BetaWarning)
warnings.filterwarnings("ignore", category=_dagster.PreviewWarning)
