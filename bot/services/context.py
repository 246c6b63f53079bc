"""What every service needs: the unit of work, the clock, the password hasher; plus the
shared steps of a writing service (lock, load the actor, audit, refusals)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import (
    LastSuperViolation,
    NotFound,
    NotInitialised,
    RollcallError,
    Unavailable,
)
from bot.rules import Actor
from bot.services.views import UserView, actor_of, snapshot, user_view
from bot.validation import email_key
from store import repository
from store.bulk import insert_events
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

    with _database_errors(), ctx.uow as uow:
        if not uow.lock_for_write():
            raise NotInitialised()
        now = ctx.clock.now()
        apply_due(ctx, uow.session, now)
        yield uow.session, now
        uow.commit()


@contextmanager
def reading(ctx: Context) -> Iterator[Session]:
    with _database_errors(), ctx.uow as uow:
        if repository.organization(uow.session) is None:
            raise NotInitialised()
        yield uow.session


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if "no such table" in str(exc.orig) or "does not exist" in str(exc.orig):
            raise NotInitialised() from exc
        raise Unavailable() from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable() from exc
        raise


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
