"""`python -m streamforge.sim`: serve the simulator configured by the STREAMFORGE_SIM_* settings."""

from streamforge import settings
from streamforge.sim.server import SimConfig, serve

if __name__ == "__main__":
    serve(SimConfig.from_settings(), settings.get("STREAMFORGE_SIM_HOST"), int(settings.get("STREAMFORGE_SIM_PORT")))
