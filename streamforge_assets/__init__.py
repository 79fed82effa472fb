"""The Dagster layer: declares assets, partitions, checks and jobs, and calls the core package `streamforge`."""
