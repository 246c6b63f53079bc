"""History as periods (store/periods.py) and the SQL measure of a cycle (store/usage.py)
agree with the reference rules of billing.usage on any history: the periods are exactly
the states `held_periods` says were held, whatever order the events were recorded in,
and the invoice matches `compute_invoice` line for line, for every policy."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from billing.cycles import Cycle
from billing.invoice import compute_invoice
from billing.model import Change, Level, State, Status
from billing.terms import Terms, UserPolicy
from billing.usage import History, held_periods
from bot.services import billing_store
from store import periods
from store.models import AuditEvent, StatePeriod, User

CYCLE = Cycle(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
BASE = datetime(2025, 2, 20, tzinfo=UTC)
EVER = Cycle(BASE - timedelta(days=1), periods.FOREVER)  # a "cycle" spanning all history
# instants before, at and around the cycle's edges, with many collisions on purpose
OFFSETS = st.sampled_from([0, 3, 9, 9, 9, 20, 25, 40, 40, 45]).map(lambda d: timedelta(days=d))
STATES = st.builds(State, st.sampled_from(list(Status)), st.sampled_from(list(Level)),
                   st.sampled_from(list(Level)))
# one user's events in the order they were recorded: mostly in time order, but a
# scheduled change run late is recorded after events with later instants
USER = st.lists(st.tuples(OFFSETS, STATES), min_size=1, max_size=6).flatmap(
    lambda events: st.sampled_from([events, sorted(events, key=lambda e: e[0])]))
USERS = st.lists(USER, min_size=1, max_size=5)
PRICES = {Level.SUPER: Decimal(50), Level.ASSISTANT: Decimal(30), Level.VIEW_ONLY: Decimal(10)}


def _key(state: State) -> tuple[str, int, int]:
    return state.status.value, int(state.assigned), int(state.effective)


def _record(ctx, users, batch: bool = False) -> None:
    """Replace all history by `users`' (sam's too: no noise), recording each event in the
    audit and in the periods in the given order, as `bot.services.audit.record` does;
    with `batch`, the events first, then their states in one `record_states`, as
    `record_each` does for an import (every other user's first event before the batch,
    so the batch meets both new users and users with periods)."""
    with ctx.uow as uow:
        s = uow.session
        s.execute(delete(AuditEvent))
        s.execute(delete(StatePeriod))
        s.execute(delete(User).where(User.id > 1))
        for n in range(len(users)):
            uid = 1000 + n
            s.execute(insert(User).values(id=uid, first_name="U", last_name=str(n),
                                          email=f"u{n}@example.com", email_key=f"u{n}",
                                          status="deleted", password_hash="x", created_at=BASE))
        changes = []
        for n, events in enumerate(users):
            for i, (off, state) in enumerate(events):
                uid = 1000 + n
                s.execute(insert(AuditEvent).values(
                    at=BASE + off, via="cli", action="test", outcome="ok", subject_user_id=uid,
                    status_after=state.status.value, level_after=int(state.assigned),
                    effective_after=int(state.effective)))
                if batch and not (n % 2 and i == 0):
                    changes.append((uid, BASE + off, _key(state)))
                else:
                    periods.record_states(s, [(uid, BASE + off, _key(state))])
        if changes:
            periods.record_states(s, changes)
        uow.commit()


def _histories(users, cycle: Cycle = CYCLE):
    """The reference view of the same events: ordered by (instant, order recorded)."""
    for n, events in enumerate(users):
        ordered = sorted(enumerate(events), key=lambda e: (e[1][0], e[0]))
        changes = [Change(BASE + off, seq, state) for seq, (off, state) in ordered]
        before = [c for c in changes if c.at < cycle.start]
        yield History(f"u{n}@example.com", f"U {n}", before[-1].state if before else None,
                      [c for c in changes if c.at >= cycle.start])


def _stored(ctx) -> list[tuple]:
    p = StatePeriod
    with ctx.uow as uow:
        return [tuple(r) for r in uow.session.execute(
            select(p.user_id, p.start, p.stop, p.status, p.level, p.effective)
            .order_by(p.user_id, p.start))]


def _expected_periods(users) -> list[tuple]:
    """`held_periods` over all time, neighbours of the same state merged."""
    out = []
    for n, history in enumerate(_histories(users, EVER)):
        merged: list[list] = []
        for period in held_periods(history, EVER):
            if period.state is None:
                continue
            if merged and merged[-1][6] == period.state and merged[-1][2] == period.start:
                merged[-1][2] = period.end
            else:
                merged.append([1000 + n, period.start, period.end, *_key(period.state),
                               period.state])
        out.extend(tuple(m[:6]) for m in merged)
    return out


HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPOTHESIS
@given(users=USERS, batch=st.booleans())
def test_periods_are_the_states_held_whatever_the_recording_order(ctx, users, batch):
    _record(ctx, users, batch)
    assert _stored(ctx) == _expected_periods(users)
    with ctx.uow as uow:
        assert periods.differences(uow.session) == []  # the audit's own fold agrees


@HYPOTHESIS
@given(users=USERS, policy=st.sampled_from(list(UserPolicy)))
def test_sql_and_reference_agree(ctx, users, policy):
    terms = Terms("USD", user_price=Decimal(10), admin_prices=PRICES, user_policy=policy)
    _record(ctx, users)
    with ctx.uow as uow:
        sql = billing_store.compute(uow.session, CYCLE, terms)
    reference = compute_invoice(CYCLE, terms, _histories(users))
    assert sql.lines == reference.lines
    assert (sql.users, sql.admins, sql.total) == (reference.users, reference.admins,
                                                  reference.total)


def test_rebuild_from_the_audit_restores_lost_or_edited_periods(ctx):
    day = timedelta(days=1)
    users = [[(day * 0, State(Status.PENDING)), (day * 9, State(Status.ACTIVE)),
              (day * 9, State(Status.ACTIVE, Level.SUPER)),
              (day * 25, State(Status.ACTIVE, Level.SUPER, Level.SUPER)),
              (day * 20, State(Status.DEACTIVATED))]]  # recorded late: splits a period
    _record(ctx, users)
    good = _stored(ctx)
    assert good == _expected_periods(users)
    with ctx.uow as uow:
        uow.session.execute(update(StatePeriod).where(StatePeriod.user_id == 1000,
                                                      StatePeriod.start == BASE + 9 * day)
                            .values(status="deactivated"))
        uow.session.execute(delete(StatePeriod).where(StatePeriod.start == BASE + 25 * day))
        found = periods.differences(uow.session)
        assert sorted((side, start) for side, _, start, *_ in found) == [
            ("audit", BASE + 9 * day), ("audit", BASE + 25 * day), ("stored", BASE + 9 * day)]
        assert periods.rebuild(uow.session) == len(good)
        assert periods.differences(uow.session) == []
        uow.commit()
    assert _stored(ctx) == good


@pytest.fixture
def sqlite_ctx(tmp_path, clock):
    """SQLite only: the planner hint under test is SQLite's (PostgreSQL plans from its own
    statistics)."""
    from bot.bootstrap import bootstrap, upgrade_schema
    from bot.services import init_organization
    from bot.settings import Settings
    from tests.conftest import HASHER

    ctx = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'plan.db'}"), clock=clock,
                    hasher=HASHER)
    upgrade_schema(ctx)
    init_organization(ctx, org_name="Acme", admin_email="sam@example.com",
                      admin_first_name="Sam", admin_last_name="Stone")
    yield ctx
    ctx.uow.engine.dispose()


def test_a_cycle_reads_its_own_range_of_periods_not_all_of_them(sqlite_ctx):
    """Every query of a cycle's measure reads state periods through the range of
    `ix_state_periods_active` (or one user's key), never a scan of every period: the
    cost of a cycle must not grow with the organization's age."""
    from sqlalchemy import event

    ctx, engine = sqlite_ctx, sqlite_ctx.uow.engine
    _record(ctx, [[(timedelta(days=d), State(Status.ACTIVE, Level(d % 4)))
                   for d in (0, 9, 20)] for _ in range(3)])
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "state_periods" in statement:
            seen.append((statement, parameters))

    terms = Terms("USD", user_price=Decimal(10), admin_prices=PRICES,
                  user_policy=UserPolicy.PRORATED)
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with ctx.uow as uow:
            billing_store.compute(uow.session, CYCLE, terms)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) >= 3  # seats, admins, prorated days
    with engine.connect() as conn:
        for statement, parameters in seen:
            plan = [row[3] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            on_periods = [step for step in plan if "state_periods" in step]
            assert on_periods and not any(step.startswith("SCAN") for step in on_periods), (
                statement, plan)
