"""Engines and sessions: URL normalisation, SQLite pragmas, Alembic upgrades.

Database errors end up in logs (a listener's `log.exception`), so they must never carry
what the statement carried: engines hide statement parameters, and PostgreSQL errors keep
only their primary message (their DETAIL line repeats the offending key or the whole
failing row, password hash included; code still finds it in `exc.orig.diag`).
"""

from __future__ import annotations

from pathlib import Path

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
        return url
    raise ValueError(f"unsupported database {backend!r} (use sqlite or postgresql)")


def make_engine(raw_url: str) -> Engine:
    """The engine for a database URL; its errors and logs never show statement values."""
    url = normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _tune_sqlite(engine, in_memory=url.database in (None, "", ":memory:"))
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
