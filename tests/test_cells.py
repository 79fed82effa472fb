"""`Cells`: a run's frames made one at a time, so a run over many cells holds one of them, not all."""

import polars as pl
import pytest

from resources.io_managers import Cells


def test_cells_are_made_in_key_order_when_asked_and_only_the_last_is_kept():
    made: list[str] = []

    def make(key: str) -> pl.DataFrame:
        made.append(key)
        return pl.DataFrame({"key": [key] * 1000})

    cells = Cells(["2025-01-02|x.y.B", "2025-01-01|x.y.A", "2025-01-01|x.y.B"], make)
    assert list(cells) == ["2025-01-01|x.y.A", "2025-01-01|x.y.B", "2025-01-02|x.y.B"] and made == []  # nothing made yet
    for key in cells:
        frame = cells[key]
        assert cells[key] is frame  # asked again: the kept frame, not a second making
    assert made == list(cells)
    cells["2025-01-01|x.y.A"]  # an earlier cell is made again: only the last one is kept
    assert made[-1] == "2025-01-01|x.y.A" and len(made) == 4


def test_a_key_outside_the_run_is_a_key_error_and_makes_nothing():
    cells = Cells(["2025-01-01|x.y.A"], lambda key: pytest.fail("made"))
    with pytest.raises(KeyError):
        cells["2025-01-02|x.y.A"]
    assert len(cells) == 1 and "2025-01-02|x.y.A" not in cells
