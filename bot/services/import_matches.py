"""Import rows that name a user who exists already (a re-imported export, a second file).

A row matches a live user by email, in any letter case. It is left alone and counted as
unchanged when it says what the user is; when it differs, it is left alone too unless the
import runs with `--update`, which changes the names, the projects and the status through
the rules of a single change: the user in the actor's scope, the old and the new projects
covered by it, a status change made by `users.change_status_in` (invariants 1 and 2, the
audit). What an update may not do is a problem of its row, so the file imports all or
nothing: a user does not go back to pending, and an admin is not deactivated by a file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot.errors import PermissionDenied
from bot.rules import Actor, Scope, require_user_creator, require_user_manager
from bot.services.audit import record
from bot.services.context import Via
from bot.services.csv_rows import Row
from bot.services.users import change_status_in
from bot.services.views import user_view
from store import bulk, repository
from store.models import AdminGrant, Membership, Project, User

STATUS_ACTIONS = {Status.ACTIVE: "activate", Status.DEACTIVATED: "deactivate"}


@dataclass(frozen=True)
class Existing:
    """A live user a row matched, as plain values."""

    id: int
    email: str
    first_name: str
    last_name: str
    status: Status
    projects: tuple[str, ...]
    admin_level: str | None  # the assigned level; None: no role, or its removal pending

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def existing_users(session: Session, keys: Sequence[str]) -> dict[str, Existing]:
    """The live users with these email keys, by key: one query, and one more for their
    projects when any matched (callers pass a batch of keys at a time)."""
    if not keys:
        return {}
    found = session.execute(
        select(User.id, User.email_key, User.email, User.first_name, User.last_name,
               User.status, AdminGrant.level)
        .outerjoin(AdminGrant, AdminGrant.user_id == User.id)
        .where(User.email_key.in_(set(keys)), User.status != "deleted")).all()
    if not found:
        return {}
    projects: dict[int, list[str]] = {}
    for user_id, key in session.execute(
            select(Membership.user_id, Project.key).join(Project)
            .where(Membership.user_id.in_([f[0] for f in found]))):
        projects.setdefault(user_id, []).append(key)
    return {key: Existing(uid, email, first, last, Status(status),
                          tuple(sorted(projects.get(uid, ()))), level)
            for uid, key, email, first, last, status, level in found}


@dataclass(frozen=True)
class Change:
    """How a row differs from its user: (what, before, after) each."""

    row: int
    email: str
    differences: tuple[tuple[str, str, str], ...]
    status: Status | None  # the new status, when the row changes it

    def describe(self) -> str:
        return "; ".join(f"{what} {old} → {new}" for what, old, new in self.differences)

    def as_json(self) -> dict[str, object]:
        return {"row": self.row, "email": self.email,
                "changes": {what.replace(" ", "_"): {"from": old, "to": new}
                            for what, old, new in self.differences}}

    @property
    def activates(self) -> bool:
        return self.status is Status.ACTIVE


def difference(user: Existing, row: Row) -> Change | None:
    """None when the row says what the user is (the email's letter case aside)."""
    found = []
    for what, old, new in (("first name", user.first_name, row.first_name),
                           ("last name", user.last_name, row.last_name),
                           ("projects", _keys(user.projects), _keys(row.projects)),
                           ("status", user.status.value, row.status.value)):
        if old != new:
            found.append((what, old, new))
    if not found:
        return None
    return Change(row.number, user.email, tuple(found),
                  row.status if row.status is not user.status else None)


def _keys(projects: Sequence[str]) -> str:
    return ", ".join(projects) or "none"


def update_problem(acting: Actor, user: Existing, row: Row, change: Change) -> str | None:
    """Why `--update` may not make this change, or None: the rules of a single change."""
    try:
        require_user_manager(acting, user.projects)
        if row.projects != user.projects:
            if not acting.scope.covers(Scope.of(user.projects)):
                raise PermissionDenied(
                    f"Changing {user.name}'s projects takes them out of "
                    f"{_keys(user.projects)}, outside {acting.name}'s scope "
                    f"({acting.scope.describe()}). Ask an admin whose scope covers them.")
            require_user_creator(acting, row.projects, user.name)
    except PermissionDenied as exc:
        return str(exc)
    if change.status is Status.PENDING:
        return (f"{user.name} is {user.status.value}, and a user does not go back to "
                f"pending; write {user.status.value} or deactivated in the status column.")
    if change.status is Status.DEACTIVATED and user.admin_level is not None:
        level = Level.parse(user.admin_level).title
        return (f"{user.name} is an admin ({level}), so an import does not deactivate them: "
                f"remove their admin role first (`rollcall admins remove {user.email}`), "
                "or keep their status in the file.")
    return None


def apply_updates(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
                  changes: Sequence[Change], ids: dict[int, int], rows: dict[int, Row],
                  progress: Callable[[int], None]) -> None:
    """Make each change inside the import's transaction, its users loaded a batch at a
    time (one query for a thousand, not one each); `progress(done)` after each."""
    projects = repository.projects_by_key(session, {k for c in changes
                                                    for k in rows[c.row].projects})
    done = 0
    for batch in bulk.batches(changes):
        loaded = {u.id: u for u in session.scalars(
            select(User).where(User.id.in_([ids[c.row] for c in batch])))}
        for change in batch:
            _update(session, now, acting_user, acting, via, loaded[ids[change.row]],
                    rows[change.row], projects)
            done += 1
            progress(done)


def _update(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
            user: User, row: Row, projects: dict[str, Project]) -> None:
    """One row's change: the status through `change_status_in` (its rules, its audit),
    then names and projects as a `user.update` event with the state before and after."""
    if row.status.value != user.status:
        change_status_in(session, now, acting_user, acting, via, STATUS_ACTIONS[row.status],
                         user.email)
    keys = tuple(p.key for p in user.projects)
    if (user.first_name, user.last_name, keys) == (row.first_name, row.last_name,
                                                   row.projects):
        return
    before = user_view(user)
    said = [f"{what} {old} → {new}" for what, old, new in (
        ("first name", user.first_name, row.first_name),
        ("last name", user.last_name, row.last_name),
        ("projects", _keys(keys), _keys(row.projects))) if old != new]
    user.first_name, user.last_name = row.first_name, row.last_name
    user.projects = [projects[k] for k in row.projects]
    record(session, at=now, via=via, action="user.update", actor=acting_user, subject=user,
           before=before, reason="; ".join(said))
