"""Regression tests of the security review (issue 9), findings 1, 2, 3, 6 and 8, black box
through the command line where it can be: each failed on the code before the fix.

Acme: Sam (SUPER, all projects), Kim (SUPER, all projects, member of alpha), Sue (SUPER
over alpha), Pat (ASSISTANT over alpha), Ann (ASSISTANT over beta), Lee (plain, alpha),
Bob (plain, beta). Every grant is applied (each admin logged in).
"""

from datetime import datetime

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import ApprovalRequired, InvalidInput, PermissionDenied
from bot.services import Via
from bot.services import approvals as ap
from bot.services.context import Channels
from bot.services.scheduled import schedule_change
from handlers import scheduler
from store.models import ApprovalRequest, AuditEvent, OutboxMessage, ScheduledChange, User
from tests.helpers import store_state

SAM, KIM, SUE, PAT, ANN = ("sam@example.com", "kim@example.com", "sue@example.com",
                           "pat@example.com", "ann@example.com")
LEE, BOB = "lee@example.com", "bob@example.com"


def actor(email):
    return ("--actor", email)


@pytest.fixture
def acme(cli, clock, empty_ctx):
    def ok(*argv):
        result = cli(*argv)
        assert result.code == 0, result
        return result

    ok("init", "--org-name", "Acme", "--admin-email", SAM, "--admin-first-name", "Sam",
       "--admin-last-name", "Stone")
    for key in ("alpha", "beta"):
        ok("projects", "add", key, key.title(), *actor(SAM))
    people = ((KIM, "Kim", "alpha", "super", "all"), (SUE, "Sue", "alpha", "super", "alpha"),
              (PAT, "Pat", "alpha", "assistant", "alpha"),
              (ANN, "Ann", "beta", "assistant", "beta"),
              (LEE, "Lee", "alpha", None, None), (BOB, "Bob", "beta", None, None))
    for email, first, project, level, scope in people:
        ok("users", "add", "--email", email, "--first-name", first, "--last-name", "Test",
           "--project", project, *actor(SAM))
        if level:
            ok("admins", "set", email, level, "--projects", scope, *actor(SAM))
            ok("users", "login", email)
    empty_ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    return empty_ctx


def refused_unchanged(cli, ctx, *argv):
    before = store_state(ctx)
    result = cli(*argv)
    assert result.code == 1, result
    assert store_state(ctx) == before
    return result


# 1. An ASSISTANT cannot strip a SUPER's role and deactivate or delete them.

@pytest.mark.parametrize("verb", ["deactivate", "delete"])
def test_an_assistant_cannot_remove_a_supers_role_and_deactivate_them(acme, cli, verb):
    result = refused_unchanged(cli, acme, "users", verb, KIM, "--remove-admin", *actor(PAT))
    assert "Only a SUPER admin can change Kim Test's admin role" in result.err
    # a SUPER whose scope covers the grant may do both in one step
    assert cli("users", verb, KIM, "--remove-admin", *actor(SAM)).code == 0
    kim = [u for u in services.list_users(acme) if u.email == KIM]
    assert kim == [] if verb == "delete" else kim[0].status.value == "deactivated"


def test_a_scoped_super_cannot_remove_a_grant_wider_than_its_scope(acme, cli):
    result = refused_unchanged(cli, acme, "users", "deactivate", KIM, "--remove-admin",
                               *actor(SUE))
    assert "outside Sue Test's scope" in result.err


def test_an_assistants_removal_in_slack_becomes_a_request_that_a_super_decides(acme, clock):
    with pytest.raises(ApprovalRequired):
        services.deactivate_user(acme, actor=PAT, via=Via.SLACK, email=KIM,
                                 remove_admin=True)
    asked = ap.request_role_removal(acme, actor=PAT, via=Via.SLACK, email=KIM,
                                    then="deactivate")
    assert "remove Kim Test (kim@example.com)'s admin role and deactivate them" in (
        asked.message)
    with pytest.raises(PermissionDenied, match="outside Sue Test's scope"):
        ap.approve(acme, actor=SUE, via=Via.SLACK, request_id=asked.id)  # cannot cover "all"
    assert "Approved" in ap.approve(acme, actor=SAM, via=Via.SLACK, request_id=asked.id)
    kim = next(u for u in services.list_users(acme) if u.email == KIM)
    assert kim.status.value == "deactivated" and not kim.is_admin


def test_an_assistant_cannot_ask_about_a_user_outside_its_scope(acme):
    with pytest.raises(PermissionDenied, match="outside Pat Test's scope"):
        ap.request_role_removal(acme, actor=PAT, via=Via.SLACK, email=ANN, then="delete")


# 2. A scheduled change naming a project that does not exist never blocks writes.

def test_scheduling_a_change_with_a_missing_project_is_refused(acme, cli):
    result = refused_unchanged(cli, acme, "admins", "set", LEE, "assistant", "--projects",
                               "alhpa", "--at-cycle-end", *actor(SAM))
    assert "No project has the key alhpa" in result.err
    with acme.uow as uow:
        assert uow.session.scalars(select(ScheduledChange)).all() == []


@pytest.mark.parametrize(("level", "projects", "why"), [
    ("assistant", {"keys": ["alhpa"]}, "No project has the key alhpa"),  # old code took it
    ("emperor", None, "could not run it"),  # any other fault: an internal error, logged
])
def test_a_due_change_that_cannot_run_fails_alone_and_every_write_goes_on(
        acme, cli, clock, level, projects, why):
    with acme.uow as uow:  # as an earlier version (or a hand edit) left it
        s = uow.session
        lee, sam = (s.scalar(select(User).where(User.email == e)) for e in (LEE, SAM))
        s.add(ScheduledChange(user_id=lee.id, action="set_level", level=level,
                              projects=projects, run_at=datetime.fromisoformat(
                                  "2025-03-01T00:00:00+00:00"), requested_by=sam.id,
                              created_at=clock.now(), status="pending"))
        uow.commit()
    clock.set("2025-03-02T10:00:00Z")  # after the boundary: every write runs it first
    assert cli("users", "add", "--email", "new@example.com", "--first-name", "New",
               "--last-name", "Person", "--project", "alpha", *actor(SAM)).code == 0
    assert cli("users", "login", LEE).code == 0
    with acme.uow as uow:
        change = uow.session.scalar(select(ScheduledChange))
        assert change.status == "failed" and why in change.outcome
        warning = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.key == f"scheduled-failed:{change.id}"))
        assert warning.channel == "C0BILLING" and why in warning.payload["text"]
    assert not next(u for u in services.list_users(acme) if u.email == LEE).is_admin
    done = scheduler.reconcile(acme)  # the scheduler's pass goes on as well
    assert done.failed == [] and done.closed == ["2025-02-01T00:00:00+00:00"]


# 3. Every action on a user needs that user in the actor's scope, admin changes included.

@pytest.mark.parametrize("extra", [(), ("--at-cycle-end",), ("--dry-run",)])
def test_a_scoped_super_cannot_give_a_role_to_a_user_outside_its_scope(acme, cli, extra):
    result = refused_unchanged(cli, acme, "admins", "set", BOB, "view-only", "--projects",
                               "alpha", *extra, *actor(SUE))
    assert "outside Sue Test's scope" in result.err
    assert "Bob" not in result.err and "beta" not in result.err  # not Sue's to see


@pytest.mark.parametrize("command", [("admins", "remove"), ("admins", "apply"),
                                     ("users", "deactivate"), ("users", "delete")])
def test_a_scoped_super_touches_no_admin_outside_its_scope(acme, cli, command):
    result = refused_unchanged(cli, acme, *command, ANN, *actor(SUE))
    assert "outside Sue Test's scope" in result.err and "Ann" not in result.err


def test_none_is_not_a_level_to_schedule(acme):
    """A forged button with level `none` scheduled the deactivation of anyone."""
    with pytest.raises(InvalidInput, match="`none` is not an admin level"):
        schedule_change(acme, actor=SUE, via=Via.SLACK, email=BOB, level=Level.NONE)
    with pytest.raises(PermissionDenied, match="outside Sue Test's scope"):
        schedule_change(acme, actor=SUE, via=Via.SLACK, email=BOB, level=None)


def test_an_approver_needs_the_target_in_scope(acme):
    """Ann (ASSISTANT over beta) asks for Bob (beta) to be VIEW ONLY over alpha: Sue's
    scope covers the grant but not Bob, so Sue can neither approve nor deny."""
    asked = ap.request_admin_change(acme, actor=ANN, via=Via.SLACK, email=BOB,
                                    level=Level.VIEW_ONLY, projects=["alpha"])
    before = store_state(acme)
    with pytest.raises(PermissionDenied, match="outside Sue Test's scope"):
        ap.approve(acme, actor=SUE, via=Via.SLACK, request_id=asked.id)
    # 8. Deny needs the same approver check as approve
    with pytest.raises(PermissionDenied, match="outside Sue Test's scope"):
        ap.deny(acme, actor=SUE, via=Via.SLACK, request_id=asked.id, reason="no")
    assert store_state(acme) == before
    with acme.uow as uow:
        assert uow.session.get(ApprovalRequest, asked.id).status == "pending"
    assert "Denied" in ap.deny(acme, actor=SAM, via=Via.SLACK, request_id=asked.id,
                               reason="not now")


def test_an_assistant_cannot_request_a_project_that_does_not_exist(acme):
    with pytest.raises(Exception, match="No project has the key alhpa"):
        ap.request_admin_change(acme, actor=PAT, via=Via.SLACK, email=LEE,
                                level=Level.VIEW_ONLY, projects=["alhpa"])


# 6. Stepping down cannot lock every SUPER out (invariant 1 counts who can act now).

def test_the_only_super_who_can_act_cannot_step_down_while_the_other_is_pending(cli, clock,
                                                                                empty_ctx):
    assert cli("init", "--org-name", "Acme", "--admin-email", SAM, "--admin-first-name",
               "Sam", "--admin-last-name", "Stone").code == 0
    cli("users", "add", "--email", "carl@example.com", "--first-name", "Carl",
        "--last-name", "Test", *actor(SAM))
    assert cli("admins", "set", "carl@example.com", "super", *actor(SAM)).code == 0
    listed = cli("admins", "list").out.splitlines()
    carl = next(row for row in listed if row.startswith("carl@"))
    assert carl.split()[1:5] == ["super", "none", "yes", "none"]  # assigned, not acting
    assert cli("projects", "add", "alpha", "Alpha", *actor(SAM)).code == 0
    for argv in (("admins", "set", SAM, "view-only"), ("admins", "remove", SAM),
                 ("admins", "set", SAM, "super", "--projects", "alpha"),
                 ("users", "deactivate", SAM, "--remove-admin")):
        result = refused_unchanged(cli, empty_ctx, *argv, *actor(SAM))
        assert "Sam Stone is the last active SUPER admin over all projects who can act now" \
            in result.err
    with empty_ctx.uow as uow:
        refusals = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.outcome == "refused")).all()
        assert len(refusals) == 4
    assert cli("users", "login", "carl@example.com").code == 0
    assert cli("admins", "set", SAM, "view-only", *actor(SAM)).code == 0
