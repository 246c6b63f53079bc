"""Admin grants: pending levels, login, apply now, and invariants 1 and 3."""

import pytest

from billing.model import Level
from bot import services
from bot.errors import InvalidInput, InvariantViolation, NotFound, PermissionDenied
from bot.services import Via
from tests.helpers import audit, store_state

SAM, LEE, KIM = "sam@example.com", "lee@example.com", "kim@example.com"
CLI = Via.CLI


def add(ctx, email, **kw):
    first = email.split("@")[0].title()
    services.create_user(ctx, actor=SAM, via=CLI, email=email, first_name=first,
                         last_name="Test", **kw)


def set_level(ctx, email, level, actor=SAM, projects=None):
    return services.set_admin(ctx, actor=actor, via=CLI, email=email, level=level,
                              projects=projects)


def admin(ctx, email):
    return next(a for a in services.list_admins(ctx) if a.email == email)


def test_a_level_change_is_pending_until_the_admin_logs_in(ctx, clock):
    add(ctx, LEE)
    out = set_level(ctx, LEE, Level.SUPER)
    assert "next login" in out.message
    lee = admin(ctx, LEE)
    assert (lee.level, lee.effective_level, lee.pending) == (Level.SUPER, Level.NONE, True)
    with pytest.raises(PermissionDenied, match="pending admin role"):
        services.create_user(
            ctx, actor=LEE, via=CLI, email=KIM, first_name="Kim", last_name="Test")
    clock.advance(minutes=5)
    out = services.login(ctx, via=CLI, email=LEE)
    assert "pending admin change is now applied" in out.message
    lee = admin(ctx, LEE)
    assert (lee.level, lee.effective_level, lee.pending) == (Level.SUPER, Level.SUPER, False)
    services.create_user(ctx, actor=LEE, via=CLI, email=KIM, first_name="Kim", last_name="T")
    login = [e for e in audit(ctx) if e.action == "user.login"][-1]
    assert (login.level_after, login.effective_after) == (3, 3)
    assert login.before["effective_level"] == "none"


def test_a_downgrade_limits_at_once_but_bills_until_applied(ctx):
    add(ctx, LEE)
    set_level(ctx, LEE, Level.SUPER)
    services.login(ctx, via=CLI, email=LEE)
    set_level(ctx, LEE, Level.VIEW_ONLY)
    lee = admin(ctx, LEE)
    assert (lee.level, lee.effective_level) == (Level.VIEW_ONLY, Level.SUPER)
    assert lee.state.billable_level is Level.SUPER
    with pytest.raises(PermissionDenied):
        services.create_user(ctx, actor=LEE, via=CLI, email=KIM, first_name="K", last_name="T")


def test_removal_is_pending_and_ends_with_the_next_login(ctx):
    add(ctx, LEE)
    set_level(ctx, LEE, Level.ASSISTANT)
    services.login(ctx, via=CLI, email=LEE)
    services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)
    lee = admin(ctx, LEE)
    assert (lee.level, lee.effective_level, lee.pending) == (Level.NONE, Level.ASSISTANT, True)
    assert lee.admin_json() == {"email": LEE, "level": None, "effective_level": "assistant",
                                "pending": True, "acts_as": None, "projects": "all"}
    again = services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)
    assert not again.changed
    services.login(ctx, via=CLI, email=LEE)
    assert [a.email for a in services.list_admins(ctx)] == [SAM]
    with pytest.raises(InvalidInput, match="not an admin"):
        services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)


def test_a_super_applies_a_pending_change_now(ctx):
    add(ctx, LEE)
    set_level(ctx, LEE, Level.ASSISTANT)
    out = services.apply_now(ctx, actor=SAM, via=CLI, email=LEE)
    assert "signed out" in out.message
    assert admin(ctx, LEE).effective_level is Level.ASSISTANT
    assert not services.apply_now(ctx, actor=SAM, via=CLI, email=LEE).changed
    with pytest.raises(PermissionDenied, match="Only a SUPER"):
        services.apply_now(ctx, actor=LEE, via=CLI, email=LEE)


def test_scope_changes_take_effect_at_once(ctx):
    services.add_project(ctx, actor=SAM, via=CLI, key="alpha", name="Alpha")
    add(ctx, LEE)
    set_level(ctx, LEE, Level.ASSISTANT, projects=["alpha"])
    services.login(ctx, via=CLI, email=LEE)
    set_level(ctx, LEE, Level.ASSISTANT, projects=None)
    lee = admin(ctx, LEE)
    assert lee.scope.all and not lee.pending
    assert not set_level(ctx, LEE, Level.ASSISTANT).changed


def test_invariant_1_blocks_demoting_narrowing_or_removing_the_last_super(ctx):
    services.add_project(ctx, actor=SAM, via=CLI, key="alpha", name="Alpha")
    before = store_state(ctx)
    attempts = [
        lambda: set_level(ctx, SAM, Level.ASSISTANT),
        lambda: set_level(ctx, SAM, Level.SUPER, projects=["alpha"]),
        lambda: services.remove_admin(ctx, actor=SAM, via=CLI, email=SAM),
    ]
    for attempt in attempts:
        with pytest.raises(InvariantViolation, match="last active SUPER admin over all projects"):
            attempt()
    assert store_state(ctx) == before
    assert [e.action for e in audit(ctx, "refused")] == ["admin.set", "admin.set",
                                                          "admin.remove"]


def test_a_pending_super_does_not_count_for_invariant_1(ctx):
    """Invariant 1 counts who CAN ACT as SUPER now (finding 6 of the security review):
    with Lee's SUPER grant pending, Sam stepping down would lock every SUPER out."""
    add(ctx, LEE)
    set_level(ctx, LEE, Level.SUPER)
    assert admin(ctx, LEE).admin_json()["acts_as"] is None  # not until applied
    before = store_state(ctx)
    for step_down in (lambda: set_level(ctx, SAM, Level.VIEW_ONLY),
                      lambda: services.remove_admin(ctx, actor=SAM, via=CLI, email=SAM),
                      lambda: services.deactivate_user(ctx, actor=SAM, via=CLI, email=SAM,
                                                       remove_admin=True)):
        with pytest.raises(InvariantViolation, match=r"Sam Stone is the last .* who can act"):
            step_down()
    assert store_state(ctx) == before
    services.login(ctx, via=CLI, email=LEE)  # Lee's grant applies: Lee can act now
    set_level(ctx, SAM, Level.VIEW_ONLY)
    with pytest.raises(PermissionDenied, match="VIEW ONLY"):  # the downgrade bites at once
        services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)
    with pytest.raises(InvariantViolation, match="Lee Test is the last"):
        services.remove_admin(ctx, actor=LEE, via=CLI, email=LEE)


def test_a_scoped_super_does_not_count_for_invariant_1(ctx):
    services.add_project(ctx, actor=SAM, via=CLI, key="alpha", name="Alpha")
    add(ctx, LEE)
    set_level(ctx, LEE, Level.SUPER, projects=["alpha"])
    with pytest.raises(InvariantViolation):
        set_level(ctx, SAM, Level.ASSISTANT)


def test_invariant_3_only_a_super_changes_levels(ctx):
    services.add_project(ctx, actor=SAM, via=CLI, key="alpha", name="Alpha")
    add(ctx, LEE, projects=["alpha"])
    add(ctx, KIM, projects=["alpha"])
    set_level(ctx, LEE, Level.ASSISTANT, projects=["alpha"])
    services.login(ctx, via=CLI, email=LEE)
    before = store_state(ctx)
    for target, level in ((KIM, Level.VIEW_ONLY), (LEE, Level.SUPER)):
        with pytest.raises(PermissionDenied, match="Only a SUPER"):
            set_level(ctx, target, level, actor=LEE, projects=["alpha"])
    assert store_state(ctx) == before


def test_a_scoped_super_grants_only_within_its_scope(ctx):
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=CLI, key=key, name=key)
    add(ctx, LEE, projects=["alpha"])
    add(ctx, KIM, projects=["alpha"])
    set_level(ctx, LEE, Level.SUPER, projects=["alpha"])
    services.login(ctx, via=CLI, email=LEE)
    set_level(ctx, KIM, Level.VIEW_ONLY, actor=LEE, projects=["alpha"])
    for projects in (None, ["alpha", "beta"]):
        with pytest.raises(PermissionDenied, match="outside"):
            set_level(ctx, KIM, Level.VIEW_ONLY, actor=LEE, projects=projects)
    with pytest.raises(PermissionDenied, match="outside"):
        set_level(ctx, LEE, Level.SUPER, actor=LEE)  # widening its own scope


def test_bad_admin_requests_are_refused_with_a_sentence(ctx):
    add(ctx, LEE)
    with pytest.raises(NotFound, match="No project has the key nope"):
        set_level(ctx, LEE, Level.ASSISTANT, projects=["nope"])
    with pytest.raises(InvalidInput, match="admins remove"):
        set_level(ctx, LEE, Level.NONE)
    with pytest.raises(NotFound, match="No user"):
        set_level(ctx, "ghost@example.com", Level.ASSISTANT)
    services.deactivate_user(ctx, actor=SAM, via=CLI, email=LEE)
    with pytest.raises(InvalidInput, match="activate them first"):
        set_level(ctx, LEE, Level.ASSISTANT)


def test_login_records_a_pending_users_first_login_once(ctx, clock):
    add(ctx, LEE, active=False)
    first = services.login(ctx, via=Via.WEBHOOK, email=LEE)
    assert "first login of a pending user" in first.message
    clock.advance(hours=1)
    second = services.login(ctx, via=Via.WEBHOOK, email=LEE)
    assert "first login" not in second.message
    logins = [e for e in audit(ctx) if e.action == "user.login"]
    assert [e.via for e in logins] == ["webhook", "webhook"]


def test_a_deactivated_user_cannot_log_in(ctx):
    add(ctx, LEE)
    services.deactivate_user(ctx, actor=SAM, via=CLI, email=LEE)
    with pytest.raises(PermissionDenied, match="deactivated and cannot sign in"):
        services.login(ctx, via=CLI, email=LEE)
    assert audit(ctx, "refused")[-1].action == "user.login"


def test_deactivating_with_a_pending_removal_drops_the_role(ctx):
    add(ctx, LEE)
    set_level(ctx, LEE, Level.ASSISTANT)
    services.login(ctx, via=CLI, email=LEE)
    services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)
    services.deactivate_user(ctx, actor=SAM, via=CLI, email=LEE)
    assert [a.email for a in services.list_admins(ctx)] == [SAM]


def test_removing_a_role_that_was_never_applied_removes_it_at_once(ctx):
    add(ctx, LEE)
    set_level(ctx, LEE, Level.SUPER)
    out = services.remove_admin(ctx, actor=SAM, via=CLI, email=LEE)
    assert not out.user.is_admin and "next login" not in out.message
    assert [a.email for a in services.list_admins(ctx)] == [SAM]
