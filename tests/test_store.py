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
