"""Read-only views: lists of users and admins, filtered to what the viewer may see."""

from __future__ import annotations

from billing.model import Status
from bot.rules import require_viewer
from bot.services.context import Context, load_actor, reading
from bot.services.views import UserView, user_view
from store import repository


def list_users(
    ctx: Context, *, actor: str | None = None, status: Status | None = None
) -> list[UserView]:
    """Live users (not deleted). With an actor, only those in the actor's scope.

    Without an actor (the operator at the command line) every user is listed.
    """
    with reading(ctx) as session:
        views = [user_view(u) for u in repository.live_users(session, status and status.value)]
        if actor is None:
            return views
        _, who = load_actor(session, actor)
    require_viewer(who)
    return [v for v in views if who.scope.includes_user(v.projects)]


def list_admins(ctx: Context, *, actor: str | None = None) -> list[UserView]:
    with reading(ctx) as session:
        views = [user_view(u) for u in repository.admins(session)]
        if actor is None:
            return views
        _, who = load_actor(session, actor)
    require_viewer(who)
    return [v for v in views if (v.scope is not None and who.scope.covers(v.scope))
            or who.scope.includes_user(v.projects)]
