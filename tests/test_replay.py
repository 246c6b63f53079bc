"""Seen signatures (bot/services/replay.py) on SQLite and PostgreSQL: the first claim wins,
in whatever process it runs; rows too old to matter go; time is Rollcall's clock."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.errors import Unavailable
from bot.services.replay import KEEP, claim
from bot.settings import Settings
from store.models import SeenSignature
from tests.conftest import HASHER
from tests.fakes import FixedClock

SIG_A, SIG_B = "v0=" + "a" * 64, "v0=" + "b" * 64


def rows(ctx):
    with ctx.uow as uow:
        return uow.session.scalar(select(func.count()).select_from(SeenSignature))


def test_a_signature_is_claimed_once_across_processes(empty_ctx, database_url, clock):
    now = clock.now()
    assert claim(empty_ctx, SIG_A, now) is True
    assert claim(empty_ctx, SIG_A, now) is False
    # another web process: its own engine and clock, the same database
    other = bootstrap(Settings(database_url=database_url), clock=FixedClock(now),
                      hasher=HASHER)
    try:
        assert claim(other, SIG_A, now) is False
        assert claim(other, SIG_B, now) is True
    finally:
        other.uow.engine.dispose()
    assert rows(empty_ctx) == 2


def test_concurrent_claims_of_one_signature_have_one_winner(empty_ctx, clock):
    results, start = [], threading.Barrier(4)

    def attempt():
        start.wait()
        results.append(claim(empty_ctx, SIG_A, clock.now()))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


def test_signatures_out_of_the_window_are_forgotten_by_rollcalls_clock(empty_ctx, clock):
    # the clock is far behind the wall clock: the database's now() would forget at once
    signed = clock.now()
    assert claim(empty_ctx, SIG_A, signed) is True
    clock.advance(seconds=KEEP.total_seconds())
    assert claim(empty_ctx, SIG_B, clock.now()) is True
    assert rows(empty_ctx) == 2  # exactly KEEP old: kept
    clock.advance(seconds=1)
    assert claim(empty_ctx, "v0=" + "c" * 64, clock.now()) is True
    assert rows(empty_ctx) == 2  # A is gone; a replay of it fails the timestamp check
    assert claim(empty_ctx, SIG_B, clock.now() - timedelta(seconds=1)) is False


def test_an_unreachable_database_is_unavailable(clock):
    down = bootstrap(Settings(database_url="postgresql://x@127.0.0.1:1/none"), clock=clock,
                     hasher=HASHER)
    with pytest.raises(Unavailable):
        claim(down, SIG_A, clock.now())
