"""What every service needs: the unit of work, the clock, the password hasher; plus the
shared steps of a writing service (lock, load the actor, audit, refusals)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import (
    INIT_COMMAND,
    DatabaseSettingError,
    LastSuperViolation,
    NotFound,
    NotInitialised,
    OutdatedSchema,
    RollcallError,
    Unavailable,
)
from bot.rules import Actor
from bot.services.views import UserView, actor_of, snapshot, user_view
from bot.validation import email_key
from store import repository
from store.bulk import insert_events
from store.db import describe, sqlite_path
from store.models import AuditEvent, User
from store.periods import record_states
from store.uow import UnitOfWork


class Via(StrEnum):
    SLACK = "slack"
    CLI = "cli"
    WEBHOOK = "webhook"
    SCHEDULER = "scheduler"


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...


@dataclass(frozen=True)
class Channels:
    """Where automated posts go (ROLLCALL_BILLING_CHANNEL, ROLLCALL_APPROVALS_CHANNEL)."""

    billing: str | None = None
    approvals: str | None = None


@dataclass
class Context:
    uow: UnitOfWork
    clock: Clock
    hasher: Hasher
    channels: Channels = field(default_factory=Channels)


@contextmanager
def writing(ctx: Context) -> Iterator[tuple[Session, datetime]]:
    """A write transaction holding the writers' lock; yields the session and `now`.

    Scheduled changes that are due run first, at their boundary instants, so whatever
    the block records comes after them (`scheduled.apply_due`). Commits when the block
    ends without an exception.
    """
    from bot.services.scheduled import apply_due  # it writes through this module

    with database_errors(ctx), ctx.uow as uow:
        if not uow.lock_for_write():
            raise not_initialised(ctx.uow.engine.url)
        now = ctx.clock.now()
        apply_due(ctx, uow.session, now)
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


def find_user(session: Session, email: str) -> User:
    user = repository.live_user_by_email_key(session, email_key(email.strip()))
    if user is None:
        raise NotFound(f"No user has the email {_clip(email)}; check the spelling or add them.")
    return user


def load_actor(session: Session, email: str | None) -> tuple[User, Actor]:
    if not email:
        raise NotFound("Say who is acting: pass --actor with your admin email.")
    user = repository.live_user_by_email_key(session, email_key(email.strip()))
    if user is None:
        raise NotFound(
            f"{_clip(email)} is not a Rollcall user, so it cannot act; "
            "use the email of an admin."
        )
    return user, actor_of(user_view(user))


def record(
    session: Session,
    *,
    at: datetime,
    via: Via,
    action: str,
    actor: User | None,
    subject: User | None,
    before: UserView | None,
    reason: str | None = None,
) -> None:
    """Append an audit event; a subject's state afterwards is stored for billing, in the
    event and in the subject's state periods (store/periods.py)."""
    record_each(session, [(subject, before)], at=at, via=via, action=action, actor=actor,
                reason=reason)


def record_each(
    session: Session,
    subjects: Sequence[tuple[User | None, UserView | None]],
    *,
    at: datetime,
    via: Via,
    action: str,
    actor: User | None,
    reason: str | None = None,
) -> None:
    """`record` for several subjects `(user, view before)` at once: the events are
    written together and the states go into the periods in one batch (an import)."""
    if any(subject is not None and subject.id is None for subject, _ in subjects):
        session.flush()
    states = []
    for subject, before in subjects:
        after = user_view(subject) if subject is not None else None
        session.add(AuditEvent(
            at=at,
            via=via.value,
            action=action,
            outcome="ok",
            actor_user_id=actor.id if actor else None,
            actor=actor.email if actor else None,
            subject_user_id=subject.id if subject else None,
            subject=subject.email if subject else None,
            reason=reason,
            before=snapshot(before) if before else None,
            after=snapshot(after) if after else None,
            status_after=after.status.value if after else None,
            level_after=int(after.level) if after else None,
            effective_after=int(after.effective_level) if after else None,
        ))
        if subject is not None and after is not None:
            states.append((subject.id, at, (after.status.value, int(after.level),
                                            int(after.effective_level))))
    if states:
        session.flush()  # the periods are folded with these events in the audit
        record_states(session, states)


def record_created(session: Session, created: Sequence[tuple[int, UserView]], *,
                   at: datetime, via: Via, actor: User | None) -> None:
    """`record` of "user.create" for users just inserted in bulk, `(id, view)`: the same
    events and first state periods, written as a few batched INSERTs."""
    events, states = [], []
    for user_id, view in created:
        events.append({
            "at": at, "via": via.value, "action": "user.create", "outcome": "ok",
            "actor_user_id": actor.id if actor else None,
            "actor": actor.email if actor else None, "subject_user_id": user_id,
            "subject": view.email, "reason": None, "before": None, "after": snapshot(view),
            "status_after": view.status.value, "level_after": int(view.level),
            "effective_after": int(view.effective_level)})
        states.append((user_id, at, (view.status.value, int(view.level),
                                     int(view.effective_level))))
    insert_events(session, events)
    record_states(session, states)


def refusing(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a service so every refusal is audited (after the rollback) and re-raised.

    The service must take `ctx`, `via`, and optionally `actor` and `email` keywords.
    """

    def wrap(service: Callable[..., Any]) -> Callable[..., Any]:
        def run(ctx: Context, **kw: Any) -> Any:
            try:
                return service(ctx, **kw)
            except (NotInitialised, Unavailable):
                raise
            except RollcallError as exc:
                _record_refusal(ctx, action, kw, exc)
                raise

        run.__name__ = service.__name__
        run.__doc__ = service.__doc__
        run.__wrapped__ = service  # type: ignore[attr-defined]
        return run

    return wrap


ATTEMPTS = {"user.deactivate": "to deactivate", "user.delete": "to delete",
            "admin.set": "to change the admin role of", "admin.remove": "to remove the admin "
            "role of"}


def _record_refusal(ctx: Context, action: str, kw: dict[str, Any], exc: RollcallError) -> None:
    actor_email, subject_email = kw.get("actor"), kw.get("email")
    try:
        with ctx.uow as uow:
            session, now = uow.session, ctx.clock.now()
            actor = _maybe_user(session, actor_email)
            subject = _maybe_user(session, subject_email)
            event = AuditEvent(
                at=now,
                via=Via(kw["via"]).value,
                action=action,
                outcome="refused",
                actor_user_id=actor.id if actor else None,
                actor=_clip(actor_email, 254) if actor_email else None,
                subject_user_id=subject.id if subject else None,
                subject=_clip(subject_email, 254) if isinstance(subject_email, str) else None,
                reason=str(exc),
            )
            session.add(event)
            session.flush()
            if isinstance(exc, LastSuperViolation):
                from bot import posts
                from store.outbox import enqueue

                who = f"{actor.first_name} {actor.last_name}" if actor else "Someone"
                verb = ATTEMPTS.get(action, action)
                text = (f"{who} tried {verb} {event.subject} via {event.via} at "
                        f"{now:%Y-%m-%d %H:%M} UTC, and Rollcall refused: {exc}")
                enqueue(session, key=f"warning:{event.id}", channel=ctx.channels.billing,
                        payload=posts.warning(text), now=now)
            uow.commit()
    except DBAPIError:
        pass  # not initialised or unreachable: the refusal itself still reaches the actor


def _maybe_user(session: Session, email: object) -> User | None:
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        return None
    return repository.live_user_by_email_key(session, email_key(email.strip()))


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
