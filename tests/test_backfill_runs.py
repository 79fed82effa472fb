"""The runs of a sized backfill (`streamforge backfill` or the `sized_backfill` job): each with the assets its market
has, the basis in a second wave."""

from datetime import date

from streamforge.catalog import historical_assets
from streamforge.run_sizes import Run
from streamforge_assets.backfills import RANGE_END, RANGE_START, TAG, WAVE_TAG, Launch, waves

DAY = date(2025, 1, 1)


def test_each_run_gets_its_markets_assets_and_the_basis_waits_for_a_second_wave():
    spot = Run(DAY, DAY, ("binance.spot.BTCUSDT", "binance.spot.ETHUSDT"), 10)
    perp = Run(DAY, date(2025, 1, 2), ("binance.usdm.BTCUSDT",), 20)
    first, second = waves([spot, perp], historical_assets())
    assert first == [
        Launch.of(spot, historical_assets("binance.spot")),
        Launch.of(perp, [a for a in historical_assets("binance.usdm") if "basis" not in a]),
    ]
    assert second == [Launch.of(perp, ["basis_5m", "arangodb/basis_5m"])]
    assert (second[0].cells, second[0].trades) == (2, 20)
    assert first[0].tags("b1", 1) == {TAG: "b1", WAVE_TAG: "1", RANGE_START: "2025-01-01|binance.spot.BTCUSDT",
                                      RANGE_END: "2025-01-01|binance.spot.ETHUSDT"}


def test_a_spot_backfill_is_one_wave():
    assert len(waves([Run(DAY, DAY, ("binance.spot.BTCUSDT",), 1)], historical_assets())) == 1
