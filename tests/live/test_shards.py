"""Shards of a universe: every instrument followed by exactly one loader, stable when instruments are listed or a
shard is added, and a fleet's connection attempts within the venue's limit however its loaders start."""

from __future__ import annotations

import pytest

from streamforge.errors import ConfigError
from streamforge.live.connection import ConnectPacer
from streamforge.live.shards import Shard, owner

UNIVERSE = [f"binance.spot.S{i:03d}USDT" for i in range(400)]


@pytest.mark.parametrize("text", ["", "2", "4/4", "-1/4", "a/b", "1/0", "2/4/8"])
def test_a_shard_that_is_not_k_of_n_is_refused_naming_the_form(text):
    with pytest.raises(ConfigError, match=r"is not k/n with 0 <= k < n"):
        Shard.parse(text)


def test_every_instrument_has_exactly_one_shard_and_shares_are_even_in_count():
    shares = [Shard(k, 4).select(UNIVERSE) for k in range(4)]
    assert sorted(i for share in shares for i in share) == sorted(UNIVERSE)
    assert all(70 <= len(share) <= 130 for share in shares), [len(s) for s in shares]
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"


def test_listing_instruments_moves_none_of_the_others():
    before = {i: owner(i, 4) for i in UNIVERSE[:300]}
    after = {i: owner(i, 4) for i in UNIVERSE}
    assert all(after[i] == shard for i, shard in before.items())


def test_a_fifth_shard_takes_about_a_fifth_and_moves_nothing_else():
    moved = [i for i in UNIVERSE if owner(i, 5) != owner(i, 4)]
    assert all(owner(i, 5) == 4 for i in moved), "an instrument moved between two of the old shards"
    assert 50 <= len(moved) <= 110, len(moved)


@pytest.mark.parametrize("count", [1, 3, 8])
def test_a_fleet_starting_and_retrying_together_stays_within_the_attempts_per_window(count):
    limit, window = 300, 300.0
    pacers = [ConnectPacer(limit, window, k, count, start=0.0) for k in range(count)]
    attempts = sorted(pacer.take(0.0) for _ in range(400) for pacer in pacers)  # everyone at once, again and again
    assert len(set(attempts)) == len(attempts), "two loaders took the same slot"
    worst = max(sum(1 for t in attempts if start <= t < start + window) for start in attempts)
    assert worst <= limit
    assert attempts[:count] == [k * window / limit for k in range(count)], "the fleet's first attempts are staggered"
