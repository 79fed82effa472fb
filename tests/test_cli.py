"""The command line refuses bad requests with a clear message before anything is launched."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from streamforge_app.cli import app
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues import simulator_urls

runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running_simulator(SimConfig(seed=3, volume=0.001, cache_dir=tmp_path_factory.mktemp("sim"))) as url:
        yield url


def point_at(mp: pytest.MonkeyPatch, folder, sim: str) -> None:
    """An empty local instance in `folder`, pointed at the simulator, as after a fresh clone."""
    mp.setenv("STREAMFORGE_HOME", str(folder))
    mp.setenv("DAGSTER_HOME", str(folder / "dagster"))
    for name, url in simulator_urls(sim).items():
        mp.setenv(name, url)


@pytest.fixture
def home(tmp_path, monkeypatch, sim):
    point_at(monkeypatch, tmp_path, sim)
    return tmp_path


@pytest.fixture(scope="module")
def btc_home(tmp_path_factory, sim):
    """One instance with BTCUSDT registered, shared by the read-only bad-input cases (an instance costs seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, tmp_path_factory.mktemp("btc-home"), sim)
        assert invoke("instruments", "add", "binance.spot.BTCUSDT").exit_code == 0
        yield


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_symbols_are_added_listed_and_removed_as_binance_spot_instruments(home):
    assert invoke("symbols", "add", "XRPUSDT", "ethusdt").exit_code == 0
    listed = invoke("symbols", "list")
    assert listed.stdout.split() == ["binance.spot.ETHUSDT", "binance.spot.XRPUSDT"]
    assert invoke("symbols", "remove", "XRPUSDT").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == ["binance.spot.ETHUSDT"]


def test_instruments_are_added_by_id_or_by_a_symbol_of_the_market_named_before_it(home):
    assert invoke("instruments", "add", "binance.spot.BTCUSDT", "SOLUSDT").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == ["binance.spot.BTCUSDT", "binance.spot.SOLUSDT"]
    assert invoke("instruments", "remove", "binance.spot.SOLUSDT").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == ["binance.spot.BTCUSDT"]


def test_okx_instruments_are_added_after_okx_lists_them_live(home):
    assert invoke("instruments", "add", "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP", "ETH-USDT-SWAP").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == [
        "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP", "okx.swap.ETH-USDT-SWAP",
    ]


def test_perpetuals_are_added_by_id_and_the_symbols_after_them(home):
    assert invoke("instruments", "add", "binance.usdm.BTCUSDT", "ETHUSDT").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == ["binance.usdm.BTCUSDT", "binance.usdm.ETHUSDT"]


def test_a_futures_only_symbol_is_added_as_the_perpetual_it_is(home):
    assert invoke("instruments", "add", "binance.usdm.1000PEPEUSDT").exit_code == 0
    assert invoke("instruments", "list").stdout.split() == ["binance.usdm.1000PEPEUSDT"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["binance.usdm.LUNAUSDT"], "binance.usdm.LUNAUSDT: LUNAUSDT is not a Binance USD-M futures symbol (not in "),
        (["binance.usdm.BTCUSDT", "LUNAUSDT"], "binance.usdm.LUNAUSDT: LUNAUSDT is not a Binance USD-M futures symbol"),
        (["binance.spot.1000PEPEUSDT"], "binance.spot.1000PEPEUSDT: symbol 1000PEPEUSDT is not listed by the exchange; "
                                        "Binance USD-M perpetual futures lists it: binance.usdm.1000PEPEUSDT"),
        (["binance.spot.BTCUSDT_250328"], "'binance.spot.BTCUSDT_250328' is not an instrument"),
    ],
    ids=["spot-only-as-perpetual", "spot-only-after-a-perpetual", "futures-only-as-spot", "quarterly-contract-as-spot"],
)
def test_a_symbol_asked_for_on_a_market_that_does_not_list_it_is_refused_by_name_and_nothing_is_registered(
    home, names, message
):
    """LUNAUSDT is listed by the simulated spot market only (status BREAK); 1000PEPEUSDT is one of Binance's
    futures-only symbols, which the simulator lists on USD-M alone."""
    result = invoke("instruments", "add", *names)
    assert result.exit_code == 2
    assert len(result.stdout.strip().splitlines()) == 1 and message in result.stdout, result.stdout
    assert invoke("instruments", "list").stdout.split() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["symbols", "add", "XRPUSDX"], "binance.spot.XRPUSDX: symbol XRPUSDX is not listed by the exchange"),
        (["symbols", "add", "LUNAUSDT"], "binance.spot.LUNAUSDT: symbol LUNAUSDT is not trading (status BREAK)"),
        (["instruments", "add", "kraken.spot.XBTUSD"], "unknown market kraken.spot; known: binance.spot, binance.usdm"),
        (["instruments", "add", "binance.spot.btc/usdt"], "is not an instrument: expected <venue>.<market>.<SYMBOL>"),
        (["instruments", "add", "binance.spot.BTCUSDT", "binance.spot.BTC-USDT"], "is not a Binance spot symbol"),
        (["instruments", "add", "okx.spot.BTCUSDT"], "'BTCUSDT' is not a OKX spot symbol"),
        (["instruments", "add", "okx.spot.NOPE-USDT"], "okx.spot.NOPE-USDT: OKX does not list NOPE-USDT"),
        (["instruments", "add", "okx.swap.BTC-USDT"], "'BTC-USDT' is not a OKX perpetual swap symbol"),
    ],
)
def test_an_instrument_that_is_malformed_unknown_or_not_trading_is_refused_and_nothing_registered(home, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.stdout.split())
    assert invoke("instruments", "list").stdout.split() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "DOGEUSDT", "--start", "2025-01-01", "--end", "2025-01-02"], "binance.spot.DOGEUSDT not registered"),
        (["--instruments", "binance.perp.BTCUSDT", "--start", "2025-01-01", "--end", "2025-01-02"], "unknown market"),
        (["--symbols", "BTCUSDT", "--start", "2023-12-01", "--end", "2024-01-02"], "before the first partition"),
        (["--symbols", "BTCUSDT", "--start", "2025-01-01", "--end", "2999-01-01"], "not a completed UTC day"),
        (["--symbols", "BTCUSDT", "--start", "2025-01-05", "--end", "2025-01-01"], "is before start date"),
        (["--symbols", "BTCUSDT", "--start", "2025-01-01", "--end", "2025-01-02", "--assets", "nonsense"],
         "unknown asset"),
    ],
)
def test_a_backfill_request_with_bad_input_launches_nothing(btc_home, args, message):
    # No webserver runs: reaching the launch would fail differently, so the message proves validation came first.
    result = invoke("backfill", *args, "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert message in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "STREAMFORGE_TRADES_PER_RUN=0: expected a whole number of at least 1"),
     ("5M", "STREAMFORGE_TRADES_PER_RUN='5M': expected a whole number")],
)
def test_a_backfill_with_a_bad_run_size_launches_nothing(btc_home, monkeypatch, value, message):
    monkeypatch.setenv("STREAMFORGE_TRADES_PER_RUN", value)
    result = invoke("backfill", "--symbols", "BTCUSDT", "--start", "2025-01-01", "--end", "2025-01-02", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert message in " ".join(result.stdout.split())
