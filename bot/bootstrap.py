"""The composition root: every dependency is built here, once per process, from settings.

- `bootstrap` builds what the services need (`Context`: the unit of work with its
  before-write hook, the clock, the password hasher, the posting channels);
- `wire` adds what the entry points need to talk to Slack (`Runtime`: the one Web API
  client, the background token check, the outbox pump).

Entry points (handlers/) call these and are handed the result; nothing below them builds
a client or an engine of its own. Tests pass their own clock, context or client."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.clock import Clock, SystemClock
from bot.outbox import Pump
from bot.passwords import RandomSecretHasher
from bot.services.context import Channels, Context, Hasher
from bot.services.transactions import database_errors
from bot.settings import Settings, load_settings
from bot.slack_api import TokenCheck, slack_client
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
    from bot.services.scheduled import apply_due  # the hook every write runs first

    settings = settings or load_settings()
    engine = db.make_engine(settings.database_url, create=create_database)
    return Context(
        uow=UnitOfWork(engine),
        clock=clock or SystemClock(),
        hasher=hasher or RandomSecretHasher(),  # random secrets: SHA-256 (bot/passwords.py)
        channels=Channels(billing=settings.rollcall_billing_channel,
                          approvals=settings.rollcall_approvals_channel),
        before_write=apply_due,
    )


@dataclass
class Runtime:
    """What an entry point is handed: the settings, the services' context, and the one
    Slack Web API client with its token check and the pump that sends recorded posts."""

    settings: Settings
    ctx: Context
    client: WebClient
    token: TokenCheck
    pump: Pump


def wire(settings: Settings | None = None, *, context: Context | None = None,
         client: WebClient | None = None, announce_token: bool = True,
         check_token: bool = True) -> Runtime:
    """Build the runtime once per process. Never calls Slack: the token check starts in
    the background (`announce_token=False` leaves its log line to another process;
    `check_token=False` never checks, for a process that answers no request)."""
    settings = settings or load_settings()
    ctx = context or bootstrap(settings)
    client = client or slack_client(settings)
    token = TokenCheck(settings, announce=announce_token)
    return Runtime(settings=settings, ctx=ctx, client=client,
                   token=token.start() if check_token else token, pump=Pump(ctx, client))


def upgrade_schema(ctx: Context) -> None:
    """Apply pending Alembic migrations to the context's database. A database that cannot
    be used raises what it means (`database_errors`): a bad setting, unreachable."""
    with database_errors(ctx):
        db.upgrade(ctx.uow.engine)
