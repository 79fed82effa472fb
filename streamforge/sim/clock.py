"""The simulator's clock: real UTC time, or a clock that starts at 00:00 UTC of a chosen day, at a chosen speed.

Which days are complete (and so have dump files), which trades exist yet and how far the order book has moved all
follow this one clock, so REST answers, dump files and the WebSocket streams agree. Tests pin `today` so that
"yesterday" is a fixed date, while time still runs so that live-looking requests behave. `speed` replays the market
faster than real time (the benchmarks need thousands of events per second from a market that trades ~50 times a
second per symbol at 2025 volume); at speed 1 the live streams carry the market of the current wall-clock time.
"""

from __future__ import annotations

import time
from datetime import date

from streamforge.errors import ConfigError
from streamforge.sim.calendar import day_of, day_start_us


class SimClock:
    def __init__(self, today: date | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ConfigError(f"simulator speed must be positive, got {speed}")
        self.speed = speed
        self._wall0_us = time.time_ns() // 1000
        self._sim0_us = self._wall0_us if today is None else day_start_us(today)

    def now_us(self) -> int:
        return self._sim0_us + int((time.time_ns() // 1000 - self._wall0_us) * self.speed)

    def today(self) -> date:
        return day_of(self.now_us())
