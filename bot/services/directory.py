"""The identity provider's directory (SCIM 2.0, DESIGN section 10) as services: what
`handlers/scim/` calls, in the same rules, transactions and audit as Slack and the CLI.

The directory acts as its token's creator (`directory_tokens.authenticate`), so every
call loads that `actor` and the usual rules apply. Users are named by Rollcall's id;
`meta.version` and `lastModified` are the id and instant of the user's latest audit
event (every change is one), read for a whole page in one grouped query. Groups are the
three admin levels: a member is a user whose ASSIGNED level it is; adding one grants the
level over all projects (pending until their next login, as any level change).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot.errors import Conflict, InvalidInput, NotFound, RollcallError
from bot.rules import Actor, require_user_manager, require_viewer
from bot.services.actors import load_actor
from bot.services.admins import change_admin, remove_admin_in
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.directory_tokens import (
    TokenView,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from bot.services.users import NewUser, change_status_in, create_in, require_no_seat_approval
from bot.services.views import user_view
from bot.validation import clean_email, clean_external_id, clean_name, email_key
from store import repository
from store.models import AdminGrant, AuditEvent, Membership, Project, User

__all__ = [
    "MAX_COUNT", "UNSET", "DirectoryUser", "TokenView", "UserQuery", "authenticate",
    "change_group", "create_token", "deprovision_user", "find_users", "get_user",
    "group_members", "group_version", "list_tokens", "provision_user", "revoke_token",
    "update_user",
]

MAX_COUNT = 1000  # the most users one page holds, whatever `count` asks
ID_MAX = 2**31 - 1  # ids are 32-bit: a larger one names nobody (and no SQL overflows)
UNSET: Any = object()  # "not given" for update_user


@dataclass(frozen=True)
class DirectoryUser:
    id: int
    email: str
    first_name: str
    last_name: str
    external_id: str | None
    active: bool  # status == active (pending and deactivated are False)
    level: Level  # assigned admin level (Level.NONE when none)
    created: datetime  # users.created_at
    last_modified: datetime  # `at` of the user's latest audit event (ok outcome)
    version: str  # W/"<id of that event>": changes with every change


@dataclass(frozen=True)
class UserQuery:
    """Every given field must match ("and"); None: any."""

    email: str | None = None  # casefolded compare (userName, emails.value)
    external_id: str | None = None
    active: bool | None = None


# ---- reading users ---------------------------------------------------------------------

def get_user(ctx: Context, *, actor: str, user_id: int) -> DirectoryUser:
    """A live user by id; NotFound when there is none (or they were deleted)."""
    with reading(ctx) as session:
        acting = _viewer(session, actor)
        found = _users(session, [User.id == _checked_id(user_id), User.status != "deleted",
                                 *_scope(acting)])
    if not found:
        raise _no_user(user_id)
    return found[0]


def find_users(ctx: Context, *, actor: str, query: UserQuery, start: int, count: int
               ) -> tuple[int, list[DirectoryUser]]:
    """Live users matching `query`, ordered by id: the exact total and the page from
    `start` (1-based; below 1 counts as 1) of at most `count` (at most MAX_COUNT).
    Filtered, counted and paged in SQL, so 10,000 users cost one page's rows."""
    where: list[ColumnElement[bool]] = [User.status != "deleted"]
    if query.email is not None:
        where.append(User.email_key == email_key(query.email.strip()))
    if query.external_id is not None:
        where.append(User.external_id == query.external_id.strip())
    if query.active is not None:
        where.append(User.status == Status.ACTIVE.value if query.active
                     else User.status.in_((Status.PENDING.value, Status.DEACTIVATED.value)))
    offset = min(max(start, 1), ID_MAX) - 1
    limit = min(max(count, 0), MAX_COUNT)
    with reading(ctx) as session:
        where += _scope(_viewer(session, actor))
        total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
        page = _users(session, where, offset=offset, limit=limit) if limit else []
    return total, page


def _viewer(session: Session, actor: str) -> Actor:
    _, acting = load_actor(session, actor)
    require_viewer(acting)
    return acting


def _scope(acting: Actor) -> list[ColumnElement[bool]]:
    """An actor over some projects sees their members only (rules.require_in_scope)."""
    if acting.scope.all:
        return []
    members = select(Membership.user_id).join(Project).where(Project.key.in_(acting.scope.keys))
    return [User.id.in_(members)]


def _users(session: Session, where: Sequence[ColumnElement[bool]], *, offset: int = 0,
           limit: int | None = None) -> list[DirectoryUser]:
    """The users matching `where` by id, as plain rows with their assigned level (one
    query), and their versions (one more)."""
    rows = session.execute(
        select(User.id, User.email, User.first_name, User.last_name, User.external_id,
               User.status, User.created_at, AdminGrant.level)
        .outerjoin(AdminGrant, AdminGrant.user_id == User.id)
        .where(*where).order_by(User.id).offset(offset).limit(limit)).all()
    versions = _versions(session, [row.id for row in rows])
    out = []
    for uid, email, first, last, external, status, created, level in rows:
        at, event = versions.get(uid, (created, 0))
        out.append(DirectoryUser(
            id=uid, email=email, first_name=first, last_name=last, external_id=external,
            active=status == Status.ACTIVE.value,
            level=Level.parse(level) if level else Level.NONE, created=created,
            last_modified=at, version=f'W/"{event}"'))
    return out


def _versions(session: Session, ids: Sequence[int]) -> dict[int, tuple[datetime, int]]:
    """Each user's latest event that changed something (outcome ok): (at, id). One
    grouped query over `ix_audit_subject_at`, not one per user."""
    if not ids:
        return {}
    latest = (select(AuditEvent.subject_user_id.label("user_id"),
                     func.max(AuditEvent.id).label("event_id"))
              .where(AuditEvent.subject_user_id.in_(ids), AuditEvent.outcome == "ok")
              .group_by(AuditEvent.subject_user_id).subquery())
    rows = session.execute(select(latest.c.user_id, AuditEvent.at, AuditEvent.id)
                           .join(AuditEvent, AuditEvent.id == latest.c.event_id))
    return {uid: (at, event) for uid, at, event in rows}


def _checked_id(user_id: int) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id <= ID_MAX:
        raise _no_user(user_id)
    return user_id


def _no_user(user_id: object) -> NotFound:
    return NotFound(f"No user has the id {str(user_id)[:40]} (or they were deleted); look "
                    "them up by userName.")


def _live_user(session: Session, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == _checked_id(user_id),
                                             User.status != "deleted"))
    if user is None:
        raise _no_user(user_id)
    return user


def _one(session: Session, user_id: int) -> DirectoryUser:
    return _users(session, [User.id == user_id])[0]


# ---- changing users --------------------------------------------------------------------

@refusing("user.create")
def provision_user(ctx: Context, *, actor: str, via: Via, email: str, first_name: str,
                   last_name: str, external_id: str | None, active: bool) -> DirectoryUser:
    """Create a user through the one creation path (`users.create_in`): active, or
    pending with `active` False; the external id is set in the same insert. A taken email
    is a Conflict, also under a race (the unique index on live emails)."""
    checked = NewUser.checked(email=email, first_name=first_name, last_name=last_name,
                              active=active, projects=())
    new = dataclasses.replace(checked, external_id=clean_external_id(external_id))
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        if active:
            require_no_seat_approval(session, acting, f"Creating {new.name} active")
        user = create_in(session, now, acting_user, acting, via, new, ctx.hasher)
        return _one(session, user.id)


def update_user(ctx: Context, *, actor: str, via: Via, user_id: int, email: Any = UNSET,
                first_name: Any = UNSET, last_name: Any = UNSET, external_id: Any = UNSET,
                active: Any = UNSET) -> DirectoryUser:
    """Change what is given (UNSET: not given) in one writing transaction: names, email
    and external id as one "user.update" event; `active` True activates a pending or
    deactivated user, False deactivates an active one, removing an admin grant in the
    same step (`users.change_status_in(remove_admin=True)`: one "user.deactivate" event
    whose `before` holds the grant and `after` none). Where invariant 1 would break:
    LastSuperViolation, nothing changes, the refusal is audited and a warning recorded.
    What is given but equal to what is kept changes nothing (no event, same version).

    A refusal is audited as what was asked: "user.deactivate" or "user.activate" when
    `active` is all that was given, else "user.update"."""
    fields = {"new_email": email, "first_name": first_name, "last_name": last_name,
              "external_id": external_id}
    status_only = all(value is UNSET for value in fields.values())
    action = "user.update" if not status_only or active is UNSET else (
        "user.activate" if active else "user.deactivate")
    # `new_email`, not `email`: the refusal's audit names the user by `user_id`, not by
    # the address asked for (which may be someone else's)
    return _UPDATES[action](ctx, actor=actor, via=via, user_id=user_id, active=active,
                            **fields)


def _update_user(ctx: Context, *, actor: str, via: Via, user_id: int, new_email: Any,
                 first_name: Any, last_name: Any, external_id: Any,
                 active: Any) -> DirectoryUser:
    wanted = _checked_fields(new_email, first_name, last_name, external_id)
    if active is not UNSET and not isinstance(active, bool):
        raise InvalidInput("active must be true or false.")
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = _live_user(session, user_id)
        _change_fields(session, now, acting_user, acting, via, user, wanted)
        status = Status(user.status)
        if active is True and status is not Status.ACTIVE:
            require_user_manager(acting, [p.key for p in user.projects])
            require_no_seat_approval(session, acting, f"Activating {user.first_name} "
                                                      f"{user.last_name}")
            change_status_in(session, now, acting_user, acting, via, "activate", user.email)
        elif active is False and status is Status.ACTIVE:
            change_status_in(session, now, acting_user, acting, via, "deactivate",
                             user.email, remove_admin=True)
        return _one(session, user.id)


_UPDATES = {action: refusing(action)(_update_user)
            for action in ("user.update", "user.activate", "user.deactivate")}


def _checked_fields(email: Any, first_name: Any, last_name: Any,
                    external_id: Any) -> dict[str, Any]:
    """The given fields, checked (what is not given is left out)."""
    checks: dict[str, tuple[Any, Callable[[Any], Any]]] = {
        "email": (email, clean_email),
        "first_name": (first_name, lambda v: clean_name(v, "First name")),
        "last_name": (last_name, lambda v: clean_name(v, "Last name")),
        "external_id": (external_id, clean_external_id),
    }
    out = {}
    for name, (value, check) in checks.items():
        if value is UNSET:
            continue
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be text.")
        out[name] = check(value)
    return out


LABELS = {"email": "email", "first_name": "first name", "last_name": "last name",
          "external_id": "externalId"}


def _change_fields(session: Session, now: datetime, acting_user: User, acting: Actor,
                   via: Via, user: User, wanted: dict[str, Any]) -> None:
    """Names, email and external id as one "user.update" event (as an import's update,
    bot/services/import_matches.py), with what changed in its reason."""
    changed = {name: value for name, value in wanted.items()
               if getattr(user, name) != value}
    if not changed:
        return
    require_user_manager(acting, [p.key for p in user.projects])
    if "email" in changed and email_key(changed["email"]) != user.email_key:
        taken = repository.live_user_by_email_key(session, email_key(changed["email"]))
        if taken is not None:
            raise Conflict(f"{changed['email']} is already used by {taken.first_name} "
                           f"{taken.last_name} ({taken.status}); use another email.")
    before = user_view(user)
    said = [f"{LABELS[name]} {getattr(user, name) or '-'} → {value or '-'}"
            for name, value in changed.items()]
    for name, value in changed.items():
        setattr(user, name, value)
    user.email_key = email_key(user.email)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # taken by another writer a moment ago
        raise Conflict(f"{user.email} is already in use; use another email.") from exc
    record(session, at=now, via=via, action="user.update", actor=acting_user, subject=user,
           before=before, reason="; ".join(said))


@refusing("user.delete")
def deprovision_user(ctx: Context, *, actor: str, via: Via, user_id: int) -> None:
    """Delete (the tombstone: the email is free again), removing an admin grant in the
    same step; where invariant 1 would break, LastSuperViolation and nothing changes."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = _live_user(session, user_id)
        change_status_in(session, now, acting_user, acting, via, "delete", user.email,
                         remove_admin=True)


# ---- groups: the three admin levels ----------------------------------------------------

def group_members(ctx: Context, *, actor: str, level: Level) -> list[tuple[int, str]]:
    """(id, email) of the live users whose assigned level is `level`, by id."""
    label = _group(level)
    with reading(ctx) as session:
        return _members(session, label, _viewer(session, actor))


def _members(session: Session, label: str, acting: Actor) -> list[tuple[int, str]]:
    return [(uid, email) for uid, email in session.execute(
        select(User.id, User.email).join(AdminGrant, AdminGrant.user_id == User.id)
        .where(AdminGrant.level == label, User.status != "deleted", *_scope(acting))
        .order_by(User.id))]


def change_group(ctx: Context, *, actor: str, via: Via, level: Level, add: Sequence[int] = (),
                 remove: Sequence[int] = (), replace: Sequence[int] | None = None
                 ) -> list[tuple[int, str]]:
    """In one transaction: `add` grants `level` over all projects (`admins.change_admin`:
    pending until their next login; another level moves to this one); `remove` removes
    the grant of those whose assigned level is `level` (anyone else: nothing); `replace`
    makes the members exactly these. Additions come first, so a SUPER group replaced by
    another keeps invariant 1 as long as the newcomers can act. Unknown or deleted ids
    are NotFound; invariant 1, LastSuperViolation naming the person.

    Returns the members afterwards, as `group_members` (id, email), read in the same
    transaction: the actor may have just left the SUPER group and no longer see it.
    A refusal is audited as "admin.remove" when the change only removes, else "admin.set"."""
    only_removes = not add and not replace
    service = _GROUP_CHANGES["admin.remove" if only_removes else "admin.set"]
    return service(ctx, actor=actor, via=via, level=level, add=tuple(add),
                   remove=tuple(remove), replace=None if replace is None else tuple(replace))


def _change_group(ctx: Context, *, actor: str, via: Via, level: Level, add: Sequence[int],
                  remove: Sequence[int], replace: Sequence[int] | None
                  ) -> list[tuple[int, str]]:
    label = _group(level)
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        users = _live_users(session, [*add, *remove, *(replace or ())])
        members = {u.id: u for u in session.scalars(
            select(User).join(AdminGrant, AdminGrant.user_id == User.id)
            .where(AdminGrant.level == label, User.status != "deleted").order_by(User.id))}
        users.update(members)
        kept = {*(replace or ()), *add}
        dropped = [uid for uid in members if uid not in kept] if replace is not None else []
        for uid in _unique([*(replace or ()), *add]):
            with _naming(users[uid]):
                change_admin(session, now, acting_user, acting, via=via,
                             email=users[uid].email, level=level, keys=None)
        for uid in _unique([*dropped, *remove]):
            grant = users[uid].grant
            if grant is not None and grant.level == label:  # else: not in this group
                with _naming(users[uid]):
                    remove_admin_in(session, now, acting_user, acting, via, users[uid].email)
        return _members(session, label, acting)


_GROUP_CHANGES = {action: refusing(action)(_change_group)
                  for action in ("admin.set", "admin.remove")}


def _group(level: Level) -> str:
    if level is Level.NONE:
        raise InvalidInput("The groups are the three admin levels: Rollcall SUPER, "
                           "Rollcall ASSISTANT and Rollcall VIEW ONLY.")
    return level.label


def _live_users(session: Session, ids: Iterable[int]) -> dict[int, User]:
    wanted = {_checked_id(uid) for uid in ids}
    found = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_(wanted), User.status != "deleted"))} if wanted else {}
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(f"No user has the id {', '.join(map(str, missing[:10]))} (or they "
                       "were deleted); nothing was changed.")
    return found


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


@contextmanager
def _naming(user: User) -> Iterator[None]:
    """One person's step of a group change: a refusal names them (its audit row, the
    warning post), as a refusal of a change to one person does."""
    try:
        yield
    except RollcallError as exc:
        exc.subject = exc.subject or user.email
        raise


def group_version(ctx: Context, *, level: Level) -> tuple[datetime, str]:
    """lastModified and W/"<id>" of the latest event that changed who holds `level`
    (an admin change to or from it, or a member deactivated or deleted), or the
    organization's creation when there is none."""
    label = _group(level)
    with reading(ctx) as session:
        event = session.execute(
            select(AuditEvent.at, AuditEvent.id)
            .where(AuditEvent.outcome == "ok",
                   or_(AuditEvent.action.like("admin.%"),
                       AuditEvent.action.in_(("user.deactivate", "user.delete"))),
                   or_(AuditEvent.level_after == int(level),
                       AuditEvent.before["level"].as_string() == label))
            .order_by(AuditEvent.id.desc()).limit(1)).first()
        if event is not None:
            return event.at, f'W/"{event.id}"'
        org = repository.organization(session)
        assert org is not None  # reading() checked it
        return org.created_at, 'W/"0"'
