"""The tables a person reads: the lagging side of each lead-lag pair, where a pooled number hides the gain."""

import polars as pl

from streamforge.models.report import lagging_side_rows

PERP, SPOT, ETH = "binance.usdm.BTCUSDT", "binance.spot.BTCUSDT", "binance.spot.ETHUSDT"


def _row(model: str, instrument: str, mse: float, dm: float | None = None, p: float | None = None) -> dict:
    return {"model": model, "instrument": instrument, "reference": "harx", "mse_log_rv": mse, "mse_sd": 0.0,
            "mse_se": 0.01, "dm_mse": dm, "dm_mse_p": p}


SUMMARY = pl.DataFrame([
    _row("relational", "ALL", 0.50, -1.0, 0.3), _row("harx", "ALL", 0.52),
    _row("relational", SPOT, 0.40, -2.5, 0.012), _row("harx", SPOT, 0.50),
    _row("relational", PERP, 0.61, 0.4, 0.69), _row("harx", PERP, 0.60),
    _row("relational", ETH, 0.45, -0.8, 0.42), _row("harx", ETH, 0.46),
])


def test_each_follower_gets_its_own_row_with_its_leaders_and_the_gain_over_the_best_baseline():
    pairs = [{"leader": PERP, "follower": SPOT, "lag": 1}, {"leader": SPOT, "follower": ETH, "lag": 2},
             {"leader": PERP, "follower": ETH, "lag": 2}]
    rows = lagging_side_rows(SUMMARY, pairs, "relational")
    assert [r[0] for r in rows] == [SPOT, ETH]  # the perpetual leads and is no one's follower: no row
    spot, eth = rows
    assert spot[1] == f"{PERP} (1)" and spot[2] == "relational vs harx"
    assert spot[4] == "0.5000" and spot[5] == "+20.0%" and spot[6] == "-2.50 (0.012)"
    assert eth[1] == f"{SPOT} (2), {PERP} (2)" and eth[5] == "+2.2%"


def test_no_pairs_or_a_model_not_in_the_table_give_no_rows():
    assert lagging_side_rows(SUMMARY, [], "relational") == []
    assert lagging_side_rows(SUMMARY, [{"leader": PERP, "follower": SPOT, "lag": 1}], "gat") == []
