"""Approval requests: an ASSISTANT asks, a SUPER decides once, at click time."""

import threading
from datetime import date

import pytest
from sqlalchemy import select, update

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap
from bot.errors import ApprovalRequired, InvalidInput, PermissionDenied
from bot.services import Via
from bot.services import approvals as ap
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.services.users import NewUser
from bot.settings import Settings
from handlers import scheduler
from store.models import ApprovalRequest, AuditEvent, OutboxMessage, User
from tests.conftest import HASHER
from tests.fakes import FixedClock
from tests.helpers import store_state

SAM, LEE, PAT, KIM = "sam@example.com", "lee@example.com", "pat@example.com", "kim@example.com"
SLACK = Via.SLACK


def admin(ctx, email):
    return next((a for a in services.list_admins(ctx) if a.email == email), None)


@pytest.fixture
def org(ctx, clock):
    """Sam and Lee are SUPERs over all projects; Pat is an ASSISTANT (Slack id U0PAT);
    Kim is a plain user. Users $10, SUPER $50, ASSISTANT $30, VIEW ONLY $10."""
    ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    billing_service.configure_billing(
        ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="10",
        admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30", Level.VIEW_ONLY: "10"})
    for email, level in ((LEE, Level.SUPER), (PAT, Level.ASSISTANT), (KIM, None)):
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email, first_name=email[:3],
                             last_name="Test", slack_user_id="U0PAT" if email == PAT else None)
        if level:
            services.set_admin(ctx, actor=SAM, via=Via.CLI, email=email, level=level)
            services.login(ctx, via=Via.CLI, email=email)
    clock.advance(days=2)
    return ctx


def ask(ctx, level=Level.VIEW_ONLY, email=KIM):
    return ap.request_admin_change(ctx, actor=PAT, via=SLACK, email=email, level=level)


def outbox(ctx, prefix):
    with ctx.uow as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.key.like(f"{prefix}%")).order_by(OutboxMessage.id)).all()
        return [(r.key, r.channel, r.method, r.payload) for r in rows]


def test_an_assistants_request_is_posted_and_changes_nothing(org):
    before = store_state(org)
    request = ask(org)
    assert "Request #1 sent to the approvers" in request.message
    assert store_state(org) == before
    [(key, channel, method, card)] = outbox(org, "approval:")
    assert (key, channel, method) == ("approval:1", "C0APPROVALS", "chat.postMessage")
    buttons = card["blocks"][-1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("approval_approve", "1"), ("approval_deny", "1")]
    assert "+$10.00" in card["blocks"][0]["text"]["text"]  # the cost hint


def test_a_super_approves_and_the_change_is_made_once(org):
    request = ask(org)
    text = ap.approve(org, actor=SAM, via=SLACK, request_id=request.id)
    assert "Approved" in text and admin(org, KIM).level is Level.VIEW_ONLY
    again = ap.approve(org, actor=LEE, via=SLACK, request_id=request.id)  # a second click
    assert "already approved" in again
    with org.uow as uow:
        sets = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "admin.set", AuditEvent.subject == KIM)).all()
        assert len(sets) == 1 and sets[0].actor == SAM
    keys = [k for k, *_ in outbox(org, "approval")]
    assert "approval:1:approved" in keys and "approval-dm:1:approved" in keys
    dm = next(r for r in outbox(org, "approval-dm:"))
    assert dm[1] == "U0PAT" and "approved by Sam Stone" in dm[3]["text"]


def test_deny_needs_a_reason_and_changes_nothing(org):
    request = ask(org)
    with pytest.raises(InvalidInput, match="Give a reason"):
        ap.deny(org, actor=SAM, via=SLACK, request_id=request.id, reason="  ")
    assert "Denied" in ap.deny(org, actor=SAM, via=SLACK, request_id=request.id,
                               reason="Kim is leaving")
    assert admin(org, KIM) is None
    assert "already denied" in ap.approve(org, actor=LEE, via=SLACK, request_id=request.id)
    card = next(p for k, _, m, p in outbox(org, "approval:1:denied"))
    assert "Kim is leaving" in card["text"] and card["updates"] == "approval:1"


def test_only_an_active_super_other_than_the_requester_decides(org):
    request = ask(org)
    with pytest.raises(PermissionDenied, match="your own request"):
        ap.approve(org, actor=PAT, via=SLACK, request_id=request.id)
    with pytest.raises(PermissionDenied, match="Only an active SUPER"):
        ap.approve(org, actor=KIM, via=SLACK, request_id=request.id)
    services.add_project(org, actor=SAM, via=Via.CLI, key="alpha", name="Alpha")
    services.set_admin(org, actor=SAM, via=Via.CLI, email=LEE, level=Level.SUPER,
                       projects=["alpha"])
    with pytest.raises(PermissionDenied, match="outside"):
        ap.approve(org, actor=LEE, via=SLACK, request_id=request.id)  # scope: all projects
    assert admin(org, KIM) is None


def test_two_approvers_at_once_make_one_decision(org, database_url, clock):
    request = ask(org)
    barrier, answers = threading.Barrier(2), []

    def click(who):
        side = bootstrap(Settings(database_url=database_url), clock=FixedClock(clock.now()),
                         hasher=HASHER)
        barrier.wait(timeout=10)
        answers.append(ap.approve(side, actor=who, via=SLACK, request_id=request.id))
        side.uow.engine.dispose()

    threads = [threading.Thread(target=click, args=(who,)) for who in (SAM, LEE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(a.split()[0] for a in answers) == ["Approved.", "Request"]
    with org.uow as uow:
        assert uow.session.scalar(select(ApprovalRequest.status)) == "approved"


def test_an_approval_that_breaks_an_invariant_fails_with_the_reason(org, clock):
    request = ask(org, level=Level.ASSISTANT, email=LEE)  # demote Lee
    services.set_admin(org, actor=LEE, via=Via.CLI, email=SAM, level=Level.VIEW_ONLY)
    services.login(org, via=Via.CLI, email=SAM)  # now Lee is the last SUPER
    text = ap.approve(org, actor=LEE, via=SLACK, request_id=request.id)
    assert "no longer holds" in text and "last active SUPER" in text
    assert admin(org, LEE).level is Level.SUPER
    with org.uow as uow:
        assert uow.session.scalar(select(ApprovalRequest.status)) == "failed"
    assert any(k == "approval:1:failed" for k, *_ in outbox(org, "approval:1:"))


def test_requests_expire_and_say_so(org, clock):
    request = ask(org)
    clock.advance(hours=23)
    assert scheduler.reconcile(org).recorded == []
    clock.advance(hours=1)
    assert "expired:1" in scheduler.reconcile(org).recorded
    assert "already expired" in ap.approve(org, actor=SAM, via=SLACK, request_id=request.id)
    assert admin(org, KIM) is None


def test_above_the_cost_threshold_two_supers_must_approve(org):
    assert "second SUPER above 15" in ap.set_policy(org, actor=SAM, via=Via.CLI,
                                                     cost_threshold="15")
    cheap, dear = ask(org, Level.VIEW_ONLY), ask(org, Level.SUPER, email=KIM)
    assert "Approved" in ap.approve(org, actor=SAM, via=SLACK, request_id=cheap.id)
    first = ap.approve(org, actor=SAM, via=SLACK, request_id=dear.id)
    assert "1 of 2" in first and admin(org, KIM).level is Level.VIEW_ONLY
    [(_, _, method, card)] = outbox(org, f"approval:{dear.id}:partial")
    assert method == "chat.update" and "Approved by Sam Stone (1 of 2)" in str(card["blocks"])
    assert card["blocks"][-1]["elements"][0]["action_id"] == "approval_approve"
    assert "1 of 2" in ap.approve(org, actor=SAM, via=SLACK, request_id=dear.id)  # same SUPER
    assert "Approved" in ap.approve(org, actor=LEE, via=SLACK, request_id=dear.id)
    assert admin(org, KIM).level is Level.SUPER


def test_only_an_assistant_requests(org):
    with pytest.raises(PermissionDenied, match="Only an ASSISTANT asks"):
        ap.request_admin_change(org, actor=SAM, via=SLACK, email=KIM, level=Level.VIEW_ONLY)
    with org.uow as uow:  # Pat loses the role: no more requests
        uow.session.execute(update(User).where(User.email == PAT).values(status="deactivated"))
        uow.commit()
    with pytest.raises(PermissionDenied):
        ask(org)


def test_seat_approval_turns_an_assistants_new_active_seats_into_requests(org, cli):
    assert "seat approval on" in ap.set_policy(org, actor=SAM, via=Via.CLI, seat_approval=True)
    with pytest.raises(ApprovalRequired, match="needs a SUPER's approval"):
        services.create_user(org, actor=PAT, via=SLACK, email="ada@example.com",
                             first_name="Ada", last_name="Byron")
    pending = services.create_user(org, actor=PAT, via=SLACK, email="bo@example.com",
                                   first_name="Bo", last_name="Diaz", active=False)
    assert pending.status.value == "pending"  # a pending user takes no seat: allowed
    with pytest.raises(ApprovalRequired):
        services.activate_user(org, actor=PAT, via=SLACK, email="bo@example.com")
    services.create_user(org, actor=SAM, via=SLACK, email="cy@example.com", first_name="Cy",
                         last_name="Ng")  # a SUPER is not asked
    new = NewUser.checked(email="ada@example.com", first_name="Ada", last_name="Byron",
                          active=True, projects=())
    created = ap.request_seat(org, actor=PAT, via=SLACK, new=new)
    activated = ap.request_seat(org, actor=PAT, via=SLACK, email="bo@example.com")
    assert "add Ada Byron" in created.message and "activate Bo Diaz" in activated.message
    assert "ada@example.com" not in {u.email for u in services.list_users(org)}
    assert "Created Ada Byron" in ap.approve(org, actor=SAM, via=SLACK, request_id=created.id)
    assert "is active now" in ap.approve(org, actor=LEE, via=SLACK, request_id=activated.id)
    users = {u.email: u.status.value for u in services.list_users(org)}
    assert users["ada@example.com"] == "active" and users["bo@example.com"] == "active"
    refused = cli("users", "add", "--email", "dee@example.com", "--first-name", "Dee",
                  "--last-name", "Lo", "--actor", PAT)
    assert refused.code == 1 and "needs a SUPER's approval" in refused.err
    with pytest.raises(ApprovalRequired, match="Importing 1 active user needs"):
        services.import_users(org, actor=PAT, via=Via.CLI,
                              data=b"email,first_name,last_name\ndee@example.com,Dee,Lo\n")
