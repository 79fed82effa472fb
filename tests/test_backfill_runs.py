"""The runs `streamforge backfill` launches: each with the assets its market has, the basis in a second wave."""

from datetime import date

from streamforge.catalog import historical_assets
from streamforge.run_sizes import Run
from streamforge_app.backfill_runs import RANGE_END, RANGE_START, TAG, waves

DAY = date(2025, 1, 1)


def test_each_run_gets_its_markets_assets_and_the_basis_waits_for_a_second_wave():
    spot = Run(DAY, DAY, ("binance.spot.BTCUSDT", "binance.spot.ETHUSDT"), 10)
    perp = Run(DAY, date(2025, 1, 2), ("binance.usdm.BTCUSDT",), 20)
    first, second = waves([spot, perp], historical_assets())
    assert [(launch.run, launch.assets) for launch in first] == [
        (spot, tuple(historical_assets("binance.spot"))),
        (perp, tuple(a for a in historical_assets("binance.usdm") if "basis" not in a)),
    ]
    assert [(launch.run, launch.assets) for launch in second] == [(perp, ("basis_5m", "arangodb/basis_5m"))]
    assert first[0].tags("b1") == {TAG: "b1", RANGE_START: "2025-01-01|binance.spot.BTCUSDT",
                                   RANGE_END: "2025-01-01|binance.spot.ETHUSDT"}


def test_a_spot_backfill_is_one_wave():
    assert len(waves([Run(DAY, DAY, ("binance.spot.BTCUSDT",), 1)], historical_assets())) == 1
