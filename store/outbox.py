"""The outbox's writing side: record a Slack post in the caller's transaction.

Sending is bot/outbox.py. `key` makes a post unique: one summary per cycle, one card per
request, even when two processes try.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import OutboxMessage, OutboxStatus

log = logging.getLogger("rollcall.outbox")


def enqueue(session: Session, *, key: str, channel: str | None, payload: dict[str, Any],
            now: datetime, method: str = "chat.postMessage") -> bool:
    """Record a post in the caller's transaction; False if `key` was recorded before or
    there is no channel to post to (a missing ROLLCALL_*_CHANNEL setting)."""
    if not channel:  # said once at start (bot.outbox.channel_gaps), not per post
        log.debug("not posting %s: no channel is configured", key.split(":")[0])
        return False
    if recorded(session, key):
        return False
    session.add(OutboxMessage(key=key, channel=channel, method=method, payload=payload,
                              status=OutboxStatus.PENDING, attempts=0, created_at=now,
                              next_attempt_at=now))
    session.flush()
    return True


def recorded(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None
