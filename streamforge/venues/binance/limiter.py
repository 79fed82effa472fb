"""Client-side REQUEST_WEIGHT limiter: the loader must never earn a 429, let alone a 418 IP ban.

Binance counts request weight per IP in fixed windows aligned to the clock (a MINUTE window restarts at every full
minute, a DAY window at 00:00 UTC). For every REQUEST_WEIGHT window that `exchangeInfo.rateLimits` declares, the
limiter counts the weight used in the current window and admits a request only when it fits a budget below the limit
(`STREAMFORGE_WEIGHT_BUDGET` of it; the rest is headroom for clocks that disagree by a little).

The server's own count (`X-MBX-USED-WEIGHT-<n><unit>` on every response) includes other clients on the same IP, so it
replaces ours whenever it is higher. It is not taken when lower: requests we admitted may still be in flight and not
counted by the server yet. After a 429/418 every caller waits until the server's `Retry-After` has passed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streamforge import settings
from streamforge.errors import ConfigError

_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


@dataclass
class _Window:
    """One clock-aligned window: its length, our budget in it, and the weight used in the window `index`."""

    length_s: float
    budget: int
    header: str  # lower-case header the server reports this window's usage in, e.g. "x-mbx-used-weight-1m"
    index: int = -1
    used: int = 0

    def roll(self, now: float) -> None:
        """Start counting from zero when the clock has entered a new window."""
        index = math.floor(now / self.length_s)
        if index != self.index:
            self.index, self.used = index, 0

    def next_start(self) -> float:
        return (self.index + 1) * self.length_s


class WeightLimiter:
    """Admits request weight within the exchange's REQUEST_WEIGHT windows; shared by all threads of a process."""

    def __init__(
        self,
        share: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.share = float(settings.get("STREAMFORGE_WEIGHT_BUDGET") if share is None else share)
        if not 0 < self.share <= 1:
            raise ConfigError(f"STREAMFORGE_WEIGHT_BUDGET must be in (0, 1], got {self.share}")
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._windows: list[_Window] = []
        self._blocked_until = 0.0

    @property
    def configured(self) -> bool:
        return bool(self._windows)

    @property
    def budgets(self) -> dict[str, int]:
        """Budget per window, keyed by the header that reports it (for logs and metadata)."""
        return {w.header: w.budget for w in self._windows}

    def configure(self, rate_limits: list[dict]) -> None:
        """Take the REQUEST_WEIGHT windows from `exchangeInfo.rateLimits` (other limit types are not weight)."""
        windows = []
        for limit in rate_limits:
            if limit.get("rateLimitType") != "REQUEST_WEIGHT":
                continue
            interval, num = limit["interval"], int(limit["intervalNum"])
            if interval not in _INTERVAL_SECONDS:
                raise ConfigError(f"exchange declares an unknown rate-limit interval {interval!r}")
            windows.append(
                _Window(
                    length_s=_INTERVAL_SECONDS[interval] * num,
                    budget=math.floor(int(limit["limit"]) * self.share),
                    header=f"x-mbx-used-weight-{num}{interval[0].lower()}",
                )
            )
        with self._lock:
            # Re-reading exchangeInfo must not forget the weight already used in the current windows.
            current = {w.header: w for w in self._windows}
            for w in windows:
                if w.header in current:
                    w.index, w.used = current[w.header].index, current[w.header].used
            self._windows = windows

    def acquire(self, weight: int) -> None:
        """Block until `weight` fits the budget of every window (and no back-off is in force), then count it."""
        too_big = [w.header for w in self._windows if weight > w.budget]
        if too_big:
            raise ConfigError(f"a request of weight {weight} can never fit the budget of {too_big}; raise the budget")
        while True:
            with self._lock:
                now = self._clock()
                wait = self._blocked_until - now
                if wait <= 0:
                    for w in self._windows:
                        w.roll(now)
                    full = [w for w in self._windows if w.used + weight > w.budget]
                    if not full:
                        for w in self._windows:
                            w.used += weight
                        return
                    wait = max(w.next_start() for w in full) - now
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Sync with the weight the server reports as used in its current windows (other clients count too)."""
        reported = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            now = self._clock()
            for w in self._windows:
                value = reported.get(w.header)
                if value is not None and value.strip().isdigit():
                    w.roll(now)
                    w.used = max(w.used, int(value))

    def back_off(self, retry_after_s: float) -> None:
        """After a 429/418: no caller may send before `retry_after_s` from now (a client that does gets banned)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + retry_after_s)
