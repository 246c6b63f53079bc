"""The permission table and scope arithmetic of DESIGN section 1, as pure functions.

An admin acts with the LOWER of assigned and effective level (none counts lowest): a
downgrade limits them at once, an upgrade only once applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.model import Level, Status
from bot.errors import ApprovalRequired, PermissionDenied


@dataclass(frozen=True)
class Scope:
    """All projects, or a set of project keys."""

    all: bool
    keys: frozenset[str] = frozenset()

    @classmethod
    def of(cls, keys: Iterable[str] | None) -> Scope:
        """None means all projects."""
        return cls(all=True) if keys is None else cls(all=False, keys=frozenset(keys))

    def covers(self, other: Scope) -> bool:
        return self.all or (not other.all and other.keys <= self.keys)

    def includes_user(self, project_keys: Iterable[str]) -> bool:
        """A user is in scope when the scope is all, or they belong to a project in it."""
        return self.all or not self.keys.isdisjoint(project_keys)

    def describe(self) -> str:
        return "all projects" if self.all else ", ".join(sorted(self.keys)) or "no projects"

    def as_json(self) -> str | list[str]:
        return "all" if self.all else sorted(self.keys)


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the permission checks see them."""

    email: str
    name: str
    status: Status
    assigned: Level
    effective: Level
    scope: Scope

    @property
    def acting_level(self) -> Level:
        if self.status is not Status.ACTIVE:
            return Level.NONE
        return min(self.assigned, self.effective)


def require_viewer(actor: Actor) -> None:
    if actor.acting_level >= Level.VIEW_ONLY:
        return
    if actor.status is Status.ACTIVE and actor.assigned > Level.NONE:  # granted, not applied
        raise PermissionDenied(
            f"{actor.name}'s admin role ({actor.assigned.title}) is not applied yet: it "
            "applies at their next login. Sign in again, or ask a SUPER admin to apply it "
            "now (`admins apply`)."
        )
    raise PermissionDenied(
        f"{actor.name} is not an administrator, so Rollcall cannot show this. "
        "Ask a SUPER admin to give you an admin role."
    )


def require_in_scope(actor: Actor, user_projects: Iterable[str]) -> None:
    """Every action on a user needs that user in the actor's scope (DESIGN section 1): the
    actor's scope is all projects, or the user belongs to a project in it."""
    if not actor.scope.includes_user(user_projects):
        # neither the name nor the projects: they are not the actor's to see
        raise PermissionDenied(
            f"That user is outside {actor.name}'s scope ({actor.scope.describe()}), so "
            "Rollcall does not show or change them for you. Ask an admin whose scope "
            "covers them."
        )


def require_user_manager(actor: Actor, user_projects: Iterable[str]) -> None:
    """Activate, deactivate, delete: ASSISTANT or SUPER, with the user in scope."""
    require_manager_level(actor)
    require_in_scope(actor, user_projects)


def require_user_creator(actor: Actor, projects: Iterable[str], subject: str) -> None:
    """Create: ASSISTANT or SUPER, and every project of the new user in the actor's scope,
    so an assistant cannot place people in projects it does not manage (a user with no
    project is created only by an admin over all projects)."""
    require_manager_level(actor)
    keys = frozenset(projects)
    if not actor.scope.covers(Scope(all=False, keys=keys)) or not actor.scope.includes_user(
            keys):
        where = ", ".join(sorted(keys)) or "no project"
        raise PermissionDenied(
            f"{subject} ({where}) is outside {actor.name}'s scope ({actor.scope.describe()}). "
            "Ask an admin whose scope covers it."
        )


def require_manager_level(actor: Actor) -> None:
    """Managing users at all needs ASSISTANT or SUPER (scope is checked per user)."""
    if actor.acting_level < Level.ASSISTANT:
        raise PermissionDenied(
            f"{actor.name} is {_level_words(actor)}; managing users needs ASSISTANT or SUPER. "
            "Ask an ASSISTANT or SUPER admin to do it."
        )


def require_level_changer(actor: Actor, user_projects: Iterable[str], old: Scope | None,
                          new: Scope | None, subject: str) -> None:
    """Invariant 3: only a SUPER changes admin levels or scopes, with the user in its
    scope, and its scope covering the grant's old and new scope. An ASSISTANT's attempt
    (on a user in its scope) needs a SUPER's approval: in Slack it becomes a request."""
    if actor.acting_level < Level.SUPER:
        if actor.acting_level is Level.ASSISTANT:
            require_in_scope(actor, user_projects)
            raise ApprovalRequired(
                f"Only a SUPER admin can change {subject}'s admin role, and {actor.name} is "
                f"{_level_words(actor)}. In Slack an ASSISTANT's admin change becomes a "
                "request that a SUPER approves; or ask a SUPER admin to make it."
            )
        raise PermissionDenied(
            f"Only a SUPER admin can change admin levels or scopes, and {actor.name} is "
            f"{_level_words(actor)}. Ask a SUPER admin to make the change."
        )
    require_in_scope(actor, user_projects)
    for scope in (old, new):
        if scope is not None and not actor.scope.covers(scope):
            raise PermissionDenied(
                f"Changing {subject}'s admin role touches {scope.describe()}, outside "
                f"{actor.name}'s scope ({actor.scope.describe()}). "
                "Ask a SUPER admin over all projects."
            )


def require_super(actor: Actor, what: str) -> None:
    """What only a SUPER does in person, never by request: apply a pending change now,
    schedule a change for the cycle end (a request carries no schedule)."""
    if actor.acting_level < Level.SUPER:
        raise PermissionDenied(
            f"Only a SUPER admin can {what}, and {actor.name} is {_level_words(actor)}. "
            "Ask a SUPER admin."
        )


def may_change_admin_role(actor: Actor, user_projects: Iterable[str], old: Scope | None,
                          subject: str) -> bool | None:
    """True when the actor may change this admin role, None when only by request (an
    ASSISTANT with the user in scope), False when not at all."""
    try:
        require_level_changer(actor, user_projects, old, None, subject)
    except ApprovalRequired:
        return None
    except PermissionDenied:
        return False
    return True


def require_org_super(actor: Actor, what: str) -> None:
    """Organisation-wide settings: a SUPER over all projects."""
    if actor.acting_level < Level.SUPER or not actor.scope.all:
        raise PermissionDenied(
            f"{what} needs a SUPER admin over all projects, and {actor.name} is "
            f"{_level_words(actor)}. Ask a SUPER admin over all projects."
        )


def _level_words(actor: Actor) -> str:
    if actor.status is not Status.ACTIVE:
        return f"{actor.status.value}, not an active user"
    level = actor.acting_level
    if level is Level.NONE:
        if actor.assigned > Level.NONE:
            return "not an admin until their pending admin role is applied at their next login"
        return "not an admin"
    return f"{level.title}" + (f" over {actor.scope.describe()}" if not actor.scope.all else "")
