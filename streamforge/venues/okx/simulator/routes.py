"""Every OKX route the simulator's server mounts beside Binance's."""

from starlette.routing import Route

from streamforge.sim.state import SimState
from streamforge.venues.okx.simulator import files, rest


def routes(sim: SimState) -> list[Route]:
    return rest.routes(sim) + files.routes(sim)
