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

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from itertools import groupby

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
from billing.model import Change, Level, State, Status
from billing.usage import History, Usage, measure
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


def cycle_usage(
    session: Session, cycle: Cycle, days: Sequence[datetime]
) -> Iterator[tuple[int, str, str, Usage]]:
    """(user id, email, full name, usage) of every user active at some instant of the cycle.

    One GROUP BY gives each user's seat (active at any instant, active at the end) and
    highest level; for the few admins, when that level was held is then read from their
    own states by the reference rules (`billing.usage.measure`), which also word the
    line. `days` are the cycle's local days (`billing.usage.day_starts`). `active_days` is
    left 0 for non-admins: only the prorated policy needs it (see `held_states`).
    """
    held = _held(session, cycle)
    per_user = (
        select(held.c.uid,
               func.max(held.c.is_last * held.c.active).label("active_at_end"),
               func.max(held.c.level).label("level"))
        .group_by(held.c.uid)
        .having(func.max(held.c.active) == 1)
        .subquery("per_user")
    )
    query = select(User.id, User.email, per_user.c.active_at_end, per_user.c.level
                   ).join(per_user, per_user.c.uid == User.id)
    seats = {True: Usage(True, True, 0), False: Usage(True, False, 0)}  # shared: immutable
    admins: dict[int, str] = {}
    result = session.connection().execute(query.execution_options(yield_per=BATCH))
    for uid, email, at_end, level in result:
        if level:
            admins[uid] = email
        else:
            yield uid, email, "", seats[bool(at_end)]
    for uid, name, history in _histories(session, cycle, admins):
        yield uid, admins[uid], name, measure(history, cycle, days)


def _histories(
    session: Session, cycle: Cycle, emails: dict[int, str]
) -> Iterator[tuple[int, str, History]]:
    """(user id, full name, history as the cycle sees it) of the given users, read from
    the checkpoint at the cycle's start when there is one."""
    source = _states(session, cycle.end, cycle.start).subquery("source")
    states: dict[tuple[str, int, int], State] = {}  # a few dozen distinct states
    ids = sorted(emails)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        conn = session.connection()
        names = {uid: f"{first} {last}" for uid, first, last in conn.execute(
            select(User.id, User.first_name, User.last_name).where(User.id.in_(chunk)))}
        rows = conn.execute(select(source).where(source.c.uid.in_(chunk))
                            .order_by(source.c.uid, source.c.at, source.c.seq))
        for uid, group in groupby(rows, key=lambda row: row.uid):
            changes = []
            for r in group:
                key = (r.status, r.level, r.effective)
                if key not in states:
                    states[key] = State(Status(r.status), Level(r.level), Level(r.effective))
                changes.append(Change(_aware(r.at), r.seq, states[key]))
            before = [c for c in changes if c.at < cycle.start]
            yield uid, names[uid], History(emails[uid], names[uid],
                                           before[-1].state if before else None,
                                           [c for c in changes if c.at >= cycle.start])


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type, return-value]


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
