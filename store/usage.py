"""Billing's fold of history, in SQL: each user's usage of one cycle.

`billing.usage.measure` is the reference for these rules; this is the same fold done by
the database, so a cycle of 100,000 users never becomes 100,000 Python histories:

- each user state is held from its instant until the user's next state (`LEAD`); a
  state replaced at the same instant is never held;
- the states held within `[start, end)` give: active at any instant, active at the end,
  the highest billable level while active, and when that level was first and last held.

The fold starts from a checkpoint when there is one: `cycle_states` keeps every user's
state at each closed cycle's end (written by `write_checkpoint` when the cycle is
finalized), so a cycle reads its own events plus one row per user, not all history.
Without a checkpoint (the first cycle, or before any close) it reads all history.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.model import Level
from billing.usage import Usage
from store.models import AuditEvent, CycleState, User
from store.types import UTCDateTime

BATCH = 5000


def _instant(value: datetime) -> object:
    return literal(value, UTCDateTime())


def has_checkpoint(session: Session, at: datetime) -> bool:
    return bool(session.scalar(select(exists().where(CycleState.at == _instant(at)))))


def _states(session: Session, until: datetime, since: datetime | None) -> Select:
    """State rows (uid, at, seq, status, level, effective) before `until`: the checkpoint
    at `since` (as if recorded just before it) and the events from `since` on, or every
    event when there is no checkpoint to start from."""
    e = AuditEvent
    events = select(
        e.subject_user_id.label("uid"), e.at.label("at"), e.id.label("seq"),
        e.status_after.label("status"), e.level_after.label("level"),
        e.effective_after.label("effective"),
    ).where(e.status_after.is_not(None), e.at < _instant(until))
    if since is None or not has_checkpoint(session, since):
        return events
    c = CycleState
    just_before = type_coerce(_instant(since - timedelta(microseconds=1)), UTCDateTime())
    checkpoint = select(
        c.user_id.label("uid"), just_before.label("at"), literal(0, Integer).label("seq"),
        c.status.label("status"), c.level.label("level"), c.effective.label("effective"),
    ).where(c.at == _instant(since))
    return union_all(checkpoint, events.where(e.at >= _instant(since)))


def _held(session: Session, cycle: Cycle):
    """States held within the cycle: (uid, start, stop, active, level, is_last)."""
    source = _states(session, cycle.end, cycle.start).subquery("source")
    events = select(
        source,
        func.lead(source.c.at).over(partition_by=source.c.uid,
                                    order_by=(source.c.at, source.c.seq)).label("next_at"),
    ).subquery("events")
    active = case((events.c.status == "active", 1), else_=0)
    billable = case((events.c.level > events.c.effective, events.c.level),
                    else_=events.c.effective)
    start = case((events.c.at < _instant(cycle.start), _instant(cycle.start)),
                 else_=events.c.at)
    stop = func.coalesce(events.c.next_at, _instant(cycle.end))
    return (
        select(
            events.c.uid,
            type_coerce(start, UTCDateTime()).label("start"),
            type_coerce(stop, UTCDateTime()).label("stop"),
            active.label("active"),
            (active * billable).label("level"),
            case((events.c.next_at.is_(None), 1), else_=0).label("is_last"),
        )
        .where(
            or_(events.c.next_at.is_(None),
                and_(events.c.next_at > _instant(cycle.start), events.c.next_at > events.c.at))
        )
        .subquery("held")
    )


def cycle_usage(session: Session, cycle: Cycle) -> Iterator[tuple[int, str, str, Usage]]:
    """(user id, email, full name, usage) of every user active at some instant of the cycle.

    `active_days` is left 0: only the prorated policy needs it (see `held_states`). The
    instants of a usage are only read for admins (the line's wording), so they are only
    returned for them.
    """
    held = _held(session, cycle)
    top = select(held, func.max(held.c.level).over(partition_by=held.c.uid).label("top"))
    ranked = top.subquery("ranked")
    admin = ranked.c.top > 0
    at_top = and_(ranked.c.level == ranked.c.top, admin)
    per_user = (
        select(
            ranked.c.uid,
            func.max(ranked.c.is_last * ranked.c.active).label("active_at_end"),
            func.min(case((and_(ranked.c.active == 1, admin), ranked.c.start)))
            .label("active_from"),
            func.max(ranked.c.top).label("level"),
            func.min(case((at_top, ranked.c.start))).label("level_from"),
            func.max(case((at_top, ranked.c.stop))).label("level_until"),
        )
        .group_by(ranked.c.uid)
        .having(func.max(ranked.c.active) == 1)
        .subquery("per_user")
    )
    query = select(
        User.id, User.email, User.first_name, User.last_name,
        type_coerce(per_user.c.active_at_end, Integer),
        type_coerce(per_user.c.level, Integer),
        type_coerce(per_user.c.active_from, UTCDateTime()),
        type_coerce(per_user.c.level_from, UTCDateTime()),
        type_coerce(per_user.c.level_until, UTCDateTime()),
    ).join(per_user, per_user.c.uid == User.id)
    plain = {True: Usage(True, True, 0), False: Usage(True, False, 0)}  # shared: immutable
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        uid, email, first, last, at_end, level, active_from, level_from, level_until = row
        if not level:
            yield uid, email, "", plain[bool(at_end)]
            continue
        yield uid, email, f"{first} {last}", Usage(
            active_any_time=True,
            active_at_end=bool(at_end),
            active_days=0,
            active_from=active_from,
            level=Level(level),
            level_from=level_from,
            level_until=level_until if level_until != cycle.end else None,
        )


def held_states(session: Session, cycle: Cycle) -> Iterator[tuple[int, datetime, datetime, bool]]:
    """(user id, start, stop, active) of every state held in the cycle, by user, in order."""
    held = _held(session, cycle)
    query = select(held.c.uid, held.c.start, held.c.stop, held.c.active).order_by(
        held.c.uid, held.c.start)
    for uid, start, stop, active in session.execute(query.execution_options(yield_per=BATCH)):
        yield uid, start, stop, bool(active)


def write_checkpoint(session: Session, at: datetime, since: datetime | None) -> None:
    """Store every user's state at `at` (folding from the checkpoint at `since` if any)."""
    source = _states(session, at, since).subquery("source")
    ranked = select(
        source,
        func.row_number().over(partition_by=source.c.uid,
                               order_by=(source.c.at.desc(), source.c.seq.desc())).label("rn"),
    ).subquery("ranked")
    last = select(_instant(at), ranked.c.uid, ranked.c.status, ranked.c.level,
                  ranked.c.effective).where(ranked.c.rn == 1)
    session.execute(insert(CycleState).from_select(
        ["at", "user_id", "status", "level", "effective"], last))
