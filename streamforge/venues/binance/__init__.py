"""Binance spot: REST (`rest`, weight-limited by `limiter`), daily dump files (`dumps`), their parsing into records
(`parse`), a day of trades from the best source (`history`), WebSocket events (`events`), the local order-book
procedure (`book`) and the simulator's Binance wire format (`simulator`)."""
