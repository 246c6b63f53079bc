"""Billing over the store: settings versions, closing cycles once, immutable invoices."""

import contextlib
import threading
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap
from bot.errors import InvalidInput, NotFound, PermissionDenied, RollcallError
from bot.services import Via
from bot.services import billing as billing_service
from bot.settings import Settings
from store.models import Invoice
from tests.conftest import HASHER
from tests.fakes import FixedClock

SAM = "sam@example.com"
CLI = Via.CLI


def configure(ctx, **kw):
    return billing_service.configure_billing(ctx, actor=SAM, via=CLI, **kw)


@pytest.fixture
def priced(ctx, clock):
    """Acme from 2025-02-01: monthly UTC cycles from the 1st, users $10, SUPER $50."""
    configure(ctx, anchor=date(2025, 1, 1), user_price="10",
              admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30"})
    return ctx


def totals(ctx):
    return [(v.document["cycle_start"][:10], v.document["status"], v.document["total"])
            for v in billing_service.invoices(ctx)]


def test_preview_is_the_running_cycles_draft(priced, clock):
    clock.set("2025-02-10T00:00:00Z")
    doc = billing_service.invoice_on(priced).document
    assert (doc["status"], doc["cycle_start"], doc["cycle_end"]) == (
        "draft", "2025-02-01T00:00:00+00:00", "2025-03-01T00:00:00+00:00")
    assert doc["total"] == "60.00" and doc["users"] == [SAM]


def test_a_downtime_of_three_cycles_closes_each_once_in_order(priced, clock):
    clock.set("2025-05-02T00:00:00Z")
    closed = billing_service.close_due_cycles(priced, via=Via.SCHEDULER)
    assert [v.document["cycle_start"][:10] for v in closed] == [
        "2025-02-01", "2025-03-01", "2025-04-01"]
    assert billing_service.close_due_cycles(priced, via=Via.SCHEDULER) == []
    assert [t[1] for t in totals(priced)] == ["final", "final", "final", "draft"]


def test_closing_with_nothing_due_takes_no_lock_and_writes_nothing(priced, clock):
    """The scheduler asks every minute; only a due cycle costs a write."""
    from sqlalchemy import select

    from store.models import Organization

    def write_seq():
        with priced.uow as uow:
            return uow.session.scalar(select(Organization.write_seq))

    clock.set("2025-03-02T00:00:00Z")
    assert len(billing_service.close_due_cycles(priced, via=Via.CLI)) == 1
    seq = write_seq()
    assert billing_service.close_due_cycles(priced, via=Via.CLI) == []
    assert write_seq() == seq


def test_two_closers_at_once_make_one_invoice_per_cycle(priced, clock, database_url):
    clock.set("2025-06-02T00:00:00Z")
    results = []

    def closer():
        side = bootstrap(Settings(database_url=database_url), clock=clock, hasher=HASHER)
        results.append(billing_service.close_due_cycles(side, via=Via.SCHEDULER))
        side.uow.engine.dispose()

    threads = [threading.Thread(target=closer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    closed = sorted(v.document["cycle_start"] for r in results for v in r)
    assert len(closed) == 4 and len(set(closed)) == 4
    with priced.uow as uow:
        assert uow.session.query(Invoice).count() == 4


def test_a_final_invoice_never_changes(priced, clock):
    clock.set("2025-03-01T00:00:00Z")
    billing_service.close_due_cycles(priced, via=CLI)
    before = billing_service.invoice_on(priced, day=date(2025, 2, 15)).document
    services.create_user(priced, actor=SAM, via=CLI, email="late@example.com",
                         first_name="Late", last_name="Comer")
    configure(priced, user_price="99")
    assert billing_service.invoice_on(priced, day=date(2025, 2, 15)).document == before
    with priced.uow as uow, pytest.raises(DBAPIError, match="final invoices never change"):
        uow.session.execute(update(Invoice).values(total="0.00"))
        uow.session.flush()


def test_settings_change_freely_until_the_first_final_invoice(priced, clock):
    clock.set("2025-02-20T00:00:00Z")
    configure(priced, user_price="20")
    assert billing_service.invoice_on(priced).document["total"] == "70.00"


def test_after_the_first_final_invoice_a_change_waits_for_the_cycle_end(priced, clock):
    clock.set("2025-03-05T00:00:00Z")
    billing_service.close_due_cycles(priced, via=CLI)
    message = configure(priced, user_price="20", cycle="fixed-30")
    assert "when the running cycle ends, on Apr 1" in message
    assert billing_service.invoice_on(priced).document["total"] == "60.00"  # March: old terms
    clock.set("2025-04-02T00:00:00Z")
    april = billing_service.invoice_on(priced).document
    # the next cycle starts where March ended and runs to the new rule's next boundary
    assert april["cycle_start"] == "2025-04-01T00:00:00+00:00"
    assert april["total"] == "70.00"
    clock.set("2025-06-01T00:00:00Z")
    billing_service.close_due_cycles(priced, via=CLI)
    starts = [t[0] for t in totals(priced)]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


@pytest.mark.parametrize(("kw", "words"), [
    ({"timezone": "Mars/Olympus"}, "not valid"),
    ({"user_price": "-1"}, "not valid"),
    ({"user_price": "ten"}, "not valid"),
    ({"user_price": "NaN"}, "not valid"),
    ({"currency": "dollars"}, "not valid"),
    ({"cycle": "weekly"}, "not valid"),
    ({"user_policy": "sometimes"}, "not valid"),
    ({}, "Say what to change"),
])
def test_bad_billing_settings_are_refused(priced, kw, words):
    before = billing_service.invoice_on(priced).document
    with pytest.raises(InvalidInput, match=words):
        configure(priced, **kw)
    assert billing_service.invoice_on(priced).document == before


def test_only_a_super_over_all_projects_changes_billing(priced):
    services.add_project(priced, actor=SAM, via=CLI, key="alpha", name="Alpha")
    services.create_user(priced, actor=SAM, via=CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park", projects=["alpha"])
    services.set_admin(priced, actor=SAM, via=CLI, email="lee@example.com", level=Level.SUPER,
                       projects=["alpha"])
    services.login(priced, via=CLI, email="lee@example.com")
    with pytest.raises(PermissionDenied, match="SUPER admin over all projects"):
        billing_service.configure_billing(priced, actor="lee@example.com", via=CLI,
                                          user_price="1")


def test_invoices_outside_rollcalls_lifetime_are_explained(priced, clock):
    clock.set("2025-02-10T00:00:00Z")
    with pytest.raises(NotFound, match="did not exist yet"):
        billing_service.invoice_on(priced, day=date(2024, 12, 15))
    with pytest.raises(NotFound, match="has not started yet"):
        billing_service.invoice_on(priced, day=date(2025, 4, 15))


def test_non_admins_cannot_see_invoices(priced):
    services.create_user(priced, actor=SAM, via=CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    with pytest.raises(PermissionDenied):
        billing_service.invoice_on(priced, actor="lee@example.com")
    assert Decimal(billing_service.invoice_on(priced, actor=SAM).document["total"]) > 0


def test_the_time_zone_moves_cycle_boundaries_to_local_midnight(ctx, clock):
    configure(ctx, timezone="Europe/Paris", anchor=date(2025, 1, 1), user_price="10")
    clock.set("2025-03-31T21:59:59Z")  # still March 31 in Paris (CEST, +02:00)
    march = billing_service.invoice_on(ctx).document
    assert march["cycle_start"] == "2025-03-01T00:00:00+01:00"
    assert march["cycle_end"] == "2025-04-01T00:00:00+02:00"
    clock.set("2025-03-31T22:00:00Z")
    assert billing_service.invoice_on(ctx).document["cycle_start"] == "2025-04-01T00:00:00+02:00"


def test_a_fresh_organization_bills_nothing_until_configured(ctx):
    doc = billing_service.invoice_on(ctx).document
    assert doc["total"] == "0.00" and doc["currency"] == "USD"


def test_two_closers_in_two_processes(priced, clock, database_url):
    """Same as above through independent contexts built from settings (like two clocks)."""
    clock.set("2025-03-02T00:00:00Z")
    a = bootstrap(Settings(database_url=database_url), clock=FixedClock(clock.now()),
                  hasher=HASHER)
    assert len(billing_service.close_due_cycles(a, via=Via.SCHEDULER)) == 1
    assert billing_service.close_due_cycles(priced, via=Via.SCHEDULER) == []
    a.uow.engine.dispose()


ACTIONS = st.lists(st.tuples(
    st.integers(1, 40 * 24),  # hours after the close
    st.sampled_from(["add", "deactivate", "super", "remove", "price", "login"]),
    st.integers(0, 3),
), max_size=8)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_a_finalized_invoice_never_changes_whatever_happens_later(priced, clock, actions):
    """Examples share one database, so time only moves forward: each example closes what
    is due, remembers every final invoice, acts later, closes again and compares."""
    billing_service.close_due_cycles(priced, via=CLI)
    finals = [v.document for v in billing_service.invoices(priced) if v.final]
    start = clock.now()
    for hours, action, n in sorted(actions):
        clock.set(start)
        clock.advance(hours=hours)
        email = f"p{n}@example.com"
        with contextlib.suppress(RollcallError):
            if action == "add":
                services.create_user(priced, actor=SAM, via=CLI, email=email, first_name="P",
                                     last_name=str(n))
            elif action == "deactivate":
                services.deactivate_user(priced, actor=SAM, via=CLI, email=email,
                                         remove_admin=True)
            elif action == "super":
                services.set_admin(priced, actor=SAM, via=CLI, email=email, level=Level.SUPER)
            elif action == "remove":
                services.remove_admin(priced, actor=SAM, via=CLI, email=email)
            elif action == "login":
                services.login(priced, via=CLI, email=email)
            else:
                configure(priced, user_price=str(n * 7))
        billing_service.close_due_cycles(priced, via=CLI)
    clock.advance(hours=1)
    after = [v.document for v in billing_service.invoices(priced) if v.final]
    assert after[:len(finals)] == finals
