"""Create, activate, deactivate, delete users. Each refusal is audited and explained."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot.errors import ApprovalRequired, Conflict, LastSuperViolation, NotFound
from bot.passwords import random_password
from bot.rules import Actor, require_level_changer, require_user_creator, require_user_manager
from bot.services.actors import find_user, load_actor
from bot.services.audit import record, record_created
from bot.services.context import Context, Hasher, Via
from bot.services.guards import (
    is_org_super,
    keep_an_org_super,
    last_super_message,
    refuse_admin_removal_by_status,
)
from bot.services.refusals import refusing
from bot.services.transactions import writing
from bot.services.views import Outcome, UserView, user_view
from bot.validation import clean_email, clean_name, clean_project_key, email_key
from store import bulk, repository
from store.models import ApprovalPolicy, User
from store.periods import Progress  # (done, total)


def new_password_hash(ctx: Context) -> str:
    """Every user gets a random password; only its hash is ever kept (bot/passwords.py)."""
    return ctx.hasher.hash(random_password())


@dataclass(frozen=True)
class NewUser:
    """A checked request to create a user (also what a seat approval carries). `status`,
    when given (an import), overrides `active`; `external_id` is a directory's own id
    (SCIM), kept from the creation on."""

    email: str
    first_name: str
    last_name: str
    active: bool
    projects: tuple[str, ...]
    slack_user_id: str | None = None
    status: Status | None = None
    external_id: str | None = None

    @classmethod
    def checked(cls, *, email: str, first_name: str, last_name: str, active: bool,
                projects: Sequence[str], slack_user_id: str | None = None) -> NewUser:
        return cls(clean_email(email), clean_name(first_name, "First name"),
                   clean_name(last_name, "Last name"), active,
                   tuple(sorted({clean_project_key(k) for k in projects})), slack_user_id)

    @property
    def initial_status(self) -> Status:
        if self.status is not None:
            return self.status
        return Status.ACTIVE if self.active else Status.PENDING

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def add_users(session: Session, now: datetime, acting_user: User | None, via: Via,
              news: Sequence[NewUser], hasher: Hasher, *, progress: Progress | None = None
              ) -> list[int]:
    """The one way users are created, checked already (rights, projects that exist, free
    emails): their rows, memberships, "user.create" events and first state periods, in
    batches of store.bulk.BATCH, inside the caller's transaction. Their ids, in order.

    The unique index on live emails is the last word: a race with another writer is a
    Conflict, and the caller's transaction (the whole import) rolls back."""
    projects = repository.projects_by_key(session, {k for n in news for k in n.projects})
    ids: list[int] = []
    for batch in bulk.batches(news):
        rows = [{"first_name": n.first_name, "last_name": n.last_name, "email": n.email,
                 "email_key": email_key(n.email), "status": n.initial_status.value,
                 "slack_user_id": n.slack_user_id, "external_id": n.external_id,
                 "password_hash": hasher.hash(random_password()), "created_at": now}
                for n in batch]
        try:
            with session.begin_nested():
                batch_ids = bulk.insert_users(session, rows)
        except IntegrityError as exc:
            raise Conflict("An email in this request was taken a moment ago; nothing was "
                           "created. Check it and try again.") from exc
        bulk.insert_memberships(session, [(uid, projects[k].id) for uid, n in
                                          zip(batch_ids, batch, strict=True)
                                          for k in n.projects])
        record_created(session, [(uid, _created_view(n)) for uid, n in
                                 zip(batch_ids, batch, strict=True)],
                       at=now, via=via, actor=acting_user)
        ids += batch_ids
        if progress is not None:
            progress(len(ids), len(news))
    return ids


def _created_view(new: NewUser) -> UserView:
    return UserView(email=new.email, first_name=new.first_name, last_name=new.last_name,
                    status=new.initial_status, projects=new.projects,
                    slack_user_id=new.slack_user_id, level=Level.NONE,
                    effective_level=Level.NONE, scope=None)


def require_no_seat_approval(session: Session, acting: Actor, what: str) -> None:
    """With the `seat_approval` policy on, an ASSISTANT's new active seat needs a SUPER."""
    if seat_approval_applies(session, acting):
        raise ApprovalRequired(f"{what} needs a SUPER's approval here. In Slack it becomes "
                               "a request; or create the user as pending.")


def seat_approval_applies(session: Session, acting: Actor) -> bool:
    """Does a new active seat by this actor need a SUPER's approval (`seat_approval`)?"""
    rules = session.get(ApprovalPolicy, 1)
    return bool(rules is not None and rules.seat_approval
                and acting.acting_level is Level.ASSISTANT)


def create_in(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
              new: NewUser, hasher: Hasher) -> User:
    """Create one user inside the caller's transaction (also run by a seat approval)."""
    rows = repository.projects_by_key(session, new.projects)
    missing = [k for k in new.projects if k not in rows]
    if missing:
        raise NotFound(f"No project has the key {', '.join(missing)}; add it first.")
    require_user_creator(acting, new.projects, new.name)
    existing = repository.live_user_by_email_key(session, email_key(new.email))
    if existing is not None:
        raise Conflict(
            f"{new.email} is already used by {existing.first_name} {existing.last_name} "
            f"({existing.status}); use another email or manage that user instead."
        )
    try:
        [user_id] = add_users(session, now, acting_user, via, [new], hasher)
    except Conflict as exc:
        raise Conflict(f"{new.email} is already in use; use another email.") from exc
    return session.get(User, user_id)


TRANSITIONS = {
    "activate": ({Status.PENDING, Status.DEACTIVATED}, Status.ACTIVE),
    "deactivate": ({Status.ACTIVE, Status.PENDING}, Status.DEACTIVATED),
    "delete": ({Status.ACTIVE, Status.PENDING, Status.DEACTIVATED}, Status.DELETED),
}


def _change_status(
    ctx: Context, action: str, *, actor: str, via: Via, email: str, remove_admin: bool = False
) -> Outcome:
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        if action == "activate":
            user = find_user(session, email)
            if user.status != Status.ACTIVE.value:
                require_user_manager(acting, [p.key for p in user.projects])
                require_no_seat_approval(session, acting, f"Activating {user.first_name} "
                                                       f"{user.last_name}")
        return change_status_in(session, now, acting_user, acting, via, action, email,
                                remove_admin=remove_admin)


def change_status_in(session: Session, now: datetime, acting_user: User, acting: Actor,
                     via: Via, action: str, email: str, *, remove_admin: bool = False
                     ) -> Outcome:
    """Activate, deactivate or delete inside the caller's transaction."""
    sources, target = TRANSITIONS[action]
    user = find_user(session, email)
    before = user_view(user)
    require_user_manager(acting, before.projects)
    if before.status not in sources:
        return Outcome(before, False, f"{before.name} is already {before.status.value}.")
    was_super = is_org_super(user)
    if user.grant is not None and target is not Status.ACTIVE:
        if was_super and repository.count_org_supers(session) <= 1:
            # invariant 1 before invariant 2, so the last SUPER hears the real reason
            raise LastSuperViolation(last_super_message(user, f"{action} them"))
        if remove_admin and user.grant.level is not None:
            # removing the role is an admin change: invariant 3 (an ASSISTANT must ask)
            require_level_changer(acting, before.projects, before.scope, None, before.name)
        if remove_admin and user.grant.level is not None:
            # one step, audited as both (DESIGN section 10): the role's removal, then the
            # status, at the same instant (billing holds no state in between)
            user.grant = None
            record(session, at=now, via=via, action="admin.remove", actor=acting_user,
                   subject=user, before=before)
        elif remove_admin or user.grant.level is None:
            user.grant = None  # signing out for good ends any pending removal too
        else:
            refuse_admin_removal_by_status(user, action)
    between = user_view(user)
    user.status = target.value
    if target is Status.DELETED:
        user.slack_user_id = None  # the Slack account may come back as a new user
    keep_an_org_super(session, user, was_super, f"{action} them")
    record(session, at=now, via=via, action=f"user.{action}", actor=acting_user,
           subject=user, before=between)
    after = user_view(user)
    return Outcome(after, True, _status_sentence(after, action, before.status))


def _status_sentence(user: UserView, action: str, was: Status) -> str:
    if action == "activate":
        again = "again" if was is Status.DEACTIVATED else "now"  # a pending user never was
        return f"{user.name} ({user.email}) is active {again} and takes a seat from now."
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
