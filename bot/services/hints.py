"""Cost hints: what a proposed change does to this cycle's bill and the next one's, in
money, with the suggestion to schedule it instead (DESIGN section 2, "Cost hints").

The figures come from `billing.hints.level_change_effect`, the invoice's own rules run
with and without the change, so a hint never disagrees with the invoice it predicts.
A level change is assumed applied (as at the admin's next login): a downgrade that is
never applied keeps billing the higher level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.hints import level_change_effect
from billing.model import Change, Level, State, Status
from billing.money import format_money
from billing.usage import History
from billing.wording import short_date
from bot.services import billing_store as bs
from bot.services.actors import find_user
from bot.services.context import Context
from bot.services.transactions import reading
from store import repository
from store.models import AuditEvent

LATE = 0.75  # an upgrade in the last quarter of a cycle is "late"


@dataclass(frozen=True)
class CostHint:
    this_cycle: Decimal
    next_cycle: Decimal
    currency: str
    message: str
    suggestion: str | None  # "at-cycle-end", "at-next-cycle", or None


def _money(amount: Decimal, currency: str) -> str:
    sign = "+" if amount > 0 else ""
    return sign + format_money(amount, currency)


def level_hint(ctx: Context, *, email: str | None, level: Level,
               at_cycle_end: bool = False) -> CostHint:
    """The effect of making `email` an admin at `level` (NONE: removing the role), now or
    scheduled for the cycle's end.

    `email=None` prices a new active user who is not an admin (a seat), e.g. for imports.
    """
    with reading(ctx) as session:
        return cost_hint(session, ctx.clock.now(), email=email, level=level,
                         at_cycle_end=at_cycle_end)


def cost_hint(session: Session, now: datetime, *, email: str | None, level: Level,
              at_cycle_end: bool = False) -> CostHint:
    """`level_hint` inside the caller's transaction (a request made in the transaction
    that created its user, a change checked before it is made)."""
    billing_calendar = bs.calendar(session, repository.organization(session))
    cycle = billing_calendar.cycle_containing(now)
    terms = billing_calendar.terms_for(cycle)
    if email is None:
        history, name, status = History("new", "A new user", None, ()), "a new user", None
    else:
        user = find_user(session, email)
        history = _history(session, user.id, user.email, cycle)
        name, status = f"{user.first_name} {user.last_name}", Status(user.status)
    new_state = State(status or Status.ACTIVE, level, level)
    when = cycle.end if at_cycle_end else now
    this, following = level_change_effect(cycle, terms, history, new_state, when)
    zone, cur = terms.zone, terms.currency
    last_instant = cycle.end - timedelta(microseconds=1)
    first, last = short_date(cycle.start, zone), short_date(last_instant, zone)
    same_month = first.split()[0] == last.split()[0]
    period = f"{first}-{last.split()[1] if same_month else last}"  # "Nov 1-30", "Nov 24-Dec 23"
    what = (f"Adding {name}" if email is None else
            f"Removing {name}'s admin role" if level is Level.NONE else
            f"Making {name} {level.title}")
    suggestion = None
    if at_cycle_end:
        text = (f"{what} at the cycle end ({short_date(cycle.end, zone)}): this cycle "
                f"{_money(this, cur)}; from the next cycle {_money(following, cur)}.")
    elif this == 0 and following < 0:
        suggestion = "at-cycle-end"
        text = (f"{what} saves nothing this cycle ({period}): the higher level is billed for "
                f"the whole cycle. From the next cycle: {_money(following, cur)}. "
                "Schedule it for the cycle end to keep the abilities until then.")
    elif this > 0:
        late = (now - cycle.start) >= (cycle.end - cycle.start) * LATE
        suggestion = "at-next-cycle" if late else None
        text = (f"{what} bills the whole cycle {period}: {_money(this, cur)}; "
                f"next cycle {_money(following, cur)}.")
        if late:
            text += (f" The cycle ends {short_date(cycle.end, zone)}: scheduling it for the "
                     "next cycle's start avoids paying for this one.")
    else:
        text = (f"{what}: this cycle ({period}) {_money(this, cur)}; "
                f"next cycle {_money(following, cur)}.")
    return CostHint(this, following, cur, text, suggestion)


def _history(session: Session, uid: int, email: str, cycle: Cycle) -> History:
    """One user's history as the running cycle sees it (a handful of rows)."""
    e = AuditEvent
    rows = session.execute(
        select(e.at, e.id, e.status_after, e.level_after, e.effective_after)
        .where(e.subject_user_id == uid, e.status_after.is_not(None), e.at < cycle.end)
        .order_by(e.at, e.id)
    ).all()
    changes = [Change(at, i, State(Status(s), Level(a), Level(f))) for at, i, s, a, f in rows]
    before = [c for c in changes if c.at < cycle.start]
    return History(email, email, before[-1].state if before else None,
                   [c for c in changes if c.at >= cycle.start])
