"""Client-side rate limiter for OKX: each endpoint's own budget of requests per 2 seconds, never a 50011.

OKX limits public REST per IP and per endpoint (`wire.LIMITS`), not by weight. Whether its 2-second windows are
fixed or sliding is not documented, so the limiter keeps a *sliding* window — at most `budget` requests in any
2 seconds, plus MARGIN_S for requests that reach OKX later than they were admitted (a busy machine, a slow
connection) — which stays within the limit under either reading. The budget is STREAMFORGE_WEIGHT_BUDGET of the limit
(the rest is headroom for other clients on the IP and clocks that disagree). After a 50011 every caller of that
endpoint waits a whole window before trying again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.venues.okx.wire import LIMIT_WINDOW_S, LIMITS

MARGIN_S = 0.25


class EndpointLimiter:
    """Admits requests per endpoint within its budget; shared by all threads of a client."""

    def __init__(
        self,
        share: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.share = float(settings.get("STREAMFORGE_WEIGHT_BUDGET") if share is None else share)
        if not 0 < self.share <= 1:
            raise ConfigError(f"STREAMFORGE_WEIGHT_BUDGET must be in (0, 1], got {self.share}")
        self.budgets = {path: max(1, math.floor(limit * self.share)) for path, limit in LIMITS.items()}
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {path: deque() for path in LIMITS}
        self._blocked_until: dict[str, float] = dict.fromkeys(LIMITS, 0.0)

    def acquire(self, path: str) -> None:
        """Block until a request to `path` fits its budget, then count it."""
        if path not in LIMITS:
            raise ConfigError(f"{path} is not an OKX endpoint this client knows the limit of: {', '.join(LIMITS)}")
        sent, budget = self._sent[path], self.budgets[path]
        while True:
            with self._lock:
                now = self._clock()
                while sent and sent[0] <= now - LIMIT_WINDOW_S - MARGIN_S:
                    sent.popleft()
                wait = self._blocked_until[path] - now
                if wait <= 0:
                    if len(sent) < budget:
                        sent.append(now)
                        return
                    wait = sent[0] + LIMIT_WINDOW_S + MARGIN_S - now
            self._sleep(wait)

    def back_off(self, path: str) -> None:
        """After a 50011: nobody asks `path` again before a whole window has passed."""
        with self._lock:
            self._blocked_until[path] = max(self._blocked_until[path], self._clock() + LIMIT_WINDOW_S)
