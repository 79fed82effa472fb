"""B10: one BTCUSDT day (~1.4M aggregate trades from the simulator's market) written to and read back from the
ArangoDB store, against the embedded store in the same run.

Every phase runs in a fresh process (its peak RSS is its own) that first loads the day from a Parquet file; the
RSS after that load is reported as the phase's baseline.

- ``embedded``: ``replace_partition`` and ``read`` of the embedded (Parquet) store — the baseline.
- ``arangodb_client``: what the ArangoDB store's process spends on the day without the server, measurable anywhere:
  building the block documents and each import request's JSON body (and, separately, deflating it, as
  ``STREAMFORGE_ARANGO_COMPRESSION=deflate`` does), and decoding read answers — cursor pages of blocks, read one page
  at a time as they arrive — into frames, as ``read`` does.
- ``arangodb_client_row_documents``: the same two costs for the shape the store had before (one document per row,
  a 10,000-row import request each, every answer decoded to dicts before one frame was built): what the blocks
  replaced.
- ``arangodb_server``: ``replace_partition`` and ``read`` against the server named by STREAMFORGE_ARANGO_URL (in a
  database of its own, dropped afterwards); skipped, saying so, when it is not set.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import date
from pathlib import Path

import polars as pl
import psutil

from bench.headline import Figure

HEADLINE = (
    Figure("ArangoDB store, client side: a day's write requests built, rows/s", "arangodb_client.write.build_requests_rows_per_s",
           "arangodb_client_row_documents.write.build_requests_rows_per_s", "one document per row",
           lower_is_better=False, goal=1_000_000),
    Figure("ArangoDB store, client side: a day's answers decoded, rows/s", "arangodb_client.read.decode_answers_rows_per_s",
           "arangodb_client_row_documents.read.decode_answers_rows_per_s", "one document per row",
           lower_is_better=False, goal=1_000_000),
    Figure("ArangoDB store, client side: read peak RSS, MiB", "arangodb_client.read.peak_rss_mib",
           "embedded.peak_rss_mib", "embedded store"),
)
INSTRUMENT, DAY, SEED = "binance.spot.BTCUSDT", date(2025, 1, 4), 7
ROOT = Path(__file__).resolve().parent.parent


def _load(path: str) -> tuple[pl.DataFrame, float]:
    from streamforge.schemas import AGG_TRADE

    df = AGG_TRADE.conform(pl.read_parquet(path))
    return df, psutil.Process().memory_info().rss / 2**20


def _rates(rows: int, **seconds: float) -> dict:
    out = {}
    for name, s in seconds.items():
        out |= {f"{name}_s": round(s, 2), f"{name}_rows_per_s": round(rows / s)}
    return out


def _memory(baseline_mib: float) -> dict:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "baseline_rss_mib": round(baseline_mib),
        "peak_rss_mib": round(peak),
        "peak_over_baseline_mib": round(peak - baseline_mib),
    }


def _write_and_read(store, df: pl.DataFrame) -> dict:
    """The day through ``store``: one replace_partition, one read, checked equal."""
    from streamforge.catalog import TRADES, dataset

    trades = dataset(TRADES)
    started = time.perf_counter()
    store.replace_partition(trades.collection, trades.record, INSTRUMENT, DAY, df)
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    back = store.read(trades.collection, trades.record, [INSTRUMENT], DAY, DAY)
    read_s = time.perf_counter() - started
    assert back.equals(df)
    return _rates(df.height, write=write_s, read=read_s)


def embedded(path: str) -> dict:
    from streamforge.store import EmbeddedStore

    df, baseline = _load(path)
    return {**_write_and_read(EmbeddedStore(Path(path).parent / "store"), df), **_memory(baseline)}


def _answer_pages(df: pl.DataFrame, pages_path: Path) -> None:
    """The blocks query's cursor pages for the day, one JSON body per line, as the server would send them."""
    from streamforge.schemas import AGG_TRADE
    from streamforge.store.arango.documents import block_documents, dumps
    from streamforge.store.arango.store import BLOCKS_PER_REQUEST, batched
    from streamforge.store.base import PARTITION_COLUMN

    fields = (PARTITION_COLUMN, "day", "rows", "columns")
    with open(pages_path, "w") as out:
        for page in batched(block_documents(AGG_TRADE, df, INSTRUMENT, DAY, uuid.uuid4().hex), BLOCKS_PER_REQUEST):
            out.write(dumps({"result": [{k: b[k] for k in fields} for b in page], "hasMore": True, "id": "1"}) + "\n")


def arangodb_client_write(path: str) -> dict:
    from streamforge.schemas import AGG_TRADE
    from streamforge.store.arango.documents import block_documents, dumps
    from streamforge.store.arango.store import BLOCKS_PER_REQUEST, batched
    from streamforge.store.base import partition_frame

    df, baseline = _load(path)
    started, json_bytes, requests_, bodies = time.perf_counter(), 0, 0, []
    frame = partition_frame(AGG_TRADE, INSTRUMENT, DAY, df)
    for batch in batched(block_documents(AGG_TRADE, frame, INSTRUMENT, DAY, uuid.uuid4().hex), BLOCKS_PER_REQUEST):
        body = dumps(batch)
        json_bytes, requests_ = json_bytes + len(body), requests_ + 1
        if len(bodies) < 4:
            bodies.append(body)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    deflated = sum(len(zlib.compress(b.encode(), 1)) for b in bodies)  # level 1, as the store sends it
    deflate_s = (time.perf_counter() - started) * requests_ / len(bodies)
    ratio = deflated / sum(len(b) for b in bodies)
    return {
        **_rates(df.height, build_requests=build_s),
        "requests": requests_,
        "json_mib": round(json_bytes / 2**20, 1),
        "deflate_mib_estimated": round(json_bytes * ratio / 2**20, 1),
        "deflate_s_estimated": round(deflate_s, 2),
        **_memory(baseline),
    }


def arangodb_client_read(path: str) -> dict:
    from streamforge.schemas import AGG_TRADE
    from streamforge.store.arango.documents import decode_blocks, loads

    df, baseline = _load(path)
    pages = Path(path).parent / "pages.jsonl"
    _answer_pages(df, pages)
    started = time.perf_counter()
    with open(pages) as answers:  # one page in memory at a time, as a cursor delivers them
        frame, _ = decode_blocks(AGG_TRADE, (block for line in answers for block in loads(line)["result"]))
    back = AGG_TRADE.conform(frame).sort(list(AGG_TRADE.key))
    decode_s = time.perf_counter() - started
    assert back.equals(df)
    return {**_rates(df.height, decode_answers=decode_s), **_memory(baseline)}


def row_documents_write(path: str) -> dict:
    from streamforge.schemas import AGG_TRADE

    df, baseline = _load(path)
    started, json_bytes = time.perf_counter(), 0
    data = df.with_columns(pl.col("time").dt.epoch("us"))
    for offset in range(0, data.height, 10_000):
        batch = data.slice(offset, 10_000).with_columns(
            _key=pl.concat_str([pl.col(k).cast(pl.String) for k in AGG_TRADE.key], separator=":"),
            sf_day=pl.lit(DAY.isoformat()), sf_write=pl.lit("w"),
        )
        json_bytes += len(json.dumps(batch.to_dicts()))
    build_s = time.perf_counter() - started
    return {**_rates(df.height, build_requests=build_s), "json_mib": round(json_bytes / 2**20, 1), **_memory(baseline)}


def row_documents_read(path: str) -> dict:
    from streamforge.schemas import AGG_TRADE

    df, baseline = _load(path)
    pages = Path(path).parent / "rows.jsonl"
    data = df.with_columns(pl.col("time").dt.epoch("us"))
    with open(pages, "w") as out:
        for offset in range(0, data.height, 10_000):
            out.write(json.dumps({"result": data.slice(offset, 10_000).to_dicts(), "hasMore": True}) + "\n")
    del data
    started, rows = time.perf_counter(), []
    with open(pages) as answers:
        for line in answers:
            rows.extend(json.loads(line)["result"])
    schema = {n: (pl.Int64 if n == "time" else t) for n, t in AGG_TRADE.polars.items()}
    back = pl.DataFrame(rows, schema=schema).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))
    back = AGG_TRADE.conform(back)
    decode_s = time.perf_counter() - started
    assert back.sort("agg_id").equals(df)
    return {**_rates(df.height, decode_answers=decode_s), **_memory(baseline)}


def arangodb_server(path: str) -> dict:
    from arango import ArangoClient

    from streamforge import settings
    from streamforge.store.arango import ArangoStore

    df, baseline = _load(path)
    url, user, password = (settings.get(f"STREAMFORGE_ARANGO_{s}") for s in ("URL", "USER", "PASSWORD"))
    database = f"streamforge_b10_{uuid.uuid4().hex[:8]}"
    store = ArangoStore(url, database, user, password, settings.get("STREAMFORGE_ARANGO_CA_CERT"),
                        compression=settings.get("STREAMFORGE_ARANGO_COMPRESSION"))
    try:
        measured = _write_and_read(store, df)
        return {"url": url, "compression": settings.get("STREAMFORGE_ARANGO_COMPRESSION"), **measured, **_memory(baseline)}
    finally:
        ca = settings.get("STREAMFORGE_ARANGO_CA_CERT") or None
        ArangoClient(hosts=url, verify_override=ca).db("_system", username=user, password=password).delete_database(
            database, ignore_missing=True
        )


def _phase(name: str, path: Path) -> dict:
    code = f"import json, bench.b10_arango_store as b; print('@@' + json.dumps(b.{name}({str(path)!r})))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"B10 phase {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout[proc.stdout.rindex("@@") + 2:])


def run() -> dict:
    from streamforge.sim.market import Market

    with tempfile.TemporaryDirectory(prefix="sf-b10-") as folder:
        return _measure(Path(folder) / "day.parquet", Market(SEED, volume=1.0).day_trades(INSTRUMENT, DAY))


def _measure(path: Path, day: pl.DataFrame) -> dict:
    day.write_parquet(path)
    result = {
        "goal": "the ArangoDB store's own process (without the server) builds and decodes a day at ≥ 1M rows/s each "
        "way, with a read peak RSS within 2x the embedded store's",
        "day": f"{INSTRUMENT} {DAY} (simulator seed {SEED}, volume 1.0)",
        "load_average_1min_at_start": round(psutil.getloadavg()[0], 1),  # other work on the machine skews the times
        "rows": day.height,
        "embedded": _phase("embedded", path),
        "arangodb_client": {
            "write": _phase("arangodb_client_write", path),
            "read": _phase("arangodb_client_read", path),
        },
        "arangodb_client_row_documents": {
            "write": _phase("row_documents_write", path),
            "read": _phase("row_documents_read", path),
        },
    }
    if os.environ.get("STREAMFORGE_ARANGO_URL"):
        result["arangodb_server"] = _phase("arangodb_server", path)
    else:
        result["arangodb_server"] = {
            "skipped": "STREAMFORGE_ARANGO_URL is not set: no ArangoDB server to measure against (the client-side "
            "cost above is measured without one)"
        }
    client = result["arangodb_client"]
    result["goal_met"] = (
        client["write"]["build_requests_rows_per_s"] >= 1_000_000
        and client["read"]["decode_answers_rows_per_s"] >= 1_000_000
        and client["read"]["peak_rss_mib"] <= 2 * result["embedded"]["peak_rss_mib"]
    )
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
