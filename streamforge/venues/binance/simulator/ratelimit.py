"""Binance's IP rate limits: request weight per window, raw requests per 5 minutes, 429 then 418.

Windows are aligned to the wall clock like Binance's (a 60 s window is a clock minute). Going over a limit answers
HTTP 429 with `Retry-After` = seconds until the window ends. A client that sends anything before a 429's
`Retry-After` has passed is banned: HTTP 418, for BAN_WINDOWS windows (2 minutes with Binance's 60 s window, as its
shortest ban), doubling with each further ban. The loaders must never earn one; the tests check that they don't.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RAW_REQUESTS_LIMIT = 61_000
# USD-M futures endpoints with a request limit of their own besides the weight, per IP: (paths sharing it, requests,
# window s) (../shared/docs/binance-futures.md).
FUTURES_REQUEST_LIMITS = (
    (frozenset({"/fapi/v1/fundingRate", "/fapi/v1/fundingInfo"}), 500, 300),
    (frozenset({"/futures/data/openInterestHist"}), 1000, 300),
)
RAW_REQUESTS_WINDOW_S = 300
BAN_WINDOWS = 2


@dataclass(frozen=True)
class Decision:
    status: int  # 200 (go ahead), 429 or 418
    used_weight: int
    retry_after_s: int = 0
    message: str = ""


@dataclass
class _Client:
    weight_window: int = -1
    weight: int = 0
    raw_window: int = -1
    raw: int = 0
    retry_until: float = 0.0
    banned_until: float = 0.0
    bans: int = 0


@dataclass
class RateLimiter:
    weight_limit: int
    window_s: int
    clock: Callable[[], float] = time.time
    _clients: dict[str, _Client] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, ip: str, weight: int) -> Decision:
        """Charge `weight` to `ip` and say whether the request may be served."""
        now = self.clock()
        with self._lock:
            client = self._clients.setdefault(ip, _Client())
            used = self._roll(client, now)
            if client.banned_until > now:
                return self._banned(client, now, used)
            if client.retry_until > now:
                client.bans += 1
                client.banned_until = now + BAN_WINDOWS * self.window_s * 2 ** (client.bans - 1)
                return self._banned(client, now, used)
            client.weight += weight
            client.raw += 1
            if client.weight > self.weight_limit:
                window_end = (client.weight_window + 1) * self.window_s
                client.retry_until = window_end
                return Decision(
                    429,
                    client.weight,
                    math.ceil(window_end - now),
                    f"Too much request weight used; current limit is {self.weight_limit} request weight per "
                    f"{' '.join(map(str, reversed(rate_limit_interval(self.window_s))))}. "
                    "Please use WebSocket Streams for live updates to avoid polling the API.",
                )
            if client.raw > RAW_REQUESTS_LIMIT:
                window_end = (client.raw_window + 1) * RAW_REQUESTS_WINDOW_S
                client.retry_until = window_end
                return Decision(429, client.weight, math.ceil(window_end - now), "Too many requests; please slow down.")
            return Decision(200, client.weight)

    def penalise(self, ip: str, retry_after_s: int) -> None:
        """Record a 429 given for another reason (a fault): the client must also wait `retry_after_s`."""
        with self._lock:
            client = self._clients.setdefault(ip, _Client())
            client.retry_until = max(client.retry_until, self.clock() + retry_after_s)

    def used_weight(self, ip: str) -> int:
        with self._lock:
            client = self._clients.setdefault(ip, _Client())
            return self._roll(client, self.clock())

    def used_by_ip(self) -> dict[str, int]:
        with self._lock:
            now = self.clock()
            return {ip: self._roll(c, now) for ip, c in self._clients.items()}

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()

    def _roll(self, client: _Client, now: float) -> int:
        window = int(now // self.window_s)
        if window != client.weight_window:
            client.weight_window, client.weight = window, 0
        raw_window = int(now // RAW_REQUESTS_WINDOW_S)
        if raw_window != client.raw_window:
            client.raw_window, client.raw = raw_window, 0
        return client.weight

    def _banned(self, client: _Client, now: float, used: int) -> Decision:
        until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(client.banned_until))
        return Decision(
            418,
            used,
            math.ceil(client.banned_until - now),
            f"Way too much request weight used; IP banned until {until} UTC. "
            "Please use WebSocket Streams for live updates to avoid bans.",
        )


def rate_limit_interval(window_s: int) -> tuple[str, int]:
    """exchangeInfo's (interval, intervalNum) for a window: (MINUTE, 1) for 60 s, (SECOND, 10) for 10 s."""
    units = (("DAY", 86_400), ("HOUR", 3_600), ("MINUTE", 60), ("SECOND", 1))
    return next((name, window_s // seconds) for name, seconds in units if window_s % seconds == 0)


def window_header(window_s: int) -> str:
    """Binance's name for the used-weight header of a window: X-MBX-USED-WEIGHT-1M, -10S, -1H..."""
    name, count = rate_limit_interval(window_s)
    return f"X-MBX-USED-WEIGHT-{count}{name[0]}"
