"""Creating, activating, deactivating and deleting users through the services."""

import pytest
from sqlalchemy import select

from billing.model import Level, Status
from bot import services
from bot.errors import Conflict, InvalidInput, InvariantViolation, NotFound, PermissionDenied
from bot.services import Via
from store.models import User
from tests.helpers import audit, store_state

SAM = "sam@example.com"
CLI = Via.CLI


def add(ctx, email, actor=SAM, **kw):
    kw.setdefault("first_name", "Lee")
    kw.setdefault("last_name", "Park")
    return services.create_user(ctx, actor=actor, via=CLI, email=email, **kw)


def test_create_user_records_the_user_and_an_audit_event(ctx, clock):
    clock.set("2025-02-03T10:00:00Z")
    user = add(ctx, "  Lee@Example.com ", first_name=" Lee ")
    assert (user.email, user.first_name, user.status) == ("Lee@example.com", "Lee", Status.ACTIVE)
    event = audit(ctx)[-1]
    assert (event.action, event.outcome, event.actor, event.subject) == (
        "user.create", "ok", SAM, "Lee@example.com")
    assert event.at.isoformat().startswith("2025-02-03T10:00:00")
    assert (event.status_after, event.level_after, event.effective_after) == ("active", 0, 0)


def test_an_unticked_active_box_creates_a_pending_user(ctx):
    assert add(ctx, "lee@example.com", active=False).status is Status.PENDING


def test_only_a_hash_of_a_random_password_is_stored(ctx):
    """DESIGN section 1: at least 128 random bits, only a hash kept, never shown. The
    secret is random, so a fast hash is as safe as a slow one (bot/passwords.py)."""
    add(ctx, "lee@example.com")
    add(ctx, "kim@example.com")
    with ctx.uow as uow:
        hashes = uow.session.scalars(select(User.password_hash)).all()
    assert all(h.startswith("sha256$") and len(h) == len("sha256$") + 64 for h in hashes)
    assert len(set(hashes)) == len(hashes)  # each password is random
    assert all("sha256$" not in str(e.after) for e in audit(ctx))  # never in the history


def test_random_passwords_carry_256_bits_and_old_argon2_hashes_stay_valid():
    from argon2 import PasswordHasher, profiles

    from bot.passwords import RandomSecretHasher, random_password

    password = random_password()
    assert len(password) >= 43  # 32 bytes, URL-safe base64
    assert len({random_password() for _ in range(1000)}) == 1000
    hasher = RandomSecretHasher()
    assert hasher.verify(hasher.hash(password), password)
    assert not hasher.verify(hasher.hash(password), password + "x")
    stored = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(password)  # pre-0.2
    assert hasher.verify(stored, password) and not hasher.verify(stored, "guess")
    assert not hasher.verify("$argon2id$garbage", password)
    assert not hasher.verify("", password)


@pytest.mark.parametrize("other", ["LEE@example.com", "lee@EXAMPLE.COM", " lee@example.com"])
def test_emails_are_unique_in_any_letter_case(ctx, other):
    add(ctx, "lee@example.com")
    before = store_state(ctx)
    with pytest.raises(Conflict, match="already used by Lee Park"):
        add(ctx, other)
    assert store_state(ctx) == before


@pytest.mark.parametrize(("fields", "match"), [
    ({"first_name": "  "}, "First name is required"),
    ({"last_name": ""}, "Last name is required"),
    ({"first_name": "x" * 10_000}, "10,000 characters"),
    ({"last_name": "Park\x07"}, "control characters"),
    ({"email": "not-an-email"}, "not a valid email"),
    ({"email": ""}, "Email is required"),
])
def test_bad_input_is_refused_and_changes_nothing(ctx, fields, match):
    before = store_state(ctx)
    kw = {"email": "lee@example.com", **fields}
    with pytest.raises(InvalidInput, match=match):
        add(ctx, **kw)
    assert store_state(ctx) == before
    assert audit(ctx, "refused")[-1].action == "user.create"


def test_unknown_actor_project_and_user_are_named(ctx):
    before = store_state(ctx)
    with pytest.raises(NotFound, match=r"nobody@example\.com is not a Rollcall user"):
        add(ctx, "lee@example.com", actor="nobody@example.com")
    with pytest.raises(NotFound, match="No project has the key gamma"):
        add(ctx, "lee@example.com", projects=["gamma"])
    with pytest.raises(NotFound, match=r"No user has the email ghost@example\.com"):
        services.activate_user(ctx, actor=SAM, via=CLI, email="ghost@example.com")
    assert store_state(ctx) == before


def test_a_deleted_user_frees_the_email_and_disappears_from_lists(ctx):
    add(ctx, "lee@example.com")
    services.delete_user(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert [u.email for u in services.list_users(ctx)] == [SAM]
    again = add(ctx, "LEE@example.com", first_name="Other")
    assert again.first_name == "Other"
    with pytest.raises(NotFound):
        services.activate_user(ctx, actor=SAM, via=CLI, email="nobody-deleted@example.com")


def test_status_transitions(ctx):
    add(ctx, "lee@example.com", active=False)
    out = services.activate_user(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert out.changed and out.user.status is Status.ACTIVE
    again = services.activate_user(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert not again.changed and "already active" in again.message
    out = services.deactivate_user(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert out.user.status is Status.DEACTIVATED and "next cycle" in out.message
    out = services.activate_user(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert out.user.status is Status.ACTIVE
    actions = [e.action for e in audit(ctx, "ok")][-3:]
    assert actions == ["user.activate", "user.deactivate", "user.activate"]


def test_an_admin_is_not_deactivated_or_deleted_until_the_role_is_removed(ctx):
    add(ctx, "lee@example.com")
    services.set_admin(ctx, actor=SAM, via=CLI, email="lee@example.com", level=Level.ASSISTANT)
    before = store_state(ctx)
    for service in (services.deactivate_user, services.delete_user):
        with pytest.raises(InvariantViolation, match="Remove their admin role first"):
            service(ctx, actor=SAM, via=CLI, email="lee@example.com")
    assert store_state(ctx) == before
    out = services.deactivate_user(ctx, actor=SAM, via=CLI, email="lee@example.com",
                                   remove_admin=True)
    assert out.user.status is Status.DEACTIVATED and not out.user.is_admin


def test_the_last_super_cannot_be_deactivated_or_deleted_even_in_one_step(ctx):
    before = store_state(ctx)
    for service in (services.deactivate_user, services.delete_user):
        for remove_admin in (False, True):
            with pytest.raises(InvariantViolation, match="last active SUPER"):
                service(ctx, actor=SAM, via=CLI, email=SAM, remove_admin=remove_admin)
    assert store_state(ctx) == before
    refused = audit(ctx, "refused")
    assert len(refused) == 4 and all("last active SUPER" in e.reason for e in refused)


def test_an_assistant_manages_users_in_its_projects_only(ctx):
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=CLI, key=key, name=key.title())
    add(ctx, "pat@example.com", first_name="Pat", last_name="Lane", projects=["alpha"])
    services.set_admin(ctx, actor=SAM, via=CLI, email="pat@example.com",
                       level=Level.ASSISTANT, projects=["alpha"])
    services.login(ctx, via=CLI, email="pat@example.com")
    add(ctx, "b@example.com", projects=["beta"])
    pat = "pat@example.com"
    add(ctx, "a@example.com", actor=pat, projects=["alpha"])
    with pytest.raises(PermissionDenied, match="outside Pat"):
        add(ctx, "c@example.com", actor=pat, projects=["beta"])
    with pytest.raises(PermissionDenied, match="outside Pat"):
        add(ctx, "d@example.com", actor=pat)
    with pytest.raises(PermissionDenied, match="outside Pat"):
        services.deactivate_user(ctx, actor=pat, via=CLI, email="b@example.com")
    services.deactivate_user(ctx, actor=pat, via=CLI, email="a@example.com")
    visible = [u.email for u in services.list_users(ctx, actor=pat)]
    assert visible == ["a@example.com", "pat@example.com"]


def test_view_only_admins_and_non_admins_cannot_manage_users(ctx):
    add(ctx, "vo@example.com")
    services.set_admin(ctx, actor=SAM, via=CLI, email="vo@example.com", level=Level.VIEW_ONLY)
    services.login(ctx, via=CLI, email="vo@example.com")
    add(ctx, "plain@example.com")
    assert services.list_users(ctx, actor="vo@example.com")
    for who in ("vo@example.com", "plain@example.com"):
        with pytest.raises(PermissionDenied):
            add(ctx, "x@example.com", actor=who)
    with pytest.raises(PermissionDenied, match="not an administrator"):
        services.list_users(ctx, actor="plain@example.com")


def test_a_deactivated_admin_loses_every_right(ctx):
    add(ctx, "lee@example.com")
    services.set_admin(ctx, actor=SAM, via=CLI, email="lee@example.com", level=Level.SUPER)
    services.login(ctx, via=CLI, email="lee@example.com")
    with ctx.uow as uow:  # a manual edit: the user is deactivated behind Rollcall's back
        uow.session.scalar(select(User).where(User.email == "lee@example.com")).status = (
            "deactivated")
        uow.commit()
    with pytest.raises(PermissionDenied, match="deactivated, not an active user"):
        add(ctx, "x@example.com", actor="lee@example.com")
