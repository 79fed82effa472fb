"""freeze_startup_heap: what exists at start-up leaves the collector's walks; cycles made later are still collected."""

import gc
import weakref

from streamforge.heap import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_objects_alive_at_start_up_are_frozen_and_later_cycles_still_collected():
    try:
        before = Node()
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        frozen = weakref.ref(before)
        del before
        gc.collect()
        assert frozen() is not None  # frozen: out of the collector's reach, as intended for start-up objects

        later = Node()
        collectable = weakref.ref(later)
        del later
        gc.collect()
        assert collectable() is None
    finally:
        gc.unfreeze()
