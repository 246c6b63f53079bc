"""What one cycle used, read from the state periods in SQL (store/periods.py).

`billing.usage.measure` is the reference for these rules; this is the same measure done
by the database, so a cycle of 100,000 users never becomes 100,000 Python histories.
Every rule looks only at the stretches a user was active, so a cycle reads the active
periods that overlap it, one range of `ix_state_periods_active`, whatever the
organization's age:

- a user takes a seat if some active period overlaps the cycle (`any-time`, `prorated`),
  or one lasts to the cycle's end (`end-of-cycle`);
- the admin level billed is the highest billable level of those periods; for the few
  admins, their periods are then read again by user and measured by the reference rules,
  which also word the line ("SUPER until Nov 10");
- `prorated` counts each seat's active local days from the same periods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.model import Change, Level, State, Status
from billing.terms import UserPolicy
from billing.usage import History, Usage, count_active_days, measure
from store.models import StatePeriod, User
from store.periods import overlapping
from store.types import UTCDateTime

CHUNK = 500  # admins read per query
BATCH = 5000  # rows fetched at a time


@dataclass
class CycleUsage:
    """`seats`: the emails taking a seat under the policy; `user_days`: their active local
    days in all (prorated only, else 0); `admins`: `(email, full name, usage)` of every user
    who held an admin level while active."""

    seats: list[str] = field(default_factory=list)
    user_days: int = 0
    admins: list[tuple[str, str, Usage]] = field(default_factory=list)


def _billable() -> object:
    p = StatePeriod
    return case((p.level > p.effective, p.level), else_=p.effective)


def cycle_usage(session: Session, cycle: Cycle, days: Sequence[datetime],
                policy: UserPolicy) -> CycleUsage:
    """The cycle's usage; `days` are its local days (`billing.usage.day_starts`)."""
    p = StatePeriod
    per_user = (
        select(p.user_id,
               func.max(_billable()).label("level"),
               func.max(case((p.stop >= _instant(cycle.end), 1), else_=0)).label("at_end"))
        .where(overlapping(cycle.start, cycle.end))
        .group_by(p.user_id)
        .subquery("per_user")
    )
    query = select(User.email, per_user.c.at_end, per_user.c.level, User.id).join(
        per_user, per_user.c.user_id == User.id)
    at_end_only = policy is UserPolicy.END_OF_CYCLE
    out = CycleUsage()
    admins: dict[int, str] = {}
    conn = session.connection()
    for email, at_end, level, uid in conn.execute(query.execution_options(yield_per=BATCH)):
        if at_end or not at_end_only:
            out.seats.append(email)
        if level:
            admins[uid] = email
    if policy is UserPolicy.PRORATED:
        out.user_days = sum(active_days(session, cycle, days).values())
    out.admins = [(admins[uid], name, measure(history, cycle, days))
                  for uid, name, history in _histories(session, cycle, admins)]
    return out


def _histories(session: Session, cycle: Cycle,
               emails: dict[int, str]) -> Iterator[tuple[int, str, History]]:
    """(user id, full name, history as the cycle sees it) of the given users."""
    p = StatePeriod
    states: dict[tuple[str, int, int], State] = {}  # a few dozen distinct states
    ids = sorted(emails)
    conn = session.connection()
    for chunk in (ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)):
        names = {uid: f"{first} {last}" for uid, first, last in conn.execute(
            select(User.id, User.first_name, User.last_name).where(User.id.in_(chunk)))}
        rows = conn.execute(
            select(p.user_id, p.start, p.status, p.level, p.effective)
            .where(p.user_id.in_(chunk), p.stop > _instant(cycle.start),
                   p.start < _instant(cycle.end))
            .order_by(p.user_id, p.start))
        for uid, group in groupby(rows, key=lambda row: row.user_id):
            before, changes = None, []
            for r in group:
                key = (r.status, r.level, r.effective)
                if key not in states:
                    states[key] = State(Status(r.status), Level(r.level), Level(r.effective))
                if r.start < cycle.start:
                    before = states[key]
                else:
                    changes.append(Change(r.start, 0, states[key]))
            yield uid, names[uid], History(emails[uid], names[uid], before, changes)


def active_days(session: Session, cycle: Cycle, days: Sequence[datetime]) -> dict[int, int]:
    """Each user's active local days in the cycle, counted over their active periods."""
    p = StatePeriod
    query = (select(p.user_id, p.start, p.stop).where(overlapping(cycle.start, cycle.end))
             .order_by(p.user_id, p.start))
    rows = session.connection().execute(query.execution_options(yield_per=BATCH))
    return {
        uid: count_active_days(((max(s, cycle.start), min(e, cycle.end)) for _, s, e in group),
                               days)
        for uid, group in groupby(rows, key=lambda row: row[0])
    }


def _instant(value: datetime) -> object:
    return literal(value, UTCDateTime())
