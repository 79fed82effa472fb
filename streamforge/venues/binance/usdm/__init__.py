"""Binance USD-M perpetual futures (`binance.usdm`): REST on fapi (`rest`), the data/futures/um dump files (`dumps`),
their formats (`parse`), a day of trades from the source that has it (`history`), and the market's `MarketClient`
(`client`). What differs from spot and must not be ported naively (../shared/docs/binance-futures.md): times are ms
everywhere, aggregate trades have no `M` field, newer dump files start with a header row and older ones do not, REST
aggTrades reach back only 48 hours, open interest history only a month, and each perpetual has its own funding
interval. The weight limiter, the bounded HTTP and the dump download are spot's (`binance.http`, `binance.dumps`)."""

from streamforge.instruments import MARKETS

USDM = MARKETS["binance.usdm"]
