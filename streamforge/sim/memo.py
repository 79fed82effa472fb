"""A small thread-safe LRU memo that computes each key once, even when server threads ask for it together.

REST pages hit the same day over and over, often from several client threads at once; `functools.lru_cache` would let
each of them generate the (seconds-long) day in parallel. Here the first caller computes and the others wait for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    def __init__(self, compute: Callable[..., V], maxsize: int) -> None:
        self._compute = compute
        self._maxsize = maxsize
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, *key: Hashable) -> V:
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = self._compute(*key)
            with self._guard:
                self._values[key] = value
                while len(self._values) > self._maxsize:
                    self._values.popitem(last=False)
                self._locks.pop(key, None)
        return value
