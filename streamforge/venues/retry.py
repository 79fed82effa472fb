"""Retry policy for transient failures (5xx, connection errors, timeouts), shared by the REST and dump clients.

Exponential backoff with full jitter: many workers that failed together (a 5xx storm, an exchange restart) spread
their retries out instead of hitting the server again in lockstep.
"""

from __future__ import annotations

import random
import time

from streamforge import settings
from streamforge.errors import ExchangeError


class Backoff:
    """Counts the failures of one request; waits before the next attempt or gives up naming the URL."""

    def __init__(self, url: str, retries: int, setting: str, base_s: float | None = None) -> None:
        """`setting` names where the base URL came from, so a server that cannot be reached is a setting to check."""
        self.url = url
        self.retries = retries
        self.setting = setting
        self.base_s = float(settings.get("STREAMFORGE_HTTP_BACKOFF_S") if base_s is None else base_s)
        self.failures = 0

    def failed(self, cause: str) -> None:
        """Record a failed attempt: sleep before the next one, or raise ExchangeError when retries are spent."""
        self.failures += 1
        if self.failures > self.retries:
            raise ExchangeError(f"GET {self.url} failed {self.failures} times, giving up: {cause} (exchange address: {self.setting})")
        time.sleep(random.uniform(0, self.base_s * 2 ** (self.failures - 1)))
