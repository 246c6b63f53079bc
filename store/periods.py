"""History as periods: keeping `state_periods` in step with the audit, and rebuilding it.

Every audit event that records a subject's state is folded in here in the same
transaction (`record_each` in bot/services/context.py calls `record_states`), under the
writers' lock, so the periods are always exactly the fold of the audit that
`billing.usage.held_periods` defines, neighbouring periods of the same state merged:

- a state is held from its event's instant until the user's next different state;
- a later event at the same instant replaces the state (it was never held);
- an event that leaves the state as it was (a login, mostly) adds no period;
- an event recorded late, before some of the user's events (a scheduled change run after
  its boundary), takes effect at its own instant and the later events keep theirs: the
  user's periods are folded again from the audit (`rebuild` for one user).

`rebuild` computes the same periods from `audit_events` alone, in SQL; tests hold the two
to each other, and `differences` compares them on a live database (`rollcall db check`,
and the scheduler's daily integrity check).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from store.models import AuditEvent, StatePeriod, User
from store.types import UTCDateTime

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)  # the `stop` of a state that still holds
CHUNK = 500  # users looked up per query

StateKey = tuple[str, int, int]  # (status, assigned rank, effective rank)


def record_states(session: Session, changes: Sequence[tuple[int, datetime, StateKey]]) -> None:
    """Fold events' states `(user id, at, state)` into the users' periods. Call it once
    the events are in `audit_events` (flushed).

    A user's first state, the common case of an import, is written in one batch; another
    change goes through `record_state`; a user with several changes here is folded again
    from the audit, which already holds them all.
    """
    if len(changes) == 1:
        record_state(session, *changes[0])
        return
    p = StatePeriod
    count = Counter(uid for uid, _, _ in changes)
    users = sorted(count)
    known: set[int] = set()  # users with periods already
    for chunk in (users[i:i + CHUNK] for i in range(0, len(users), CHUNK)):
        known.update(session.scalars(select(p.user_id).where(p.user_id.in_(chunk))))
    first = [(uid, at, state) for uid, at, state in changes
             if count[uid] == 1 and uid not in known]
    if first:
        session.execute(insert(p), [
            {"user_id": uid, "start": at, "stop": FOREVER, "status": status, "level": level,
             "effective": effective} for uid, at, (status, level, effective) in first])
    for uid, at, state in changes:
        if count[uid] == 1 and uid in known:
            record_state(session, uid, at, state)
    for uid in users:
        if count[uid] > 1:
            rebuild(session, user_id=uid)


def record_state(session: Session, user_id: int, at: datetime, state: StateKey) -> None:
    """Fold the state of one event at `at` into the user's periods (see the module's
    rules); the event must be in `audit_events` already. An event recorded late, before
    one of the user's later events, has the user's periods folded again from the audit."""
    e, p = AuditEvent, StatePeriod
    later = exists().where(e.subject_user_id == user_id, e.status_after.is_not(None),
                           e.at > _instant(at))
    current = session.execute(  # one round trip: a later event? the state now?
        select(later.label("late"), p.start, p.status, p.level, p.effective)
        .select_from(User)
        .outerjoin(p, and_(p.user_id == User.id, p.stop == _instant(FOREVER)))
        .where(User.id == user_id)
    ).one()
    if current.late:
        rebuild(session, user_id=user_id)
        return
    if current.start is not None:
        if tuple(current[2:]) == state:
            return  # still the same state: nothing changes
        if current.start == at:  # replaced at its own instant: never held
            session.execute(delete(p).where(p.user_id == user_id, p.start == at))
            previous = session.execute(select(p.start, p.status, p.level, p.effective)
                                       .where(p.user_id == user_id, p.stop == at)).first()
            if previous is not None and tuple(previous[1:]) == state:  # back as it was
                session.execute(update(p).where(p.user_id == user_id,
                                                p.start == previous.start)
                                .values(stop=FOREVER))
                return
        else:
            session.execute(update(p).where(p.user_id == user_id, p.start == current.start)
                            .values(stop=at))
    status, level, effective = state
    session.execute(insert(p).values(user_id=user_id, start=at, stop=FOREVER, status=status,
                                     level=level, effective=effective))


def periods_from_audit(user_id: int | None = None,
                       users: tuple[int, int] | None = None) -> Select:
    """SELECT of every period (of one user, or of the users with ids in `[low, high)`),
    computed from `audit_events` alone: (user_id, start, stop, status, level, effective).
    The fold of `record_state`, by three windows (each partitioned by user, so ranges of
    users fold independently)."""
    e = AuditEvent
    mine: tuple = () if user_id is None else (e.subject_user_id == user_id,)
    if users is not None:
        mine = (e.subject_user_id >= users[0], e.subject_user_id < users[1])
    ranked = select(
        e.subject_user_id.label("uid"), e.at.label("at"), e.status_after.label("status"),
        e.level_after.label("level"), e.effective_after.label("effective"),
        func.row_number().over(partition_by=(e.subject_user_id, e.at),
                               order_by=e.id.desc()).label("rn"),
    ).where(e.status_after.is_not(None), *mine).subquery("ranked")
    instants = select(ranked.c.uid, ranked.c.at, ranked.c.status, ranked.c.level,
                      ranked.c.effective).where(ranked.c.rn == 1).subquery("instants")
    window = {"partition_by": instants.c.uid, "order_by": instants.c.at}
    compared = select(
        instants,
        func.lag(instants.c.status).over(**window).label("p_status"),
        func.lag(instants.c.level).over(**window).label("p_level"),
        func.lag(instants.c.effective).over(**window).label("p_effective"),
    ).subquery("compared")
    changes = select(compared.c.uid, compared.c.at, compared.c.status, compared.c.level,
                     compared.c.effective).where(or_(
                         compared.c.p_status.is_(None),
                         compared.c.p_status != compared.c.status,
                         compared.c.p_level != compared.c.level,
                         compared.c.p_effective != compared.c.effective,
                     )).subquery("changes")
    stop = func.coalesce(
        func.lead(changes.c.at).over(partition_by=changes.c.uid, order_by=changes.c.at),
        literal(FOREVER, UTCDateTime()),
    )
    return select(changes.c.uid.label("user_id"), changes.c.at.label("start"),
                  stop.label("stop"), changes.c.status, changes.c.level, changes.c.effective)


USERS_PER_STEP = 10_000  # a step of the whole-table rebuild and check (their progress)
Progress = Callable[[int, int], None]  # (steps done, steps)


def user_ranges(session: Session) -> list[tuple[int, int]]:
    """`[low, high)` ranges of user ids covering every user, USERS_PER_STEP ids each."""
    top = session.scalar(select(func.max(User.id))) or 0
    return [(low, low + USERS_PER_STEP) for low in range(0, top + 1, USERS_PER_STEP)]


def rebuild(session: Session, user_id: int | None = None,
            progress: Progress | None = None) -> int:
    """Replace every period (of one user) by the fold of the audit; returns how many. The
    whole table goes a range of users at a time, each step told to `progress`."""
    p = StatePeriod
    columns = ["user_id", "start", "stop", "status", "level", "effective"]
    if user_id is not None:
        session.execute(delete(p).where(p.user_id == user_id))
        session.execute(insert(p).from_select(columns, periods_from_audit(user_id)))
        return session.scalar(select(func.count()).select_from(p)
                              .where(p.user_id == user_id)) or 0
    session.execute(delete(p))
    ranges = user_ranges(session)
    for done, users in enumerate(ranges, 1):
        session.execute(insert(p).from_select(columns, periods_from_audit(users=users)))
        if progress is not None:
            progress(done, len(ranges))
    return session.scalar(select(func.count()).select_from(p)) or 0


def differences(session: Session, limit: int = 20,
                progress: Progress | None = None) -> list[tuple]:
    """Periods that the audit's fold and the stored table disagree on (at most `limit`):
    (side, user_id, start, stop, status, level, effective), side `audit` or `stored`.
    Compared a range of users at a time, each step told to `progress`."""
    p = StatePeriod
    out: list[tuple] = []
    ranges = user_ranges(session)
    for done, (low, high) in enumerate(ranges, 1):
        stored = select(p.user_id, p.start, p.stop, p.status, p.level, p.effective).where(
            p.user_id >= low, p.user_id < high)
        folded = periods_from_audit(users=(low, high))
        for side, first, second in (("audit", folded, stored), ("stored", stored, folded)):
            query = first.except_(second).subquery("d")
            rows = session.execute(select(literal(side), query).limit(limit)).all()
            out.extend(tuple(r) for r in rows)
        if progress is not None:
            progress(done, len(ranges))
        if len(out) >= limit:
            break
    return out[:limit]


def overlapping(session: Session, start: datetime, end: datetime) -> object:
    """WHERE clause: active periods held at some instant of `[start, end)`, read as the range
    `stop > start` of `ix_state_periods_active`, so a cycle reads its own rows only."""
    p = StatePeriod
    active = literal_column("'active'")  # inline: SQLite matches a partial index by text
    after_start = p.stop > _instant(start)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps no statistics on ranges and would rather scan every period in
        # user order (no sort for the GROUP BY): say the cycle's range is a narrow one
        after_start = func.likelihood(after_start, literal_column("0.05"))
    return and_(p.status == active, after_start, p.start < _instant(end))


def _instant(value: datetime) -> object:
    return literal(value, UTCDateTime())
