"""The command line refuses bad requests with a clear message before anything is launched."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from streamforge_app.cli import app
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig

runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running_simulator(SimConfig(seed=3, volume=0.001, cache_dir=tmp_path_factory.mktemp("sim"))) as url:
        yield url


def point_at(mp: pytest.MonkeyPatch, folder, sim: str) -> None:
    """An empty local instance in `folder`, pointed at the simulator, as after a fresh clone."""
    mp.setenv("STREAMFORGE_HOME", str(folder))
    mp.setenv("DAGSTER_HOME", str(folder / "dagster"))
    mp.setenv("STREAMFORGE_REST_URL", sim)


@pytest.fixture
def home(tmp_path, monkeypatch, sim):
    point_at(monkeypatch, tmp_path, sim)
    return tmp_path


@pytest.fixture(scope="module")
def btc_home(tmp_path_factory, sim):
    """One instance with BTCUSDT registered, shared by the read-only bad-input cases (an instance costs seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, tmp_path_factory.mktemp("btc-home"), sim)
        assert invoke("symbols", "add", "BTCUSDT").exit_code == 0
        yield


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_symbols_are_added_listed_and_removed(home):
    assert invoke("symbols", "add", "XRPUSDT", "ethusdt").exit_code == 0
    listed = invoke("symbols", "list")
    assert listed.stdout.split() == ["ETHUSDT", "XRPUSDT"]
    assert invoke("symbols", "remove", "XRPUSDT").exit_code == 0
    assert invoke("symbols", "list").stdout.split() == ["ETHUSDT"]


@pytest.mark.parametrize(
    ("symbol", "message"), [("XRPUSDX", "XRPUSDX is not listed by the exchange"), ("LUNAUSDT", "not trading")]
)
def test_a_symbol_the_exchange_does_not_trade_is_refused(home, symbol, message):
    result = invoke("symbols", "add", symbol)
    assert result.exit_code == 2
    assert message in " ".join(result.stdout.split())
    assert invoke("symbols", "list").stdout.split() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "DOGEUSDT", "--start", "2025-01-01", "--end", "2025-01-02"], "DOGEUSDT not registered"),
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
