"""Rate limits as Binance enforces them: used-weight headers, 429 with Retry-After, 418 for those who ignore it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from streamforge.venues.binance.simulator.ratelimit import RateLimiter, rate_limit_interval, window_header
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig

from sim_cases import SEED, TODAY, VOLUME

LIMIT = 30


@pytest.fixture(scope="module")
def strict_url(tmp_path_factory) -> Iterator[str]:
    """A simulator with a tiny weight limit per hour (an hour, so that no test straddles a window)."""
    config = SimConfig(seed=SEED, volume=VOLUME, weight_limit=LIMIT, weight_window_s=3600, cache_dir=tmp_path_factory.mktemp("c"), today=TODAY)
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def strict(strict_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_url) as client:
        client.post("/sim/reset")
        yield client


def test_every_response_carries_the_used_weight(strict):
    weights = [int(strict.get(path, params=params).headers["X-MBX-USED-WEIGHT-1H"]) for path, params in [
        ("/api/v3/ping", {}),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "limit": 1}),
        ("/api/v3/aggTrades", {"symbol": "NOPE"}),  # errors are charged too
    ]]
    assert weights == [1, 3, 7, 11]
    assert strict.get("/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"] == "12"


def test_exchange_info_states_the_window_honestly(strict):
    limits = {r["rateLimitType"]: r for r in strict.get("/api/v3/exchangeInfo").json()["rateLimits"]}
    assert (limits["REQUEST_WEIGHT"]["interval"], limits["REQUEST_WEIGHT"]["intervalNum"], limits["REQUEST_WEIGHT"]["limit"]) == ("HOUR", 1, LIMIT)


def test_over_the_limit_is_429_then_ignoring_retry_after_is_418(strict):
    statuses = [strict.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 1}).status_code for _ in range(8)]
    assert statuses[:7] == [200] * 7 and statuses[7] == 429
    refused = strict.get("/api/v3/ping")
    assert refused.status_code == 418 and refused.json()["code"] == -1003
    stats = strict.get("/sim/stats").json()
    assert stats["responses"]["429"] == 1 and stats["responses"]["418"] == 1
    assert stats["requests"]["/api/v3/aggTrades"] == 8


def test_429_says_how_long_to_wait_in_binance_shape(strict):
    for _ in range(LIMIT // 4):
        strict.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 1})
    response = strict.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 1})
    assert response.status_code == 429 and response.json()["code"] == -1003
    assert 0 < int(response.headers["Retry-After"]) <= 3600


def test_reset_clears_weight_bans_and_counters(strict):
    for _ in range(LIMIT + 2):
        strict.get("/api/v3/ping")
    strict.post("/sim/reset")
    assert strict.get("/api/v3/ping").status_code == 200
    assert strict.get("/sim/stats").json()["responses"] == {"200": 1, "429": 0, "418": 0}


class FakeClock:
    def __init__(self) -> None:
        self.now = 60.0 * 16_667 + 20  # 20 s into a 60 s window

    def __call__(self) -> float:
        return self.now


def test_after_retry_after_the_client_is_served_again():
    clock = FakeClock()
    limiter = RateLimiter(weight_limit=10, window_s=60, clock=clock)
    assert limiter.admit("a", 10).status == 200
    refused = limiter.admit("a", 1)
    assert (refused.status, refused.retry_after_s) == (429, 40)
    clock.now += refused.retry_after_s
    served = limiter.admit("a", 1)
    assert (served.status, served.used_weight) == (200, 1)
    assert limiter.admit("b", 1).status == 200, "limits are per IP"


def test_bans_last_two_windows_and_double():
    clock = FakeClock()
    limiter = RateLimiter(weight_limit=1, window_s=60, clock=clock)
    limiter.admit("a", 2)
    first_ban = limiter.admit("a", 1)
    assert first_ban.status == 418 and first_ban.retry_after_s == 120
    clock.now += 120
    limiter.admit("a", 2)
    assert limiter.admit("a", 1).retry_after_s == 240


@pytest.mark.parametrize(("window_s", "interval", "header"), [(60, ("MINUTE", 1), "X-MBX-USED-WEIGHT-1M"), (10, ("SECOND", 10), "X-MBX-USED-WEIGHT-10S"), (3600, ("HOUR", 1), "X-MBX-USED-WEIGHT-1H"), (90, ("SECOND", 90), "X-MBX-USED-WEIGHT-90S")])
def test_windows_are_named_like_binance(window_s, interval, header):
    assert rate_limit_interval(window_s) == interval and window_header(window_s) == header
