"""An instrument as OKX's /api/v5/public/instruments lists it, read once into what StreamForge needs of it.

Every field arrives as a string, "" where it does not apply. Spot instruments count the base currency; swaps count
contracts of `ctVal` units of `ctValCcy`. Only linear swaps are taken — a USDT-settled swap whose ctValCcy is its
base currency — because there a contract is a fixed amount of the base and a trade's base quantity is sz × ctVal;
an inverse swap (ctType "inverse", contracts worth so many USD) is refused by name instead of converted wrongly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streamforge.errors import MalformedDataError, UnknownSymbolError, shown
from streamforge.venues.okx.wire import LINEAR, LIVE

_INST_TYPES = {"okx.spot": "SPOT", "okx.swap": "SWAP"}


@dataclass(frozen=True)
class Listing:
    instrument: str  # the platform's id, e.g. okx.swap.BTC-USDT-SWAP
    inst_id: str
    state: str
    list_time_ms: int | None
    base: str
    quote: str
    contract_size: float | None  # ctVal on a swap; None on spot, whose sizes are the base currency already
    raw: dict

    @property
    def live(self) -> bool:
        return self.state == LIVE

    @staticmethod
    def inst_type_of(market_id: str) -> str:
        return _INST_TYPES[market_id]

    @classmethod
    def parse(cls, row: dict, market_id: str, source: str) -> Listing:
        inst_id = row["instId"]
        where = f"{source}: instrument {shown(inst_id)}"

        def field(name: str) -> str:
            return _text(row, name, where)

        if field("instType") != _INST_TYPES[market_id]:
            raise MalformedDataError(f"{where}: instType {field('instType')!r} in a list of {_INST_TYPES[market_id]}")
        list_time = field("listTime")
        if list_time and not list_time.isdigit():
            raise MalformedDataError(f"{where}: listTime {list_time!r} is not a time in ms")
        common = dict(
            instrument=f"{market_id}.{inst_id}", inst_id=inst_id, state=field("state"),
            list_time_ms=int(list_time) if list_time else None, raw=row,
        )
        if market_id == "okx.spot":
            return cls(base=field("baseCcy"), quote=field("quoteCcy"), contract_size=None, **common)
        base, _, quote = field("uly").partition("-")
        return cls(base=base, quote=quote, contract_size=_contract_size(row, field, base, where), **common)

    def require_live(self) -> Listing:
        if not self.live:
            raise UnknownSymbolError(f"{self.instrument}: OKX lists {self.inst_id} in state {self.state!r}, not live")
        return self


def _contract_size(row: dict, field, base: str, where: str) -> float:
    """ctVal of a linear swap counting `base`; the instrument is refused, by name, when its contracts are not that."""
    if field("ctType") != LINEAR or field("ctValCcy") != base:
        raise UnknownSymbolError(
            f"{where}: a swap of ctType {field('ctType')!r} whose contracts are worth {field('ctVal')} "
            f"{field('ctValCcy')}; only linear swaps counting their base currency are supported (qty = sz × ctVal)"
        )
    try:
        size = float(field("ctVal"))
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size > 0):
        raise MalformedDataError(f"{where}: ctVal {field('ctVal')!r} is not a positive decimal")
    return size


def _text(row: dict, name: str, where: str) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise MalformedDataError(f"{where}: field {name!r} = {shown(value)} is not a string (OKX sends strings, '' for n/a)")
    return value
