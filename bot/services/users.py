"""Create, activate, deactivate, delete users. Each refusal is audited and explained."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot.errors import ApprovalRequired, Conflict, LastSuperViolation, NotFound
from bot.rules import Actor, require_level_changer, require_user_creator, require_user_manager
from bot.services.context import Context, Via, find_user, load_actor, record, refusing, writing
from bot.services.guards import (
    is_org_super,
    keep_an_org_super,
    last_super_message,
    refuse_admin_removal_by_status,
)
from bot.services.views import Outcome, UserView, user_view
from bot.validation import clean_email, clean_name, clean_project_key, email_key
from store import repository
from store.models import ApprovalPolicy, User


def new_password_hash(ctx: Context) -> str:
    """Every user gets a random password; only its hash is ever kept."""
    return ctx.hasher.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class NewUser:
    """A checked request to create a user (also what a seat approval carries)."""

    email: str
    first_name: str
    last_name: str
    active: bool
    projects: tuple[str, ...]
    slack_user_id: str | None = None

    @classmethod
    def checked(cls, *, email: str, first_name: str, last_name: str, active: bool,
                projects: Sequence[str], slack_user_id: str | None = None) -> NewUser:
        return cls(clean_email(email), clean_name(first_name, "First name"),
                   clean_name(last_name, "Last name"), active,
                   tuple(sorted({clean_project_key(k) for k in projects})), slack_user_id)


@refusing("user.create")
def create_user(
    ctx: Context,
    *,
    actor: str,
    via: Via,
    email: str,
    first_name: str,
    last_name: str,
    active: bool = True,
    projects: Sequence[str] = (),
    slack_user_id: str | None = None,
) -> UserView:
    new = NewUser.checked(email=email, first_name=first_name, last_name=last_name,
                          active=active, projects=projects, slack_user_id=slack_user_id)
    password_hash = new_password_hash(ctx)  # slow on purpose: outside the write lock
    with writing(ctx) as (session, now):
        actor_user, who = load_actor(session, actor)
        if new.active:
            require_user_creator(who, new.projects, f"{new.first_name} {new.last_name}")
            require_no_seat_approval(session, who, f"Creating {new.first_name} "
                                                   f"{new.last_name} as active")
        user = create_in(session, now, actor_user, who, via, new, password_hash)
    return user_view(user)


def require_no_seat_approval(session: Session, who: Actor, what: str) -> None:
    """With the `seat_approval` policy on, an ASSISTANT's new active seat needs a SUPER."""
    rules = session.get(ApprovalPolicy, 1)
    if rules is not None and rules.seat_approval and who.acting_level is Level.ASSISTANT:
        raise ApprovalRequired(f"{what} needs a SUPER's approval here. In Slack it becomes "
                               "a request; or create the user as pending.")


def create_in(session: Session, now: datetime, actor_user: User, who: Actor, via: Via,
              new: NewUser, password_hash: str) -> User:
    """Create the user inside the caller's transaction (also run by a seat approval)."""
    rows = repository.projects_by_key(session, new.projects)
    missing = [k for k in new.projects if k not in rows]
    if missing:
        raise NotFound(f"No project has the key {', '.join(missing)}; add it first.")
    require_user_creator(who, new.projects, f"{new.first_name} {new.last_name}")
    existing = repository.live_user_by_email_key(session, email_key(new.email))
    if existing is not None:
        raise Conflict(
            f"{new.email} is already used by {existing.first_name} {existing.last_name} "
            f"({existing.status}); use another email or manage that user instead."
        )
    user = User(
        first_name=new.first_name,
        last_name=new.last_name,
        email=new.email,
        email_key=email_key(new.email),
        status=(Status.ACTIVE if new.active else Status.PENDING).value,
        slack_user_id=new.slack_user_id,
        password_hash=password_hash,
        created_at=now,
        projects=[rows[k] for k in new.projects],
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the unique index is the last word on emails
        raise Conflict(f"{new.email} is already in use; use another email.") from exc
    record(session, at=now, via=via, action="user.create", actor=actor_user, subject=user,
           before=None)
    return user


TRANSITIONS = {
    "activate": ({Status.PENDING, Status.DEACTIVATED}, Status.ACTIVE),
    "deactivate": ({Status.ACTIVE, Status.PENDING}, Status.DEACTIVATED),
    "delete": ({Status.ACTIVE, Status.PENDING, Status.DEACTIVATED}, Status.DELETED),
}


def _change_status(
    ctx: Context, action: str, *, actor: str, via: Via, email: str, remove_admin: bool = False
) -> Outcome:
    with writing(ctx) as (session, now):
        actor_user, who = load_actor(session, actor)
        if action == "activate":
            user = find_user(session, email)
            if user.status != Status.ACTIVE.value:
                require_user_manager(who, [p.key for p in user.projects])
                require_no_seat_approval(session, who, f"Activating {user.first_name} "
                                                       f"{user.last_name}")
        return change_status_in(session, now, actor_user, who, via, action, email,
                                remove_admin=remove_admin)


def change_status_in(session: Session, now: datetime, actor_user: User, who: Actor,
                     via: Via, action: str, email: str, *, remove_admin: bool = False
                     ) -> Outcome:
    """Activate, deactivate or delete inside the caller's transaction."""
    sources, target = TRANSITIONS[action]
    user = find_user(session, email)
    before = user_view(user)
    require_user_manager(who, before.projects)
    if before.status not in sources:
        return Outcome(before, False, f"{before.name} is already {before.status.value}.")
    was_super = is_org_super(user)
    if user.grant is not None and target is not Status.ACTIVE:
        if was_super and repository.count_org_supers(session) <= 1:
            # invariant 1 before invariant 2, so the last SUPER hears the real reason
            raise LastSuperViolation(last_super_message(user, f"{action} them"))
        if remove_admin and user.grant.level is not None:
            # removing the role is an admin change: invariant 3 (an ASSISTANT must ask)
            require_level_changer(who, before.projects, before.scope, None, before.name)
        if remove_admin or user.grant.level is None:
            user.grant = None  # signing out for good ends any pending removal too
        else:
            refuse_admin_removal_by_status(user, action)
    user.status = target.value
    if target is Status.DELETED:
        user.slack_user_id = None  # the Slack account may come back as a new user
    keep_an_org_super(session, user, was_super, f"{action} them")
    record(session, at=now, via=via, action=f"user.{action}", actor=actor_user,
           subject=user, before=before)
    after = user_view(user)
    return Outcome(after, True, _status_sentence(after, action))


def _status_sentence(user: UserView, action: str) -> str:
    if action == "activate":
        return f"{user.name} ({user.email}) is active again and takes a seat from now."
    if action == "deactivate":
        return (f"{user.name} ({user.email}) is deactivated; billing for them stops "
                "from the next cycle.")
    return (f"{user.name} ({user.email}) is deleted; their email is free again and "
            "their history is kept for billing.")


@refusing("user.activate")
def activate_user(ctx: Context, *, actor: str, via: Via, email: str) -> Outcome:
    return _change_status(ctx, "activate", actor=actor, via=via, email=email)


@refusing("user.deactivate")
def deactivate_user(
    ctx: Context, *, actor: str, via: Via, email: str, remove_admin: bool = False
) -> Outcome:
    """`remove_admin=True` is the one step that removes the admin role and deactivates."""
    return _change_status(ctx, "deactivate", actor=actor, via=via, email=email,
                          remove_admin=remove_admin)


@refusing("user.delete")
def delete_user(
    ctx: Context, *, actor: str, via: Via, email: str, remove_admin: bool = False
) -> Outcome:
    return _change_status(ctx, "delete", actor=actor, via=via, email=email,
                          remove_admin=remove_admin)
