import numpy as np
import pytest

from streamforge.errors import InsufficientDataError
from streamforge.graph.features import INTERVAL_US
from streamforge.models.split import Split

DAY_US = 86_400_000_000


def test_blocks_are_ordered_disjoint_and_separated_by_the_embargo():
    split = Split.plan(0, 4 * DAY_US, val_fraction=0.15, test_fraction=0.2, embargo=12)
    times = np.arange(0, 4 * DAY_US, INTERVAL_US)
    blocks = split.blocks(times)
    train, val, test = (times[blocks[b]] for b in ("train", "validation", "test"))
    # every target (the next interval) of a block ends inside it, and 12 intervals separate consecutive blocks
    assert train.max() + 2 * INTERVAL_US + 12 * INTERVAL_US <= val.min()
    assert val.max() + 2 * INTERVAL_US + 12 * INTERVAL_US <= test.min()
    assert test.max() + 2 * INTERVAL_US <= 4 * DAY_US
    assert sum(int(m.sum()) for m in blocks.values()) < len(times)


def test_a_window_too_short_for_the_split_is_refused_with_the_numbers():
    with pytest.raises(InsufficientDataError, match="too short.*lengthen"):
        Split.plan(0, DAY_US // 4, val_fraction=0.15, test_fraction=0.2, embargo=12)
