"""The store on SQLite and PostgreSQL: migrations, constraints, connection settings."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from store.db import make_engine, normalize_url
from store.models import Base, Organization, User


def test_migrations_build_exactly_the_models_schema(empty_ctx):
    with empty_ctx.uow.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_the_database_refuses_a_second_live_user_with_the_same_email(ctx):
    with ctx.uow as uow:
        sam = uow.session.scalar(select(User))
        clone = User(first_name="S", last_name="S", email="SAM@example.com",
                     email_key="sam@example.com", status="active", password_hash="x",
                     created_at=sam.created_at)
        uow.session.add(clone)
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_a_deleted_users_email_is_free_in_the_database(ctx):
    with ctx.uow as uow:
        sam = uow.session.scalar(select(User))
        uow.session.add(User(first_name="Old", last_name="S", email="sam@example.com",
                             email_key="sam@example.com", status="deleted", password_hash="x",
                             created_at=sam.created_at))
        uow.session.flush()


def test_there_is_only_one_organization(ctx):
    with ctx.uow as uow:
        org = uow.session.get(Organization, 1)
        uow.session.add(Organization(id=2, name="B", created_at=org.created_at, write_seq=0))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_statuses_outside_the_four_are_refused_by_the_database(ctx):
    with ctx.uow as uow, pytest.raises(IntegrityError):
        uow.session.execute(update(User).values(status="frozen"))


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


@pytest.mark.parametrize(("raw", "driver"), [
    ("postgres://u@h:5432/db", "postgresql+psycopg"),
    ("postgresql://u@h/db", "postgresql+psycopg"),
    ("sqlite:///rollcall.db", "sqlite"),
])
def test_database_urls_are_normalised(raw, driver):
    assert normalize_url(raw).drivername == driver


@pytest.mark.parametrize("raw", ["mysql://u@h/db", "not a url", ""])
def test_unsupported_database_urls_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_url(raw)


def test_upgrading_folds_the_existing_history_into_periods(database_url):
    """Migration 0005 on a database with history: same-instant replacements, unchanged
    states and an event recorded late all come out as the states really held."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from store.db import upgrade
    from store.models import StatePeriod
    from store.periods import FOREVER, differences

    engine = make_engine(database_url)
    upgrade(engine, "0004")
    t = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in range(5)]
    events = [  # (subject, at, status, assigned, effective) in the order recorded
        (7, t[0], "pending", 0, 0), (7, t[1], "active", 0, 0), (7, t[1], "active", 3, 0),
        (7, t[2], "active", 3, 0), (7, t[4], "active", 3, 3), (7, t[3], "deactivated", 0, 0),
        (8, t[2], "active", 0, 0), (8, t[3], None, None, None),  # a refusal: no state
    ]
    with engine.begin() as conn:
        for uid in (7, 8):
            conn.execute(text(
                "INSERT INTO users (id, first_name, last_name, email, email_key, status, "
                "password_hash, created_at) VALUES (:id, 'A', 'B', :e, :e, 'active', 'x', :at)"
            ), {"id": uid, "e": f"u{uid}@example.com", "at": t[0].replace(tzinfo=None)})
        for uid, at, status, level, effective in events:
            conn.execute(text(
                "INSERT INTO audit_events (at, via, action, outcome, subject_user_id, "
                "status_after, level_after, effective_after) "
                "VALUES (:at, 'cli', 'test', 'ok', :uid, :s, :l, :f)"
            ), {"at": at if engine.dialect.name != "sqlite" else at.replace(tzinfo=None),
                "uid": uid, "s": status, "l": level, "f": effective})
    upgrade(engine, "head")
    with Session(engine) as session:
        p = StatePeriod
        stored = [tuple(r) for r in session.execute(
            select(p.user_id, p.start, p.stop, p.status, p.level, p.effective)
            .order_by(p.user_id, p.start))]
        assert differences(session) == []
    engine.dispose()
    assert stored == [
        (7, t[0], t[1], "pending", 0, 0), (7, t[1], t[3], "active", 3, 0),
        (7, t[3], t[4], "deactivated", 0, 0), (7, t[4], FOREVER, "active", 3, 3),
        (8, t[2], FOREVER, "active", 0, 0),
    ]
