"""Per-instrument state of the page — candles, tape, book, newest event times, and a perpetual's mark price and
liquidations — bounded, with what changed since the last push.

Candles come from two sources on purpose. The klines topic is the exchange's own account of each minute and one row
per minute, so the look-back fills hours of chart cheaply; trades arrive within milliseconds, so they move the current
candle at once instead of when the exchange next reports the minute. A kline replaces whatever trades built for its
minute; after that, trades may still move that candle's price but never add volume to it, because the kline already
counted them (reading two topics, the dashboard cannot know which trades a kline includes).

The mark price kept is the newest by event time, not the last to arrive, so a late message never turns the funding
countdown back.

Only the event loop touches a view, so there are no locks.
"""

from __future__ import annotations

from collections import deque

from streamforge.dashboard.rows import Delta

O, H, L, C, V = range(5)  # positions in a candle's [open, high, low, close, volume]


class InstrumentView:
    def __init__(self, instrument: str, candles: int, tape: int):
        self.instrument = instrument
        self.max_candles = candles
        self.candles: dict[int, list[float]] = {}  # open_s -> [o, h, l, c, v]
        self.from_kline: set[int] = set()  # minutes whose volume the exchange reported
        self.tape: deque[list] = deque(maxlen=tape)
        self.book: dict | None = None
        self.last: dict[str, int] = {}
        self._changed: set[int] = set()
        self._new_trades = 0
        self._book_changed = False
        self.mark: dict | None = None
        self.liquidations: deque[tuple] = deque(maxlen=tape)
        self._new_liquidations = 0
        self._mark_changed = False

    def apply(self, delta: Delta) -> None:
        for open_s, *ohlcv in delta.klines:
            self.candles[open_s] = ohlcv
            self.from_kline.add(open_s)
            self._changed.add(open_s)
        for open_s, o, h, low, c, v in delta.trade_minutes:
            self._add_trades(open_s, o, h, low, c, v)
        self.tape.extend(delta.trades)
        self._new_trades += len(delta.trades)
        if delta.book is not None:
            self.book = delta.book
            self._book_changed = True
        if delta.mark is not None and (self.mark is None or delta.mark["time"] >= self.mark["time"]):
            self.mark = delta.mark
            self._mark_changed = True
        self.liquidations.extend(delta.liquidations)
        self._new_liquidations += len(delta.liquidations)
        for stream, time_us in delta.last.items():
            self.last[stream] = max(time_us, self.last.get(stream, time_us))
        self._trim()

    def _add_trades(self, open_s: int, o: float, h: float, low: float, c: float, v: float) -> None:
        candle = self.candles.get(open_s)
        if candle is None:
            self.candles[open_s] = [o, h, low, c, v]
        else:
            candle[H], candle[L], candle[C] = max(candle[H], h), min(candle[L], low), c
            if open_s not in self.from_kline:
                candle[V] += v
        self._changed.add(open_s)

    def _trim(self) -> None:
        """Keep the newest `max_candles` minutes: memory stays bounded however long the dashboard runs."""
        while len(self.candles) > self.max_candles:
            oldest = min(self.candles)
            del self.candles[oldest]
            self.from_kline.discard(oldest)
            self._changed.discard(oldest)

    @property
    def changed(self) -> bool:
        return bool(self._changed or self._new_trades or self._book_changed or self._new_liquidations or self._mark_changed)

    @property
    def price(self) -> float | None:
        """The last price: the close of the newest candle (trades move it at once, a kline corrects it)."""
        return self.candles[max(self.candles)][C] if self.candles else None

    def snapshot(self) -> dict:
        """Everything the page draws for this instrument; sent when a browser subscribes or has fallen behind."""
        return {
            "type": "snapshot",
            "instrument": self.instrument,
            "candles": [[t, *self.candles[t]] for t in sorted(self.candles)],
            "trades": list(self.tape),
            "book": self.book,
            "last": self.last,
        }

    def take_update(self) -> dict:
        """What changed since the previous call, and forget it: one update message shared by every subscriber."""
        new_trades = list(self.tape)[-self._new_trades:] if self._new_trades else []
        new_liquidations = list(self.liquidations)[-self._new_liquidations:] if self._new_liquidations else []
        update = {
            "type": "update",
            "instrument": self.instrument,
            "candles": [[t, *self.candles[t]] for t in sorted(self._changed)],
            "trades": new_trades,
            "book": self.book if self._book_changed else None,
            "last": self.last,
            "liquidations": new_liquidations,
        }
        self._changed.clear()
        self._new_trades = 0
        self._book_changed = False
        self._new_liquidations = 0
        self._mark_changed = False
        return update


class Views:
    """One InstrumentView per instrument seen on the topics (and the default one), created on first sight."""

    def __init__(self, candles: int, tape: int, instruments: list[str]):
        self.candles, self.tape = candles, tape
        self.by_instrument: dict[str, InstrumentView] = {}
        for instrument in instruments:
            self.get(instrument)

    def get(self, instrument: str) -> InstrumentView:
        if instrument not in self.by_instrument:
            self.by_instrument[instrument] = InstrumentView(instrument, self.candles, self.tape)
        return self.by_instrument[instrument]

    def view(self, instrument: str) -> InstrumentView:
        """`instrument`'s view; an empty one, not kept, for an instrument not seen yet — a page asking for any name
        must not make the server hold a view for it."""
        return self.by_instrument.get(instrument) or InstrumentView(instrument, self.candles, self.tape)

    def snapshot(self, instrument: str) -> dict:
        return self.view(instrument).snapshot()

    def price(self, instrument: str) -> float | None:
        """`instrument`'s last price; None when it has none or is not seen."""
        return self.view(instrument).price

    def apply(self, deltas: dict[str, Delta]) -> None:
        for instrument, delta in deltas.items():
            self.get(instrument).apply(delta)

    @property
    def instruments(self) -> list[str]:
        return sorted(self.by_instrument)
