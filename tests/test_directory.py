"""The directory's services (SCIM 2.0, DESIGN section 10): tokens, users, groups, the
rules of section 1 through them, and what they bill. The HTTP translation has its own
tests; these hold the rules."""

import hashlib
from datetime import date

import pytest
from sqlalchemy import event, select

from billing.model import Level
from bot import services
from bot.errors import (
    Conflict,
    InvalidInput,
    LastSuperViolation,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from bot.services import Via
from bot.services import billing as billing_service
from bot.services import directory as d
from bot.services.context import Channels
from bot.services.users import NewUser, add_users
from store.models import AuditEvent, Organization, OutboxMessage, ScimToken, User
from tests.helpers import audit, store_state

SAM, LEE, PAT, KIM = "sam@example.com", "lee@example.com", "pat@example.com", "kim@example.com"
SCIM, CLI = Via.SCIM, Via.CLI


@pytest.fixture
def org(ctx, clock):
    """Sam and Lee are SUPERs over all projects (applied), Pat an ASSISTANT (applied), Kim
    a plain user; project alpha exists; warnings go to C0BILLING."""
    ctx.channels = Channels(billing="C0BILLING")
    services.add_project(ctx, actor=SAM, via=CLI, key="alpha", name="Alpha")
    for email, level in ((LEE, Level.SUPER), (PAT, Level.ASSISTANT), (KIM, None)):
        services.create_user(ctx, actor=SAM, via=CLI, email=email, first_name=email[:3].title(),
                             last_name="Test")
        if level:
            services.set_admin(ctx, actor=SAM, via=CLI, email=email, level=level)
            services.login(ctx, via=CLI, email=email)
    clock.advance(hours=1)
    return ctx


def uid(ctx, email):
    with ctx.uow as uow:
        return uow.session.scalar(select(User.id).where(User.email_key == email.casefold(),
                                                        User.status != "deleted"))


def row(ctx, email):
    with ctx.uow as uow:
        user = uow.session.scalar(select(User).where(User.email_key == email.casefold(),
                                                     User.status != "deleted"))
        grant = user.grant and (user.grant.level, user.grant.effective_level,
                                user.grant.all_projects)
        return user.status, grant


def outbox(ctx):
    with ctx.uow as uow:
        return [(r.key, r.channel, r.payload) for r in uow.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def provision(ctx, email, actor=SAM, **kw):
    kw.setdefault("first_name", "Ann")
    kw.setdefault("last_name", "Lee")
    kw.setdefault("external_id", None)
    kw.setdefault("active", True)
    return d.provision_user(ctx, actor=actor, via=SCIM, email=email, **kw)


# ---- tokens ----------------------------------------------------------------------------

def test_a_token_is_returned_once_and_only_its_hash_is_kept(org):
    token = d.create_token(org, actor=SAM, via=CLI, name="okta")
    assert len(token) >= 43  # 256 random bits
    with org.uow as uow:
        [stored] = uow.session.scalars(select(ScimToken)).all()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    [view] = d.list_tokens(org)
    assert (view.name, view.created_by, view.last_used_at, view.revoked_at) == (
        "okta", SAM, None, None)
    assert token not in repr(view)
    assert all(token not in repr((e.reason, e.before, e.after)) for e in audit(org))
    assert all(token not in repr(o) for o in outbox(org))
    made = audit(org, "ok")[-1]
    assert (made.action, made.actor, made.via, made.reason) == (
        "scim.token_create", SAM, "cli", "SCIM token okta")
    assert d.authenticate(org, token) == SAM


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 10_000, "é\u2028"])
def test_missing_or_unknown_tokens_are_unauthenticated_and_say_what_to_do(org, token):
    d.create_token(org, actor=SAM, via=CLI, name="okta")
    with pytest.raises(Unauthenticated, match="rollcall scim token create"):
        d.authenticate(org, token)


def test_a_revoked_token_is_unauthenticated(org, clock):
    token = d.create_token(org, actor=SAM, via=CLI, name="okta")
    said = d.revoke_token(org, actor=LEE, via=CLI, name="okta")
    assert "revoked" in said and token not in said
    with pytest.raises(Unauthenticated, match="revoked"):
        d.authenticate(org, token)
    [view] = d.list_tokens(org)
    assert view.revoked_at == clock.now()
    assert "already" in d.revoke_token(org, actor=SAM, via=CLI, name="okta")
    assert [e.action for e in audit(org, "ok")][-1] == "scim.token_revoke"


@pytest.mark.parametrize("demote", ["assistant", "deactivate", "remove", "delete"])
def test_a_token_whose_creator_cannot_act_as_an_org_super_is_refused(org, demote):
    token = d.create_token(org, actor=LEE, via=CLI, name="entra")
    assert d.authenticate(org, token) == LEE
    if demote == "assistant":  # bites at once, though pending until Lee's next login
        services.set_admin(org, actor=SAM, via=CLI, email=LEE, level=Level.ASSISTANT)
    elif demote == "remove":
        services.remove_admin(org, actor=SAM, via=CLI, email=LEE)
    else:
        getattr(services, f"{demote}_user")(org, actor=SAM, via=CLI, email=LEE,
                                            remove_admin=True)
    with pytest.raises(PermissionDenied, match="no longer an active SUPER"):
        d.authenticate(org, token)


def test_only_a_super_over_all_projects_creates_or_revokes_tokens(org):
    services.create_user(org, actor=SAM, via=CLI, email="ann@example.com", first_name="Ann",
                         last_name="Scoped", projects=["alpha"])
    services.set_admin(org, actor=SAM, via=CLI, email="ann@example.com", level=Level.SUPER,
                       projects=["alpha"])
    services.login(org, via=CLI, email="ann@example.com")
    d.create_token(org, actor=SAM, via=CLI, name="okta")
    before = store_state(org), d.list_tokens(org)
    for actor in (PAT, KIM, "ann@example.com"):
        with pytest.raises(PermissionDenied, match="SUPER admin over all projects"):
            d.create_token(org, actor=actor, via=CLI, name="mine")
        with pytest.raises(PermissionDenied, match="SUPER admin over all projects"):
            d.revoke_token(org, actor=actor, via=CLI, name="okta")
    assert (store_state(org), d.list_tokens(org)) == before
    refused = [e.action for e in audit(org, "refused")]
    assert refused == ["scim.token_create", "scim.token_revoke"] * 3


def test_token_names_are_unique_and_revoking_an_unknown_name_is_not_found(org):
    d.create_token(org, actor=SAM, via=CLI, name="okta")
    with pytest.raises(Conflict, match="okta exists already"):
        d.create_token(org, actor=SAM, via=CLI, name=" okta ")
    with pytest.raises(NotFound, match="No SCIM token is named entra"):
        d.revoke_token(org, actor=SAM, via=CLI, name="entra")
    with pytest.raises(InvalidInput):
        d.create_token(org, actor=SAM, via=CLI, name="  ")
    assert [t.name for t in d.list_tokens(org)] == ["okta"]


def test_last_use_is_recorded_at_most_once_a_minute_without_the_writers_lock(org, clock):
    token = d.create_token(org, actor=SAM, via=CLI, name="okta")

    def write_seq():
        with org.uow as uow:
            return uow.session.scalar(select(Organization.write_seq))

    seq, first = write_seq(), clock.now()
    d.authenticate(org, token)
    assert d.list_tokens(org)[0].last_used_at == first
    clock.advance(seconds=59)
    d.authenticate(org, token)
    assert d.list_tokens(org)[0].last_used_at == first
    clock.advance(seconds=1)
    d.authenticate(org, token)
    assert d.list_tokens(org)[0].last_used_at == clock.now()
    assert write_seq() == seq  # no writer's lock was taken


# ---- provisioning ----------------------------------------------------------------------

def test_provisioning_creates_active_or_pending_users_audited_via_scim(org, clock):
    ann = provision(org, " Ann@Example.com ", external_id=" 00u1 ")
    bob = provision(org, "bob@example.com", first_name="Bob", active=False)
    assert (ann.email, ann.first_name, ann.external_id, ann.active, ann.level) == (
        "Ann@example.com", "Ann", "00u1", True, Level.NONE)
    assert ann.created == ann.last_modified == clock.now()
    assert row(org, "ann@example.com")[0] == "active"
    assert (bob.active, row(org, "bob@example.com")[0], bob.external_id) == (
        False, "pending", None)
    events = audit(org, "ok")[-2:]
    assert [(e.action, e.via, e.actor, e.subject) for e in events] == [
        ("user.create", "scim", SAM, "Ann@example.com"),
        ("user.create", "scim", SAM, "bob@example.com")]
    assert ann.version == f'W/"{events[0].id}"'
    assert d.get_user(org, actor=SAM, user_id=ann.id) == ann


@pytest.mark.parametrize("taken", ["KIM@example.com", "kim@EXAMPLE.com", " kim@example.com"])
def test_a_taken_email_is_a_conflict_in_any_letter_case(org, taken):
    before = store_state(org)
    with pytest.raises(Conflict, match="already used by Kim Test"):
        provision(org, taken)
    assert store_state(org) == before
    refused = audit(org, "refused")[-1]
    assert (refused.action, refused.via) == ("user.create", "scim")


@pytest.mark.parametrize(("fields", "match"), [
    ({"first_name": " "}, "First name is required"), ({"last_name": ""}, "Last name"),
    ({"email": "nope"}, "not a valid email"), ({"external_id": "x" * 256}, "externalId"),
])
def test_bad_input_is_refused_and_changes_nothing(org, fields, match):
    before = store_state(org)
    with pytest.raises(InvalidInput, match=match):
        fields = dict(fields)  # the parameters are shared by every backend's run
        provision(org, fields.pop("email", "ann@example.com"), **fields)
    assert store_state(org) == before


def test_whoever_the_directory_acts_as_the_usual_rules_apply(org):
    """Seat approval for an ASSISTANT's active seat; no creation by a non-admin."""
    from bot.errors import ApprovalRequired
    from bot.services.approvals import set_policy

    set_policy(org, actor=SAM, via=CLI, seat_approval=True)
    with pytest.raises(ApprovalRequired, match="SUPER's approval"):
        provision(org, "ann@example.com", actor=PAT)
    assert not provision(org, "ann@example.com", actor=PAT, active=False).active
    with pytest.raises(PermissionDenied, match="managing users"):
        provision(org, "bob@example.com", actor=KIM)


# ---- updating --------------------------------------------------------------------------

def test_names_email_and_external_id_change_as_one_update_event(org):
    kim = d.get_user(org, actor=SAM, user_id=uid(org, KIM))
    new = d.update_user(org, actor=SAM, via=SCIM, user_id=kim.id, email="Kim.T@example.com",
                        first_name="Kimberly", external_id="00u9")
    assert (new.email, new.first_name, new.last_name, new.external_id) == (
        "Kim.T@example.com", "Kimberly", "Test", "00u9")
    assert new.version != kim.version and new.created == kim.created
    last = audit(org, "ok")[-1]
    assert (last.action, last.via, last.subject) == ("user.update", "scim", "Kim.T@example.com")
    assert last.reason == ("email kim@example.com → Kim.T@example.com; first name Kim → "
                           "Kimberly; externalId - → 00u9")
    assert uid(org, KIM) is None and uid(org, "kim.t@example.com") == kim.id


def test_the_version_changes_with_every_change_and_not_without(org, clock):
    kim_id = uid(org, KIM)
    first = d.get_user(org, actor=SAM, user_id=kim_id)
    events = len(audit(org))
    for same in ({}, {"first_name": "Kim"}, {"email": "kim@example.com", "last_name": "Test"},
                 {"external_id": None}, {"active": True}):
        clock.advance(minutes=1)
        assert d.update_user(org, actor=SAM, via=SCIM, user_id=kim_id, **same) == first
    assert len(audit(org)) == events
    versions = {first.version}
    for change in ({"last_name": "Other"}, {"external_id": "x1"}, {"external_id": None},
                   {"active": False}, {"active": True}, {"email": "KIM@example.com"}):
        clock.advance(minutes=1)
        now = d.update_user(org, actor=SAM, via=SCIM, user_id=kim_id, **change)
        assert now.version not in versions and now.last_modified == clock.now()
        versions.add(now.version)


def test_another_users_email_is_a_conflict(org):
    before = store_state(org)
    with pytest.raises(Conflict, match="already used by Pat Test"):
        d.update_user(org, actor=SAM, via=SCIM, user_id=uid(org, KIM), email="PAT@example.com",
                      first_name="Changed")
    assert store_state(org) == before
    refused = audit(org, "refused")[-1]
    assert (refused.action, refused.subject, refused.subject_user_id) == (
        "user.update", KIM, uid(org, KIM))


def test_deactivating_an_admin_removes_the_grant_in_the_same_step(org):
    pat = d.update_user(org, actor=SAM, via=SCIM, user_id=uid(org, PAT), active=False)
    assert (pat.active, pat.level) == (False, Level.NONE)
    assert row(org, PAT) == ("deactivated", None)
    removal, last = audit(org, "ok")[-2:]  # audited as both (DESIGN section 10)
    assert (removal.action, removal.via, removal.before["level"], removal.after["level"],
            removal.after["status"]) == ("admin.remove", "scim", "assistant", "none", "active")
    assert (last.action, last.via, last.before["level"], last.after["status"]) == (
        "user.deactivate", "scim", "none", "deactivated")
    assert removal.at == last.at  # one step: billing holds no state in between
    assert (last.status_after, last.level_after, last.effective_after) == ("deactivated", 0, 0)
    again = d.update_user(org, actor=SAM, via=SCIM, user_id=pat.id, active=True)
    assert again.active and row(org, PAT) == ("active", None)  # the role does not come back


def test_a_pending_user_is_activated_and_stays_pending_on_active_false(org):
    ann = provision(org, "ann@example.com", active=False)
    assert d.update_user(org, actor=SAM, via=SCIM, user_id=ann.id, active=False) == ann
    assert d.update_user(org, actor=SAM, via=SCIM, user_id=ann.id, active=True).active
    assert row(org, "ann@example.com")[0] == "active"


def test_deactivating_the_last_super_is_refused_audited_and_posted(ctx):
    ctx.channels = Channels(billing="C0BILLING")
    sam = uid(ctx, SAM)
    before, events = store_state(ctx), len(audit(ctx, "ok"))
    with pytest.raises(LastSuperViolation, match="last active SUPER"):
        d.update_user(ctx, actor=SAM, via=SCIM, user_id=sam, active=False)
    with pytest.raises(LastSuperViolation):  # names given too: still one transaction
        d.update_user(ctx, actor=SAM, via=SCIM, user_id=sam, first_name="Samuel",
                      active=False)
    assert store_state(ctx) == before and len(audit(ctx, "ok")) == events
    refused = audit(ctx, "refused")
    assert [(e.action, e.via, e.subject, e.subject_user_id) for e in refused] == [
        ("user.deactivate", "scim", SAM, sam), ("user.update", "scim", SAM, sam)]
    posts = outbox(ctx)
    assert [key for key, *_ in posts] == [f"warning:{e.id}" for e in refused]
    assert posts[0][1] == "C0BILLING" and "tried to deactivate sam@example.com via scim" in str(
        posts[0][2])


def test_unknown_or_deleted_ids_are_not_found(org):
    services.delete_user(org, actor=SAM, via=CLI, email=KIM)
    for user_id in (9999, -1, 0, 2**40, uid(org, SAM) + 3):  # +3: Kim, deleted
        with pytest.raises(NotFound):
            d.get_user(org, actor=SAM, user_id=user_id)
        with pytest.raises(NotFound):
            d.update_user(org, actor=SAM, via=SCIM, user_id=user_id, first_name="X")
        with pytest.raises(NotFound):
            d.deprovision_user(org, actor=SAM, via=SCIM, user_id=user_id)


# ---- deprovisioning --------------------------------------------------------------------

def test_deprovisioning_makes_the_tombstone_and_removes_the_grant(org):
    pat = uid(org, PAT)
    d.deprovision_user(org, actor=SAM, via=SCIM, user_id=pat)
    with pytest.raises(NotFound):
        d.get_user(org, actor=SAM, user_id=pat)
    removal, last = audit(org, "ok")[-2:]  # audited as both (DESIGN section 10)
    assert (removal.action, removal.before["level"], removal.after["level"]) == (
        "admin.remove", "assistant", "none")
    assert (last.action, last.via, last.status_after, last.level_after) == (
        "user.delete", "scim", "deleted", 0)
    again = provision(org, "Pat@example.com")  # the email is free again
    assert again.id != pat and (again.level, again.active) == (Level.NONE, True)


def test_deprovisioning_the_last_super_is_refused(ctx):
    ctx.channels = Channels(billing="C0BILLING")
    before = store_state(ctx)
    with pytest.raises(LastSuperViolation):
        d.deprovision_user(ctx, actor=SAM, via=SCIM, user_id=uid(ctx, SAM))
    assert store_state(ctx) == before
    refused = audit(ctx, "refused")[-1]
    assert (refused.action, refused.subject) == ("user.delete", SAM)
    assert len(outbox(ctx)) == 1


# ---- groups ----------------------------------------------------------------------------

def test_group_members_are_the_users_whose_assigned_level_it_is(org):
    ids = {e: uid(org, e) for e in (SAM, LEE, PAT, KIM)}
    assert d.group_members(org, actor=SAM, level=Level.SUPER) == [(ids[SAM], SAM),
                                                                  (ids[LEE], LEE)]
    assert d.group_members(org, actor=SAM, level=Level.ASSISTANT) == [(ids[PAT], PAT)]
    assert d.group_members(org, actor=SAM, level=Level.VIEW_ONLY) == []
    services.set_admin(org, actor=SAM, via=CLI, email=LEE, level=Level.VIEW_ONLY)  # pending
    assert d.group_members(org, actor=SAM, level=Level.VIEW_ONLY) == [(ids[LEE], LEE)]


def test_adding_grants_the_level_over_all_projects_pending_and_moves_other_levels(org):
    ids = {e: uid(org, e) for e in (PAT, KIM)}
    d.change_group(org, actor=SAM, via=SCIM, level=Level.VIEW_ONLY, add=[ids[KIM], ids[PAT]])
    assert row(org, KIM) == ("active", ("view-only", None, True))  # pending its login
    assert row(org, PAT) == ("active", ("view-only", "assistant", True))
    assert [e.action for e in audit(org, "ok")][-2:] == ["admin.set", "admin.set"]
    events = len(audit(org))
    d.change_group(org, actor=SAM, via=SCIM, level=Level.VIEW_ONLY, add=[ids[KIM]])
    assert len(audit(org)) == events  # already a member: nothing to do


def test_removing_takes_only_this_levels_grant(org):
    pat = uid(org, PAT)
    before = store_state(org)
    d.change_group(org, actor=SAM, via=SCIM, level=Level.SUPER, remove=[pat, uid(org, KIM)])
    assert store_state(org) == before  # Pat is an ASSISTANT, Kim no admin
    d.change_group(org, actor=SAM, via=SCIM, level=Level.ASSISTANT, remove=[pat])
    assert row(org, PAT) == ("active", (None, "assistant", True))  # pending its login
    assert d.group_members(org, actor=SAM, level=Level.ASSISTANT) == []
    assert audit(org, "ok")[-1].action == "admin.remove"


def test_replacing_makes_the_members_exactly_these(org):
    kim = uid(org, KIM)
    after = d.change_group(org, actor=SAM, via=SCIM, level=Level.ASSISTANT, replace=[kim])
    assert after == d.group_members(org, actor=SAM, level=Level.ASSISTANT) == [(kim, KIM)]
    assert row(org, PAT)[1][0] is None
    d.change_group(org, actor=SAM, via=SCIM, level=Level.ASSISTANT, replace=[])
    assert d.group_members(org, actor=SAM, level=Level.ASSISTANT) == []


def test_a_super_who_hands_the_group_over_gets_the_members_back(org):
    """Sam replaces the SUPER group by Lee (who can act): Sam's removal bites at once, so
    the members come back from the change itself, not from a read Sam may not make."""
    lee = uid(org, LEE)
    assert d.change_group(org, actor=SAM, via=SCIM, level=Level.SUPER, replace=[lee]) == [
        (lee, LEE)]
    assert row(org, SAM)[1] == (None, "super", True)
    with pytest.raises(PermissionDenied):
        d.group_members(org, actor=SAM, level=Level.SUPER)


def test_a_group_change_that_would_leave_no_super_changes_nothing(ctx):
    ctx.channels = Channels(billing="C0BILLING")
    services.create_user(ctx, actor=SAM, via=CLI, email=KIM, first_name="Kim", last_name="T")
    kim, sam = uid(ctx, KIM), uid(ctx, SAM)
    before = store_state(ctx)
    with pytest.raises(LastSuperViolation, match="Sam Stone is the last"):
        d.change_group(ctx, actor=SAM, via=SCIM, level=Level.SUPER, replace=[kim])
    with pytest.raises(LastSuperViolation):
        d.change_group(ctx, actor=SAM, via=SCIM, level=Level.SUPER, remove=[sam])
    with pytest.raises(LastSuperViolation):  # Sam moved to another group
        d.change_group(ctx, actor=SAM, via=SCIM, level=Level.ASSISTANT, add=[sam])
    assert store_state(ctx) == before
    refused = audit(ctx, "refused")
    assert [(e.action, e.subject, e.subject_user_id) for e in refused] == [
        ("admin.set", SAM, sam), ("admin.remove", SAM, sam), ("admin.set", SAM, sam)]
    assert len(outbox(ctx)) == 3 and "change the admin role of sam@example.com" in str(
        outbox(ctx)[0][2])


def test_group_changes_name_unknown_or_deleted_ids(org):
    kim = uid(org, KIM)
    services.delete_user(org, actor=SAM, via=CLI, email=KIM)
    before = store_state(org)
    for kw in ({"add": [kim]}, {"remove": [4242]}, {"replace": [uid(org, PAT), kim]}):
        with pytest.raises(NotFound, match=str(kw.get("remove", [kim])[0])):
            d.change_group(org, actor=SAM, via=SCIM, level=Level.ASSISTANT, **kw)
    assert store_state(org) == before
    with pytest.raises(InvalidInput):
        d.group_members(org, actor=SAM, level=Level.NONE)


def test_the_group_version_moves_with_its_membership(org, clock):
    first = d.group_version(org, level=Level.VIEW_ONLY)
    with org.uow as uow:
        created = uow.session.get(Organization, 1).created_at
    assert first == (created, 'W/"0"')
    clock.advance(minutes=5)
    d.change_group(org, actor=SAM, via=SCIM, level=Level.VIEW_ONLY, add=[uid(org, KIM)])
    added = d.group_version(org, level=Level.VIEW_ONLY)
    assert added[0] == clock.now() and added != first
    supers = d.group_version(org, level=Level.SUPER)
    clock.advance(minutes=5)
    services.remove_admin(org, actor=SAM, via=CLI, email=KIM)  # leaves the group
    assert d.group_version(org, level=Level.VIEW_ONLY)[0] == clock.now()
    assert d.group_version(org, level=Level.SUPER) == supers


# ---- listing ---------------------------------------------------------------------------

def test_find_users_filters_in_sql_and_counts_exactly(org):
    ann = provision(org, "ann@example.com", external_id="00u1", active=False)
    services.delete_user(org, actor=SAM, via=CLI, email=KIM)
    find = lambda start=1, count=100, **q: d.find_users(  # noqa: E731
        org, actor=SAM, query=d.UserQuery(**q), start=start, count=count)
    total, page = find()
    assert total == 4 and [u.email for u in page] == [SAM, LEE, PAT, "ann@example.com"]
    assert find(email="ANN@example.COM") == (1, [ann])
    assert find(email=KIM) == (0, [])  # deleted
    assert find(external_id="00u1") == (1, [ann]) and find(external_id="00U1") == (0, [])
    assert [u.email for u in find(active=False)[1]] == ["ann@example.com"]
    assert find(active=True)[0] == 3
    assert find(email="ann@example.com", active=True) == (0, [])
    assert find(start=2, count=2) == (4, page[1:3])
    assert find(start=0, count=1) == (4, page[:1])
    assert find(start=5) == (4, [])
    assert find(count=0) == (4, [])
    assert find(start=2**62, count=2**62) == (4, [])
    assert [u.level for u in page] == [Level.SUPER, Level.SUPER, Level.ASSISTANT, Level.NONE]


def test_a_page_costs_the_same_queries_for_three_users_or_ten_thousand(org):
    """Filter, count and page in SQL; the versions of a page in one grouped query."""
    news = [NewUser.checked(email=f"u{i}@example.com", first_name="U", last_name=str(i),
                            active=True, projects=()) for i in range(10_000)]
    statements = []

    def count(*args):
        statements.append(args[2])

    def page(n):
        statements.clear()
        event.listen(org.uow.engine, "before_cursor_execute", count)
        try:
            total, users = d.find_users(org, actor=SAM, query=d.UserQuery(), start=1, count=n)
        finally:
            event.remove(org.uow.engine, "before_cursor_execute", count)
        return total, len(users), len(statements)

    small = page(3)
    with org.uow as uow:
        add_users(uow.session, org.clock.now(), None, SCIM, news, org.hasher)
        uow.commit()
    large = page(200)
    assert small[:2] == (4, 3) and large[:2] == (10_004, 200) and small[2] == large[2]
    assert sum("GROUP BY" in s for s in statements) == 1


def test_a_scoped_viewer_sees_only_their_projects_members(org):
    services.create_user(org, actor=SAM, via=CLI, email="ann@example.com", first_name="Ann",
                         last_name="A", projects=["alpha"])
    services.set_admin(org, actor=SAM, via=CLI, email="ann@example.com",
                       level=Level.VIEW_ONLY, projects=["alpha"])
    services.login(org, via=CLI, email="ann@example.com")
    total, page = d.find_users(org, actor="ann@example.com", query=d.UserQuery(), start=1,
                               count=10)
    assert (total, [u.email for u in page]) == (1, ["ann@example.com"])
    with pytest.raises(NotFound):
        d.get_user(org, actor="ann@example.com", user_id=uid(org, KIM))
    with pytest.raises(PermissionDenied):
        d.find_users(org, actor=KIM, query=d.UserQuery(), start=1, count=10)


# ---- billing ---------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["any-time", "end-of-cycle", "prorated"])
def test_deactivating_through_the_directory_bills_as_deactivating_in_slack(ctx, clock, policy):
    """An admin deactivated on the 10th, with the role removed in the same step: the
    same invoices whether the directory did it or a SUPER in Slack."""
    from tests.helpers import fresh_organization

    def scenario(deactivate):
        clock.set("2025-02-01T00:00:00Z")
        fresh_organization(ctx)
        billing_service.configure_billing(
            ctx, actor=SAM, via=CLI, anchor=date(2025, 1, 1), user_price="10",
            user_policy=policy, admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30"})
        clock.set("2025-02-01T09:00:00Z")
        services.create_user(ctx, actor=SAM, via=CLI, email=PAT, first_name="Pat",
                             last_name="Test")
        services.set_admin(ctx, actor=SAM, via=CLI, email=PAT, level=Level.ASSISTANT)
        services.login(ctx, via=CLI, email=PAT)
        clock.set("2025-02-10T15:00:00Z")
        deactivate()
        clock.set("2025-03-20T00:00:00Z")  # drafts: final invoices cannot be emptied
        return [billing_service.invoice_on(ctx, day=day).document
                for day in (date(2025, 2, 15), date(2025, 3, 15))]

    by_directory = scenario(lambda: d.update_user(ctx, actor=SAM, via=SCIM,
                                                  user_id=uid(ctx, PAT), active=False))
    in_slack = scenario(lambda: services.deactivate_user(ctx, actor=SAM, via=Via.SLACK,
                                                         email=PAT, remove_admin=True))
    assert by_directory == in_slack and len(by_directory) == 2
    february, march = by_directory
    # the seat as the policy says (gone before February's last instant); the admin level
    # for the cycle it was held in, whatever the policy
    assert (PAT in february["users"]) is (policy != "end-of-cycle")
    assert february["admins"][PAT] == "assistant"
    assert PAT not in march["users"] and PAT not in march["admins"]


# ---- the migration ---------------------------------------------------------------------

def test_migration_0007_goes_down_and_up_again_with_history(ctx):
    """0007 adds `users.external_id` and `scim_tokens`; going back to 0006 keeps every
    user and event (a plain DROP COLUMN: SQLite's batch copy of `users` would trip over
    the audit's foreign keys), and up again builds the models' schema."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from sqlalchemy import func, inspect

    from store.db import MIGRATIONS
    from store.models import Base

    d.create_token(ctx, actor=SAM, via=CLI, name="okta")
    provision(ctx, "ann@example.com", external_id="00u1")
    engine = ctx.uow.engine

    def run(step, revision):
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    run(command.downgrade, "0006")
    with engine.connect() as conn:
        assert "external_id" not in {c["name"] for c in inspect(conn).get_columns("users")}
        assert not inspect(conn).has_table("scim_tokens")
        assert conn.scalar(select(func.count()).select_from(AuditEvent)) > 0
    run(command.upgrade, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert uid(ctx, "ann@example.com") is not None
    assert d.get_user(ctx, actor=SAM, user_id=uid(ctx, "ann@example.com")).external_id is None
