"""Changes scheduled for the running cycle's end (DESIGN section 2): a level change or a
deactivation, run by the scheduler AT the boundary instant (recorded there even when the
scheduler runs late) and applied at once, not pending: the admin keeps the old abilities
to the end of the cycle, and the next cycle bills the new level."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billing.model import Level, Status
from billing.wording import short_date
from bot import posts
from bot.errors import InvalidInput, NotFound, RollcallError
from bot.rules import (
    Actor,
    Scope,
    require_in_scope,
    require_level_changer,
    require_super,
    require_user_manager,
    require_viewer,
)
from bot.services import billing_store as bs
from bot.services.actors import find_user, load_actor
from bot.services.admins import admin_keys, require_project_keys
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.guards import is_org_super, keep_an_org_super, refuse_admin_removal_by_status
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from bot.services.views import user_view
from store import repository
from store.models import AdminGrant, Project, ScheduledChange, ScheduledStatus, User
from store.outbox import enqueue

log = logging.getLogger("rollcall.scheduled")


@dataclass(frozen=True)
class Scheduled:
    id: int
    email: str
    name: str
    action: str
    level: Level | None
    run_at: datetime
    when: str  # the boundary in the billing time zone, "Mar 1"
    scope: Scope | None = None  # a level change's new scope

    def describe(self) -> str:
        what = (f"becomes {self.level.title}" if self.action == "set_level" and self.level
                else "is deactivated")
        return f"{self.name} ({self.email}) {what} at the cycle end, {self.when}"

    def as_json(self) -> dict[str, object]:
        """`at` is the boundary instant, with the billing time zone's offset."""
        return {"email": self.email, "name": self.name, "action": self.action,
                "level": self.level.label if self.level else None,
                "projects": self.scope.as_json() if self.scope else None,
                "at": self.run_at.isoformat(), "when": self.when}


def _boundary(session: Session, now: datetime) -> tuple[datetime, str]:
    calendar = bs.calendar(session, repository.organization(session))
    cycle = calendar.cycle_containing(now)
    return cycle.end, short_date(cycle.end, calendar.terms_for(cycle).zone)


@refusing("admin.schedule")
def schedule_change(ctx: Context, *, actor: str, via: Via, email: str, level: Level | None,
                    projects: Sequence[str] | None = None) -> Scheduled:
    """Schedule `email` to become `level` (None: to be deactivated) at the cycle's end.
    A newer schedule for the same person replaces the older one.

    Everything that can be checked now is checked now, as if the change ran now (the
    level, the projects, the actor's rights over the user), so a change that is accepted
    names only real things; at the boundary it is checked again against that day's rules.
    """
    if level is Level.NONE:
        raise InvalidInput("`none` is not an admin level; to take a role away, use "
                           "`admins remove`.")
    keys = None if level is None else admin_keys(level, projects)
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = find_user(session, email)
        before = user_view(user)
        _check(session, acting, user, level, keys)
        if before.status is Status.DEACTIVATED:
            raise InvalidInput(f"{before.name} is deactivated; nothing to schedule.")
        run_at, when = _boundary(session, now)
        for old in session.scalars(select(ScheduledChange).where(
                ScheduledChange.user_id == user.id,
                ScheduledChange.status == ScheduledStatus.PENDING)):
            old.status, old.outcome = ScheduledStatus.CANCELLED, "replaced by a newer schedule"
        change = ScheduledChange(
            user_id=user.id, action="set_level" if level else "deactivate",
            level=level.label if level else None,
            projects=None if keys is None else {"keys": keys}, run_at=run_at,
            requested_by=acting_user.id, created_at=now, status=ScheduledStatus.PENDING)
        session.add(change)
        session.flush()
        record(session, at=now, via=via, action="admin.schedule", actor=acting_user,
               subject=user, before=before, reason=f"{change.action} at {run_at.isoformat()}")
        return Scheduled(change.id, user.email, before.name, change.action, level, run_at, when)


def _check(session: Session, acting: Actor, user: User, level: Level | None,
           keys: list[str] | None) -> dict[str, Project]:
    """The rights a change needs, when scheduled and again when it runs: a level change is
    an admin change (invariant 3, its projects real); a deactivation is managing a user
    who holds no admin role (invariant 2)."""
    view = user_view(user)
    require_super(acting, "schedule a change for the cycle end (an ASSISTANT asks for the "
                       "change itself, with `/admins set`)")
    if level is None:
        require_user_manager(acting, view.projects)
        refuse_admin_removal_by_status(user, "deactivate")
        return {}
    require_level_changer(acting, view.projects, view.scope, Scope.of(keys), view.name)
    return require_project_keys(session, keys)


def list_scheduled(ctx: Context, *, actor: str | None = None) -> list[Scheduled]:
    """The changes waiting for the cycle end, soonest first: with an actor, those about
    users in the actor's scope (any admin sees them); without, all (the operator)."""
    with reading(ctx) as session:
        acting = None if actor is None else load_actor(session, actor)[1]
        if acting is not None:
            require_viewer(acting)
        rows = session.execute(
            select(ScheduledChange, User).join(User, ScheduledChange.user_id == User.id)
            .where(ScheduledChange.status == ScheduledStatus.PENDING)
            .order_by(ScheduledChange.run_at, ScheduledChange.id))
        zone = bs.calendar(session, repository.organization(session)).latest.zone
        out = []
        for change, user in rows:
            if acting is not None and not acting.scope.includes_user(p.key for p in user.projects):
                continue
            keys = (change.projects or {}).get("keys")
            out.append(Scheduled(change.id, user.email, f"{user.first_name} {user.last_name}",
                                 change.action, Level.parse(change.level) if change.level
                                 else None, change.run_at.astimezone(zone),
                                 short_date(change.run_at, zone),
                                 Scope.of(keys) if change.action == "set_level" else None))
        return out


@refusing("admin.schedule_cancel")
def cancel_scheduled(ctx: Context, *, actor: str, via: Via, change_id: int) -> str:
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        change = session.get(ScheduledChange, change_id)
        if change is None or change.status != ScheduledStatus.PENDING:
            raise NotFound("That scheduled change is no longer waiting; nothing to cancel.")
        return _cancel(session, now, acting_user, acting, via, change)


@refusing("admin.schedule_cancel")
def cancel_scheduled_for(ctx: Context, *, actor: str, via: Via, email: str) -> str:
    """Cancel the change waiting for `email`'s user (there is at most one a person)."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = find_user(session, email)
        change = session.scalar(select(ScheduledChange).where(
            ScheduledChange.user_id == user.id,
            ScheduledChange.status == ScheduledStatus.PENDING))
        if change is None:
            require_super(acting, "cancel a change scheduled for the cycle end")
            require_in_scope(acting, [p.key for p in user.projects])
            raise NotFound(f"{user.first_name} {user.last_name} has no change scheduled "
                           "for the cycle end; nothing to cancel (`admins scheduled` "
                           "lists them).")
        return _cancel(session, now, acting_user, acting, via, change)


def _cancel(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
            change: ScheduledChange) -> str:
    """Cancelling needs the rights the change needs: a SUPER with the user in scope, and
    for a level change the old and the new scope covered."""
    user = session.get(User, change.user_id)
    before = user_view(user)
    require_super(acting, "cancel a change scheduled for the cycle end")
    if change.action == "deactivate":
        require_user_manager(acting, before.projects)
    else:
        keys = (change.projects or {}).get("keys")
        require_level_changer(acting, before.projects, before.scope, Scope.of(keys), before.name)
    change.status, change.outcome, change.done_at = (ScheduledStatus.CANCELLED,
                                                     f"by {acting_user.email}", now)
    record(session, at=now, via=via, action="admin.schedule_cancel", actor=acting_user,
           subject=user, before=before, reason=str(change.id))
    return f"Cancelled: {before.name}'s change at the cycle end will not run."


def run_due_changes(ctx: Context) -> list[str]:
    """The scheduler's step: every due change, oldest first, at its own boundary instant
    (`apply_due`, which every writing transaction runs first anyway)."""
    with reading(ctx) as session:  # most passes find nothing: no writers' lock for that
        due = session.scalar(select(ScheduledChange.id).where(*_due(ctx.clock.now())).limit(1))
    if due is None:
        return []
    transaction = writing(ctx)  # its before-write hook is `apply_due`
    with transaction:
        pass
    return transaction.ran


def _due(now: datetime) -> tuple:
    return ScheduledChange.status == ScheduledStatus.PENDING, ScheduledChange.run_at <= now


def apply_due(ctx: Context, session: Session, now: datetime) -> list[str]:
    """Run every change due by `now`, oldest first, inside this writing transaction and
    before anything else it writes: the unit of work's before-write hook (given by
    `bot/bootstrap.py`). Returns the outbox keys of the changes it ran.

    So nothing is recorded after a boundary before the changes due there: each event
    records its subject's whole state, and a login made while a late scheduler had not
    yet run would otherwise carry the old level past the boundary, and bill it. A change
    that no longer holds is marked failed and reported; the transaction goes on.
    """
    first = select(ScheduledChange.id).where(*_due(now)).limit(1)
    if session.connection().execute(first).first() is None:  # every write asks: keep it cheap
        return []
    due = session.scalars(select(ScheduledChange).where(*_due(now))
                          .order_by(ScheduledChange.run_at, ScheduledChange.id)).all()
    ran = []
    for change in due:
        try:
            with session.begin_nested():
                _apply(ctx, session, change, now)
            ran.append(f"scheduled:{change.id}")
        except RollcallError as exc:
            _fail(ctx, session, change, now, str(exc))
        except OperationalError:
            raise  # the database went away: nothing of this transaction holds
        except Exception:  # a change that cannot run must never block every later write
            log.exception("scheduled change %s failed", change.id)
            _fail(ctx, session, change, now, "Rollcall could not run it (an internal "
                  "error, logged for whoever runs Rollcall); schedule it again.")
    return ran


def _apply(ctx: Context, session: Session, change: ScheduledChange, now: datetime) -> None:
    """Apply at once, recorded at the boundary (`run_at`), with today's rules re-checked:
    the requester must still be allowed and the invariants must still hold."""
    at = change.run_at
    user, requester = session.get(User, change.user_id), session.get(User, change.requested_by)
    if user is None or requester is None:
        raise NotFound("the user or the admin who scheduled it no longer exists.")
    before = user_view(user)
    _, acting = load_actor(session, requester.email)  # NotFound once they are deleted
    was_super = is_org_super(user)
    if change.action == "deactivate":
        _check(session, acting, user, None, None)
        user.status = Status.DEACTIVATED.value
    else:
        level = Level.parse(change.level or "")
        keys = (change.projects or {}).get("keys")
        rows = _check(session, acting, user, level, keys)
        scope = Scope.of(keys)
        if user.grant is None:
            user.grant = AdminGrant()
        user.grant.level = user.grant.effective_level = level.label  # at once, not pending
        user.grant.all_projects, user.grant.scope = scope.all, [rows[k] for k in keys or ()]
        user.grant.changed_at = at
    keep_an_org_super(session, user, was_super, "make this change")
    change.status, change.done_at, change.outcome = ScheduledStatus.DONE, now, "applied"
    record(session, at=at, via=Via.SCHEDULER, action="admin.scheduled", actor=requester,
           subject=user, before=before, reason=f"scheduled change {change.id}")


def _fail(ctx: Context, session: Session, change: ScheduledChange, now: datetime,
          reason: str) -> None:
    user = session.get(User, change.user_id)
    change.status, change.done_at, change.outcome = ScheduledStatus.FAILED, now, reason
    text = (f"A change scheduled for {user.first_name} {user.last_name} ({user.email}) "
            f"at the cycle end did not run: {reason}")
    enqueue(session, key=f"scheduled-failed:{change.id}", channel=ctx.channels.billing,
            payload=posts.warning(text), now=now)
