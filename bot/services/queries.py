"""Read-only views: lists of users and admins, filtered to what the viewer may see."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from billing.model import Level, Status
from bot.errors import ApprovalRequired
from bot.rules import (
    Scope,
    may_change_admin_role,
    require_in_scope,
    require_level_changer,
    require_manager_level,
    require_viewer,
)
from bot.services.actors import find_user, load_actor
from bot.services.context import Context
from bot.services.transactions import reading
from bot.services.views import UserView, record_view, user_view
from store import repository
from store.models import AuditEvent


def list_users(
    ctx: Context, *, actor: str | None = None, status: Status | None = None
) -> list[UserView]:
    """Live users (not deleted), or with `Status.DELETED` the deleted ones. With an
    actor, only those in the actor's scope; without (the operator at the command line),
    every one."""
    return user_listing(ctx, actor=actor, status=status).users


@dataclass(frozen=True)
class UserListing:
    users: list[UserView]
    total_active: int  # the active users the viewer may see, whatever the filter


def user_listing(ctx: Context, *, actor: str | None = None,
                 status: Status | None = None) -> UserListing:
    """`users list`: the users of one status (None: every live user), and the total of
    active users in the viewer's scope (the organization's without an actor)."""
    with reading(ctx) as session:
        acting = None
        if actor is not None:
            acting = load_actor(session, actor)[1]
            require_viewer(acting)
        views = [record_view(r) for r in
                 repository.user_records(session, status and status.value)]
        keys = None if acting is None or acting.scope.all else acting.scope.keys
        total = repository.count_users(session, status="active", scope_keys=keys)
    if acting is not None:
        views = [v for v in views if acting.scope.includes_user(v.projects)]
    return UserListing(views, total)


def list_admins(ctx: Context, *, actor: str | None = None) -> list[UserView]:
    with reading(ctx) as session:
        views = [user_view(u) for u in repository.admins(session)]
        if actor is None:
            return views
        _, acting = load_actor(session, actor)
    require_viewer(acting)
    return [v for v in views if (v.scope is not None and acting.scope.covers(v.scope))
            or acting.scope.includes_user(v.projects)]


@dataclass(frozen=True)
class UsersPage:
    users: list[UserView]
    total_active: int
    has_before: bool
    has_after: bool


def users_page(
    ctx: Context,
    *,
    actor: str,
    status: Status | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 20,
) -> UsersPage:
    """A page of the users the actor may see, with the active total in their scope."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        require_viewer(acting)
        keys = None if acting.scope.all else acting.scope.keys
        code = status and status.value
        rows = repository.users_page(session, status=code, scope_keys=keys, after=after,
                                     before=before, limit=limit + 1)
        more = len(rows) > limit
        rows = (rows[1:] if before is not None else rows[:limit]) if more else rows
        users = [user_view(u) for u in rows]
        total = repository.count_users(session, status="active", scope_keys=keys)
    has_before = (before is not None and more) or after is not None
    has_after = (after is not None and more) or before is not None or (
        after is None and before is None and more)
    return UsersPage(users, total, has_before, has_after)


def show_user(ctx: Context, *, actor: str, email: str) -> UserView:
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        require_viewer(acting)
        view = user_view(find_user(session, email))
    require_in_scope(acting, view.projects)
    return view


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    outcome: str
    actor: str | None
    via: str
    reason: str | None
    after: dict[str, Any] | None


def user_history(ctx: Context, *, actor: str, email: str, limit: int = 20) -> list[HistoryEntry]:
    """The latest audit events about a user (their own logins, changes, refusals)."""
    view = show_user(ctx, actor=actor, email=email)
    with reading(ctx) as session:
        user = find_user(session, view.email)
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.subject_user_id == user.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
        return [HistoryEntry(e.at, e.action, e.outcome, e.actor, e.via, e.reason, e.after)
                for e in rows]


def require_manager(ctx: Context, *, actor: str) -> None:
    """Refuse early (before a form opens) when the actor cannot manage users at all."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
    require_manager_level(acting)


def check_grant(
    ctx: Context, *, actor: str, level: Level, projects: Sequence[str] | None
) -> None:
    """Refuse early when the actor could not give this admin role to a user being created
    in `projects` (only a SUPER, with the user and the grant in its scope)."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
    require_level_changer(acting, projects or (), None, Scope.of(projects), "this user")


def admin_role_right(ctx: Context, *, actor: str, email: str) -> bool | None:
    """May the actor change this user's admin role: True, only by request (None, an
    ASSISTANT), or not at all (False). Decides which buttons a refusal offers."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        view = user_view(find_user(session, email))
    return may_change_admin_role(acting, view.projects, view.scope, view.name)


def check_admin_change(ctx: Context, *, actor: str, email: str, level: Level,
                       projects: Sequence[str] | None) -> None:
    """Refuse early (before a cost hint names the user) what `set_admin` would refuse for
    the actor's rights: the user in scope, the old and new scope covered. An ASSISTANT
    passes (its change becomes a request)."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        view = user_view(find_user(session, email))
    with suppress(ApprovalRequired):
        require_level_changer(acting, view.projects, view.scope, Scope.of(projects), view.name)


def project_keys(ctx: Context) -> list[tuple[str, str]]:
    with reading(ctx) as session:
        return [(p.key, p.name) for p in repository.all_projects(session)]


def acting_level(ctx: Context, *, actor: str) -> Level:
    """The level the actor acts with now (the lower of assigned and applied)."""
    with reading(ctx) as session:
        return load_actor(session, actor)[1].acting_level
