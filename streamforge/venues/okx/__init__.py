"""OKX (v5 public API): spot (`okx.spot`) and linear perpetual swaps (`okx.swap`).

What OKX documents, and what is chosen where it does not, is written once in `wire`. The rest: instruments as OKX
lists them (`listing`), REST with each endpoint's own limit (`rest`, `limiter`), daily trade files in UTC+8 days
(`files`), their parsing into records (`parse`), a UTC day of trades from both (`history`), the `MarketClient`s
(`client`), and the simulator's OKX wire format (`simulator`).
"""

from streamforge.instruments import MARKETS

SPOT, SWAP = MARKETS["okx.spot"], MARKETS["okx.swap"]
