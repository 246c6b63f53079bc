"""The composition root: builds the engine, the unit of work and the services' context
once, from settings. Tests pass their own clock."""

from __future__ import annotations

from bot.clock import Clock, SystemClock
from bot.passwords import RandomSecretHasher
from bot.services.context import Channels, Context, Hasher, database_errors
from bot.settings import Settings, load_settings
from store import db
from store.uow import UnitOfWork


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    hasher: Hasher | None = None,
    create_database: bool = True,
) -> Context:
    """The services' context. `create_database=False` never creates a SQLite file that
    is not there (commands that only use a database; `init`, `db upgrade`, `serve` and
    `clock` create it)."""
    settings = settings or load_settings()
    engine = db.make_engine(settings.database_url, create=create_database)
    return Context(
        uow=UnitOfWork(engine),
        clock=clock or SystemClock(),
        hasher=hasher or RandomSecretHasher(),  # random secrets: SHA-256 (bot/passwords.py)
        channels=Channels(billing=settings.rollcall_billing_channel,
                          approvals=settings.rollcall_approvals_channel),
    )


def upgrade_schema(ctx: Context) -> None:
    """Apply pending Alembic migrations to the context's database. A database that cannot
    be used raises what it means (`database_errors`): a bad setting, unreachable."""
    with database_errors(ctx):
        db.upgrade(ctx.uow.engine)
