"""One service per intention: `add_user` (the user and their admin role in one
transaction), `change_admin_role` (made, requested, or checked and priced first), and
`activate`, `remove_admin_role`, `import_csv` (made, or requested)."""

from datetime import date

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import (
    ApprovalRequired,
    InvalidInput,
    LastSuperViolation,
    NotFound,
    PermissionDenied,
)
from bot.services import Changed, Created, NeedsConfirmation, Requested, Via
from bot.services import approvals as ap
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.services.hints import level_hint
from bot.services.import_report import ImportResult
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


# --- activate -------------------------------------------------------------------------


def pending_lee(ctx):
    services.create_user(ctx, actor=SAM, via=CLI, email="lee@example.com", first_name="Lee",
                         last_name="Test", active=False, projects=["alpha"])
    return "lee@example.com"


def status_of(ctx, email):
    return next(u.status.value for u in services.list_users(ctx) if u.email == email)


def test_a_supers_activation_is_made_even_with_seat_approval(org):
    lee = pending_lee(org)
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    done = services.activate(org, actor=SAM, via=SLACK, email=lee)
    assert isinstance(done, Changed) and done.outcome.changed
    assert done.message == "Lee Test (lee@example.com) is active now and takes a seat from now."
    assert status_of(org, lee) == "active" and requests(org) == []
    again = services.activate(org, actor=SAM, via=SLACK, email=lee)
    assert isinstance(again, Changed) and not again.outcome.changed
    assert again.message == "Lee Test is already active."


def test_an_assistants_activation_under_seat_approval_is_a_seat_request(org):
    lee = pending_lee(org)
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    before = store_state(org)
    asked = services.activate(org, actor=PAT, via=SLACK, email=lee)
    assert isinstance(asked, Requested)
    assert asked.message == (f"Request #{asked.id} sent to the approvers: activate Lee Test "
                             "(lee@example.com). A seat costs +$10.00 this cycle.")
    assert store_state(org) == before and status_of(org, lee) == "pending"  # nothing yet
    assert requests(org) == [("activate_user", {"email": lee}, "pending")]
    assert refusals(org, "user.activate") == []  # a request, not a refusal
    assert "Approved" in ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id)
    assert status_of(org, lee) == "active"


def test_an_assistants_activation_without_seat_approval_is_made(org):
    lee = pending_lee(org)
    done = services.activate(org, actor=PAT, via=SLACK, email=lee)
    assert isinstance(done, Changed) and status_of(org, lee) == "active"


def test_where_requests_cannot_be_made_an_activation_needing_a_seat_is_refused(org, cli):
    lee = pending_lee(org)
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    before = store_state(org)
    with pytest.raises(ApprovalRequired, match="Activating Lee Test needs a SUPER's approval"):
        services.activate(org, actor=PAT, via=CLI, email=lee, may_request=False)
    assert store_state(org) == before and requests(org) == []
    [event] = refusals(org, "user.activate")
    assert (event.actor, event.subject, event.via) == (PAT, lee, "cli")
    refused = cli("users", "activate", lee, "--actor", PAT)  # the command line, as before
    assert refused.code == 1 and "needs a SUPER's approval" in refused.err


# --- remove_admin_role ----------------------------------------------------------------


def kim_view_only(ctx):
    services.set_admin(ctx, actor=SAM, via=CLI, email=KIM, level=Level.VIEW_ONLY,
                       projects=["alpha"])
    services.login(ctx, via=CLI, email=KIM)


def admins(ctx):
    return {a.email for a in services.list_admins(ctx)}


def test_a_supers_role_removal_is_made(org):
    kim_view_only(org)
    done = services.remove_admin_role(org, actor=SAM, via=SLACK, email=KIM)
    assert isinstance(done, Changed) and done.outcome.changed
    assert done.message == ("Kim Test's admin role is removed; it applies at their next "
                            "login (or `admins apply`).")
    assert requests(org) == []


def test_a_supers_role_removal_and_deactivation_is_one_step(org):
    kim_view_only(org)
    done = services.remove_admin_role(org, actor=SAM, via=SLACK, email=KIM, then="deactivate")
    assert isinstance(done, Changed)
    assert done.message.startswith("Kim Test (kim@example.com) is deactivated")
    assert KIM not in admins(org) and status_of(org, KIM) == "deactivated"
    assert [e.action for e in audit(org, "ok") if e.subject == KIM][-1] == "user.deactivate"


@pytest.mark.parametrize(("then", "action"), [(None, "remove_admin"),
                                              ("deactivate", "remove_deactivate"),
                                              ("delete", "remove_delete")])
def test_an_assistants_role_removal_is_a_request_for_the_same_step(org, then, action):
    kim_view_only(org)
    before = store_state(org)
    asked = services.remove_admin_role(org, actor=PAT, via=SLACK, email=KIM, then=then)
    assert isinstance(asked, Requested)
    assert asked.message.startswith(f"Request #{asked.id} sent to the approvers: remove Kim "
                                    "Test (kim@example.com)'s admin role")
    assert store_state(org) == before and KIM in admins(org)  # nothing changed yet
    assert requests(org) == [(action, {"email": KIM}, "pending")]
    assert audit(org, "refused") == []
    assert "Approved" in ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id)
    assert store_state(org) != before


@pytest.mark.parametrize(("then", "audited"), [(None, "admin.remove"),
                                               ("deactivate", "user.deactivate"),
                                               ("delete", "user.delete")])
def test_where_requests_cannot_be_made_a_role_removal_is_refused(org, then, audited):
    kim_view_only(org)
    before = store_state(org)
    with pytest.raises(ApprovalRequired, match="Only a SUPER admin can change Kim Test's"):
        services.remove_admin_role(org, actor=PAT, via=CLI, email=KIM, then=then,
                                   may_request=False)
    assert store_state(org) == before and requests(org) == []
    [event] = audit(org, "refused")
    assert (event.action, event.actor, event.subject) == (audited, PAT, KIM)


def test_a_role_removal_refused_by_the_rules_is_no_request(org):
    """Only ApprovalRequired becomes a request: a plain user has no role to remove,
    whoever asks; a role already being removed cannot be asked away again. Each refusal
    is audited as the step."""
    for actor in (SAM, PAT):
        with pytest.raises(InvalidInput, match="Kim Test is not an admin, so there is "
                                               "nothing to remove"):
            services.remove_admin_role(org, actor=actor, via=SLACK, email=KIM)
    kim_view_only(org)
    services.remove_admin(org, actor=SAM, via=CLI, email=KIM)  # pending until Kim logs in
    with pytest.raises(InvalidInput, match="Kim Test has no admin role to remove"):
        services.remove_admin_role(org, actor=PAT, via=SLACK, email=KIM)
    assert requests(org) == []
    assert [e.action for e in audit(org, "refused")] == ["admin.remove"] * 3
    with pytest.raises(InvalidInput, match="can deactivate or delete"):
        services.remove_admin_role(org, actor=SAM, via=SLACK, email=KIM, then="archive")


# --- import_csv -----------------------------------------------------------------------

CSV = (b"email,first_name,last_name,projects\n"
       b"ada@example.com,Ada,Byron,alpha\n"
       b"bo@example.com,Bo,Diaz,alpha\n")
SOURCE = "slack:F1:" + "a" * 64


def test_a_supers_import_is_made_even_with_seat_approval(org):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    done = services.import_csv(org, actor=SAM, via=SLACK, data=CSV, source=SOURCE)
    assert isinstance(done, ImportResult) and done.message == "Imported 2 users (2 active)."
    assert {ADA, "bo@example.com"} <= emails(org) and requests(org) == []


def test_an_assistants_import_under_seat_approval_is_a_request(org):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    before = store_state(org)
    asked = services.import_csv(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    assert isinstance(asked, Requested)
    assert asked.message == (f"Request #{asked.id} sent to the approvers: import 2 users "
                             "from a CSV file (2 active). Adds 2 active users: +$20.00 this "
                             "cycle, +$20.00 a cycle after.")
    assert store_state(org) == before and ADA not in emails(org)  # nothing imported yet
    assert requests(org) == [("import_users", {"csv": CSV.decode(), "source": SOURCE,
                                               "rows": 2, "active": 2}, "pending")]
    assert refusals(org, "users.import") == []
    again = services.import_csv(org, actor=PAT, via=SLACK, data=CSV, source=SOURCE)
    assert isinstance(again, Requested) and again.id == asked.id  # asked once per file
    assert "Imported 2 users" in ap.approve(org, actor=SAM, via=SLACK, request_id=asked.id)
    assert ADA in emails(org)


def test_an_assistants_import_of_pending_users_needs_no_approval(org):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    pending = CSV.replace(b"projects\n", b"projects,status\n").replace(b"alpha\n",
                                                                       b"alpha,pending\n")
    done = services.import_csv(org, actor=PAT, via=SLACK, data=pending, source=SOURCE)
    assert isinstance(done, ImportResult) and done.active == 0 and ADA in emails(org)


def test_where_requests_cannot_be_made_an_import_needing_seats_is_refused(org):
    ap.set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    before = store_state(org)
    with pytest.raises(ApprovalRequired, match="Importing 2 active users needs a SUPER's"):
        services.import_csv(org, actor=PAT, via=CLI, data=CSV, may_request=False)
    assert store_state(org) == before and requests(org) == []
    [event] = refusals(org, "users.import")
    assert event.actor == PAT and event.via == "cli"
