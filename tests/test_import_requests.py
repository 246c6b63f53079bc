"""An ASSISTANT's CSV import under the seat approval policy is a request (DESIGN section
4): the file's text waits in the request; a SUPER allowed to create every row approves,
and the import then runs as the approver, re-checked, once."""

from datetime import date

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import ApprovalRequired, InvalidInput, PermissionDenied
from bot.services import Via
from bot.services import approvals as ap
from bot.services import billing as billing_service
from bot.services.context import Channels
from store.models import ApprovalRequest, AuditEvent, OutboxMessage

SAM, LEE, PAT, KIM = "sam@example.com", "lee@example.com", "pat@example.com", "kim@example.com"
SLACK = Via.SLACK
CSV = (b"email,first_name,last_name,projects\n"
       b"ada@example.com,Ada,Byron,alpha\n"
       b"bob@example.com,Bob,Ross,beta\n"
       b"cy@example.com,Cy,Ng,alpha\n")
SOURCE = "slack:F1:" + "a" * 64


@pytest.fixture
def org(ctx):
    """Sam and Kim: SUPERs over all projects; Lee: a SUPER over alpha only; Pat: an
    ASSISTANT over all projects. Seat approval on; users $10."""
    ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    billing_service.configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1),
                                      user_price="10")
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=Via.CLI, key=key, name=key.title())
    for email, level, scope in ((KIM, Level.SUPER, None), (LEE, Level.SUPER, ["alpha"]),
                                (PAT, Level.ASSISTANT, None)):
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email,
                             first_name=email[:3].title(), last_name="Test",
                             projects=scope or ())
        services.set_admin(ctx, actor=SAM, via=Via.CLI, email=email, level=level,
                           projects=scope)
        services.login(ctx, via=Via.CLI, email=email)
    ap.set_policy(ctx, actor=SAM, via=Via.CLI, seat_approval=True)
    return ctx


def emails(ctx):
    return {u.email for u in services.list_users(ctx)}


def request_row(ctx, request_id):
    with ctx.uow as uow:
        row = uow.session.get(ApprovalRequest, request_id)
        return row.action, row.status, row.approvals_needed, dict(row.change), row.reason


def test_an_assistants_import_needs_approval_and_becomes_a_request(org):
    with pytest.raises(ApprovalRequired):
        services.import_users(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    asked = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    assert asked.message == (f"Request #{asked.id} sent to the approvers: import 3 users from "
                             "a CSV file (3 active). Adds 3 active users: +$30.00 this cycle, "
                             "+$30.00 a cycle after.")
    action, status, needed, change, _ = request_row(org, asked.id)
    assert (action, status, needed) == ("import_users", "pending", 1)
    assert change == {"csv": CSV.decode(), "source": SOURCE, "rows": 3, "active": 3}
    with org.uow as uow:
        channel, card = uow.session.execute(select(
            OutboxMessage.channel, OutboxMessage.payload).where(
            OutboxMessage.key == f"approval:{asked.id}")).one()
        reason = uow.session.scalars(select(AuditEvent.reason).where(
            AuditEvent.action == "approval.request")).one()
    assert channel == "C0APPROVALS" and "asks to import 3 users" in card["text"]
    assert "ada@" not in reason  # the audit names the request, not the file's people
    again = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    assert again.id == asked.id and "already waits" in again.message
    assert not emails(org) & {"ada@example.com", "bob@example.com"}


def test_only_an_assistant_asks_and_only_for_a_clean_file(org):
    with pytest.raises(PermissionDenied, match="Only an ASSISTANT asks"):
        ap.request_import(org, actor=SAM, via=SLACK, data=CSV, source=SOURCE)
    bad = CSV + b"not-an-email,No,Body,alpha\n"
    with pytest.raises(InvalidInput, match="Nothing was requested: row 5"):
        ap.request_import(org, actor=PAT, via=SLACK, data=bad, source=SOURCE)


def test_the_approver_must_be_allowed_to_create_every_row(org):
    asked = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    with pytest.raises(PermissionDenied, match=r"Bob Ross \(beta\) is outside"):
        ap.approve(org, actor=LEE, via=SLACK, request_id=asked.id)  # a SUPER over alpha
    assert ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id) == (
        "Approved. Imported 3 users (3 active).")
    assert {"ada@example.com", "bob@example.com", "cy@example.com"} <= emails(org)
    assert "already approved" in ap.approve(org, actor=KIM, via=SLACK, request_id=asked.id)


def test_above_the_cost_threshold_two_supers_approve_an_import(org):
    ap.set_policy(org, actor=SAM, via=Via.CLI, cost_threshold="25")
    asked = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)  # $30
    assert request_row(org, asked.id)[2] == 2
    assert "1 of 2" in ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id)
    assert "ada@example.com" not in emails(org)
    assert "Imported 3 users" in ap.approve(org, actor=KIM, via=SLACK, request_id=asked.id)


def test_a_row_whose_user_was_added_meanwhile_is_left_alone(org):
    """A row naming an existing user is left alone, as in any import (issue 11)."""
    asked = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    services.create_user(org, actor=SAM, via=Via.CLI, email="ada@example.com",
                         first_name="Ada", last_name="Lovelace", projects=["alpha"])
    done = ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id)
    assert "Imported 2 users" in done and "1 row that differs from its user left alone" in done
    assert {"bob@example.com", "cy@example.com"} <= set(emails(org))
    names = {u.email: u.last_name for u in services.list_users(org)}
    assert names["ada@example.com"] == "Lovelace"


def test_a_file_imported_meanwhile_is_not_imported_twice(org):
    asked = ap.request_import(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    services.import_users(org, actor=SAM, via=SLACK, data=CSV, source=SOURCE)
    failed = ap.approve(org, actor=KIM, via=SLACK, request_id=asked.id)
    assert "already imported" in failed and request_row(org, asked.id)[1] == "failed"
