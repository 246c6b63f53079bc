"""The SQL fold of history (store/usage.py) agrees with the reference rules of
billing.usage.measure on any history: same invoice, line for line, for every policy."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from billing.cycles import Cycle
from billing.invoice import compute_invoice
from billing.model import Change, Level, State, Status
from billing.terms import Terms, UserPolicy
from billing.usage import History
from bot.services import billing_store
from store import usage
from store.models import AuditEvent, CycleState, User

CYCLE = Cycle(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
BASE = datetime(2025, 2, 20, tzinfo=UTC)
# instants before, at and around the cycle's edges, with many collisions on purpose
OFFSETS = st.sampled_from([0, 3, 9, 9, 9, 20, 25, 40, 40, 45]).map(lambda d: timedelta(days=d))
STATES = st.builds(State, st.sampled_from(list(Status)), st.sampled_from(list(Level)),
                   st.sampled_from(list(Level)))
USER = st.lists(st.tuples(OFFSETS, STATES), min_size=1, max_size=6)
PRICES = {Level.SUPER: Decimal(50), Level.ASSISTANT: Decimal(30), Level.VIEW_ONLY: Decimal(10)}


def _histories(users):
    for n, events in enumerate(users):
        ordered = sorted(enumerate(events), key=lambda e: (e[1][0], e[0]))
        changes = [Change(BASE + off, seq, state) for seq, (off, state) in ordered]
        before = [c for c in changes if c.at < CYCLE.start]
        yield History(f"u{n}@example.com", f"U {n}", before[-1].state if before else None,
                      [c for c in changes if c.at >= CYCLE.start])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=st.lists(USER, min_size=1, max_size=5),
       policy=st.sampled_from(list(UserPolicy)), checkpoint=st.booleans())
def test_sql_and_reference_agree(ctx, users, policy, checkpoint):
    """With `checkpoint`, the fold starts from the states stored at the cycle's start (as
    after closing the cycle before), otherwise from all history."""
    terms = Terms("USD", user_price=Decimal(10), admin_prices=PRICES, user_policy=policy)
    with ctx.uow as uow:
        s = uow.session
        s.execute(delete(CycleState))
        s.execute(delete(AuditEvent).where(AuditEvent.subject_user_id > 1))
        s.execute(delete(User).where(User.id > 1))
        for n, events in enumerate(users):
            uid = 1000 + n
            s.execute(insert(User).values(id=uid, first_name="U", last_name=str(n),
                                          email=f"u{n}@example.com", email_key=f"u{n}",
                                          status="deleted", password_hash="x", created_at=BASE))
            s.execute(insert(AuditEvent), [
                {"at": BASE + off, "via": "cli", "action": "test", "outcome": "ok",
                 "subject_user_id": uid, "status_after": st_.status.value,
                 "level_after": int(st_.assigned), "effective_after": int(st_.effective)}
                for off, st_ in events])
        s.execute(delete(AuditEvent).where(AuditEvent.subject_user_id == 1))  # sam: no noise
        s.execute(delete(CycleState))
        if checkpoint:
            usage.write_checkpoint(s, CYCLE.start, since=None)
        uow.commit()
        assert usage.has_checkpoint(s, CYCLE.start) == (checkpoint and bool(s.scalar(
            select(func.count()).select_from(CycleState))))
        sql = billing_store.compute(uow.session, CYCLE, terms)
    reference = compute_invoice(CYCLE, terms, _histories(users))
    assert sql.lines == reference.lines
    assert (sql.users, sql.admins, sql.total) == (reference.users, reference.admins,
                                                  reference.total)
