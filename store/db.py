"""Engines and sessions: URL normalisation, SQLite pragmas, Alembic upgrades.

Database errors end up in logs (a listener's `log.exception`), so they must never carry
what the statement carried: engines hide statement parameters, and PostgreSQL errors keep
only their primary message (their DETAIL line repeats the offending key or the whole
failing row, password hash included; code still finds it in `exc.orig.diag`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(raw: str) -> URL:
    """Accept `sqlite:///file.db`, `postgresql://` and Heroku-style `postgres://` URLs.

    PostgreSQL always goes through psycopg 3. Raises ValueError on anything else.
    """
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError("not a database URL (use sqlite:///FILE or postgresql://...)") from exc
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if url.host:  # sqlite://rollcall.db: the file name was read as a host name
            meant = "/".join(part for part in (url.host, url.database) if part)
            raise ValueError(
                f"with two slashes {meant.split('/')[0]!r} is read as a host name; use "
                f"sqlite:///{meant} (three slashes) for a file relative to the current "
                f"folder, or four for an absolute path (sqlite:////srv/rollcall/rollcall.db)")
        return url
    raise ValueError(f"unsupported database {backend!r} (use sqlite or postgresql)")


def sqlite_path(url: URL) -> Path | None:
    """The absolute path of a SQLite database file; None for other databases and for an
    in-memory one. A relative path is read from the current folder, as SQLite does."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") in ("true", "1") or url.database.startswith("file:"):
        return None  # a SQLite URI names its file its own way
    return Path(os.path.abspath(url.database))


def describe(url: URL) -> str:
    """The database for a person: a SQLite file's absolute path, or the URL with its
    password masked (never the password itself)."""
    path = sqlite_path(url)
    if path is not None:
        return f"the SQLite file {path}"
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.render_as_string(hide_password=True)}"
    shown = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
    return f"the PostgreSQL database {shown}"


def make_engine(raw_url: str, *, create: bool = True) -> Engine:
    """The engine for a database URL; its errors and logs never show statement values.

    With `create=False` a SQLite file that does not exist is not created (SQLite creates
    one on connect otherwise): connecting fails with "unable to open database file", so
    a command run in the wrong folder says so instead of reading an empty database.
    """
    url = normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _tune_sqlite(engine, in_memory=url.database in (None, "", ":memory:"))
        path = sqlite_path(url)
        if not create and path is not None:
            _open_existing_only(engine, path)
        return engine
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    event.listen(engine, "handle_error", _primary_message_only)
    return engine


def _primary_message_only(context: ExceptionContext) -> None:
    """Cut a PostgreSQL error down to its primary message, in the driver's exception and
    in SQLAlchemy's wrapper (built from it), before anything can log them."""
    error = context.original_exception
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    full = str(error)
    if not primary or full == primary:
        return
    error.args = (primary,)
    wrapper = context.sqlalchemy_exception
    if wrapper is not None and wrapper.args and isinstance(wrapper.args[0], str):
        wrapper.args = (wrapper.args[0].replace(full, primary), *wrapper.args[1:])


def _open_existing_only(engine: Engine, path: Path) -> None:
    """Open the file as a SQLite URI with `mode=rw`: read and write, never create."""
    uri = f"file:{quote(str(path))}?mode=rw"

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, record, cargs, cparams) -> None:  # noqa: ANN001
        cargs[:1] = [uri]
        cparams["uri"] = True


def _tune_sqlite(engine: Engine, *, in_memory: bool) -> None:
    # pysqlite's own transaction handling skips BEGIN before SELECTs; take it over so a
    # transaction really spans the invariant check and the write (SQLAlchemy docs recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on `engine`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
