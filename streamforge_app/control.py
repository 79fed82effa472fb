"""What the `streamforge` commands do to Dagster: instruments, backfills, status and the demo.

The CLI stays a thin argument parser; this module validates requests *before* anything is launched (unknown
instrument, dates outside the partitions) and then uses Dagster's own interfaces — the instance for dynamic partitions and run
records, the webserver's GraphQL API for backfills — so everything is visible in the UI.
"""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streamforge import settings, venues
from streamforge.catalog import GRAPHS, MODELS, cell_key, dataset, dataset_of_asset, historical_assets, is_cell, parse_cell
from streamforge.dates import completed_days, parse_day
from streamforge.errors import ConfigError, StreamForgeError, UnknownSymbolError
from streamforge.instruments import MARKETS, Instrument, parse_instrument, resolve
from streamforge.run_sizes import request
from streamforge_app import backfill_runs, legacy
from streamforge_app.legacy import refuse_legacy
from streamforge_app.running_stack import use_running_stack
from streamforge_app.stack import INSTANCE_TEMPLATE, prepare_instance
from streamforge_app.webserver import BackfillStatus, DagsterWebserver
from streamforge_assets.backfills import plan
from streamforge_assets.partitions import INSTRUMENTS

HISTORICAL_ASSETS = historical_assets()


def open_instance() -> dg.DagsterInstance:
    """The Dagster instance of the running stack (or STREAMFORGE_HOME's), its configuration the project's own."""
    use_running_stack()
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.home() / "dagster")))
    if not (home / "dagster.yaml").exists() or (home / "dagster.yaml").read_text() != INSTANCE_TEMPLATE.read_text():
        prepare_instance(home)
    return dg.DagsterInstance.get()


def instance() -> dg.DagsterInstance:
    """`open_instance`, refused while it still has the layout of an older StreamForge (`streamforge migrate` brings
    it forward): a command must not quietly work on half the data."""
    inst = open_instance()
    refuse_legacy(inst)
    return inst


def migrate(console: Console) -> None:
    report = legacy.migrate(open_instance())
    console.print(
        f"migrated: {len(report.instruments)} instruments ({', '.join(report.instruments) or 'none'}), "
        f"{report.partitions} store partitions rewritten, {report.materialisations} store materialisations recorded"
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")


def list_instruments() -> list[str]:
    return sorted(instance().get_dynamic_partitions(INSTRUMENTS.name))


def validate_listed(instruments: list[Instrument]) -> None:
    """Ask each instrument's venue whether it lists it as trading; UnknownSymbolError names the first that is not,
    and which other market of its venue lists the symbol, if one does (1000PEPEUSDT is a Binance USD-M symbol only)."""
    by_market: dict[str, list[Instrument]] = {}
    for instrument in instruments:
        by_market.setdefault(instrument.market_id, []).append(instrument)
    for market_id, members in by_market.items():
        client = venues.client(market_id)
        try:
            for instrument in members:
                try:
                    client.require_listed(instrument.id)
                except UnknownSymbolError as exc:
                    raise UnknownSymbolError(f"{exc}{_listed_elsewhere(instrument)}") from None
        finally:
            client.close()


def _listed_elsewhere(instrument: Instrument) -> str:
    """What a refusal adds when another market of the instrument's venue lists its symbol (asked only once a name is
    refused): `; <market> lists it: <id>` for the first that does, nothing when none does."""
    others = [
        m for m in MARKETS.values()
        if m.venue == instrument.venue and m.id != instrument.market_id and re.fullmatch(m.symbol_pattern, instrument.symbol)
    ]
    for market in others:
        other = market.instrument(instrument.symbol).id
        client = venues.client(market.id)
        try:
            if client.lists(other):
                return f"; {market.description} lists it: {other}"
        finally:
            client.close()
    return ""


def add_instruments(names: list[str], validate: bool = True) -> list[str]:
    """Register instruments (ids, or bare symbols: `streamforge.instruments.resolve`) as partitions; each is checked
    against its venue's own instrument list first. Returns the ids that were new."""
    instruments = resolve(names)
    if not instruments:
        raise ConfigError("no instruments given, e.g. binance.spot.BTCUSDT")
    inst = instance()
    if validate:
        validate_listed(instruments)
    # Sorted: Dagster orders an instrument dimension by registration, and a backfill run covers a contiguous range
    # of it, so the instruments of one market added together (the cells a market's own datasets get) stay in few runs.
    new = sorted(i.id for i in instruments if not inst.has_dynamic_partition(INSTRUMENTS.name, i.id))
    if new:
        inst.add_dynamic_partitions(INSTRUMENTS.name, new)
    return new


def remove_instruments(names: list[str]) -> list[str]:
    ids = [i.id for i in resolve(names)]
    inst = instance()
    unknown = [i for i in ids if not inst.has_dynamic_partition(INSTRUMENTS.name, i)]
    if unknown:
        raise ConfigError(f"{', '.join(unknown)} not registered (registered: {', '.join(list_instruments()) or 'none'})")
    for i in ids:
        inst.delete_dynamic_partition(INSTRUMENTS.name, i)
    return ids


def plan_backfill(names: list[str], start: str, end: str) -> list[str]:
    """The cell keys of a backfill request, or a ConfigError saying what is wrong with it."""
    ids, days = request(names, start, end, list_instruments())
    return [cell_key(i, d) for d in days for i in ids]


def asset_paths(assets: list[str]) -> list[list[str]]:
    """Asset keys as GraphQL paths, refusing names the code location does not define."""
    from streamforge_assets.definitions import defs

    known = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    unknown = [a for a in assets if a not in known]
    if unknown:
        raise ConfigError(f"unknown asset(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [a.split("/") for a in assets]


def follow(web: DagsterWebserver, backfill_id: str, console: Console, timeout_s: float = 3600) -> BackfillStatus:
    """Poll the backfill until it ends, drawing a progress bar of partitions done over partitions targeted."""
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"backfill {backfill_id}", total=1.0)
        while True:
            status = web.backfill_status(backfill_id)
            progress.update(task, completed=status.done_fraction, description=f"backfill {backfill_id} {status.status}")
            if status.finished:
                return status
            if time.monotonic() > deadline:
                raise StreamForgeError(f"backfill {backfill_id} still {status.status} after {timeout_s:.0f} s")
            time.sleep(1.0)


def cells_of(asset: str, keys: list[str]) -> list[str]:
    """The cells among `keys` whose instrument's market the asset's dataset exists for (all of them for an asset
    that is not a dataset's)."""
    found = dataset_of_asset(asset)
    return [k for k in keys if found is None or found.exists_for(parse_instrument(parse_cell(k).instrument).market_id)]


def backfill(instruments: list[str], start: str, end: str, assets: list[str], url: str, console: Console) -> bool:
    return sized_backfill(instruments, start, end, assets, url, console).succeeded


def sized_backfill(instruments: list[str], start: str, end: str, assets: list[str], url: str, console: Console,
                   timeout_s: float = 24 * 3600) -> BackfillStatus:
    """`streamforge backfill`: the cells of instruments × days in runs sized by volume (`backfill_runs`), launched
    through the webserver and followed to the end; the summary printed."""
    stack = use_running_stack()
    cells = [parse_cell(k) for k in plan_backfill(instruments, start, end)]
    asset_paths(assets)  # refuses unknown names
    url = url or os.environ.get("DAGSTER_WEBSERVER_URL") or stack.get("webserver_url", "")
    if not url:
        raise ConfigError("no Dagster webserver: start one with `make dev` or pass --url")
    inst = instance()
    ids, days = sorted({c.instrument for c in cells}), sorted({c.day for c in cells})
    planned = plan(inst, ids, days, assets or HISTORICAL_ASSETS)
    status = backfill_runs.run(DagsterWebserver(url), inst, planned, console, timeout_s)
    print_backfill(status, console)
    return status


def print_backfill(status: BackfillStatus, console: Console) -> None:
    table = Table("asset", "targeted", "materialised", "failed", title=f"backfill {status.id}: {status.status}")
    for a in status.assets:
        table.add_row(a.asset, str(a.targeted), str(a.materialized), str(a.failed))
    console.print(table)
    if status.error:
        console.print(f"[red]{status.error}[/]")
    for line in failure_reasons(instance(), status.id, status.runs_tag):
        console.print(line, style="red", markup=False, highlight=False, soft_wrap=True)


def failure_reasons(inst: dg.DagsterInstance, backfill_id: str, tag: str = "dagster/backfill") -> list[str]:
    """Why each failed run of a backfill (the runs whose `tag` is its id) failed, so a failed backfill says why
    without the UI: every failed step and the error its asset raised (not Dagster's wrapper around it), the
    descriptions of the blocking checks that failed, or, when no step failed (a run worker that died, a launch that
    failed), the run's own failure."""
    runs = inst.get_runs(dg.RunsFilter(tags={tag: backfill_id}, statuses=[dg.DagsterRunStatus.FAILURE]))
    lines = []
    for run in runs:
        steps = [r.event_log_entry.dagster_event for r in
                 inst.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records]
        checks = [r.event_log_entry.dagster_event for r in
                  inst.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records]
        for step in steps:
            failed_checks = [c.message for c in checks if c.step_key == step.step_key and not c.event_specific_data.passed]
            lines.append(f"run {run.run_id[:8]} failed in step {step.step_key}: "
                         + ("; ".join(failed_checks) or _raised(step.event_specific_data.error)))
        if not steps:
            records = inst.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
            event = records[-1].event_log_entry.dagster_event if records else None
            error = getattr(event.event_specific_data, "error", None) if event else None
            lines.append(f"run {run.run_id[:8]} failed before any step did: "
                         + (_raised(error) if error else event.message if event else "no failure was recorded"))
    return lines


def _raised(error) -> str:
    """What the code raised, under the wrappers Dagster puts around a step's exception."""
    while error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error.message.strip()[:1000]


def _partition_metadata(inst: dg.DagsterInstance, asset: str, key: str) -> dict | None:
    records = inst.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset.split("/")), asset_partitions=[key]), limit=1, ascending=False
    ).records
    if not records:
        return None
    meta = records[0].asset_materialization.metadata
    partitions = meta.get("partitions")
    return (partitions.data.get(key, {}) if partitions is not None else {}) | {"run_id": records[0].run_id}


def status_table(instruments: list[str] | None = None, days: list[date] | None = None) -> Table:
    """Rows per asset and cell from the materialisations."""
    inst = instance()
    keys = {k for a in HISTORICAL_ASSETS for k in inst.get_materialized_partitions(dg.AssetKey(a.split("/")))}
    cells = sorted(parse_cell(k) for k in keys if is_cell(k))
    if instruments:
        cells = [c for c in cells if c.instrument in instruments]
    if days:
        cells = [c for c in cells if c.day in days]
    shown = [a for a in HISTORICAL_ASSETS if cells_of(a, [c.key for c in cells])]  # a spot universe: no perp columns
    table = Table("date", title="rows per asset and cell")
    table.add_column("instrument", no_wrap=True)
    for asset in shown:
        table.add_column(asset)
    for cell in cells:
        values = []
        for asset in shown:
            meta = _partition_metadata(inst, asset, cell.key)
            values.append("—" if meta is None else str(meta.get("rows", "?")))
        table.add_row(cell.day.isoformat(), cell.instrument, *values)
    return table


def checks_table() -> Table:
    from streamforge_assets.definitions import defs

    inst = instance()
    table = Table("asset", "check", "latest result", "partitions", title="asset checks (latest run of each)")
    check_keys = list(defs.resolve_asset_graph().asset_check_keys)
    latest = inst.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        record = latest.get(key)
        if record is None:
            table.add_row(key.asset_key.to_user_string(), key.name, "not run", "")
            continue
        evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
        passed = getattr(evaluation, "passed", None)
        checked = evaluation.metadata.get("partitions_checked") if evaluation is not None else None
        shown = "[green]passed[/]" if passed else ("[red]failed[/]" if passed is False else record.status.value)
        table.add_row(key.asset_key.to_user_string(), key.name, shown, str(checked.value) if checked else "")
    return table


def demo(names: list[str], start: str, end: str, volume: float, console: Console) -> bool:
    """`make demo`: the whole historical graph for instruments × days, from a cold start to a summary."""
    from streamforge_app.stack import Stack

    days = completed_days(parse_day(start, "start date"), parse_day(end, "end date"))
    started = time.monotonic()
    with Stack(sim_env={"STREAMFORGE_SIM_VOLUME": str(volume)}) as stack:
        console.print(f"broker {stack.broker.bootstrap} · simulator {stack.sim_url} · Dagster {stack.webserver_url}")
        add_instruments(names, validate=True)
        instruments = [i.id for i in resolve(names)]
        ok = backfill(instruments, start, end, [], stack.webserver_url, console)
        console.print(status_table(instruments, days))
        ok = ok and train(instruments, end, end, len(days), stack.webserver_url, console)
        ok = ok and leaderboard(instruments, [], end, end, stack.webserver_url, console)
        console.print(checks_table())
        console.print(
            f"data: {settings.home() / 'store'} (store '{settings.get('STREAMFORGE_STORE')}'; "
            f"read it with polars/DuckDB or the notebook) · Dagster instance: {stack.env['DAGSTER_HOME']}\n"
            "open the UI: `make dev`, then the URL it prints (asset graph, partitions, checks, backfills)"
        )
    console.print(f"demo {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return ok


# --- training: the graph and model assets (issue 3)


def train(names: list[str], start: str, end: str, days: int, url: str, console: Console) -> bool:
    """One backfill that trains a model per training date from `start` to `end` on the `days` ending there: the
    window's missing cells of the historical graph first, then `graph` and `model`."""
    from streamforge.models.window import TrainingWindow, register_universe
    from streamforge.store import open_store
    from streamforge_assets.training import UNIVERSES, WINDOW_DAYS, WINDOW_TAG, missing_upstream, training_key

    if days > WINDOW_DAYS:
        raise ConfigError(f"--days {days} is longer than the training assets' lineage of {WINDOW_DAYS} days; "
                          "raise STREAMFORGE_MODEL_WINDOW_DAYS for the CLI and the Dagster processes alike")
    stack = use_running_stack()
    ends = completed_days(parse_day(start, "first training date"), parse_day(end, "last training date"))
    windows = [TrainingWindow.of([i.id for i in resolve(names)], d, days) for d in ends]
    upstream = plan_backfill(list(windows[0].instruments), windows[0].first.isoformat(), end)
    url = url or os.environ.get("DAGSTER_WEBSERVER_URL") or stack.get("webserver_url", "")
    if not url:
        raise ConfigError("no Dagster webserver: start one with `make dev` or pass --url")
    inst = instance()
    register_universe(open_store(), windows[0].instruments)
    if not inst.has_dynamic_partition(UNIVERSES.name, windows[0].universe):
        inst.add_dynamic_partitions(UNIVERSES.name, [windows[0].universe])
    missing = [c.key for c in sorted({parse_cell(k) for keys in missing_upstream(inst, upstream).values() for k in keys})]
    targets = {asset: cells for asset in HISTORICAL_ASSETS if (cells := cells_of(asset, missing))}
    targets |= {dataset(name).asset: [training_key(w) for w in windows] for name in (GRAPHS, MODELS)}
    web = DagsterWebserver(url)
    backfill_id = web.launch_asset_backfill(
        targets, title=f"train {windows[0].universe} {start}..{end} ({days} d)", tags={WINDOW_TAG: str(days)}
    )
    console.print(f"launched backfill [bold]{backfill_id}[/]: {len(missing)} missing cells, then "
                  f"graph and model for {len(windows)} training date(s): {url}/runs/b/{backfill_id}")
    status = follow(web, backfill_id, console)
    print_backfill(status, console)
    for window in windows:
        print_model_metrics(window.graph_id, console)
    return status.succeeded


def print_model_metrics(graph_id: str, console: Console) -> None:
    """The test-block table (the model against every baseline, with uncertainty) of the latest model on `graph_id`."""
    import polars as pl

    from streamforge.models.registry import MODELS
    from streamforge.models.report import HEAD_HEADER, LAGGING_HEADER, head_rows, lagging_side_rows
    from streamforge.store import open_store

    docs = open_store().get_documents(MODELS, {"graph_id": graph_id})
    if not docs:
        console.print(f"[red]no model was trained on {graph_id}[/]")
        return
    doc = max(docs, key=lambda d: d["trained_at"])
    title = f"model {doc['model_id']}: test block, next 5-minute interval (one seed: ± sd 0; HAC s.e. in brackets)"
    metrics = pl.DataFrame(doc["metrics"])
    console.print(rich_table(HEAD_HEADER, head_rows(metrics), title))
    lagging = lagging_side_rows(metrics, doc["card"]["lead_lag"], doc["model"])
    if lagging:
        console.print(rich_table(LAGGING_HEADER, lagging, "the lagging side of each lead-lag pair found on the training block"))
    console.print(f"model files and card: {doc['path']}")


def rich_table(header: tuple[str, ...], rows: list[tuple[str, ...]], title: str) -> Table:
    table = Table(*header, title=title)
    for row in rows:
        table.add_row(*row)
    return table


def models_table() -> Table:
    """Every trained model in the store's `models` collection, with its pooled test MSE beside the best baseline's."""
    from streamforge.models.registry import list_models
    from streamforge.store import open_store

    use_running_stack()
    table = Table("model id", "model", "window", "seed", "MSE (ALL) ± HAC s.e.", "DM vs best baseline (p)", "path",
                  title="trained models")
    for doc in list_models(open_store()):
        pooled = next((m for m in doc["metrics"] if m["model"] == doc["model"] and m["instrument"] == "ALL"), None)
        window = doc["window"]
        mse = f"{pooled['mse_log_rv']:.4f} ± {pooled['mse_se']:.4f}" if pooled else "—"
        dm = "—" if not pooled or pooled["dm_mse"] is None else f"{pooled['dm_mse']:+.2f} (p {pooled['dm_mse_p']:.3f}) vs {pooled['reference']}"
        table.add_row(doc["model_id"], doc["model"], f"{window['first']}..{window['end']}", str(doc["seed"]), mse, dm, doc["path"])
    return table


def leaderboard(names: list[str], models: list[str], start: str, end: str, url: str, console: Console) -> bool:
    """One backfill of the `leaderboard` asset for models × evaluation dates over the instruments, then the leaderboard."""
    from streamforge_assets.leaderboard import INSTRUMENTS_TAG, MODELS, leaderboard_key

    stack = use_running_stack()
    instruments = sorted(i.id for i in resolve(names))
    labels = models or MODELS.get_partition_keys()
    unknown = sorted(set(labels) - set(MODELS.get_partition_keys()))
    if unknown:
        raise ConfigError(f"model(s) {unknown} are not partitions of the leaderboard; known: {MODELS.get_partition_keys()}")
    days = completed_days(parse_day(start, "first evaluation date"), parse_day(end, "last evaluation date"))
    url = url or os.environ.get("DAGSTER_WEBSERVER_URL") or stack.get("webserver_url", "")
    if not url:
        raise ConfigError("no Dagster webserver: start one with `make dev` or pass --url")
    web = DagsterWebserver(url)
    keys = [leaderboard_key(label, day) for day in days for label in labels]
    tags = {INSTRUMENTS_TAG: ",".join(instruments)}
    backfill_id = web.launch_asset_backfill({"leaderboard": keys}, title=f"leaderboard {start}..{end}", tags=tags)
    console.print(f"launched backfill [bold]{backfill_id}[/] of {len(keys)} leaderboard partitions: {url}/runs/b/{backfill_id}")
    status = follow(web, backfill_id, console)
    print_backfill(status, console)
    print_leaderboard(instruments, days[0], days[-1], console)
    return status.succeeded


def print_leaderboard(instruments: list[str], first: date, last: date, console: Console) -> None:
    from streamforge.models.leaderboard import summarise
    from streamforge.models.report import HEAD_HEADER, caption, head_rows
    from streamforge.models.standings import evaluated_days, read_forecasts
    from streamforge.store import open_store

    forecasts = read_forecasts(open_store(), first, last, instruments)
    if forecasts.is_empty():
        console.print(f"[red]no leaderboard forecasts stored for {first}..{last}[/]")
        return
    summary = summarise(forecasts)
    console.print(rich_table(HEAD_HEADER, head_rows(summary), caption(summary, evaluated_days(forecasts))))


def predict_day(model: str, day: str, in_sample: bool = False):
    """Forecasts of a saved model (id or folder) for every 5-minute interval of `day`, from the stored candles."""
    from streamforge.models.registry import open_model
    from streamforge.models.predict import score_day
    from streamforge.store import open_store

    use_running_stack()
    store = open_store()
    return score_day(store, open_model(store, model), parse_day(day, "day"), in_sample)

