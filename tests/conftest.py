"""Fixtures: every store-backed test runs on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL too (each run in its own schema, so parallel runs do not collide)."""

from __future__ import annotations

import io
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.bootstrap import bootstrap, upgrade_schema
from bot.passwords import RandomSecretHasher
from bot.services import Context
from bot.settings import Settings
from handlers.cli import main
from tests.fakes import FixedClock

PG_URL = os.environ.get("TEST_DATABASE_URL")
HASHER = RandomSecretHasher()  # the production hasher: fast by design


# A test that needs none of these runs in memory: the unit tier (`make test-unit`).
OUTSIDE_WORLD = {"database_url", "postgres_url", "tmp_path", "tmp_path_factory"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tiers by what a test touches: `unit` (plain values, fakes, no files, no database,
    no server) or `integration` (a database, files, loopback HTTP, subprocesses)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        touches = fixtures & OUTSIDE_WORLD or "slack" in item.path.parts
        item.add_marker(pytest.mark.integration if touches else pytest.mark.unit)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("ROLLCALL_REQUIRE_POSTGRES") and not PG_URL:
        raise pytest.UsageError("ROLLCALL_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")


def _postgres_url() -> Iterator[str]:
    from store.db import normalize_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rollcall.db'}"
    elif not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    else:
        yield from _postgres_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only, for tests of behaviour SQLite cannot show."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    yield from _postgres_url()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2025-02-01T00:00:00Z")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head, once a session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"), hasher=HASHER)
    upgrade_schema(ctx)
    ctx.uow.engine.dispose()
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


@pytest.fixture
def empty_ctx(database_url: str, clock: FixedClock, migrated_sqlite: Path) -> Iterator[Context]:
    """A migrated database with no organization yet. On SQLite a copy of the session's
    migrated template (the migrations run once, not per test); on PostgreSQL each test's
    own schema is migrated."""
    sqlite_file = database_url.removeprefix("sqlite:///") if database_url.startswith(
        "sqlite:///") else None
    if sqlite_file and not Path(sqlite_file).exists():
        _copy_sqlite(migrated_sqlite, Path(sqlite_file))
    ctx = bootstrap(Settings(database_url=database_url), clock=clock, hasher=HASHER)
    if sqlite_file is None:
        upgrade_schema(ctx)
    yield ctx
    ctx.uow.engine.dispose()


@pytest.fixture
def ctx(empty_ctx: Context) -> Context:
    """An initialised organization whose first SUPER is sam@example.com."""
    from bot.services import init_organization

    init_organization(empty_ctx, org_name="Acme", admin_email="sam@example.com",
                      admin_first_name="Sam", admin_last_name="Stone")
    return empty_ctx


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(empty_ctx: Context) -> Callable[..., Result]:
    """Run `rollcall ARGS...` in-process against the test database and clock."""

    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        try:
            code = main(list(argv), context=empty_ctx, stdout=out, stderr=err)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return Result(code, out.getvalue(), err.getvalue())

    return run
