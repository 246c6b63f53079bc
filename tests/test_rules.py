"""The permission table of DESIGN section 1, as pure functions."""

import pytest

from billing.model import Level, Status
from bot.errors import ApprovalRequired, PermissionDenied
from bot.rules import (
    Actor,
    Scope,
    may_change_admin_role,
    require_level_changer,
    require_org_super,
    require_user_creator,
    require_user_manager,
    require_viewer,
)

ALL = Scope(all=True)
ALPHA = Scope.of(["alpha"])


def actor(assigned=Level.SUPER, effective=None, scope=ALL, status=Status.ACTIVE):
    return Actor("a@example.com", "Ann Admin", status, assigned,
                 assigned if effective is None else effective, scope)


def test_acting_level_is_the_lower_of_assigned_and_effective():
    assert actor(Level.ASSISTANT, Level.SUPER).acting_level is Level.ASSISTANT  # downgrade bites
    assert actor(Level.SUPER, Level.ASSISTANT).acting_level is Level.ASSISTANT  # upgrade waits
    assert actor(Level.SUPER, Level.NONE).acting_level is Level.NONE  # new grant waits


def test_an_inactive_admin_has_no_rights():
    with pytest.raises(PermissionDenied):
        require_viewer(actor(status=Status.DEACTIVATED))


@pytest.mark.parametrize(("level", "allowed"), [
    (Level.NONE, False), (Level.VIEW_ONLY, True), (Level.ASSISTANT, True), (Level.SUPER, True)])
def test_seeing_needs_any_admin_level(level, allowed):
    if allowed:
        require_viewer(actor(level))
    else:
        with pytest.raises(PermissionDenied, match="not an administrator"):
            require_viewer(actor(level))


@pytest.mark.parametrize(("level", "allowed"), [
    (Level.NONE, False), (Level.VIEW_ONLY, False), (Level.ASSISTANT, True), (Level.SUPER, True)])
def test_managing_users_needs_assistant_or_super(level, allowed):
    if allowed:
        require_user_manager(actor(level), ["alpha"])
    else:
        with pytest.raises(PermissionDenied, match="needs ASSISTANT or SUPER"):
            require_user_manager(actor(level), ["alpha"])


def test_managing_users_is_limited_to_scope():
    """DESIGN section 1: a user is in scope when they belong to a project in it."""
    assistant = actor(Level.ASSISTANT, scope=ALPHA)
    for projects in (["alpha"], ["alpha", "beta"]):
        require_user_manager(assistant, projects)
    for projects in (["beta"], []):
        with pytest.raises(PermissionDenied, match="outside Ann Admin's scope") as refused:
            require_user_manager(assistant, projects)
        assert "beta" not in str(refused.value)  # the user's projects are not the actor's


def test_creating_a_user_needs_every_project_in_scope():
    assistant = actor(Level.ASSISTANT, scope=ALPHA)
    require_user_creator(assistant, ["alpha"], "Lee")
    for projects in (["beta"], [], ["alpha", "beta"]):
        with pytest.raises(PermissionDenied, match="outside Ann Admin's scope"):
            require_user_creator(assistant, projects, "Lee")
    require_user_creator(actor(Level.ASSISTANT), [], "Lee")  # all projects: no project too


@pytest.mark.parametrize("level", [Level.NONE, Level.VIEW_ONLY, Level.ASSISTANT])
def test_only_a_super_changes_admin_levels(level):
    with pytest.raises(PermissionDenied, match="Only a SUPER"):
        require_level_changer(actor(level), ["alpha"], None, ALL, "Lee")


def test_an_assistants_admin_change_needs_approval_only_in_its_scope():
    assistant = actor(Level.ASSISTANT, scope=ALPHA)
    with pytest.raises(ApprovalRequired):
        require_level_changer(assistant, ["alpha"], None, ALPHA, "Lee")
    with pytest.raises(PermissionDenied, match="outside") as refused:
        require_level_changer(assistant, ["beta"], None, ALPHA, "Lee")
    assert not isinstance(refused.value, ApprovalRequired)
    assert may_change_admin_role(assistant, ["alpha"], ALPHA, "Lee") is None
    assert may_change_admin_role(assistant, ["beta"], ALPHA, "Lee") is False
    assert may_change_admin_role(actor(Level.VIEW_ONLY), ["alpha"], ALPHA, "Lee") is False
    assert may_change_admin_role(actor(Level.SUPER), ["beta"], ALL, "Lee") is True


def test_granting_a_scope_needs_the_target_in_scope_and_old_and_new_scope_covered():
    scoped_super = actor(Level.SUPER, scope=ALPHA)
    require_level_changer(scoped_super, ["alpha"], ALPHA, ALPHA, "Lee")
    require_level_changer(scoped_super, ["alpha"], None, ALPHA, "Lee")
    with pytest.raises(PermissionDenied, match="outside"):
        require_level_changer(scoped_super, ["alpha"], ALPHA, ALL, "Lee")
    with pytest.raises(PermissionDenied, match="outside"):
        require_level_changer(scoped_super, ["alpha"], Scope.of(["beta"]), ALPHA, "Lee")
    # the target itself must be in scope, even when the grant would be (finding 3)
    for projects in (["beta"], []):
        with pytest.raises(PermissionDenied, match="outside"):
            require_level_changer(scoped_super, projects, None, ALPHA, "Lee")


def test_organisation_settings_need_a_super_over_all_projects():
    require_org_super(actor(Level.SUPER), "Adding a project")
    with pytest.raises(PermissionDenied):
        require_org_super(actor(Level.SUPER, scope=ALPHA), "Adding a project")
    with pytest.raises(PermissionDenied):
        require_org_super(actor(Level.ASSISTANT), "Adding a project")


def test_scope_arithmetic():
    assert ALL.covers(ALPHA) and ALL.covers(ALL)
    assert not ALPHA.covers(ALL)
    assert ALPHA.includes_user(["alpha", "beta"]) and not ALPHA.includes_user([])
    assert ALL.includes_user([])
