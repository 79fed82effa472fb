"""freeze_startup_heap: what exists at start-up leaves the collector's walks; cycles made later are still collected,
and the young generation less often. Checked in a fresh interpreter, so the test process's own heap is never frozen."""

import subprocess
import sys

CHECK = """
import gc, weakref
from streamforge.heap import YOUNG_COLLECTION, freeze_startup_heap

class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it

before = Node()
freeze_startup_heap()
assert gc.get_freeze_count() > 0
assert gc.get_threshold()[0] == YOUNG_COLLECTION > 700
frozen = weakref.ref(before)
del before
gc.collect()
assert frozen() is not None, "an object alive at start-up was collected"
later = Node()
collectable = weakref.ref(later)
del later
gc.collect()
assert collectable() is None, "a cycle made after start-up was not collected"
"""


def test_objects_alive_at_start_up_are_frozen_later_cycles_still_collected_and_young_ones_less_often():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
