"""A short chaos soak (the 10-minute one is `make soak`): every fault at once, and the result is still exact."""

import pytest

from streamforge.live.soak import soak

pytestmark = pytest.mark.slow


def test_chaos_soak_leaves_no_missing_or_duplicated_id_and_every_book_checkpoint_exact(tmp_path):
    report = soak(seconds=35, disconnect_every_s=10, home=tmp_path)
    assert not any(report.missing_ids.values()), report.missing_ids
    assert not any(report.duplicate_ids.values()), report.duplicate_ids
    assert report.checkpoints >= 100 and not report.book_mismatches, report.book_mismatches[:5]
    assert report.dead_letters > 0 and report.unpublished_rows == 0
    assert report.ok
