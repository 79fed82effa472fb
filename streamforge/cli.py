"""`streamforge`: the command line of the platform.

Commands that drive Dagster (backfill, symbols, status, demo, dev) import the Dagster layer lazily, so `streamforge
sim` and `streamforge broker` start fast and work without it.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer
from rich.console import Console

from streamforge import settings
from streamforge.deploy.cli import app as k8s_app  # typer and yaml only: its commands import the rest lazily
from streamforge.errors import StreamForgeError

app = typer.Typer(help="StreamForge: crypto market data through Kafka into a store, as a Dagster asset graph.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
symbols_app = typer.Typer(help="Manage the symbol dimension of the partitions.", no_args_is_help=True)
app.add_typer(symbols_app, name="symbols")
app.add_typer(k8s_app, name="k8s")
# Tables stay readable when output goes to a file or `make` (no terminal to size them by).
console = Console(width=None if sys.stdout.isatty() else 160)

SymbolsOpt = Annotated[str, typer.Option(help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")]


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


def _split(symbols: str) -> list[str]:
    return [s.strip().upper() for s in symbols.split(",") if s.strip()]


def _wait_for_ctrl_c(what: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"{what} — press Ctrl-C to stop everything.")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    console.print("stopping…")


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Port (default STREAMFORGE_SIM_PORT).")] = 0,
    host: Annotated[str, typer.Option(help="Address (default STREAMFORGE_SIM_HOST).")] = "",
) -> None:
    """Serve the Binance-compatible market simulator (REST, dump files) on loopback."""
    from streamforge.sim.server import SimConfig, serve

    serve(SimConfig.from_settings(), host or settings.get("STREAMFORGE_SIM_HOST"),
          port or int(settings.get("STREAMFORGE_SIM_PORT")))


@app.command()
def broker(port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0) -> None:
    """Run a local Kafka-protocol broker (Tansu) until Ctrl-C."""
    from streamforge.bus.broker import LocalBroker

    with LocalBroker(log_dir=settings.home() / "logs", port=port or None) as b:
        console.print(f"broker ready: STREAMFORGE_KAFKA_BOOTSTRAP={b.bootstrap}")
        _wait_for_ctrl_c("broker running")


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port (default STREAMFORGE_DASHBOARD_PORT).")] = 0,
    host: Annotated[str, typer.Option(help="Address (default STREAMFORGE_DASHBOARD_HOST).")] = "",
) -> None:
    """Serve the live dashboard (candles, trades, order book, pipeline health) from the live Kafka topics."""
    from streamforge.dashboard.app import serve
    from streamforge.dashboard.config import DashboardConfig

    host = host or settings.get("STREAMFORGE_DASHBOARD_HOST")
    port = port or int(settings.get("STREAMFORGE_DASHBOARD_PORT"))
    console.print(f"dashboard: http://{host}:{port}/  (Kafka at {settings.get('STREAMFORGE_KAFKA_BOOTSTRAP')})")
    try:
        serve(DashboardConfig.from_settings(), host, port)
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def live(
    symbols: SymbolsOpt = "ETHUSDT,BTCUSDT",
    port: Annotated[int, typer.Option(help="Port of /healthz, /readyz, /metrics (default STREAMFORGE_LIVE_HTTP_PORT).")] = 0,
) -> None:
    """Stream trades, depth, book snapshots and klines from the exchange's WebSocket (STREAMFORGE_WS_URL) into Kafka."""
    import asyncio
    import logging

    from streamforge.heap import freeze_startup_heap
    from streamforge.live.loader import LiveConfig, Loader

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = LiveConfig.from_settings(_split(symbols), **({"http_port": port} if port else {}))

    async def main() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await Loader(config).run(stop)

    freeze_startup_heap()
    try:
        asyncio.run(main())
    except StreamForgeError as exc:
        _fail(exc)


@app.command("demo-live")
def demo_live(
    symbols: SymbolsOpt = "ETHUSDT,BTCUSDT",
    seconds: Annotated[float, typer.Option(help="How long the live path runs.")] = 30,
    chaos: Annotated[bool, typer.Option(help="Drop, duplicate, reorder and break events; cut the connection every 5 s.")] = False,
) -> None:
    """Scenario 2 for a bounded time: simulator WebSocket → live loader → Kafka → dashboard, then what happened."""
    from rich.table import Table

    from streamforge.live.demo import run

    try:
        report = run(_split(symbols), seconds, chaos)
    except StreamForgeError as exc:
        _fail(exc)
    table = Table("measure", "value", title=f"live path, {report.seconds} s{' with chaos' if chaos else ''}")
    for topic, rows in report.rows_per_topic.items():
        table.add_row(f"rows on {topic}", str(rows))
    for symbol, rows in report.trades_per_symbol.items():
        table.add_row(f"{symbol} trades: missing ids / duplicates",
                      f"{rows} trades: {report.missing_ids.get(symbol, 0)} / {report.duplicate_ids.get(symbol, 0)}")
    for name, value in report.loader.items():
        table.add_row(f"loader: {name}", f"{value:,.0f}")
    table.add_row("publish latency p50 (receive → Kafka ack)", f"≤ {report.publish_latency_p50_ms} ms")
    table.add_row("dashboard WebSocket messages received", str(report.dashboard_messages))
    console.print(table)
    console.print("live path " + ("[green]OK[/]" if report.ok else "[red]FAILED[/]"))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def dev() -> None:
    """Start broker + simulator + Dagster webserver and daemon on loopback; Ctrl-C stops them all."""
    from streamforge.services import Stack
    from streamforge_assets import control

    try:
        with Stack() as stack:
            control.add_symbols(_split(settings.get("STREAMFORGE_DEFAULT_SYMBOLS")), validate=True)
            console.print(f"Dagster UI:  {stack.webserver_url}")
            console.print(f"simulator:   {stack.sim_url}")
            console.print(f"broker:      {stack.broker.bootstrap}")
            console.print(f"DAGSTER_HOME={stack.env['DAGSTER_HOME']}  (logs in {stack.home / 'logs'})")
            _wait_for_ctrl_c("StreamForge is running")
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def demo(
    symbols: SymbolsOpt = "BTCUSDT,ETHUSDT,SOLUSDT",
    start: Annotated[str, typer.Option(help="First day.")] = "2025-01-01",
    end: Annotated[str, typer.Option(help="Last day (inclusive).")] = "2025-01-03",
    volume: Annotated[float, typer.Option(help="Simulator volume (1.0 = 2025 BTCUSDT, ~1.5M trades/day).")] = 0.05,
) -> None:
    """Start everything, backfill symbols × days through the whole graph, print a summary, stop."""
    from streamforge_assets import control

    try:
        ok = control.demo(_split(symbols), start, end, volume, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def backfill(
    symbols: SymbolsOpt,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (inclusive).")],
    assets: Annotated[str, typer.Option(help="Comma-separated asset keys (default: the historical graph).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Launch a Dagster asset backfill on the running instance and follow it until it ends."""
    from streamforge_assets import control

    try:
        ok = control.backfill(_split(symbols), start, end, [a for a in assets.split(",") if a], url, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def train(
    end: Annotated[str, typer.Option(help="Training date: last day of the window, YYYY-MM-DD.")],
    symbols: SymbolsOpt = "BTCUSDT,ETHUSDT,SOLUSDT",
    days: Annotated[int, typer.Option(help="Days in the window (default STREAMFORGE_MODEL_WINDOW_DAYS).")] = 0,
    start: Annotated[str, typer.Option(help="First training date of a backfill over several (default: --end).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Build the graph and train the model for a window, materialising its missing upstream partitions first."""
    from streamforge_assets import control

    try:
        ok = control.train(_split(symbols), start or end, end,
                           days or int(settings.get("STREAMFORGE_MODEL_WINDOW_DAYS")), url, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def models() -> None:
    """List every trained model in the store with its metrics."""
    from streamforge_assets import control

    try:
        console.print(control.models_table())
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def leaderboard(
    end: Annotated[str, typer.Option(help="Last evaluation date, YYYY-MM-DD.")],
    symbols: SymbolsOpt = "BTCUSDT,ETHUSDT,SOLUSDT",
    start: Annotated[str, typer.Option(help="First evaluation date (default: --end).")] = "",
    models: Annotated[str, typer.Option(help="Comma-separated line-up labels (default: every one).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Evaluate the line-up walk-forward (one `leaderboard` partition per model × date), then print the leaderboard."""
    from streamforge_assets import control

    try:
        ok = control.leaderboard(_split(symbols), [m for m in models.split(",") if m], start or end, end, url, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def predict(
    model: Annotated[str, typer.Option(help="Model id (see `streamforge models`) or the path of a model folder.")],
    day: Annotated[str, typer.Option(help="Day to score, YYYY-MM-DD; its candles must be in the store.")],
    out: Annotated[str, typer.Option(help="Write the forecasts to this Parquet file as well.")] = "",
    in_sample: Annotated[bool, typer.Option(help="Score a day inside the model's own window too, each row labelled with its block.")] = False,
) -> None:
    """Score a day with a trained model: next-interval realized variance and a return score per 5-minute interval."""
    from streamforge_assets import control

    try:
        forecasts = control.predict_day(model, day, in_sample)
    except StreamForgeError as exc:
        _fail(exc)
    if out:
        forecasts.write_parquet(out)
    console.print(forecasts)


@symbols_app.command("add")
def symbols_add(symbols: Annotated[list[str], typer.Argument(help="Symbols to add, e.g. XRPUSDT.")]) -> None:
    """Add symbols after checking the exchange lists them as trading."""
    from streamforge_assets import control

    try:
        added = control.add_symbols([s.upper() for s in symbols], validate=True)
    except StreamForgeError as exc:
        _fail(exc)
    console.print(f"symbols: {', '.join(control.list_symbols())} (added: {', '.join(added) or 'none'})")


@symbols_app.command("list")
def symbols_list() -> None:
    """List the registered symbols."""
    from streamforge_assets import control

    for s in control.list_symbols():
        console.print(s)


@symbols_app.command("remove")
def symbols_remove(symbols: Annotated[list[str], typer.Argument(help="Symbols to remove.")]) -> None:
    """Remove symbols from the partitions (stored data stays)."""
    from streamforge_assets import control

    try:
        control.remove_symbols([s.upper() for s in symbols])
    except StreamForgeError as exc:
        _fail(exc)
    console.print(f"symbols: {', '.join(control.list_symbols()) or 'none'}")


@app.command()
def status() -> None:
    """What is materialised per symbol and date, with check results."""
    from streamforge_assets import control

    console.print(control.status_table())


@app.command("settings")
def show_settings(markdown: Annotated[bool, typer.Option(help="Print the README's markdown table.")] = False) -> None:
    """Every setting with its current value."""
    if markdown:
        print(settings.markdown_table())
        return
    for s in settings.SETTINGS.values():
        value = s.get()
        shown = "***" if value and ("PASSWORD" in s.env) else value
        console.print(f"{s.env}={shown}")


if __name__ == "__main__":  # pragma: no cover
    app()

