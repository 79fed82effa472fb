"""The exchange client: Binance spot REST and dump files, parsed at the edge into StreamForge records.

`loader.load_agg_trades_day` is the entry point for a day of trades; `rest.BinanceRest` and `dumps.DumpClient` are
the two sources it chooses between; `limiter` keeps REST under the exchange's weight limits; `parse` types the data.
"""
