"""Forecasting next-interval volatility on the market graph: registered forecasters (`zoo`) and the leaderboard's
line-up (`lineup`), one evaluation step (`evaluation`), the walk-forward protocol (`walkforward`), the leaderboard
(`leaderboard`, `standings`), model cards, persistence, training (`train`) and out-of-sample prediction (`predict`).

The package itself imports nothing: its modules that need PyTorch load it, the others (the line-up, the window, the
reports) stay light enough for every Dagster process that loads the definitions.
"""
