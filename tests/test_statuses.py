"""Request, scheduled-change and outbox statuses are StrEnums: their values are exactly
what the database's CHECK constraints accept, and a row read back (a plain string)
compares equal to the member that was written."""

import re
from datetime import date

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from billing.model import Level
from bot import services
from bot.services import Via
from bot.services import approvals as ap
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.services.scheduled import cancel_scheduled, schedule_change
from store.models import (
    ApprovalRequest,
    ApprovalStatus,
    Base,
    OutboxMessage,
    OutboxStatus,
    ScheduledChange,
    ScheduledStatus,
    User,
)

SAM, PAT, KIM, TAYLOR = ("sam@example.com", "pat@example.com", "kim@example.com",
                         "taylor@example.com")

ENUMS = [(ApprovalRequest, ApprovalStatus), (ScheduledChange, ScheduledStatus),
         (OutboxMessage, OutboxStatus)]


def accepted(sqltext: str) -> set[str]:
    """The quoted values of `status IN (...)`, as SQLite or PostgreSQL spells it."""
    assert "status" in sqltext
    return set(re.findall(r"'([^']*)'", sqltext))


def status_check(checks: list[tuple[str | None, str]], table: str) -> str:
    [sqltext] = [text for name, text in checks if name == f"ck_{table}_status"]
    return sqltext


@pytest.mark.parametrize(("model", "enum"), ENUMS)
def test_each_enum_is_exactly_what_the_models_check_accepts(model, enum):
    table = Base.metadata.tables[model.__tablename__]
    checks = [(c.name, str(c.sqltext)) for c in table.constraints if hasattr(c, "sqltext")]
    assert accepted(status_check(checks, table.name)) == {s.value for s in enum}


@pytest.mark.parametrize(("model", "enum"), ENUMS)
def test_each_enum_is_exactly_what_the_migrated_database_accepts(ctx, model, enum):
    table = model.__tablename__
    found = inspect(ctx.uow.engine).get_check_constraints(table)
    checks = [(c["name"], c["sqltext"]) for c in found]
    assert accepted(status_check(checks, table)) == {s.value for s in enum}


def test_the_members_are_their_stored_strings():
    assert ApprovalStatus.APPROVED == "approved" and f"{ApprovalStatus.EXPIRED}" == "expired"
    assert str(ScheduledStatus.CANCELLED) == "cancelled"
    assert [s.value for s in OutboxStatus] == ["pending", "sending", "sent", "failed"]


@pytest.fixture
def org(ctx, clock):
    """Sam is the first SUPER; Pat an ASSISTANT, Taylor a SUPER, Kim a plain user."""
    ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    billing_service.configure_billing(
        ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="10",
        admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30", Level.VIEW_ONLY: "10"})
    for email, level in ((PAT, Level.ASSISTANT), (TAYLOR, Level.SUPER), (KIM, None)):
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email, first_name=email[:3],
                             last_name="Test")
        if level:
            services.set_admin(ctx, actor=SAM, via=Via.CLI, email=email, level=level)
            services.login(ctx, via=Via.CLI, email=email)
    clock.advance(days=2)
    return ctx


def loaded(ctx, column):
    with ctx.uow as uow:
        return uow.session.scalar(select(column).order_by(column.table.c.id.desc()).limit(1))


def test_an_approval_requests_loaded_status_equals_the_member(org):
    request = ap.request_admin_change(org, actor=PAT, via=Via.SLACK, email=KIM,
                                      level=Level.VIEW_ONLY)
    status = loaded(org, ApprovalRequest.status)
    assert type(status) is str and status == ApprovalStatus.PENDING
    ap.approve(org, actor=SAM, via=Via.SLACK, request_id=request.id)
    assert loaded(org, ApprovalRequest.status) == ApprovalStatus.APPROVED
    assert loaded(org, OutboxMessage.status) == OutboxStatus.PENDING  # the card update, unsent


def test_a_scheduled_changes_loaded_status_equals_the_member(org):
    change = schedule_change(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.ASSISTANT)
    status = loaded(org, ScheduledChange.status)
    assert type(status) is str and status == ScheduledStatus.PENDING
    cancel_scheduled(org, actor=SAM, via=Via.CLI, change_id=change.id)
    with org.uow as uow:
        row = uow.session.get(ScheduledChange, change.id)
        assert row.status == ScheduledStatus.CANCELLED
        assert row.status in {ScheduledStatus.CANCELLED}  # hashes as its string too


@pytest.mark.parametrize(("model", "enum"), ENUMS)
def test_the_database_takes_every_member_and_refuses_anything_else(ctx, model, enum):
    with ctx.uow as uow:
        for status in enum:
            uow.session.add(model(**_minimal(ctx, uow.session, model, status)))
        uow.session.flush()
        stored = uow.session.scalars(select(model.status)).all()
        assert sorted(stored) == sorted(enum) and all(type(s) is str for s in stored)
        uow.session.add(model(**_minimal(ctx, uow.session, model, "frozen")))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def _minimal(ctx, session, model, status):
    """The fewest columns a row needs, with `status`."""
    now = ctx.clock.now()
    sam = session.scalar(select(User.id))
    if model is ApprovalRequest:
        return dict(action="set_admin", change={}, requested_by=sam, requested_at=now,
                    expires_at=now, status=status)
    if model is ScheduledChange:
        return dict(user_id=sam, action="deactivate", run_at=now, requested_by=sam,
                    created_at=now, status=status)
    return dict(key=f"test:{status}", channel="C0", method="chat.postMessage", payload={},
                status=status, created_at=now, next_attempt_at=now)
