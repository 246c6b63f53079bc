"""Admin grants: set level and scope, remove, apply now, and the login that applies.

A level change (a new grant and a removal too) is recorded at once as the assigned level
and stays pending until the admin's next login, or until a SUPER applies it now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot import posts
from bot.errors import (
    InvalidInput,
    NotFound,
    NotInitialised,
    PermissionDenied,
    RollcallError,
    Unavailable,
)
from bot.rules import Actor, Scope, require_in_scope, require_level_changer, require_super
from bot.services.actors import find_user, load_actor
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.guards import is_org_super, keep_an_org_super
from bot.services.refusals import refusing
from bot.services.transactions import writing
from bot.services.views import Outcome, UserView, user_view
from bot.validation import clean_project_key
from store import repository
from store.models import AdminGrant, Project, User
from store.outbox import enqueue


def admin_keys(level: Level, projects: Sequence[str] | None) -> list[str] | None:
    """Checked input of an admin change: the project keys (None: all projects)."""
    if level is Level.NONE:
        raise InvalidInput("To take an admin role away, use `admins remove`.")
    keys = None if projects is None else sorted({clean_project_key(k) for k in projects})
    if keys == []:
        raise InvalidInput("Give the projects the admin manages, or `all`.")
    return keys


class _DryRun(Exception):
    """Raised to roll a dry run's transaction back."""


def refusal_of_change(ctx: Context, *, actor: str, email: str, level: Level,
                      projects: Sequence[str] | None = None) -> str | None:
    """Why `set_admin` would refuse this change now, or None: the change is made in a
    transaction that is always rolled back, so every rule (rights, invariants) is the
    real one, and nothing is written or audited."""
    try:
        keys = admin_keys(level, projects)
        with writing(ctx) as (session, now):
            acting_user, acting = load_actor(session, actor)
            change_admin(session, now, acting_user, acting, via=Via.CLI, email=email,
                         level=level, keys=keys)
            raise _DryRun
    except _DryRun:
        return None
    except (NotInitialised, Unavailable):
        raise
    except RollcallError as exc:
        return str(exc)


def change_admin(session: Session, now: datetime, acting_user: User, acting: Actor, *, via: Via,
                 email: str, level: Level, keys: list[str] | None) -> Outcome:
    """The admin change inside the caller's transaction (also run by an approval)."""
    new_scope = Scope.of(keys)
    user = find_user(session, email)
    before = user_view(user)
    require_level_changer(acting, before.projects, before.scope, new_scope, before.name)
    if before.status is Status.DEACTIVATED:
        raise InvalidInput(f"{before.name} is deactivated; activate them first.")
    rows = require_project_keys(session, keys)
    if before.level == level and before.scope == new_scope:
        return Outcome(before, False, f"{before.name} is already {level.title} over "
                                      f"{new_scope.describe()}.")
    was_super = is_org_super(user)
    if user.grant is None:
        user.grant = AdminGrant(effective_level=None)
    grant = user.grant
    grant.level = level.label
    grant.all_projects = new_scope.all
    grant.scope = [rows[k] for k in keys or ()]
    grant.changed_at = now
    keep_an_org_super(session, user, was_super, _doing(before, level, new_scope))
    record(session, at=now, via=via, action="admin.set", actor=acting_user, subject=user,
           before=before)
    after = user_view(user)
    pending = (f" It applies at {after.first_name}'s next login (or `admins apply`)."
               if after.pending else "")
    return Outcome(after, True, f"{after.name} is now {level.title} over "
                                f"{new_scope.describe()}.{pending}")


def _doing(before: UserView, level: Level, scope: Scope) -> str:
    """What an admin change does, in the words of a refusal ("cannot ...")."""
    if level < before.level or before.level is Level.NONE:
        return f"make them {level.title}"
    if before.scope is not None and before.scope.all and not scope.all:
        return f"narrow their scope to {scope.describe()}"
    return f"make them {level.title} over {scope.describe()}"


def require_project_keys(session: Session, keys: Sequence[str] | None) -> dict[str, Project]:
    """The projects named by an admin scope (None: all projects); each must exist."""
    rows = repository.projects_by_key(session, keys or ())
    missing = sorted(set(keys or ()) - set(rows))
    if missing:
        raise NotFound(f"No project has the key {', '.join(missing)}; add it first.")
    return rows


@refusing("admin.remove")
def remove_admin(ctx: Context, *, actor: str, via: Via, email: str) -> Outcome:
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        return remove_admin_in(session, now, acting_user, acting, via, email)


def remove_admin_in(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
                    email: str) -> Outcome:
    """The removal inside the caller's transaction (also run by an approval)."""
    user = find_user(session, email)
    before = user_view(user)
    if user.grant is None:
        require_in_scope(acting, before.projects)
        raise InvalidInput(f"{before.name} is not an admin, so there is nothing to remove.")
    require_level_changer(acting, before.projects, before.scope, None, before.name)
    if user.grant.level is None:
        return Outcome(before, False, f"{before.name}'s admin role is already being "
                                      "removed; it goes at their next login.")
    was_super = is_org_super(user)
    if user.grant.effective_level is None:
        user.grant = None  # never applied: nothing to wait for
    else:
        user.grant.level = None
        user.grant.changed_at = now
    keep_an_org_super(session, user, was_super, "remove their admin role")
    record(session, at=now, via=via, action="admin.remove", actor=acting_user,
           subject=user, before=before)
    after = user_view(user)
    if after.is_admin:
        return Outcome(after, True, f"{after.name}'s admin role is removed; it applies at "
                                    "their next login (or `admins apply`).")
    return Outcome(after, True, f"{after.name}'s admin role is removed.")


def _apply_pending(user: User, now: datetime) -> bool:
    grant = user.grant
    if grant is None or grant.level == grant.effective_level:
        return False
    if grant.level is None:
        user.grant = None
    else:
        grant.effective_level = grant.level
        grant.changed_at = now
    return True


@refusing("admin.apply")
def apply_now(ctx: Context, *, actor: str, via: Via, email: str) -> Outcome:
    """A SUPER applies a pending change at once; the admin's sessions are signed out."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = find_user(session, email)
        before = user_view(user)
        require_super(acting, "apply a pending admin change at once")
        if before.scope is None:
            require_in_scope(acting, before.projects)
            raise InvalidInput(f"{before.name} is not an admin; nothing to apply.")
        require_level_changer(acting, before.projects, before.scope, None, before.name)
        if not _apply_pending(user, now):
            return Outcome(before, False, f"{before.name} has no pending admin change.")
        record(session, at=now, via=via, action="admin.apply", actor=acting_user,
               subject=user, before=before)
        after = user_view(user)
    return Outcome(after, True, f"{after.name}'s admin change is applied and their sessions "
                                "are signed out.")


@refusing("user.login")
def login(ctx: Context, *, via: Via, email: str) -> Outcome:
    """A login applies pending level changes; a pending user's first login is recorded."""
    with writing(ctx) as (session, now):
        user = find_user(session, email)
        before = user_view(user)
        if before.status is Status.DEACTIVATED:
            raise PermissionDenied(f"{before.name} is deactivated and cannot sign in; "
                                   "an admin can activate them.")
        first = user.first_login_at is None
        if first:
            user.first_login_at = now
        applied = _apply_pending(user, now)
        record(session, at=now, via=via, action="user.login", actor=user, subject=user,
               before=before)
        after = user_view(user)
        if first and after.status is Status.PENDING:  # "additional steps on initial login"
            enqueue(session, key=f"first-login:{user.id}", now=now,
                    channel=ctx.channels.approvals or ctx.channels.billing,
                    payload=posts.pending_user_card(after.name, after.email,
                                                    f"{now:%Y-%m-%d %H:%M} UTC"))
    words = [f"{after.name} signed in"]
    if applied:
        words.append("their pending admin change is now applied")
    if first and after.status is Status.PENDING:
        words.append("first login of a pending user: an admin should activate them")
    return Outcome(after, first or applied, "; ".join(words) + ".")
