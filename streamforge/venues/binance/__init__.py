"""Binance spot: REST (`rest`, weight-limited by `limiter`), daily dump files (`dumps`), their parsing into records
(`parse`), a day of trades from the best source (`history`), WebSocket events (`events`), the local order-book
procedure (`book`) and the simulator's Binance wire format (`simulator`)."""

from streamforge.instruments import MARKETS, Market, parse_instrument

SPOT = MARKETS["binance.spot"]


def symbol_on(market: Market, instrument: str) -> str:
    """The venue symbol of an instrument of `market`; another market's instrument reaching a client is a routing bug
    (ValueError), not bad input."""
    parsed = parse_instrument(instrument)
    if parsed.market_id != market.id:
        raise ValueError(f"{instrument} is not a {market.description} instrument")
    return parsed.symbol
