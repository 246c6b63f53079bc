"""Transactions: `writing` (the writers' lock, the before-write hook, commit) and
`reading`; and what a database error means for a person (`database_problem`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from types import TracebackType

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.errors import (
    INIT_COMMAND,
    DatabaseSettingError,
    NotInitialised,
    OutdatedSchema,
    RollcallError,
    Unavailable,
)
from bot.services.context import Context
from store import repository
from store.db import describe, sqlite_path


class writing(AbstractContextManager[tuple[Session, datetime]]):
    """A write transaction holding the writers' lock; `with writing(ctx) as (session,
    now)`. Commits when the block ends without an exception.

    The context's `before_write` hook runs first, at `now` (bootstrap gives it the due
    scheduled changes, at their boundary instants), so whatever the block records comes
    after them. What the hook ran is `ran`, once the block has begun."""

    def __init__(self, ctx: Context) -> None:
        self.ran: list[str] = []
        self._cm = _transaction(ctx, self.ran)

    def __enter__(self) -> tuple[Session, datetime]:
        return self._cm.__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        return self._cm.__exit__(kind, exc, tb)


@contextmanager
def _transaction(ctx: Context, ran: list[str]) -> Iterator[tuple[Session, datetime]]:
    with database_errors(ctx), ctx.uow as uow:
        if not uow.lock_for_write():
            raise not_initialised(ctx.uow.engine.url)
        now = ctx.clock.now()
        if ctx.before_write is not None:
            ran.extend(ctx.before_write(ctx, uow.session, now))
        yield uow.session, now
        uow.commit()


@contextmanager
def reading(ctx: Context) -> Iterator[Session]:
    with database_errors(ctx), ctx.uow as uow:
        if repository.organization(uow.session) is None:
            raise not_initialised(ctx.uow.engine.url)
        yield uow.session


@contextmanager
def database_errors(ctx: Context) -> Iterator[None]:
    """Turn a database error into what it means for a person (`database_problem`); an
    error that means none of those (a bug) goes on as it is."""
    try:
        yield
    except DBAPIError as exc:
        problem = database_problem(exc, ctx.uow.engine.url)
        if problem is None:
            raise
        raise problem from exc


_TABLE = re.compile(r'no such table: (\S+)|relation "([^"]+)" does not exist')
_MISSING_DATABASE = re.compile(r'database "([^"]*)" does not exist')
_MISSING_ROLE = re.compile(r'role "([^"]*)" does not exist')
# PostgreSQL's SQLSTATE classes; a failed connection carries none (libpq's message only)
_UNDEFINED_TABLE, _NO_DATABASE, _NO_PRIVILEGE = "42P01", "3D000", "42501"
_AUTH = ("28000", "28P01")


def database_problem(exc: DBAPIError, url: URL) -> RollcallError | None:
    """What a database error means, judged at the root for every caller (services, the
    command line, `serve`):

    - NotInitialised: no Rollcall schema or organization (SQLite "no such table:
      organization", PostgreSQL undefined_table 42P01), or no SQLite file at all;
    - OutdatedSchema: Rollcall's tables are there but one this version needs is not;
    - DatabaseSettingError: DATABASE_URL must change (a folder, database or role that
      does not exist, a refused password, a file that is not a database, no rights);
    - Unavailable: trying again can help (connection refused or timed out, a locked
      file, a dropped connection);
    - None: anything else, a bug, which stays as it is.

    Every `detail` names the database without its password (`store.db.describe`)."""
    orig = exc.orig
    message = str(orig).strip()
    first = message.splitlines()[0] if message else type(orig).__name__
    code = getattr(orig, "sqlstate", None)
    table = _TABLE.search(message)
    if code == _UNDEFINED_TABLE or (table and url.get_backend_name() == "sqlite"):
        name = next((group for group in table.groups() if group), "") if table else ""
        if name.rsplit(".", 1)[-1] in ("", "organization"):
            return not_initialised(url)
        return OutdatedSchema(
            f"{describe(url).capitalize()} was set up by an older Rollcall (it has no table "
            f"{name}): run `rollcall db upgrade`; nothing was changed.")
    if url.get_backend_name() == "sqlite":
        return _sqlite_problem(exc, url, first)
    return _postgresql_problem(exc, url, first, code)


def _sqlite_problem(exc: DBAPIError, url: URL, first: str) -> RollcallError | None:
    path = sqlite_path(url)
    where = str(path) if path is not None else url.render_as_string(hide_password=True)
    if "unable to open database file" in first and path is not None:
        if not path.parent.is_dir():
            return DatabaseSettingError(
                f"Setting DATABASE_URL names the SQLite file {path}, but the folder "
                f"{path.parent} does not exist: create the folder, or point DATABASE_URL "
                "at a file in an existing one (sqlite:///rollcall.db is read from the "
                "current folder).")
        if path.is_dir():
            return DatabaseSettingError(
                f"Setting DATABASE_URL names {path}, which is a folder, not a SQLite file: "
                f"name a file in it, e.g. sqlite:///{path / 'rollcall.db'}.")
        if not path.exists():
            return not_initialised(url, missing=True)
        return DatabaseSettingError(
            f"Setting DATABASE_URL names the SQLite file {path}, which SQLite cannot open "
            "(unable to open database file): check that this user may read and write it "
            "and its folder.")
    if "file is not a database" in first or "file is encrypted" in first:
        return DatabaseSettingError(
            f"Setting DATABASE_URL names {where}, which is not a SQLite database (file is "
            "not a database): point DATABASE_URL at Rollcall's database file, or move this "
            "file away and run `rollcall init`.")
    if "readonly database" in first:
        return DatabaseSettingError(
            f"Setting DATABASE_URL names the SQLite file {where}, which this user may not "
            "write (attempt to write a readonly database): make the file and its folder "
            "writable, or point DATABASE_URL elsewhere.")
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return Unavailable(f"The database is unreachable right now ({where}: {first}); "
                           "nothing was changed. Try again.")
    return None


def _postgresql_problem(exc: DBAPIError, url: URL, first: str,
                        code: str | None) -> RollcallError | None:
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    shown = describe(url).removeprefix("the PostgreSQL database ")
    fix = f"(DATABASE_URL is {shown})"
    database, role = _MISSING_DATABASE.search(first), _MISSING_ROLE.search(first)
    if code == _NO_DATABASE or database:
        name = database.group(1) if database else url.database
        return DatabaseSettingError(
            f"Setting DATABASE_URL names the PostgreSQL database {name!r} on {server}, "
            f"which does not exist: create it (createdb {name}) or correct the database "
            f"name {fix}.")
    if role:
        return DatabaseSettingError(
            f"Setting DATABASE_URL names the PostgreSQL user {role.group(1)!r}, which does "
            f"not exist on {server}: put an existing user in DATABASE_URL or create it "
            f"(createuser {role.group(1)}) {fix}.")
    if code in _AUTH or "password authentication failed" in first \
            or "no password supplied" in first:
        return DatabaseSettingError(
            f"Setting DATABASE_URL: PostgreSQL on {server} refused the password of user "
            f"{url.username!r}: correct the user or password in DATABASE_URL {fix}.")
    if "pg_hba.conf" in first:
        return DatabaseSettingError(
            f"Setting DATABASE_URL: PostgreSQL on {server} does not let user "
            f"{url.username!r} connect to {url.database!r} from this machine (pg_hba.conf): "
            f"allow it there, or use a user it allows {fix}.")
    if code == _NO_PRIVILEGE:
        return DatabaseSettingError(
            f"Setting DATABASE_URL: PostgreSQL user {url.username!r} may not use Rollcall's "
            f"tables ({first}): grant it the rights, or use the user that owns them {fix}.")
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        reason = first.rsplit("failed: ", 1)[-1].strip() or first
        return Unavailable(f"The database is unreachable right now ({shown}: {reason}); "
                           "nothing was changed. Try again, and check DATABASE_URL if it "
                           "keeps failing.")
    return None


def not_initialised(url: URL, *, missing: bool = False) -> NotInitialised:
    """NotInitialised, whose `detail` names the database used and how to point at the
    right one (a relative SQLite path is read from the current folder)."""
    path = sqlite_path(url)
    where = (f"there is no SQLite file {path}" if missing
             else f"{describe(url)} holds no Rollcall organization")
    if path is not None:
        elsewhere = ("If Rollcall was set up in another folder, run this there or set "
                     "DATABASE_URL to that file (sqlite:////full/path/rollcall.db; "
                     "sqlite:///rollcall.db is read from the current folder)")
    else:
        elsewhere = "If Rollcall was set up in another database, set DATABASE_URL to it"
    return NotInitialised(f"Rollcall is not initialised: {where}. {elsewhere}; to start "
                          f"afresh, run `{INIT_COMMAND}`.")
