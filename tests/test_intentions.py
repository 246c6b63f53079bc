"""One service per intention: `add_user` (the user and their admin role in one
transaction) and `change_admin_role` (made, requested, or checked and priced first)."""

from datetime import date

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import ApprovalRequired, LastSuperViolation, NotFound, PermissionDenied
from bot.services import Changed, Created, NeedsConfirmation, Requested, Via
from bot.services import approvals as ap
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.services.hints import level_hint
from bot.services.intentions import ROLE
from store.models import ApprovalRequest
from tests.helpers import audit, store_state

SAM, SUE, PAT, KIM = "sam@example.com", "sue@example.com", "pat@example.com", "kim@example.com"
ADA = "ada@example.com"
SLACK, CLI = Via.SLACK, Via.CLI


@pytest.fixture
def org(ctx, clock):
    """Sam is SUPER over all projects; Sue SUPER over alpha; Pat ASSISTANT over alpha;
    Kim a plain user of alpha. Users $10, SUPER $50, ASSISTANT $30, VIEW ONLY $10."""
    ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=CLI, key=key, name=key.title())
    billing_service.configure_billing(
        ctx, actor=SAM, via=CLI, anchor=date(2025, 1, 1), user_price="10",
        admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30", Level.VIEW_ONLY: "10"})
    for email, level in ((SUE, Level.SUPER), (PAT, Level.ASSISTANT), (KIM, None)):
        services.create_user(ctx, actor=SAM, via=CLI, email=email, first_name=email[:3].title(),
                             last_name="Test", projects=["alpha"])
        if level:
            services.set_admin(ctx, actor=SAM, via=CLI, email=email, level=level,
                               projects=["alpha"])
            services.login(ctx, via=CLI, email=email)
    clock.advance(days=2)
    return ctx


def add_ada(ctx, actor=SAM, **kw):
    return services.add_user(ctx, actor=actor, via=SLACK, email=ADA, first_name="Ada",
                             last_name="Byron", projects=["alpha"], **kw)


def emails(ctx):
    return {u.email for u in services.list_users(ctx)}


def requests(ctx):
    with ctx.uow as uow:
        return [(r.action, r.change, r.status) for r in
                uow.session.scalars(select(ApprovalRequest).order_by(ApprovalRequest.id))]


def refusals(ctx, action):
    return [e for e in audit(ctx, "refused") if e.action == action]


# --- add_user -----------------------------------------------------------------------


def test_a_supers_new_user_gets_the_role_in_the_same_transaction(org):
    created = add_ada(org, admin=Level.VIEW_ONLY, admin_projects=["alpha"])
    assert isinstance(created, Created) and created.role_request is None
    assert created.message == ("Created Ada Byron (ada@example.com), active. Ada Byron is now "
                               "VIEW ONLY over alpha. It applies at Ada's next login (or "
                               "`admins apply`).")
    assert created.user.level is Level.VIEW_ONLY
    ada = next(a for a in services.list_admins(org) if a.email == ADA)
    assert (ada.level, ada.effective_level) == (Level.VIEW_ONLY, Level.NONE)
    create, grant = [e for e in audit(org, "ok") if e.subject == ADA]
    assert (create.action, grant.action) == ("user.create", "admin.set")
    assert create.at == grant.at  # one transaction, one instant


def test_a_refused_role_leaves_no_user_behind_and_is_audited(org):
    """The role is refused after the user's rows were written: the whole transaction
    rolls back (the old form created the user, then failed to give the role)."""
    before = store_state(org)
    with pytest.raises(NotFound, match="No project has the key gamma") as refused:
        add_ada(org, admin=Level.VIEW_ONLY, admin_projects=["gamma"])
    assert refused.value.part == ROLE
    assert store_state(org) == before and ADA not in emails(org)
    [event] = refusals(org, "user.create")
    assert (event.actor, event.subject, event.via) == (SAM, ADA, "slack")
    assert "gamma" in event.reason


def test_a_scoped_super_cannot_give_a_role_beyond_its_scope_and_creates_nothing(org):
    before = store_state(org)
    with pytest.raises(PermissionDenied, match="outside Sue Test's scope") as refused:
        add_ada(org, actor=SUE, admin=Level.VIEW_ONLY, admin_projects=None)  # all projects
    assert refused.value.part == ROLE
    assert store_state(org) == before
    assert len(refusals(org, "user.create")) == 1


def test_an_assistants_role_for_a_new_user_becomes_a_request(org):
    created = add_ada(org, actor=PAT, admin=Level.VIEW_ONLY, admin_projects=["alpha"])
    assert isinstance(created, Created) and isinstance(created.role_request, Requested)
    assert created.message.startswith("Created Ada Byron (ada@example.com), active. "
                                      f"Request #{created.role_request.id} sent to the "
                                      "approvers: make Ada Byron (ada@example.com) VIEW ONLY "
                                      "over alpha.")
    assert ADA in emails(org) and ADA not in {a.email for a in services.list_admins(org)}
    assert requests(org) == [("set_admin", {"email": ADA, "level": "view-only",
                                            "projects": ["alpha"]}, "pending")]
    assert "Approved" in ap.approve(org, actor=SAM, via=SLACK,
                                    request_id=created.role_request.id)
    assert ADA in {a.email for a in services.list_admins(org)}


def test_where_requests_cannot_be_made_an_assistants_role_is_refused_whole(org):
    before = store_state(org)
    with pytest.raises(ApprovalRequired, match="Only a SUPER") as refused:
        add_ada(org, actor=PAT, admin=Level.SUPER, may_request_role=False)
    assert refused.value.part == ROLE
    assert store_state(org) == before and requests(org) == []
    assert len(refusals(org, "user.create")) == 1


def test_with_seat_approval_an_assistants_active_user_is_a_seat_request(org):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    asked = add_ada(org, actor=PAT)
    assert isinstance(asked, Requested)
    assert "add Ada Byron (ada@example.com) as an active user" in asked.message
    assert ADA not in emails(org)
    with_role = services.add_user(org, actor=PAT, via=SLACK, email="bo@example.com",
                                  first_name="Bo", last_name="Diaz", projects=["alpha"],
                                  admin=Level.VIEW_ONLY, admin_projects=["alpha"])
    assert isinstance(with_role, Requested)
    assert with_role.message.endswith(
        "The admin role (VIEW ONLY over alpha) is not part of this request: once Bo is "
        "added, ask for it with `/admins set`.")
    assert [action for action, _, _ in requests(org)] == ["create_user", "create_user"]
    pending = add_ada(org, actor=PAT, active=False)  # a pending user takes no seat
    assert isinstance(pending, Created) and pending.user.status.value == "pending"


def test_the_command_line_refuses_a_seat_that_needs_approval(org, cli):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    with pytest.raises(ApprovalRequired, match="needs a SUPER's approval"):
        add_ada(org, actor=PAT, may_request_seat=False)
    assert requests(org) == [] and len(refusals(org, "user.create")) == 1
    refused = cli("users", "add", "--email", ADA, "--first-name", "Ada", "--last-name",
                  "Byron", "--project", "alpha", "--actor", PAT)
    assert refused.code == 1 and "needs a SUPER's approval" in refused.err


# --- change_admin_role --------------------------------------------------------------


def test_a_supers_change_is_checked_and_priced_before_it_is_confirmed(org):
    before, events = store_state(org), len(audit(org))
    checked = services.change_admin_role(org, actor=SAM, via=SLACK, email=KIM,
                                         level=Level.VIEW_ONLY, projects=["alpha"])
    assert isinstance(checked, NeedsConfirmation)
    assert checked.message == level_hint(org, email=KIM, level=Level.VIEW_ONLY).message
    assert "bills the whole cycle" in checked.message
    assert (checked.email, checked.level, checked.projects) == (KIM, Level.VIEW_ONLY,
                                                                ["alpha"])
    assert store_state(org) == before and len(audit(org)) == events  # nothing made


def test_a_confirmed_change_is_made(org):
    done = services.change_admin_role(org, actor=SAM, via=SLACK, email=KIM,
                                      level=Level.VIEW_ONLY, projects=["alpha"],
                                      confirmed=True)
    assert isinstance(done, Changed) and done.outcome.changed
    assert done.message.startswith("Kim Test is now VIEW ONLY over alpha.")
    again = services.change_admin_role(org, actor=SAM, via=SLACK, email=KIM,
                                       level=Level.VIEW_ONLY, projects=["alpha"])
    assert isinstance(again, Changed) and not again.outcome.changed  # nothing to confirm
    assert "already VIEW ONLY" in again.message


def test_an_assistants_change_becomes_a_request_confirmed_or_not(org):
    for confirmed in (False, True):
        asked = services.change_admin_role(org, actor=PAT, via=SLACK, email=KIM,
                                           level=Level.VIEW_ONLY, projects=["alpha"],
                                           confirmed=confirmed)
        assert isinstance(asked, Requested) and "sent to the approvers" in asked.message
    assert [status for _, _, status in requests(org)] == ["pending", "pending"]
    assert KIM not in {a.email for a in services.list_admins(org)}
    with pytest.raises(ApprovalRequired):  # the command line makes no requests
        services.change_admin_role(org, actor=PAT, via=CLI, email=KIM,
                                   level=Level.VIEW_ONLY, confirmed=True, may_request=False)
    assert len(requests(org)) == 2


def test_a_change_breaking_invariant_1_is_refused_before_any_confirmation(org):
    before = store_state(org)
    with pytest.raises(LastSuperViolation):
        services.change_admin_role(org, actor=SAM, via=SLACK, email=SAM,
                                   level=Level.VIEW_ONLY)
    assert store_state(org) == before
    [event] = refusals(org, "admin.set")
    assert (event.actor, event.subject) == (SAM, SAM)
