"""Operator maintenance of derived data: the state periods billing reads (store/periods.py).

The periods are kept in step with the audit in every writing transaction; these exist for
the day someone edits the database by hand. `check_periods` compares the stored periods
with a fresh fold of the audit (the CLI's `db check`, and once a day the scheduler's
integrity check); `rebuild_periods` replaces them by that fold, under the writers' lock,
and records that it did.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot import posts
from bot.errors import InvariantViolation
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.transactions import reading, writing
from store import periods
from store.models import AuditEvent
from store.outbox import enqueue
from store.periods import Progress

CHECKED = "db.check_periods"


def period_differences(session: Session, progress: Progress | None = None) -> str | None:
    """None when the periods match the audit; else a sentence naming the first
    differences and what to do."""
    found = periods.differences(session, limit=6, progress=progress)
    if not found:
        return None
    shown = "; ".join(
        f"{'missing' if side == 'audit' else 'not in the audit'}: user {uid} {status} "
        f"(levels {level}/{effective}) from {start:%Y-%m-%d %H:%M:%S} UTC"
        for side, uid, start, _stop, status, level, effective in found[:5])
    more = " and more" if len(found) > 5 else ""
    return (f"The state periods differ from the audit history ({shown}{more}); bills are "
            "read from them, so run `rollcall db rebuild-periods` to fold them again from "
            "the audit.")


def check_periods(ctx: Context, progress: Progress | None = None) -> str:
    """A sentence when the periods match the audit; InvariantViolation otherwise."""
    with reading(ctx) as session:
        problem = period_differences(session, progress)
    if problem:
        raise InvariantViolation(problem)
    return "The state periods match the audit history."


def daily_check(ctx: Context) -> list[str]:
    """The scheduler's once-a-day check, recorded in the audit (the record says it ran
    today) in the same transaction as the warning it posts when the periods differ.
    Returns the keys of the posts recorded."""
    today = datetime.combine(ctx.clock.now().date(), time(), UTC)
    with reading(ctx) as session:
        if _checked_since(session, today):
            return []
        problem = period_differences(session)  # the slow part: outside the writers' lock
    with writing(ctx) as (session, now):
        if _checked_since(session, today):
            return []  # another scheduler checked meanwhile
        record(session, at=now, via=Via.SCHEDULER, action=CHECKED, actor=None, subject=None,
               before=None, reason=problem or "the state periods match the audit history")
        key = f"integrity-periods:{today.date().isoformat()}"
        if problem and enqueue(session, key=key, channel=ctx.channels.billing,
                               payload=posts.warning(f"Integrity check: {problem}"), now=now):
            return [key]
    return []


def _checked_since(session: Session, since: datetime) -> bool:
    e = AuditEvent
    return bool(session.scalar(select(exists().where(e.at >= since, e.action == CHECKED))))


def rebuild_periods(ctx: Context, *, via: Via, progress: Progress | None = None) -> str:
    with writing(ctx) as (session, now):
        count = periods.rebuild(session, progress=progress)
        record(session, at=now, via=via, action="db.rebuild_periods", actor=None,
               subject=None, before=None, reason=f"{count} periods")
    return f"Folded the audit history again: {count} state periods."
