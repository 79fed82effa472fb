"""Fault injection: the ways Binance misbehaves, on demand, so that clients can be tested against them.

Faults come from STREAMFORGE_SIM_FAULTS as comma-separated `name=value` pairs (e.g.
`rate429=0.1,slow_ms=200,corrupt_zip=BTCUSDT:2025-01-02`) and can be replaced at runtime with `POST /sim/faults`
and a JSON object of the same names (`{}` clears them all).

| name | value | effect |
|---|---|---|
| `rate429` | share 0..1 | that share of weighted API requests is answered HTTP 429 (-1003) with `Retry-After: retry_after_s`; a client that comes back before then is banned (418), like any 429 |
| `retry_after_s` | seconds (default 1) | the `Retry-After` of the 429s above |
| `error5xx` | share 0..1 | that share of weighted API requests is answered HTTP 503 (-1001, "Internal error") |
| `slow_ms` | milliseconds | every API and dump response is delayed this long |
| `corrupt_zip` | targets | the dump zip is served damaged (bytes flipped mid-file); its `.CHECKSUM` still names the good file |
| `bad_checksum` | targets | the `.CHECKSUM` file publishes a wrong SHA-256 for a good zip |
| `malformed` | targets | one row per targeted day (the middle agg id) has a price that is not a number, both in REST aggTrades pages and in the aggTrades dump CSV |
| `no_dumps` | targets | dump files (zip and CHECKSUM) answer 404, as for a day Binance has not published: clients fall back to REST |
| `dump_ends_early` | targets | the aggTrades dump stops at 09:29 UTC, its `.CHECKSUM` matching (binance-public-data #354) |
| `dump_differs` | targets | every 50th agg id of the aggTrades dump has twice the quantity REST serves for it, its `.CHECKSUM` matching (#375) |
| `dump_two_csvs` | targets | the aggTrades zip holds a second, different CSV in a folder beside the day's, its `.CHECKSUM` matching (#449) |
| `dump_bomb` | targets | the aggTrades zip unpacks to 400 MiB (the day, then its last row over and over) from a zip a small fraction of that, its `.CHECKSUM` matching |
| `ws_disconnect_s` | seconds | every WebSocket connection is closed cleanly (close frame 1001) this long after it opened |
| `ws_abort_s` | seconds | every WebSocket connection is dropped without a close frame (the client sees 1006) this long after it opened |
| `ws_shutdown_s` | seconds | every WebSocket connection gets a `serverShutdown` event this long after it opened, and is closed `ws_shutdown_grace_s` later |
| `ws_shutdown_grace_s` | seconds (default 2) | time between `serverShutdown` and the close |
| `ws_stall_s` | seconds | this long after it opened, a WebSocket connection stops sending anything but stays open (pings still answered) |
| `ws_drop` | share 0..1 | that share of stream events is never sent (a gap in agg ids or update ids) |
| `ws_duplicate` | share 0..1 | that share of stream events is sent twice |
| `ws_reorder` | share 0..1 | that share of stream events is sent after the event that follows it |
| `ws_malformed` | share 0..1 | that share of stream events is replaced by a broken one: alternately truncated JSON and an aggTrade/depth event whose price is not a number |
| `ws_send_buffer` | bytes | a connection whose unsent events exceed this is closed as a slow consumer (1008); 0 keeps the default (16 MiB) |
| `okx_seq_break` | share 0..1 | that share of OKX `books` updates names a `prevSeqId` that is not the previous message's `seqId` (a break in the chain) |
| `okx_bad_checksum` | share 0..1 | that share of OKX `books` messages carries a wrong non-zero checksum |
| `okx_zero_checksum` | 0 or 1 | 1: every OKX `books` message carries checksum 0, as OKX sends since 2026-06-23 ("no checksum") |

*Targets* are `all`, a symbol (`BTCUSDT`: on every market that lists it, spot and USD-M alike), an instrument id
(`binance.usdm.BTCUSDT`), or either with a day (`BTCUSDT:2025-01-02`), several joined with `|`.
Shares are applied deterministically: of every 1/share requests, exactly one is hit (a counter, not a dice roll), so
a test knows how many faults to expect.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, fields
from datetime import date

from streamforge import settings
from streamforge.errors import ConfigError

ALL = "all"
# Faults `dump_<defect>`, whose files venues.binance.simulator.dump_defects builds.
DUMP_DEFECTS = ("ends_early", "differs", "two_csvs", "bomb")


@dataclass(frozen=True)
class Targets:
    """Which (symbol, day) pairs a file fault hits."""

    entries: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> Targets:
        entries = frozenset(e.strip() for e in text.split("|") if e.strip())
        for entry in entries:
            if ":" in entry:
                _, _, day = entry.partition(":")
                try:
                    date.fromisoformat(day)
                except ValueError:
                    raise ConfigError(f"fault target {entry!r}: expected SYMBOL:YYYY-MM-DD") from None
        return cls(entries)

    def matches(self, symbol: str, day: date) -> bool:
        """`symbol` is a bare symbol or an instrument id; a target names either (`BTCUSDT` hits the symbol on every
        market that lists it, `binance.usdm.BTCUSDT` only the perpetual)."""
        names = {symbol, symbol.rsplit(".", 1)[-1]}
        return bool(self.entries & ({ALL} | names | {f"{name}:{day.isoformat()}" for name in names}))

    def __str__(self) -> str:
        return "|".join(sorted(self.entries))


@dataclass(frozen=True)
class Faults:
    rate429: float = 0.0
    retry_after_s: int = 1
    error5xx: float = 0.0
    slow_ms: int = 0
    corrupt_zip: Targets = Targets()
    bad_checksum: Targets = Targets()
    malformed: Targets = Targets()
    no_dumps: Targets = Targets()
    dump_ends_early: Targets = Targets()
    dump_differs: Targets = Targets()
    dump_two_csvs: Targets = Targets()
    dump_bomb: Targets = Targets()
    ws_disconnect_s: int = 0
    ws_abort_s: int = 0
    ws_shutdown_s: int = 0
    ws_shutdown_grace_s: int = 2
    ws_stall_s: int = 0
    ws_drop: float = 0.0
    ws_duplicate: float = 0.0
    ws_reorder: float = 0.0
    ws_malformed: float = 0.0
    ws_send_buffer: int = 0
    okx_seq_break: float = 0.0
    okx_bad_checksum: float = 0.0
    okx_zero_checksum: int = 0

    @classmethod
    def parse(cls, text: str) -> Faults:
        """From the STREAMFORGE_SIM_FAULTS syntax: `name=value,name=value`."""
        return cls.from_mapping(settings.pairs("STREAMFORGE_SIM_FAULTS", text))

    @classmethod
    def from_mapping(cls, values: dict[str, object]) -> Faults:
        """From a mapping of fault names to values (strings or JSON numbers)."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown faults {unknown}; known: {sorted(known)}")
        parsed: dict[str, object] = {}
        for name, value in values.items():
            kind = known[name].type
            try:
                if kind == "Targets":
                    parsed[name] = Targets.parse(str(value))
                elif kind == "int":
                    parsed[name] = int(value)
                else:
                    parsed[name] = float(value)
            except ValueError:
                raise ConfigError(f"fault {name}={value!r}: expected {kind.lower()}") from None
        for share in ("rate429", "error5xx", "ws_drop", "ws_duplicate", "ws_reorder", "ws_malformed", "okx_seq_break", "okx_bad_checksum"):
            if not 0.0 <= float(parsed.get(share, 0.0)) <= 1.0:
                raise ConfigError(f"fault {share} must be a share between 0 and 1, got {parsed[share]}")
        return cls(**parsed)

    def to_json(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: str(v) if isinstance(v, Targets) else v for name, v in values.items()}


def dump_defect(faults: Faults, symbol: str, day: date) -> str:
    """The `sim.dump_defects` defect the faults give the day's aggTrades dump ("" for none; the first one named)."""
    return next((d for d in DUMP_DEFECTS if getattr(faults, f"dump_{d}").matches(symbol, day)), "")


def malformed_agg_id(day_ids: range) -> int | None:
    """The agg id the `malformed` fault damages in a day: the middle one (None for a day without trades)."""
    return day_ids[len(day_ids) // 2] if day_ids else None


class ShareCounter:
    """Hits exactly `share` of the calls, evenly spread: call n is hit when floor(n * share) grows."""

    def __init__(self) -> None:
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, name: str, share: float) -> bool:
        if share <= 0.0:
            return False
        with self._lock:
            n = self._calls.get(name, 0) + 1
            self._calls[name] = n
        return math.floor(n * share) > math.floor((n - 1) * share)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
