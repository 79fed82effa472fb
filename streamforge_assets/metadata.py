"""What every StreamForge asset declares and reports: column schemas from the one schema module, owners, kinds,
and per-partition statistics that make a materialisation readable in the UI."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pyarrow as pa

from resources.io_managers import DATASET, RECORD
from streamforge.bus.topics import topic
from streamforge.catalog import Dataset
from streamforge.schemas import Record

OWNERS = ["team:market-data"]


def _type_name(t: pa.DataType) -> str:
    return "timestamp[us, UTC]" if pa.types.is_timestamp(t) else str(t)


def table_schema(record: Record) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, _type_name(c.type), description=c.description,
                           constraints=dg.TableColumnConstraints(nullable=c.name in record.nullable))
            for c in record.columns
        ]
    )


def definition_metadata(dataset: Dataset) -> dict:
    """Column schema and record name for the UI, the catalog dataset (the Kafka IO manager finds its topic by it),
    and where it lives: its topic and store collection."""
    meta = {"dagster/column_schema": table_schema(dataset.record), RECORD: dataset.record.name, DATASET: dataset.name}
    if dataset.topic:
        meta["kafka/topic"] = topic(dataset.name).name
    if dataset.collection:
        meta["store/collection"] = dataset.collection
    return meta


def partition_stats(record: Record, df: pl.DataFrame) -> dict:
    """Rows, first/last id and first/last time of one partition's frame, as JSON-friendly values."""
    stats: dict = {"rows": df.height}
    if df.height:
        id_col = "agg_id" if "agg_id" in df.columns else None
        if id_col:
            stats |= {"first_id": int(df[id_col].min()), "last_id": int(df[id_col].max())}
        t = df[record.time_column]
        stats |= {"first_time": t.min().isoformat(), "last_time": t.max().isoformat()}
    return stats


def partitions_metadata(per_key: dict[str, dict]) -> dict:
    """Materialisation metadata of a run: per partition key under `partitions`, and the total rows."""
    return {
        "partitions": dg.MetadataValue.json(per_key),
        "rows": sum(v.get("rows", 0) for v in per_key.values()),
        "partition_count": len(per_key),
    }
