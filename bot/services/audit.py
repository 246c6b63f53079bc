"""The audit: every change appended as an event, and the subject's state afterwards
kept for billing (in the event and in the state periods, store/periods.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.context import Via
from bot.services.views import UserView, snapshot, user_view
from store.bulk import insert_events
from store.models import AuditEvent, User
from store.periods import record_states


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
