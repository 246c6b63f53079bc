"""Invariant 1 when two processes race: two SUPERs demote each other at the same moment.

Each side has its own engine, so its own database connection. Each transaction is held
at its COMMIT until the other side has reached its own commit too, or 0.5 s passed (what
happens when the writers' lock makes the other side wait). Without the lock both sides
would check "two SUPERs left" and both demotions would commit.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import Engine, event, select, text

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap, upgrade_schema
from bot.errors import InvariantViolation, PermissionDenied
from bot.services import Context, Via
from bot.settings import Settings
from store.models import AuditEvent
from store.uow import Work
from tests.conftest import HASHER
from tests.fakes import FixedClock

SAM, LEE = "sam@example.com", "lee@example.com"
NOW = "2025-02-10T00:00:00Z"


def hold_commits_until_both_arrive(engine: Engine, barrier: threading.Barrier) -> None:
    @event.listens_for(engine, "commit")
    def _rendezvous(conn) -> None:
        # broken: the other side is waiting for our lock, or has finished
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=0.5)


def two_supers(ctx: Context) -> None:
    services.create_user(ctx, actor=SAM, via=Via.CLI, email=LEE, first_name="Lee",
                         last_name="Park")
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email=LEE, level=Level.SUPER)
    services.login(ctx, via=Via.CLI, email=LEE)


def race(database_url: str, pairs: list[tuple[str, str]]) -> list[object]:
    """Each (actor, target) pair demotes target to ASSISTANT on its own connection."""
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def demote(i: int) -> None:
        actor, target = pairs[i]
        side = bootstrap(Settings(database_url=database_url), clock=FixedClock(NOW),
                         hasher=HASHER)
        hold_commits_until_both_arrive(side.uow.engine, barrier)
        try:
            results[i] = services.set_admin(side, actor=actor, via=Via.CLI, email=target,
                                            level=Level.ASSISTANT)
        except Exception as exc:  # the test inspects what each side got
            results[i] = exc
        finally:
            side.uow.engine.dispose()

    threads = [threading.Thread(target=demote, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def supers(ctx: Context) -> list[str]:
    return [a.email for a in services.list_admins(ctx)
            if a.level is Level.SUPER and a.scope.all]


def test_two_supers_demoting_each_other_leave_exactly_one(ctx, database_url):
    two_supers(ctx)
    results = race(database_url, [(SAM, LEE), (LEE, SAM)])
    done = [r for r in results if isinstance(r, services.Outcome)]
    # the loser is refused: demoted already, it no longer acts as SUPER
    refused = [r for r in results if isinstance(r, PermissionDenied)]
    assert len(done) == 1 and len(refused) == 1, results
    assert len(supers(ctx)) == 1


def test_two_supers_stepping_down_at_once_leave_exactly_one(ctx, database_url):
    two_supers(ctx)
    results = race(database_url, [(SAM, SAM), (LEE, LEE)])
    done = [r for r in results if isinstance(r, services.Outcome)]
    refused = [r for r in results if isinstance(r, InvariantViolation)]
    assert len(done) == 1 and len(refused) == 1, results
    assert len(supers(ctx)) == 1


@pytest.mark.postgres
def test_without_the_writers_lock_the_race_breaks_invariant_1(postgres_url, monkeypatch):
    """The control experiment: proves the race above is real, not lucky timing.

    PostgreSQL only: SQLite refuses the second writer outright (SQLITE_BUSY) instead.
    """
    ctx = bootstrap(Settings(database_url=postgres_url), clock=FixedClock(NOW),
                    hasher=HASHER)
    upgrade_schema(ctx)
    services.init_organization(ctx, org_name="Acme", admin_email=SAM,
                               admin_first_name="Sam", admin_last_name="Stone")
    two_supers(ctx)
    monkeypatch.setattr(Work, "lock_for_write", lambda self: True)
    results = race(postgres_url, [(SAM, SAM), (LEE, LEE)])
    assert all(isinstance(r, services.Outcome) for r in results), results
    assert supers(ctx) == []
    ctx.uow.engine.dispose()


def test_a_refusal_is_audited_even_when_another_writer_commits_meanwhile(database_url):
    """A refusal is recorded in a transaction of its own. Another process's write that
    commits while it is being recorded must not lose it: on SQLite a transaction that has
    read cannot then write after another writer committed (SQLITE_BUSY at once), so the
    recording takes the writers' lock before it reads anything."""
    ctx = bootstrap(Settings(database_url=database_url), clock=FixedClock(NOW), hasher=HASHER)
    upgrade_schema(ctx)
    services.init_organization(ctx, org_name="Acme", admin_email=SAM,
                               admin_first_name="Sam", admin_last_name="Stone")
    other = bootstrap(Settings(database_url=database_url), clock=FixedClock(NOW),
                      hasher=HASHER)
    interleaved: list[str] = []

    @event.listens_for(ctx.uow.engine, "before_cursor_execute")
    def _another_writer_commits(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS") \
                and not interleaved:
            interleaved.append(statement)
            # a second process writes now; with the lock held it waits, gives up
            # after a moment (it is only the disturbance here), and the refusal goes on
            with contextlib.suppress(Exception), other.uow as uow:
                uow.session.execute(text("SELECT 1"))
                uow.session.connection().exec_driver_sql(
                    "PRAGMA busy_timeout = 50" if database_url.startswith("sqlite")
                    else "SET LOCAL lock_timeout = '50ms'")
                uow.lock_for_write()
                uow.commit()

    with pytest.raises(InvariantViolation):
        services.set_admin(ctx, actor=SAM, via=Via.CLI, email=SAM, level=Level.ASSISTANT)
    assert interleaved, "the refusal was not recorded at all"
    with ctx.uow as uow:
        refused = uow.session.execute(select(AuditEvent.actor, AuditEvent.subject).where(
            AuditEvent.outcome == "refused", AuditEvent.action == "admin.set")).all()
    assert [tuple(row) for row in refused] == [(SAM, SAM)]
