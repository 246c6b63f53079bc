"""What one cycle used, read from the state periods in SQL (store/periods.py).

`billing.usage.measure` is the reference for these rules; this is the same measure done
by the database, so a cycle of 100,000 users never becomes 100,000 Python histories.
Every rule looks only at the stretches a user was active, so a cycle reads the active
periods that overlap it, one range of `ix_state_periods_active`, whatever the
organization's age:

- a user takes a seat if some active period overlaps the cycle (`any-time`, `prorated`),
  or one lasts to the cycle's end (`end-of-cycle`);
- the admin level billed is the highest billable level of those periods, and the line's
  wording ("SUPER, held until Nov 10") comes from when that level was first and last held;
- `prorated` counts each seat's active local days from the same periods: a period over
  the whole cycle is every day (counted in SQL), the others' days are counted in Python.

Tests hold this to the reference line for line on any history (tests/test_usage_sql.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from sqlalchemy import case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from billing.cycles import Cycle
from billing.model import Level
from billing.terms import UserPolicy
from billing.usage import Usage, count_active_days
from store.models import StatePeriod, User
from store.periods import overlapping
from store.types import UTCDateTime

BATCH = 5000  # rows fetched at a time


@dataclass
class CycleUsage:
    """`seats`: the emails taking a seat under the policy; `user_days`: their active local
    days in all (prorated only, else 0); `admins`: `(email, full name, usage)` of every user
    who held an admin level while active."""

    seats: list[str] = field(default_factory=list)
    user_days: int = 0
    admins: list[tuple[str, str, Usage]] = field(default_factory=list)


ADMIN_LEVELS = (Level.VIEW_ONLY, Level.ASSISTANT, Level.SUPER)


def cycle_usage(session: Session, cycle: Cycle, days: Sequence[datetime],
                policy: UserPolicy) -> CycleUsage:
    """The cycle's usage; `days` are its local days (`billing.usage.day_starts`)."""
    p = StatePeriod
    in_cycle = overlapping(session, cycle.start, cycle.end)
    seated = select(p.user_id).where(in_cycle)
    if policy is UserPolicy.END_OF_CYCLE:
        seated = seated.where(p.stop >= _instant(cycle.end))
    conn = session.connection()
    out = CycleUsage(
        seats=list(conn.execute(select(User.email).where(User.id.in_(seated))).scalars()),
        admins=_admins(session, cycle, in_cycle))
    if policy is UserPolicy.PRORATED:
        out.user_days = user_days(session, cycle, days)
    return out


def _admins(session: Session, cycle: Cycle, in_cycle: object) -> list[tuple[str, str, Usage]]:
    """(email, full name, usage) of each user who held an admin level while active.

    One GROUP BY over the cycle's active admin periods gives each admin's highest level
    and, for every level, when it was first and last held; the line's wording needs those
    of the highest (`Usage.level_from`, `level_until`) and the first active instant.
    """
    p, mine = StatePeriod, aliased(StatePeriod)
    start, end = _instant(cycle.start), _instant(cycle.end)
    billable = case((p.level > p.effective, p.level), else_=p.effective)
    per_admin = (
        select(p.user_id, func.max(billable).label("level"),
               func.max(case((p.stop >= end, 1), else_=0)).label("at_end"),
               *(func.min(case((billable == int(lv), p.start))).label(f"from_{int(lv)}")
                 for lv in ADMIN_LEVELS),
               *(func.max(case((billable == int(lv), p.stop))).label(f"until_{int(lv)}")
                 for lv in ADMIN_LEVELS))
        .where(in_cycle, billable > 0)
        .group_by(p.user_id)
        .subquery("per_admin")
    )
    level = per_admin.c.level

    def at_level(name: str) -> object:
        return case(*((level == int(lv), per_admin.c[f"{name}_{int(lv)}"])
                      for lv in ADMIN_LEVELS))

    # the first active instant only matters when the level came mid-cycle (the wording
    # tells an upgrade from an arrival); otherwise the user was active from the start
    first_active = case((at_level("from") > start, select(func.min(mine.start)).where(
        mine.user_id == per_admin.c.user_id, mine.status == "active", mine.stop > start,
        mine.start < end).scalar_subquery()))
    query = select(
        User.email, User.first_name + " " + User.last_name, level, per_admin.c.at_end,
        *(type_coerce(column, UTCDateTime())
          for column in (first_active, at_level("from"), at_level("until"))),
    ).join(per_admin, per_admin.c.user_id == User.id)
    return [
        (email, name, Usage(
            active_any_time=True, active_at_end=bool(at_end), active_days=0,
            active_from=max(first or cycle.start, cycle.start), level=Level(lv),
            level_from=max(level_from, cycle.start),
            level_until=level_until if level_until < cycle.end else None))
        for email, name, lv, at_end, first, level_from, level_until
        in session.connection().execute(query)
    ]


def user_days(session: Session, cycle: Cycle, days: Sequence[datetime]) -> int:
    """Every user's active local days in the cycle, summed (the prorated users line).

    A user's periods never overlap, so one active period spanning the whole cycle is all
    of that user's cycle: those are counted in SQL, each worth every day. Only the users
    whose activity changed during the cycle have their stretches' days counted here.
    """
    p = StatePeriod
    start, end = _instant(cycle.start), _instant(cycle.end)
    in_cycle = overlapping(session, cycle.start, cycle.end)
    conn = session.connection()
    whole = conn.execute(select(func.count()).select_from(p).where(
        in_cycle, p.start <= start, p.stop >= end)).scalar_one()
    partial = (select(p.user_id, p.start, p.stop)
               .where(in_cycle, or_(p.start > start, p.stop < end))
               .order_by(p.user_id, p.start))
    rows = conn.execute(partial.execution_options(yield_per=BATCH))
    return whole * (len(days) - 1) + sum(
        count_active_days(((max(s, cycle.start), min(e, cycle.end)) for _, s, e in group),
                          days)
        for _, group in groupby(rows, key=lambda row: row[0]))


def _instant(value: datetime) -> object:
    return literal(value, UTCDateTime())
