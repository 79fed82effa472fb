"""Every OKX route the simulator's server mounts beside Binance's."""

from starlette.routing import BaseRoute

from streamforge.sim.state import SimState
from streamforge.venues.okx.simulator import files, rest, ws


def routes(sim: SimState) -> list[BaseRoute]:
    return rest.routes(sim) + files.routes(sim) + ws.routes(sim)
