"""StreamForge core: everything that does real work, without Dagster. The Dagster layer lives in streamforge_assets/."""
