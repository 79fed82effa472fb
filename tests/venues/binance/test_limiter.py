"""The weight limiter, on a fake clock: budgets from exchangeInfo, clock-aligned windows, server sync, back-off."""

from __future__ import annotations

import math
import threading
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.errors import ConfigError
from streamforge.venues.binance.limiter import WeightLimiter


class FakeClock:
    """Time moves only when somebody sleeps, so tests run instantly and exactly."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


def weight_limit(limit: int, interval: str = "MINUTE", num: int = 1) -> dict:
    return {"rateLimitType": "REQUEST_WEIGHT", "interval": interval, "intervalNum": num, "limit": limit}


def limiter(clock: FakeClock, *limits: dict, share: float = 1.0) -> WeightLimiter:
    result = WeightLimiter(share=share, clock=clock, sleep=clock.sleep)
    result.configure(list(limits))
    return result


def test_budget_is_the_configured_share_of_each_request_weight_limit():
    clock = FakeClock()
    raw_requests = {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
    lim = limiter(clock, weight_limit(6000), weight_limit(100, "SECOND", 10), raw_requests, share=0.8)
    assert lim.budgets == {"x-mbx-used-weight-1m": 4800, "x-mbx-used-weight-10s": 80}


def test_a_request_that_does_not_fit_waits_for_the_next_clock_aligned_window():
    clock = FakeClock(now=1005.0)  # 5 s into a 10 s window that started at 1000
    lim = limiter(clock, weight_limit(10, "SECOND", 10))
    for _ in range(5):
        lim.acquire(2)
    assert clock.now == 1005.0
    lim.acquire(2)
    assert clock.now == 1010.0  # the window's clock-aligned end, not 10 s after the first request


def test_unconfigured_limiter_only_enforces_back_off():
    clock = FakeClock()
    lim = WeightLimiter(share=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        lim.acquire(250)
    assert clock.now == 1_700_000_000.0


def test_server_reported_weight_wins_when_higher():
    clock = FakeClock(now=120.0)
    lim = limiter(clock, weight_limit(100))
    lim.acquire(10)
    lim.observe({"X-MBX-USED-WEIGHT-1M": "95"})  # other clients on the same IP used weight too
    lim.acquire(5)
    assert clock.now == 120.0
    lim.acquire(1)
    assert clock.now == 180.0


def test_server_reported_weight_lower_than_ours_is_ignored():
    """Requests we admitted may still be in flight, uncounted by the server."""
    clock = FakeClock(now=120.0)
    lim = limiter(clock, weight_limit(100))
    lim.acquire(90)
    lim.observe({"x-mbx-used-weight-1m": "4"})
    lim.acquire(11)
    assert clock.now == 180.0


def test_back_off_blocks_every_caller_until_retry_after():
    clock = FakeClock(now=100.0)
    lim = limiter(clock, weight_limit(1000))
    lim.back_off(7.5)
    lim.back_off(2.0)  # a shorter, later answer does not shorten the wait
    lim.acquire(1)
    assert clock.now == 107.5


def test_a_request_heavier_than_the_budget_is_refused():
    lim = limiter(FakeClock(), weight_limit(100), share=0.1)
    with pytest.raises(ConfigError, match="weight 25 can never fit"):
        lim.acquire(25)


def test_concurrent_callers_share_the_budget():
    clock = FakeClock(now=0.0)
    lim = limiter(clock, weight_limit(10, "SECOND", 1))
    threads = [threading.Thread(target=lambda: [lim.acquire(1) for _ in range(10)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert clock.now >= 7.0  # 80 weight at 10 per window needs at least 8 windows


operations = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.integers(1, 20)),
        st.tuples(st.just("wait"), st.floats(0, 30)),
        st.tuples(st.just("observe"), st.integers(0, 60)),
        st.tuples(st.just("back_off"), st.floats(0, 5)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    ops=operations,
    start=st.floats(0, 10_000),
    short=st.tuples(st.integers(20, 60), st.integers(1, 10)),
    long=st.integers(60, 300),
    share=st.floats(0.4, 1.0),
)
def test_never_more_than_the_budget_is_admitted_within_one_window(ops, start, short, long, share):
    clock = FakeClock(now=start)
    short_limit, short_seconds = short
    lim = limiter(clock, weight_limit(short_limit, "SECOND", short_seconds), weight_limit(long), share=share)
    windows = {"x-mbx-used-weight-%ds" % short_seconds: short_seconds, "x-mbx-used-weight-1m": 60}
    admitted: dict[tuple[str, int], int] = defaultdict(int)
    for op, value in ops:
        if op == "acquire":
            if value > min(lim.budgets.values()):
                continue
            lim.acquire(value)
            for header, length in windows.items():
                admitted[header, math.floor(clock.now / length)] += value
        elif op == "wait":
            clock.sleep(value)
        elif op == "observe":
            lim.observe({"X-MBX-USED-WEIGHT-1M": str(value)})
        else:
            lim.back_off(value)
    for (header, _), weight in admitted.items():
        assert weight <= lim.budgets[header]


def test_rereading_exchange_info_keeps_the_weight_used_in_the_current_window():
    clock = FakeClock(now=120.0)
    lim = limiter(clock, weight_limit(100))
    lim.acquire(90)
    lim.configure([weight_limit(100)])
    lim.acquire(20)
    assert clock.now == 180.0
