"""OKX's wire format from the simulated market: instruments, trades, candles, funding rows and number formatting.

Everything is a string, as OKX sends it (`venues.okx.wire`). The market's quantities are base units; a swap counts
contracts of `contract_size` base units, so its sizes are divided by it (exact: the market's steps are whole
contracts), and its candles carry contracts in `vol`, the base in `volCcy` and the quote in `volCcyQuote`. A trade's
`tradeId` is the simulated aggregate's first raw trade id: increasing, but not contiguous — OKX promises order, not
contiguity, and a client must not lean on more than that.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from streamforge.sim.calendar import EPOCH, US_PER_MS, day_start_us
from streamforge.sim.instruments import TRADING, Instrument, decimals
from streamforge.venues.okx.wire import BUY, LINEAR, LIVE, SELL

SUSPENDED = "suspend"  # what a simulated instrument that stopped trading is listed as (**unconfirmed** state name)
INST_TYPES = {"SPOT": "okx.spot", "SWAP": "okx.swap"}
MARKETS = {market: inst_type for inst_type, market in INST_TYPES.items()}
VOLUME_DECIMALS = 8
MALFORMED_PRICE = "not-a-number"


def number(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def size_places(spec: Instrument) -> int:
    """Decimals of a size on the wire: the lot in base units on spot, in contracts on a swap."""
    return decimals(spec.step_size / spec.contract_size) if spec.market == "swap" else decimals(spec.step_size)


def instrument_row(spec: Instrument, status: str) -> dict[str, str]:
    """An /api/v5/public/instruments row of the instrument, with its state of the day."""
    swap = spec.market == "swap"
    lot = number(spec.step_size / spec.contract_size if swap else spec.step_size, size_places(spec))
    listed = spec.listed or EPOCH
    return {
        "instType": MARKETS[spec.venue_market],
        "instId": spec.symbol,
        "uly": f"{spec.base_asset}-{spec.quote_asset}" if swap else "",
        "instFamily": f"{spec.base_asset}-{spec.quote_asset}" if swap else "",
        "baseCcy": "" if swap else spec.base_asset,
        "quoteCcy": "" if swap else spec.quote_asset,
        "settleCcy": spec.quote_asset if swap else "",
        "ctVal": number(spec.contract_size, decimals(spec.contract_size)) if swap else "",
        "ctMult": "1" if swap else "",
        "ctValCcy": spec.base_asset if swap else "",
        "ctType": LINEAR if swap else "",
        "listTime": str(day_start_us(listed) // US_PER_MS),
        "expTime": "",
        "lever": "100" if swap else "10",
        "tickSz": number(spec.tick_size, decimals(spec.tick_size)),
        "lotSz": lot,
        "minSz": lot,
        "state": LIVE if status == TRADING else SUSPENDED,
    }


def trade_columns(spec: Instrument, trades: pl.DataFrame, malformed: frozenset[int] = frozenset()) -> pl.DataFrame:
    """instId, tradeId, px, sz, side, ts of each trade as strings; a trade whose tradeId is in `malformed` has a
    price that is not a number (a fault)."""
    divisor = spec.contract_size if spec.market == "swap" else 1.0
    price_places, size_at = decimals(spec.tick_size), size_places(spec)
    ids = trades["first_trade_id"].to_list()
    prices = [MALFORMED_PRICE if i in malformed else number(p, price_places) for i, p in zip(ids, trades["price"].to_list())]
    return pl.DataFrame(
        {
            "instId": [spec.symbol] * len(ids),
            "tradeId": [str(i) for i in ids],
            "px": prices,
            "sz": [number(q / divisor, size_at) for q in trades["qty"].to_list()],
            "side": [SELL if m else BUY for m in trades["is_buyer_maker"].to_list()],
            "ts": [str(t // US_PER_MS) for t in trades["time"].dt.epoch("us").to_list()],
        },
        schema=dict.fromkeys(("instId", "tradeId", "px", "sz", "side", "ts"), pl.String),
    )


def book_rows(spec: Instrument, levels: list[tuple[float, float]]) -> list[list[str]]:
    """Book levels as OKX sends them: [px, sz, "0", numOrders], sizes in contracts on a swap, "0" deleting one."""
    divisor = spec.contract_size if spec.market == "swap" else 1.0
    return [
        [number(p, decimals(spec.tick_size)), "0" if q == 0 else number(q / divisor, size_places(spec)), "0", "1"]
        for p, q in levels
    ]


def candle_rows(spec: Instrument, klines: pl.DataFrame, now_us: int) -> list[list[str]]:
    """[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm] per kline, in the klines' order."""
    places, swap = decimals(spec.tick_size), spec.market == "swap"
    rows = []
    for open_dt, o, h, low, c, volume, close_dt, quote in klines.select(
        "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume"
    ).iter_rows():
        open_us = _us(open_dt)
        contracts = volume / spec.contract_size if swap else volume
        rows.append([
            str(open_us // US_PER_MS), number(o, places), number(h, places), number(low, places), number(c, places),
            number(contracts, VOLUME_DECIMALS), number(volume if swap else quote, VOLUME_DECIMALS),
            number(quote, VOLUME_DECIMALS), "1" if _us(close_dt) < now_us else "0",
        ])
    return rows


def funding_rows(spec: Instrument, funding: pl.DataFrame) -> list[dict[str, str]]:
    return [
        {
            "instType": "SWAP", "instId": spec.symbol, "formulaType": "noRate", "fundingRate": f"{rate:.10f}",
            "realizedRate": f"{rate:.10f}", "fundingTime": str(_us(at) // US_PER_MS), "method": "current_period",
        }
        for at, rate in funding.select("funding_time", "funding_rate").iter_rows()
    ]


def _us(value: object) -> int:
    return int(pl.Series([value]).dt.epoch("us")[0])


def file_day(name: str, inst_id: str) -> date | None:
    """The UTC+8 day a trades file name `<instId>-trades-YYYY-MM-DD.zip` asks for; None for any other name."""
    prefix, suffix = f"{inst_id}-trades-", ".zip"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    try:
        return date.fromisoformat(name[len(prefix) : -len(suffix)])
    except ValueError:
        return None
