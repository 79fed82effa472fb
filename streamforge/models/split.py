"""Walk-forward split of a window into train | embargo | validation | embargo | test, in that time order.

Validation precedes test so that early stopping never sees the test block. A node is in a block only when the interval
its target describes (the next one) also lies inside the block: a training label never reaches into validation, a
validation label never into test. The embargo drops further intervals between blocks so that the slowly decaying
dependence of volatility (and the HAR/temporal look-backs, which do read earlier blocks — legitimately, that data is
known at forecast time) does not make adjacent blocks near-copies of each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from streamforge.errors import InsufficientDataError
from streamforge.graph.features import INTERVAL_US

# Smallest blocks that still give meaningful numbers: training must cover the longest HAR horizon (48 intervals, 4 h)
# twice over; validation and test need an hour of intervals each.
MIN_TRAIN_INTERVALS = 96
MIN_EVAL_INTERVALS = 12


@dataclass(frozen=True)
class Split:
    start_us: int
    train_end_us: int
    val_start_us: int
    val_end_us: int
    test_start_us: int
    end_us: int

    @classmethod
    def plan(cls, start_us: int, end_us: int, val_fraction: float, test_fraction: float, embargo: int) -> Split:
        """Cut [start_us, end_us) into blocks; `embargo` is in 5-minute intervals."""
        n = (end_us - start_us) // INTERVAL_US
        n_test, n_val = round(n * test_fraction), round(n * val_fraction)
        n_train = n - n_test - n_val - 2 * embargo
        if n_train < MIN_TRAIN_INTERVALS or min(n_val, n_test) < MIN_EVAL_INTERVALS:
            raise InsufficientDataError(
                f"a window of {n} intervals is too short for the split: it gives {n_train} training, {n_val} validation "
                f"and {n_test} test intervals with an embargo of {embargo}; needs at least {MIN_TRAIN_INTERVALS} "
                f"training and {MIN_EVAL_INTERVALS} validation and test intervals — lengthen the window"
            )
        test_start = end_us - n_test * INTERVAL_US
        val_end = test_start - embargo * INTERVAL_US
        val_start = val_end - n_val * INTERVAL_US
        return cls(start_us, val_start - embargo * INTERVAL_US, val_start, val_end, test_start, end_us)

    @classmethod
    def walk_forward(cls, start_us: int, test_start_us: int, end_us: int, val_fraction: float, embargo: int) -> Split:
        """One origin of a walk-forward evaluation: test on [test_start_us, end_us) (the evaluation day), validate
        on the last `val_fraction` of what precedes it, train on the rest, an embargo before each later block."""
        n = (test_start_us - start_us) // INTERVAL_US
        n_val, n_test = round(n * val_fraction), (end_us - test_start_us) // INTERVAL_US
        n_train = n - n_val - 2 * embargo
        if n_train < MIN_TRAIN_INTERVALS or min(n_val, n_test) < MIN_EVAL_INTERVALS:
            raise InsufficientDataError(
                f"a training window of {n} intervals before the test block gives {n_train} training and {n_val} "
                f"validation intervals with an embargo of {embargo}, and the test block has {n_test}; needs at least "
                f"{MIN_TRAIN_INTERVALS} training and {MIN_EVAL_INTERVALS} validation and test intervals — give the "
                "protocol more training days"
            )
        val_end = test_start_us - embargo * INTERVAL_US
        val_start = val_end - n_val * INTERVAL_US
        return cls(start_us, val_start - embargo * INTERVAL_US, val_start, val_end, test_start_us, end_us)

    def blocks(self, open_time_us: np.ndarray) -> dict[str, np.ndarray]:
        """Boolean masks 'train', 'validation', 'test' over nodes; the target interval ends by the block's end."""
        target_end = open_time_us + 2 * INTERVAL_US
        t = open_time_us
        return {
            "train": (t >= self.start_us) & (target_end <= self.train_end_us),
            "validation": (t >= self.val_start_us) & (target_end <= self.val_end_us),
            "test": (t >= self.test_start_us) & (target_end <= self.end_us),
        }

    def to_dict(self) -> dict:
        return asdict(self)
