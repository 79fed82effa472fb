"""Everything one running simulator holds: its market, dump files, clock, rate limiter, faults and counters."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from streamforge import settings
from streamforge.sim.clock import SimClock
from streamforge.venues.binance.simulator.dumps import DumpFiles
from streamforge.sim.faults import Faults, ShareCounter
from streamforge.sim.derived import PriceModels
from streamforge.sim.market import DEFAULT_UNIVERSE, Market
from streamforge.sim.prices import LeadLag
from streamforge.venues.binance.simulator.ratelimit import FUTURES_REQUEST_LIMITS, RateLimiter
from streamforge.venues.binance.simulator.usdm_dumps import UsdmDumpFiles
from streamforge.venues.okx.simulator.ratelimit import RequestLimiter


@dataclass(frozen=True)
class SimConfig:
    """How to run the simulator. `today` pins the clock's start (tests); None runs on real time. `speed` replays
    the market faster than real time; `lead_lag`, `universe` and `models` shape the market (see `sim.market`); the
    ws_* fields are Binance's WebSocket rules (ping every 20 s, a pong within a minute, 24-hour connections),
    shortened by tests."""

    seed: int = 7
    volume: float = 1.0
    lead_lag: LeadLag = LeadLag()
    universe: int = DEFAULT_UNIVERSE
    models: PriceModels = field(default_factory=PriceModels.parse)
    weight_limit: int = 6_000
    weight_window_s: int = 60
    futures_weight_limit: int = 2_400
    faults: Faults = Faults()
    cache_dir: Path = field(default_factory=lambda: settings.home() / "sim-cache")
    today: date | None = None
    speed: float = 1.0
    ws_tick_ms: int = 20
    depth_window: int = 1000
    ws_ping_s: float = 20.0
    ws_pong_timeout_s: float = 60.0
    ws_lifetime_s: float = 86_400.0

    @classmethod
    def from_settings(cls) -> SimConfig:
        cache = settings.get("STREAMFORGE_SIM_CACHE")
        return cls(
            seed=int(settings.get("STREAMFORGE_SIM_SEED")),
            volume=float(settings.get("STREAMFORGE_SIM_VOLUME")),
            lead_lag=LeadLag(
                planted=settings.get("STREAMFORGE_SIM_LEAD_LAG").strip().lower() in {"1", "true", "yes"},
                lag_s=settings.integer("STREAMFORGE_SIM_LAG_S"),
                jitter_s=settings.integer("STREAMFORGE_SIM_LAG_JITTER_S"),
            ),
            universe=settings.integer("STREAMFORGE_SIM_UNIVERSE"),
            models=PriceModels.from_settings(),
            weight_limit=int(settings.get("STREAMFORGE_SIM_WEIGHT_LIMIT")),
            weight_window_s=int(settings.get("STREAMFORGE_SIM_WEIGHT_WINDOW_S")),
            futures_weight_limit=settings.integer("STREAMFORGE_SIM_FUTURES_WEIGHT_LIMIT"),
            faults=Faults.parse(settings.get("STREAMFORGE_SIM_FAULTS")),
            cache_dir=Path(cache) if cache else settings.home() / "sim-cache",
            speed=float(settings.get("STREAMFORGE_SIM_SPEED")),
            ws_tick_ms=int(settings.get("STREAMFORGE_SIM_WS_TICK_MS")),
            depth_window=int(settings.get("STREAMFORGE_SIM_DEPTH_WINDOW")),
            ws_ping_s=float(settings.get("STREAMFORGE_SIM_WS_PING_S")),
            ws_pong_timeout_s=float(settings.get("STREAMFORGE_SIM_WS_PONG_TIMEOUT_S")),
            ws_lifetime_s=float(settings.get("STREAMFORGE_SIM_WS_LIFETIME_S")),
        )


class Stats:
    """Responses by HTTP status and requests by endpoint, for tests and benchmarks (`GET /sim/stats`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests[endpoint] += 1
            self._responses[str(status)] += 1

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._responses: Counter[str] = Counter({"200": 0, "429": 0, "418": 0})

    def to_json(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"responses": dict(self._responses), "requests": dict(self._requests)}


class SimState:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.market = Market(config.seed, config.volume, config.lead_lag, universe=config.universe, models=config.models)
        self.dumps = DumpFiles(self.market, config.cache_dir)
        self.usdm_dumps = UsdmDumpFiles(self.market, config.cache_dir)
        self.clock = SimClock(config.today, config.speed)
        self.limiter = RateLimiter(config.weight_limit, config.weight_window_s)
        # USD-M futures is another host with limits of its own: its weight, and request counts of some endpoints.
        self.futures_limiter = RateLimiter(config.futures_weight_limit, config.weight_window_s)
        self.request_limiters = {paths: RateLimiter(requests, window_s) for paths, requests, window_s in FUTURES_REQUEST_LIMITS}
        self.okx_limiter = RequestLimiter()
        self.faults = config.faults
        self.shares = ShareCounter()
        self.stats = Stats()

    def reset(self) -> None:
        """Forget counters, used weight and bans (faults stay as configured)."""
        self.stats.reset()
        for limiter in (self.limiter, self.futures_limiter, *self.request_limiters.values(), self.okx_limiter):
            limiter.reset()
        self.shares.reset()
