"""Refusals: a service decorated with `refusing` has every refusal audited, after its
own transaction rolled back, in one of its own; then the refusal goes on to the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.errors import LastSuperViolation, NotInitialised, RollcallError, Unavailable
from bot.services.actors import clip
from bot.services.context import Context, Via
from bot.services.warning_posts import warn_last_super
from bot.validation import email_key
from store import repository
from store.models import AuditEvent, User


def refusing(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a service so every refusal is audited (after the rollback) and re-raised.

    The service must take `ctx`, `via`, and optionally `actor` and `email` keywords (or
    `user_id`, a user named by id, as the directory does); a refusal about one person of
    a request that named several carries them as `subject`.
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
            "user.update": "to update",
            "admin.set": "to change the admin role of", "admin.remove": "to remove the admin "
            "role of"}


def _record_refusal(ctx: Context, action: str, kw: dict[str, Any], exc: RollcallError) -> None:
    actor_email, subject_email = kw.get("actor"), kw.get("email")
    if not isinstance(subject_email, str):  # not given (the directory's UNSET)
        subject_email = exc.subject
    try:
        with ctx.uow as uow:
            # the writers' lock first: on SQLite a transaction that reads and then
            # writes cannot wait for another writer (SQLITE_BUSY at once), and the
            # refusal would be lost; taken first, the write waits out busy_timeout
            if not uow.lock_for_write():
                return  # not initialised: the refusal itself still reaches the actor
            session, now = uow.session, ctx.clock.now()
            actor = _maybe_user(session, actor_email)
            subject = _maybe_user(session, subject_email)
            if subject is None and subject_email is None:
                subject = _user_by_id(session, kw.get("user_id"))
                subject_email = subject.email if subject else None
            event = AuditEvent(
                at=now,
                via=Via(kw["via"]).value,
                action=action,
                outcome="refused",
                actor_user_id=actor.id if actor else None,
                actor=clip(actor_email, 254) if actor_email else None,
                subject_user_id=subject.id if subject else None,
                subject=clip(subject_email, 254) if isinstance(subject_email, str) else None,
                reason=str(exc),
            )
            session.add(event)
            session.flush()
            if isinstance(exc, LastSuperViolation):
                warn_last_super(ctx, session, event, actor, ATTEMPTS.get(action, action),
                                now, exc)
            uow.commit()
    except DBAPIError:
        pass  # not initialised or unreachable: the refusal itself still reaches the actor


def _maybe_user(session: Session, email: object) -> User | None:
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        return None
    return repository.live_user_by_email_key(session, email_key(email.strip()))


def _user_by_id(session: Session, user_id: object) -> User | None:
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**31:
        return None
    return session.get(User, user_id)
