"""A perpetual beside its spot instrument on the page: both last prices, the basis, mark and index price, the funding
rate with the time of the next settlement, and the perpetual's liquidations.

The panel belongs to whichever of the two is on screen: a perpetual always has it (its spot's price when the dashboard
follows the spot too), a spot instrument when the dashboard follows a perpetual of it. The basis is defined as in the
`basis_5m` dataset (streamforge/basis.py): perp − spot, and in bps of spot, here from the two last prices. The page
counts down to `next_funding_time` itself, so the countdown moves between mark-price messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from streamforge.dashboard.views import Views
from streamforge.errors import ConfigError
from streamforge.instruments import market_of, spot_of


@lru_cache(maxsize=4096)
def _spot(instrument: str) -> str | None:
    """The spot instrument of a perpetual that has one; None for anything else, a name that is not an instrument
    included (a view's name comes from whatever a producer wrote)."""
    try:
        return spot_of(instrument) if market_of(instrument).spot is not None else None
    except ConfigError:
        return None


def pair(instrument: str, followed: Iterable[str]) -> tuple[str, str] | None:
    """(spot, perpetual) shown beside `instrument`: a perpetual with its spot (followed or not), a spot instrument
    with the first of its perpetuals in `followed`; None when there is no perpetual to show."""
    if (spot := _spot(instrument)) is not None:
        return spot, instrument
    perpetuals = sorted(i for i in followed if _spot(i) == instrument)
    return (instrument, perpetuals[0]) if perpetuals else None


def basis(spot_price: float | None, perp_price: float | None) -> dict:
    """{"basis": perp − spot, "basis_bps": in bps of spot}; None for both while either price is missing."""
    if spot_price is None or perp_price is None:
        return {"basis": None, "basis_bps": None}
    return {"basis": perp_price - spot_price, "basis_bps": (perp_price / spot_price - 1) * 1e4}


def panel(views: Views, shown: tuple[str, str] | None) -> dict | None:
    """The panel of the (spot, perpetual) `pair` gives for the page, liquidations apart (the hub adds the new ones, or
    all of them); None without a perpetual to show."""
    if shown is None:
        return None
    spot, perp = shown
    spot_price, perp_price = views.price(spot), views.price(perp)
    return {"spot": spot, "perp": perp, "spot_price": spot_price, "perp_price": perp_price,
            **basis(spot_price, perp_price), "mark": views.view(perp).mark}
