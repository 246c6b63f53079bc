"""Warnings posted to the billing channel: an attempt refused because it would leave the
organization without a SUPER who can act (invariant 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot import posts
from bot.errors import LastSuperViolation
from bot.services.context import Context
from store.models import AuditEvent, User
from store.outbox import enqueue


def warn_last_super(ctx: Context, session: Session, event: AuditEvent, actor: User | None,
                    attempt: str, now: datetime, exc: LastSuperViolation) -> None:
    """Record the warning post for a refused `event` (sent once, by the outbox)."""
    who = f"{actor.first_name} {actor.last_name}" if actor else "Someone"
    text = (f"{who} tried {attempt} {event.subject} via {event.via} at "
            f"{now:%Y-%m-%d %H:%M} UTC, and Rollcall refused: {exc}")
    enqueue(session, key=f"warning:{event.id}", channel=ctx.channels.billing,
            payload=posts.warning(text), now=now)
