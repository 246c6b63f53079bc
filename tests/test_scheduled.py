"""Changes scheduled for the cycle end: run at the boundary instant (even when the
scheduler is late), applied at once, billed old level before and new level after."""

from datetime import date

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import PermissionDenied
from bot.services import Via
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.services.scheduled import cancel_scheduled, list_scheduled, schedule_change
from handlers import scheduler
from store.models import AuditEvent, OutboxMessage, ScheduledChange

SAM, TAYLOR = "sam@example.com", "taylor@example.com"


@pytest.fixture
def org(ctx, clock):
    ctx.channels = Channels(billing="C0BILLING")
    billing_service.configure_billing(
        ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="10",
        admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30"})
    services.create_user(ctx, actor=SAM, via=Via.CLI, email=TAYLOR, first_name="Taylor",
                         last_name="Reed")
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.SUPER)
    services.login(ctx, via=Via.CLI, email=TAYLOR)
    return ctx


def admins(invoice):
    return invoice.document["admins"]


def test_a_scheduled_downgrade_bills_the_old_level_then_the_new(org, clock):
    clock.set("2025-02-10T09:00:00Z")
    done = schedule_change(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.ASSISTANT)
    assert "becomes ASSISTANT at the cycle end, Mar 1" in done.describe()
    lee = next(a for a in services.list_admins(org) if a.email == TAYLOR)
    assert lee.level is Level.SUPER  # nothing changes before the boundary
    clock.set("2025-03-01T02:30:00Z")  # the scheduler runs two and a half hours late
    ran = scheduler.reconcile(org)
    assert ran.recorded[0].startswith("scheduled:") and ran.closed == [
        "2025-02-01T00:00:00+00:00"]
    taylor = next(a for a in services.list_admins(org) if a.email == TAYLOR)
    assert (taylor.level, taylor.effective_level) == (Level.ASSISTANT, Level.ASSISTANT)
    with org.uow as uow:
        event = uow.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "admin.scheduled"))
        assert event.at.isoformat() == "2025-03-01T00:00:00+00:00" and event.via == "scheduler"
    february = billing_service.invoice_on(org, day=date(2025, 2, 15))
    assert admins(february)[TAYLOR] == "super" and february.final
    clock.set("2025-04-02T00:00:00Z")
    scheduler.reconcile(org)
    assert admins(billing_service.invoice_on(org, day=date(2025, 3, 15)))[TAYLOR] == (
        "assistant")


def test_a_write_before_a_late_scheduler_runs_the_due_change_first(org, clock):
    """Taylor logs in an hour after the boundary, before the (late) scheduler: the login
    must not carry SUPER past the boundary, so March and April bill ASSISTANT."""
    clock.set("2025-02-10T09:00:00Z")
    schedule_change(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.ASSISTANT)
    clock.set("2025-03-01T01:00:00Z")
    services.login(org, via=Via.CLI, email=TAYLOR)
    with org.uow as uow:
        events = uow.session.execute(select(AuditEvent.action, AuditEvent.at).where(
            AuditEvent.subject == TAYLOR).order_by(AuditEvent.id)).all()
    assert [(a, at.isoformat()) for a, at in events[-2:]] == [
        ("admin.scheduled", "2025-03-01T00:00:00+00:00"),
        ("user.login", "2025-03-01T01:00:00+00:00")]
    clock.set("2025-03-01T02:30:00Z")
    assert scheduler.reconcile(org).recorded[:1] != ["scheduled:1"]  # already done
    clock.set("2025-04-02T00:00:00Z")
    scheduler.reconcile(org)
    assert admins(billing_service.invoice_on(org, day=date(2025, 2, 15)))[TAYLOR] == "super"
    assert admins(billing_service.invoice_on(org, day=date(2025, 3, 15)))[TAYLOR] == (
        "assistant")
    assert admins(billing_service.invoice_on(org))[TAYLOR] == "assistant"


def test_a_due_change_that_fails_in_someone_elses_write_is_reported_and_the_write_stands(
        org, clock):
    clock.set("2025-02-10T00:00:00Z")
    schedule_change(org, actor=SAM, via=Via.CLI, email=SAM, level=Level.ASSISTANT)
    services.set_admin(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.VIEW_ONLY)
    clock.set("2025-03-01T00:05:00Z")  # the scheduler has not run; a user is added
    services.create_user(org, actor=SAM, via=Via.CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    assert "lee@example.com" in {u.email for u in services.list_users(org)}
    assert list_scheduled(org, actor=SAM) == []  # not pending any more
    with org.uow as uow:
        change = uow.session.scalar(select(ScheduledChange))
        assert change.status == "failed" and "last active SUPER" in change.outcome
        assert uow.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.key == f"scheduled-failed:{change.id}")) is not None


def test_the_cli_schedules_with_at_cycle_end(org, cli, clock):
    clock.set("2025-02-10T00:00:00Z")
    result = cli("admins", "set", TAYLOR, "view-only", "--at-cycle-end", "--actor", SAM)
    assert result.code == 0 and "becomes VIEW ONLY at the cycle end" in result.out
    assert [c.email for c in list_scheduled(org, actor=SAM)] == [TAYLOR]


def test_a_newer_schedule_replaces_the_older_and_cancel_removes_it(org, clock):
    schedule_change(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.ASSISTANT)
    newer = schedule_change(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.VIEW_ONLY)
    assert [(c.id, c.level) for c in list_scheduled(org, actor=SAM)] == [
        (newer.id, Level.VIEW_ONLY)]
    assert "will not run" in cancel_scheduled(org, actor=SAM, via=Via.CLI, change_id=newer.id)
    assert list_scheduled(org, actor=SAM) == []
    clock.set("2025-03-01T00:00:00Z")
    scheduler.reconcile(org)
    assert next(a for a in services.list_admins(org) if a.email == TAYLOR).level is Level.SUPER


def test_only_a_super_schedules_level_changes(org):
    services.create_user(org, actor=SAM, via=Via.CLI, email="pat@example.com",
                         first_name="Pat", last_name="Lane")
    services.set_admin(org, actor=SAM, via=Via.CLI, email="pat@example.com",
                       level=Level.ASSISTANT)
    services.login(org, via=Via.CLI, email="pat@example.com")
    with pytest.raises(PermissionDenied, match="Only a SUPER"):
        schedule_change(org, actor="pat@example.com", via=Via.CLI, email=TAYLOR,
                        level=Level.VIEW_ONLY)


def test_a_change_that_no_longer_holds_fails_and_is_reported(org, clock):
    clock.set("2025-02-10T00:00:00Z")
    schedule_change(org, actor=SAM, via=Via.CLI, email=SAM, level=Level.ASSISTANT)
    services.set_admin(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.VIEW_ONLY)
    clock.set("2025-03-01T00:00:10Z")
    scheduler.reconcile(org)  # Sam would be left with no SUPER over all projects
    assert next(a for a in services.list_admins(org) if a.email == SAM).level is Level.SUPER
    with org.uow as uow:
        warning = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.key.like("scheduled-failed:%")))
        assert "did not run" in warning.payload["text"] and "last active SUPER" in (
            warning.payload["text"])
