"""The permission table and scope arithmetic of DESIGN section 1, as pure functions.

An admin acts with the LOWER of assigned and effective level (none counts lowest): a
downgrade limits them at once, an upgrade only once applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.model import Level, Status
from bot.errors import PermissionDenied


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
    if actor.acting_level < Level.VIEW_ONLY:
        raise PermissionDenied(
            f"{actor.name} is not an administrator, so Rollcall cannot show this. "
            "Ask a SUPER admin to give you an admin role."
        )


def require_user_manager(actor: Actor, user_projects: Iterable[str], who: str) -> None:
    """Create, activate, deactivate, delete: ASSISTANT or SUPER, with the user in scope.

    For a user being created, every project must be in the actor's scope, so an
    assistant cannot place people in projects it does not manage.
    """
    require_manager_level(actor)
    keys = frozenset(user_projects)
    if not actor.scope.includes_user(keys) or not actor.scope.covers(Scope(all=False, keys=keys)):
        where = ", ".join(sorted(keys)) or "no project"
        raise PermissionDenied(
            f"{who} ({where}) is outside {actor.name}'s scope ({actor.scope.describe()}). "
            "Ask an admin whose scope covers it."
        )


def require_manager_level(actor: Actor) -> None:
    """Managing users at all needs ASSISTANT or SUPER (scope is checked per user)."""
    if actor.acting_level < Level.ASSISTANT:
        raise PermissionDenied(
            f"{actor.name} is {_level_words(actor)}; managing users needs ASSISTANT or SUPER. "
            "Ask an ASSISTANT or SUPER admin to do it."
        )


def require_level_changer(actor: Actor, old: Scope | None, new: Scope | None, who: str) -> None:
    """Only a SUPER changes admin levels or scopes, within its own scope (old and new)."""
    if actor.acting_level < Level.SUPER:
        raise PermissionDenied(
            f"Only a SUPER admin can change admin levels or scopes, and {actor.name} is "
            f"{_level_words(actor)}. Ask a SUPER admin to make the change."
        )
    for scope in (old, new):
        if scope is not None and not actor.scope.covers(scope):
            raise PermissionDenied(
                f"Changing {who}'s admin role touches {scope.describe()}, outside "
                f"{actor.name}'s scope ({actor.scope.describe()}). "
                "Ask a SUPER admin over all projects."
            )


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
