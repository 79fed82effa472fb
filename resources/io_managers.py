"""The Kafka IO manager: assets hand over typed frames, Kafka carries them, the next asset reads exactly those.

An asset's output maps each cell (date, instrument) of the run to its frame, so a run that covers fifty cells writes
fifty frames. A plain dict holds them all at once; `Cells` makes each one when asked and keeps only the last, and
that is what `load_input` hands downstream: a run holds one day of trades at a time, whatever number of cells it
covers, so run sizes can follow Dagster's per-run start-up cost rather than memory. `handle_output` publishes each as compressed Arrow batches keyed by instrument and
records the exact topic/partition/offset ranges in the materialisation metadata (`kafka/offsets`, per partition key).
`load_input` looks up the latest materialisation of each requested upstream partition and reads precisely those
offsets — never "up to the end offset", which another writer may have moved and which Tansu under-reports. When the
data has aged out of the topic (or the broker lost it) the read fails naming the partition to re-materialise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict

import dagster as dg
import polars as pl

from resources.kafka import KafkaResource
from streamforge.bus.frames import OffsetRange, publish_frame, read_ranges
from streamforge.bus.topics import topic
from streamforge.catalog import parse_cell
from streamforge.errors import DataGoneError
from streamforge.schemas import record as record_named

DATASET = "streamforge/dataset"
RECORD = "streamforge/record"
OFFSETS = "kafka/offsets"

PartitionedFrames = dict[str, pl.DataFrame]  # what an asset builds; `Cells` is what it receives


class Cells(Mapping[str, pl.DataFrame]):
    """A run's cells, each frame made by `make(key)` when it is asked for, in key order (date, then instrument, so a
    day comes after the day before it); the frame asked for last is kept, any other is made again when asked for.
    `metadata`, when given, is what the making found out (a producing asset's statistics), added to the
    materialisation once every cell is published."""

    def __init__(self, keys, make: Callable[[str], pl.DataFrame], metadata: Callable[[], dict] | None = None) -> None:
        self._keys = sorted(keys)
        self._known = set(self._keys)
        self._make = make
        self.metadata = metadata
        self._last: tuple[str, pl.DataFrame] | None = None

    def __getitem__(self, key: str) -> pl.DataFrame:
        if key not in self._known:
            raise KeyError(key)
        if self._last is None or self._last[0] != key:
            self._last = None  # let the previous frame go before the next is made
            self._last = (key, self._make(key))
        return self._last[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class KafkaFrameIOManager(dg.ConfigurableIOManager):
    kafka: KafkaResource

    def handle_output(self, context: dg.OutputContext, obj: "PartitionedFrames | Cells") -> None:
        spec = topic(context.definition_metadata[DATASET])
        record = record_named(context.definition_metadata[RECORD])
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)}, the run covers {sorted(expected)}"
            )
        offsets: dict[str, list[dict]] = {}
        rows = 0
        for key in sorted(obj):
            frame = obj[key]
            ranges = publish_frame(self.kafka.producer(), spec.name, parse_cell(key).instrument, key, record, frame)
            offsets[key] = [asdict(r) for r in ranges]
            rows += frame.height
        made = obj.metadata() if isinstance(obj, Cells) and obj.metadata else {}
        context.add_output_metadata(
            {
                **made,
                "kafka/topic": spec.name,
                OFFSETS: dg.MetadataValue.json(offsets),
                "kafka/messages": sum(r["messages"] for rs in offsets.values() for r in rs),
                "rows_total": rows,
            }
        )

    def load_input(self, context: dg.InputContext) -> Cells:
        """The upstream cells of the run, each read from exactly its recorded offsets when asked for. Where the
        offsets are is checked for every cell first, so a missing one fails the step before anything is read."""
        upstream = context.asset_key
        name = upstream.to_user_string()
        record = record_named(context.upstream_output.definition_metadata[RECORD])
        ranges: dict[str, list[OffsetRange]] = {}
        for key in sorted(context.asset_partition_keys):
            records = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=upstream, asset_partitions=[key]), limit=1, ascending=False
            ).records
            if not records:
                raise DataGoneError(f"{name} partition {key} has never been materialised: materialise it first")
            offsets = records[0].asset_materialization.metadata.get(OFFSETS)
            if offsets is None or key not in offsets.data:
                raise DataGoneError(f"{name} partition {key}: its latest materialisation recorded no Kafka offsets; re-materialise it")
            ranges[key] = [OffsetRange(**r) for r in offsets.data[key]]
        client = self.kafka.client_config()
        return Cells(ranges, lambda key: read_ranges(client, ranges[key], record, key))
