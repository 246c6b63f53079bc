"""Plain values the services hand back: nothing here touches the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing.model import Level, State, Status
from bot.rules import Actor, Scope
from store.models import User


def _level(text: str | None) -> Level:
    return Level.parse(text) if text else Level.NONE


@dataclass(frozen=True)
class UserView:
    email: str
    first_name: str
    last_name: str
    status: Status
    projects: tuple[str, ...]
    slack_user_id: str | None
    level: Level  # assigned
    effective_level: Level
    scope: Scope | None  # None: not an admin

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_admin(self) -> bool:
        return self.scope is not None

    @property
    def pending(self) -> bool:
        """An admin change recorded but not yet applied by a login or `apply`."""
        return self.is_admin and self.level != self.effective_level

    @property
    def acting_level(self) -> Level:
        """What they can do now: the lower of assigned and effective, none unless active
        (rules.Actor.acting_level, for a view)."""
        if self.status is not Status.ACTIVE:
            return Level.NONE
        return min(self.level, self.effective_level)

    @property
    def state(self) -> State:
        return State(self.status, self.level, self.effective_level)

    def user_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "status": self.status.value,
            "projects": list(self.projects),
        }

    def admin_json(self) -> dict[str, Any]:
        assert self.scope is not None
        return {
            "email": self.email,
            "level": self.level.label if self.level else None,
            "effective_level": self.effective_level.label if self.effective_level else None,
            "pending": self.pending,
            "acts_as": self.acting_level.label if self.acting_level else None,
            "projects": self.scope.as_json(),
        }


def user_view(user: User) -> UserView:
    grant = user.grant
    scope = None
    if grant is not None:
        scope = Scope(all=True) if grant.all_projects else Scope.of(p.key for p in grant.scope)
    return UserView(
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        status=Status(user.status),
        projects=tuple(p.key for p in user.projects),
        slack_user_id=user.slack_user_id,
        level=_level(grant.level if grant else None),
        effective_level=_level(grant.effective_level if grant else None),
        scope=scope,
    )


def record_view(record: tuple) -> UserView:
    """A UserView of one `repository.user_records` tuple."""
    email, first, last, status, slack, projects, level, effective, every, scope = record
    admin = level is not None or effective is not None
    return UserView(email=email, first_name=first, last_name=last, status=Status(status),
                    projects=projects, slack_user_id=slack, level=_level(level),
                    effective_level=_level(effective),
                    scope=(Scope(all=True) if every else Scope.of(scope)) if admin else None)


def actor_of(view: UserView) -> Actor:
    return Actor(
        email=view.email,
        name=view.name,
        status=view.status,
        assigned=view.level,
        effective=view.effective_level,
        scope=view.scope or Scope(all=False),
    )


def snapshot(view: UserView) -> dict[str, Any]:
    """What the audit stores as a subject's `before` and `after`."""
    return {
        "status": view.status.value,
        "level": view.level.label,
        "effective_level": view.effective_level.label,
        "scope": view.scope.as_json() if view.scope else None,
        "projects": list(view.projects),
    }


@dataclass(frozen=True)
class Outcome:
    """What a change did, with a sentence for the actor."""

    user: UserView
    changed: bool
    message: str
