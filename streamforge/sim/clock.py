"""The simulator's clock: real UTC time, or a clock that starts at 00:00 UTC of a chosen day.

Which days are complete (and so have dump files) and which trades exist yet both follow this clock. Tests pin
`today` so that "yesterday" is a fixed date, while time still runs so that live-looking requests behave.
"""

from __future__ import annotations

import time
from datetime import date

from streamforge.sim.calendar import day_of, day_start_us


class SimClock:
    def __init__(self, today: date | None = None) -> None:
        self._offset_us = 0 if today is None else day_start_us(today) - time.time_ns() // 1000

    def now_us(self) -> int:
        return time.time_ns() // 1000 + self._offset_us

    def today(self) -> date:
        return day_of(self.now_us())
