"""OKX's IP rate limits as the simulator enforces them: each endpoint's requests per 2-second window.

Windows are aligned to the wall clock (every even second starts one); a request past the endpoint's limit in its
window is answered HTTP 429 with OKX's code 50011 (the status is **unconfirmed**: OKX's clients read the code). No ban
follows, unlike Binance: none is documented.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamforge.venues.okx.wire import LIMIT_WINDOW_S, LIMITS


@dataclass
class RequestLimiter:
    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    clock: Callable[[], float] = time.time
    _counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (ip, path) -> (window, requests)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, ip: str, path: str) -> bool:
        """Count the request; False when it is over its endpoint's limit in the current window."""
        window = int(self.clock() // LIMIT_WINDOW_S)
        with self._lock:
            seen_window, count = self._counts.get((ip, path), (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[(ip, path)] = (window, count)
        return count <= self.limits[path]

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
