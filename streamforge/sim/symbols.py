"""The simulated exchange's listed symbols and the parameters of their price and trade processes.

One table, so that a newcomer sees at a glance what the market looks like: which symbol leads, which follow and by how
much, and how busy each one is. Price levels, tick and step sizes are Binance's of early 2025.
"""

from __future__ import annotations

from dataclasses import dataclass

TRADING = "TRADING"
BREAK = "BREAK"

LEADER = "BTCUSDT"


@dataclass(frozen=True)
class SymbolSpec:
    """A listed symbol as exchangeInfo describes it, plus how the simulator moves it.

    `lead_lag_s` and `beta` plant the lead-lag: a follower's return is `beta` times the leader's return `lead_lag_s`
    seconds earlier plus an idiosyncratic part with `idio_share` of the leader's volatility. `beta == 0` means the
    symbol moves on its own.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    status: str
    tick_size: float
    step_size: float
    price_2025: float  # anchor price on 2025-01-01; other days wander around it
    daily_vol: float  # standard deviation of a daily log return (followers: of the anchor walk only)
    agg_trades_per_day: int  # typical weekday at volume 1.0
    median_qty: float  # typical fill size in base asset
    beta: float = 0.0
    lead_lag_s: int = 0
    idio_share: float = 1.0

    @property
    def trading(self) -> bool:
        return self.status == TRADING

    @property
    def follows_leader(self) -> bool:
        return self.beta != 0.0


SYMBOLS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in [
        SymbolSpec("BTCUSDT", "BTC", "USDT", TRADING, 0.01, 0.00001, 94_000.0, 0.025, 1_600_000, 0.002),
        SymbolSpec("ETHUSDT", "ETH", "USDT", TRADING, 0.01, 0.0001, 3_350.0, 0.03, 900_000, 0.05, beta=1.0, lead_lag_s=300, idio_share=0.5),
        SymbolSpec("BNBUSDT", "BNB", "USDT", TRADING, 0.01, 0.001, 700.0, 0.025, 250_000, 0.2, beta=1.0, lead_lag_s=300, idio_share=0.5),
        SymbolSpec("SOLUSDT", "SOL", "USDT", TRADING, 0.01, 0.001, 190.0, 0.04, 600_000, 1.0, beta=1.0, lead_lag_s=600, idio_share=0.5),
        SymbolSpec("XRPUSDT", "XRP", "USDT", TRADING, 0.0001, 0.1, 2.1, 0.04, 450_000, 150.0),
        SymbolSpec("DOGEUSDT", "DOGE", "USDT", TRADING, 0.00001, 1.0, 0.32, 0.045, 350_000, 900.0),
        SymbolSpec("LUNAUSDT", "LUNA", "USDT", BREAK, 0.0001, 0.01, 0.5, 0.05, 0, 10.0),
    ]
}


def decimals(increment: float) -> int:
    """Number of decimals of a tick or step size (0.01 -> 2, 1.0 -> 0)."""
    text = f"{increment:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0
