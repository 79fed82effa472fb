"""Rows from a venue checked column-wise, failing on the first bad one with where it is: shared by the venues' parsers.

Checks run vectorised over a whole page or file (polars expressions); only when one fails is the frame looked at row
by row, to name the first bad row, the field and its value.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from streamforge.errors import MalformedDataError

#: A check: an expression true where a row is bad, and how to say what is wrong with such a row.
Problem = tuple[pl.Expr, Callable[[dict], str]]


def fail_first(frame: pl.DataFrame, problems: list[Problem], source: str, first_row: int = 1) -> None:
    """Raise MalformedDataError for the first row with any problem (null counts as one), numbered from `first_row`;
    return when there is none."""
    if not problems or frame.height == 0:
        return
    flags = frame.select(bad.fill_null(True).alias(str(i)) for i, (bad, _) in enumerate(problems))
    any_bad = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not any_bad.any():
        return
    index = any_bad.arg_true()[0]
    describe = next(describe for (_, describe), hit in zip(problems, flags.row(index)) if hit)
    raise MalformedDataError(f"{source}: row {index + first_row}: {describe(frame.row(index, named=True))}")
