"""Billing's fold of history, in SQL: each user's usage of one cycle.

`billing.usage.measure` is the reference for these rules; this is the same fold done by
the database so a cycle of 100,000 users never becomes 100,000 Python histories:

- each user state event is held from its instant until the user's next event
  (`LEAD`); a state replaced at the same instant is never held;
- the states held within `[start, end)` give: active at any instant, active at the end,
  the first active instant, the highest billable level while active, and when that level
  was first and last held.

Prorated bills need active local days, so for them `held_states` streams the held
states and `billing.usage.measure` counts the days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Integer, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.model import Level
from billing.usage import Usage
from store.models import AuditEvent, User
from store.types import UTCDateTime


def _instant(value: datetime) -> object:
    return literal(value, UTCDateTime())


def _held(cycle: Cycle):
    """Rows of states held within the cycle: (uid, start, stop, active, level, is_last)."""
    e = AuditEvent
    events = (
        select(
            e.subject_user_id.label("uid"),
            e.at,
            e.status_after,
            e.level_after,
            e.effective_after,
            func.lead(e.at).over(partition_by=e.subject_user_id, order_by=(e.at, e.id))
            .label("next_at"),
        )
        .where(e.status_after.is_not(None), e.at < _instant(cycle.end))
        .subquery("events")
    )
    active = case((events.c.status_after == "active", 1), else_=0)
    billable = case((events.c.level_after > events.c.effective_after, events.c.level_after),
                    else_=events.c.effective_after)
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

    `active_days` is left 0: only the prorated policy needs it (see `held_states`).
    """
    held = _held(cycle)
    top = select(held, func.max(held.c.level).over(partition_by=held.c.uid).label("top"))
    ranked = top.subquery("ranked")
    at_top = and_(ranked.c.level == ranked.c.top, ranked.c.top > 0)
    per_user = (
        select(
            ranked.c.uid,
            func.max(ranked.c.is_last * ranked.c.active).label("active_at_end"),
            func.min(case((ranked.c.active == 1, ranked.c.start))).label("active_from"),
            func.max(ranked.c.top).label("level"),
            func.min(case((at_top, ranked.c.start))).label("level_from"),
            func.max(case((at_top, ranked.c.stop))).label("level_until"),
        )
        .group_by(ranked.c.uid)
        .having(func.max(ranked.c.active) == 1)
        .subquery("per_user")
    )
    query = select(
        User.id,
        User.email,
        User.first_name,
        User.last_name,
        type_coerce(per_user.c.active_at_end, Integer),
        type_coerce(per_user.c.active_from, UTCDateTime()),
        type_coerce(per_user.c.level, Integer),
        type_coerce(per_user.c.level_from, UTCDateTime()),
        type_coerce(per_user.c.level_until, UTCDateTime()),
    ).join(per_user, per_user.c.uid == User.id)
    for row in session.execute(query.execution_options(yield_per=5000)):
        uid, email, first, last, at_end, active_from, level, level_from, level_until = row
        yield uid, email, f"{first} {last}", Usage(
            active_any_time=True,
            active_at_end=bool(at_end),
            active_days=0,
            active_from=active_from,
            level=Level(level or 0),
            level_from=level_from if level else None,
            level_until=level_until if level and level_until != cycle.end else None,
        )


def held_states(session: Session, cycle: Cycle) -> Iterator[tuple[int, datetime, datetime, bool]]:
    """(user id, start, stop, active) of every state held in the cycle, by user, in order."""
    held = _held(cycle)
    query = select(held.c.uid, held.c.start, held.c.stop, held.c.active).order_by(
        held.c.uid, held.c.start)
    for uid, start, stop, active in session.execute(query.execution_options(yield_per=5000)):
        yield uid, start, stop, bool(active)
