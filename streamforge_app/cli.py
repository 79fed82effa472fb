"""`streamforge`: the command line of the platform.

Commands that drive Dagster (backfill, instruments, status, demo, dev) import the Dagster layer lazily, so `streamforge
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
from streamforge_app.k8s import app as k8s_app  # typer and yaml only: its commands import the rest lazily
from streamforge.errors import StreamForgeError

app = typer.Typer(help="StreamForge: crypto market data through Kafka into a store, as a Dagster asset graph.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
instruments_app = typer.Typer(help="Manage the instrument dimension of the partitions (venue.market.SYMBOL).",
                              no_args_is_help=True)
symbols_app = typer.Typer(help="Binance spot shorthand of `instruments`: BTCUSDT means binance.spot.BTCUSDT.",
                          no_args_is_help=True)
app.add_typer(instruments_app, name="instruments")
app.add_typer(symbols_app, name="symbols")
app.add_typer(k8s_app, name="k8s")
# Tables stay readable when output goes to a file or `make` (no terminal to size them by).
console = Console(width=None if sys.stdout.isatty() else 160)

InstrumentsOpt = Annotated[
    str,
    typer.Option("--instruments", "--symbols", help="Comma-separated instruments, e.g. binance.spot.BTCUSDT,ETHUSDT "
                 "(a bare symbol belongs to the market named before it, Binance spot when none was)."),
]


def _fail(exc: Exception) -> None:
    """One line, however long: an error is read (and grepped) whole, so the console must not wrap it."""
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, markup=True, highlight=False)
    raise typer.Exit(2)


@app.callback()
def _quiet_client_libraries() -> None:
    """kafka-python logs every failed connection attempt (several lines a second while a broker is away) and urllib3
    every retry of an ArangoDB request; StreamForge says itself what cannot be reached, once, with the address and
    the setting that names it."""
    import logging

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def _split(names: str) -> list[str]:
    return [n.strip() for n in names.split(",") if n.strip()]


def _ids(names: str) -> list[str]:
    """Instrument ids of a comma-separated list as a user types it; a malformed one fails before anything runs."""
    from streamforge.instruments import resolve

    try:
        return [i.id for i in resolve(_split(names))]
    except StreamForgeError as exc:
        _fail(exc)


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
def broker(
    port: Annotated[int | None, typer.Option(help="Port (default: the one STREAMFORGE_KAFKA_BOOTSTRAP names); 0 picks a free one.")] = None,
) -> None:
    """Run a local Kafka-protocol broker (Tansu) on loopback, where STREAMFORGE_KAFKA_BOOTSTRAP says, until Ctrl-C."""
    from streamforge.bus.broker import LocalBroker, loopback_port

    try:
        with LocalBroker(log_dir=settings.home() / "logs", port=loopback_port() if port is None else port or None) as b:
            console.print(f"broker ready: STREAMFORGE_KAFKA_BOOTSTRAP={b.bootstrap}")
            _wait_for_ctrl_c("broker running")
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port (default STREAMFORGE_DASHBOARD_PORT).")] = 0,
    host: Annotated[str, typer.Option(help="Address (default STREAMFORGE_DASHBOARD_HOST).")] = "",
) -> None:
    """Serve the live dashboard (candles, trades, order book, pipeline health) from the live Kafka topics."""
    from streamforge_app.running_stack import use_running_stack

    use_running_stack()
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
    instruments: Annotated[str, typer.Option(
        "--instruments", "--symbols", help="Comma-separated instruments, e.g. binance.spot.BTCUSDT,ETHUSDT (a bare symbol "
        "belongs to the market named before it, Binance spot when none was). Default, without --markets: "
        "binance.spot.ETHUSDT,BTCUSDT.")] = "",
    markets: Annotated[str, typer.Option(help="Every instrument these markets list as trading, e.g. binance.spot "
                                         "(with --instruments: both).")] = "",
    shard: Annotated[str, typer.Option(help="k/n: follow the k-th of n shares of the instruments (shards count from 0; "
                                       "default STREAMFORGE_LIVE_SHARD).")] = "",
    port: Annotated[int, typer.Option(help="Port of /healthz, /readyz, /metrics (default STREAMFORGE_LIVE_HTTP_PORT).")] = 0,
) -> None:
    """Stream trades, depth, book snapshots and klines from the exchange's WebSocket (STREAMFORGE_WS_URL) into Kafka;
    one of a fleet of loaders with --shard."""
    import asyncio
    import logging

    from streamforge_app.running_stack import use_running_stack

    use_running_stack()
    from streamforge import venues
    from streamforge.heap import freeze_startup_heap
    from streamforge.live.loader import LiveConfig, Loader
    from streamforge.live.shards import Shard

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        overrides = {"shard": Shard.parse(shard)} if shard else {}
        followed = _ids(instruments or ("" if markets else "binance.spot.ETHUSDT,BTCUSDT"))
        followed += [i for i in venues.trading(_split(markets)) if i not in followed]
    except StreamForgeError as exc:
        _fail(exc)
    config = LiveConfig.from_settings(followed, **overrides, **({"http_port": port} if port else {}))

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
    instruments: InstrumentsOpt = "binance.spot.ETHUSDT,BTCUSDT,binance.usdm.BTCUSDT",
    seconds: Annotated[float, typer.Option(help="How long the live path runs.")] = 30,
    chaos: Annotated[bool, typer.Option(help="Drop, duplicate, reorder and break events; cut the connection every 5 s.")] = False,
) -> None:
    """Scenario 2 for a bounded time: simulator WebSocket → live loader → Kafka → dashboard, then what happened."""
    from rich.table import Table

    from streamforge_app.demo_live import run

    try:
        report = run(_ids(instruments), seconds, chaos)
    except StreamForgeError as exc:
        _fail(exc)
    table = Table("measure", "value", title=f"live path, {report.seconds} s{' with chaos' if chaos else ''}")
    for topic, rows in report.rows_per_topic.items():
        table.add_row(f"rows on {topic}", str(rows))
    for instrument, rows in report.trades_per_instrument.items():
        table.add_row(f"{instrument} trades: missing ids / duplicates",
                      f"{rows} trades: {report.missing_ids.get(instrument, 0)} / {report.duplicate_ids.get(instrument, 0)}")
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
    from streamforge_app.stack import Stack
    from streamforge_app import control

    try:
        with Stack() as stack:
            control.add_instruments(_split(settings.get("STREAMFORGE_DEFAULT_INSTRUMENTS")), validate=True)
            console.print(f"Dagster UI:  {stack.webserver_url}")
            console.print(f"simulator:   {stack.sim_url}")
            console.print(f"broker:      {stack.broker.bootstrap}")
            console.print(f"DAGSTER_HOME={stack.env['DAGSTER_HOME']}  (logs in {stack.home / 'logs'})")
            _wait_for_ctrl_c("StreamForge is running")
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def demo(
    instruments: InstrumentsOpt = "binance.spot.BTCUSDT,ETHUSDT,SOLUSDT",
    start: Annotated[str, typer.Option(help="First day.")] = "2025-01-01",
    end: Annotated[str, typer.Option(help="Last day (inclusive).")] = "2025-01-03",
    volume: Annotated[float, typer.Option(help="Simulator volume (1.0 = 2025 BTCUSDT, ~1.5M trades/day).")] = 0.05,
) -> None:
    """Start everything, backfill instruments × days through the whole graph, print a summary, stop."""
    from streamforge_app import control

    try:
        ok = control.demo(_ids(instruments), start, end, volume, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def backfill(
    instruments: InstrumentsOpt,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (inclusive).")],
    assets: Annotated[str, typer.Option(help="Comma-separated asset keys (default: the historical graph).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Launch the cells on the running instance as runs sized by data volume and follow them until they end."""
    from streamforge_app import control

    try:
        ok = control.backfill(_ids(instruments), start, end, [a for a in assets.split(",") if a], url, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def train(
    end: Annotated[str, typer.Option(help="Training date: last day of the window, YYYY-MM-DD.")],
    instruments: InstrumentsOpt = "binance.spot.BTCUSDT,ETHUSDT,SOLUSDT",
    days: Annotated[int, typer.Option(help="Days in the window (default STREAMFORGE_MODEL_WINDOW_DAYS).")] = 0,
    start: Annotated[str, typer.Option(help="First training date of a backfill over several (default: --end).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Build the graph and train the model for a window, materialising its missing upstream partitions first."""
    from streamforge_app import control

    try:
        ok = control.train(_ids(instruments), start or end, end,
                           days or int(settings.get("STREAMFORGE_MODEL_WINDOW_DAYS")), url, console)
    except StreamForgeError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


@app.command()
def models() -> None:
    """List every trained model in the store with its metrics."""
    from streamforge_app import control

    try:
        console.print(control.models_table())
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def leaderboard(
    end: Annotated[str, typer.Option(help="Last evaluation date, YYYY-MM-DD.")],
    instruments: InstrumentsOpt = "binance.spot.BTCUSDT,ETHUSDT,SOLUSDT",
    start: Annotated[str, typer.Option(help="First evaluation date (default: --end).")] = "",
    models: Annotated[str, typer.Option(help="Comma-separated line-up labels (default: every one).")] = "",
    url: Annotated[str, typer.Option(help="Dagster webserver (default: DAGSTER_WEBSERVER_URL or the one `make dev` started).")] = "",
) -> None:
    """Evaluate the line-up walk-forward (one `leaderboard` partition per model × date), then print the leaderboard."""
    from streamforge_app import control

    try:
        ok = control.leaderboard(_ids(instruments), [m for m in models.split(",") if m], start or end, end, url, console)
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
    from streamforge_app import control

    try:
        forecasts = control.predict_day(model, day, in_sample)
    except StreamForgeError as exc:
        _fail(exc)
    if out:
        forecasts.write_parquet(out)
    console.print(forecasts)


@instruments_app.command("add")
def instruments_add(
    instruments: Annotated[list[str], typer.Argument(help="Instruments to add, e.g. binance.spot.BTCUSDT ETHUSDT.")],
) -> None:
    """Add instruments after checking their venue lists them as trading."""
    _add(instruments)


@instruments_app.command("list")
def instruments_list() -> None:
    """List the registered instruments."""
    _list()


@instruments_app.command("remove")
def instruments_remove(instruments: Annotated[list[str], typer.Argument(help="Instruments to remove.")]) -> None:
    """Remove instruments from the partitions (stored data stays)."""
    _remove(instruments)


@symbols_app.command("add")
def symbols_add(symbols: Annotated[list[str], typer.Argument(help="Binance spot symbols to add, e.g. XRPUSDT.")]) -> None:
    """Add Binance spot symbols after checking Binance lists them as trading."""
    _add([_spot(s) for s in symbols])


@symbols_app.command("list")
def symbols_list() -> None:
    """List the registered instruments."""
    _list()


@symbols_app.command("remove")
def symbols_remove(symbols: Annotated[list[str], typer.Argument(help="Binance spot symbols to remove.")]) -> None:
    """Remove Binance spot symbols from the partitions (stored data stays)."""
    _remove([_spot(s) for s in symbols])


def _spot(symbol: str) -> str:
    from streamforge.instruments import DEFAULT_MARKET

    return f"{DEFAULT_MARKET}.{symbol.strip().upper()}"


def _add(names: list[str]) -> None:
    from streamforge_app import control

    try:
        added = control.add_instruments(names, validate=True)
        console.print(f"instruments: {', '.join(control.list_instruments())} (added: {', '.join(added) or 'none'})")
    except StreamForgeError as exc:
        _fail(exc)


def _list() -> None:
    from streamforge_app import control

    try:
        for instrument in control.list_instruments():
            console.print(instrument)
    except StreamForgeError as exc:
        _fail(exc)


def _remove(names: list[str]) -> None:
    from streamforge_app import control

    try:
        control.remove_instruments(names)
        console.print(f"instruments: {', '.join(control.list_instruments()) or 'none'}")
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def migrate() -> None:
    """Bring an instance and store from before instruments forward: symbols become binance.spot instruments."""
    from streamforge_app import control

    try:
        control.migrate(console)
    except StreamForgeError as exc:
        _fail(exc)


@app.command()
def status() -> None:
    """What is materialised per instrument and date."""
    from streamforge_app import control

    try:
        console.print(control.status_table())
    except StreamForgeError as exc:
        _fail(exc)


@app.command("settings")
def show_settings(markdown: Annotated[bool, typer.Option(help="Print the README's markdown table.")] = False) -> None:
    """Every setting with its current value."""
    if markdown:
        print(settings.markdown_table())
        return
    for s in settings.SETTINGS.values():
        console.print(f"{s.env}={settings.shown(s.env, s.get())}")


if __name__ == "__main__":  # pragma: no cover
    app()

