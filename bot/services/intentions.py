"""One service per intention: what a person asks for, decided whole, in one transaction.

"Add this user (as this admin)", "make them this admin", "activate them", "remove their
admin role (and deactivate or delete them)" and "import this file" are each one call,
whatever the rules make of them: made, made in part with the rest asked of a SUPER, asked
of a SUPER, or (a SUPER's admin change not yet confirmed) checked and priced. The
listeners only render the result (`bot.services.outcomes`); no entry point decides a rule.

Where there is no approvals flow (the command line), `may_request...=False` refuses what
would have become a request, with the rules' own ApprovalRequired sentence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from billing.model import Level, Status
from bot.errors import ApprovalRequired, RollcallError
from bot.rules import (
    Actor,
    Scope,
    require_level_changer,
    require_user_creator,
    require_user_manager,
)
from bot.services.actors import find_user, load_actor
from bot.services.admins import admin_keys, change_admin, remove_admin_in
from bot.services.approvals import (
    removal_action,
    request_admin_change_in,
    request_import_in,
    request_role_removal_in,
    request_seat_in,
)
from bot.services.context import Context, Via
from bot.services.hints import cost_hint
from bot.services.import_report import ImportResult
from bot.services.imports import import_in
from bot.services.outcomes import Changed, Created, NeedsConfirmation, Requested
from bot.services.refusals import refusing
from bot.services.transactions import writing
from bot.services.users import (
    NewUser,
    change_status_in,
    create_in,
    require_no_seat_approval,
    seat_approval_applies,
)
from bot.services.views import Outcome, UserView, user_view
from store.models import User

ROLE = "admin_role"  # the part of `add_user` a refusal can be about (RollcallError.part)


@contextmanager
def _about_the_role() -> Iterator[None]:
    try:
        yield
    except RollcallError as exc:
        exc.part = ROLE
        raise


@refusing("user.create")
def add_user(
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
    admin: Level | None = None,
    admin_projects: Sequence[str] | None = None,
    may_request_seat: bool = True,
    may_request_role: bool = True,
) -> Created | Requested:
    """Create a user and, with `admin`, give them that role over `admin_projects` (None:
    all projects), in one transaction: if any part is refused nothing is created, and the
    refusal is audited.

    - With the seat approval policy, an ASSISTANT's new active user is a seat request
      (`Requested`). An admin level is not part of it: the sentence says to ask for the
      role once the user exists (a seat request's approver creates users, not roles).
    - An ASSISTANT's admin level becomes a request for the role, made in the transaction
      that creates the user (`Created.role_request`).
    - `may_request_seat=False` (the command line) refuses the seat instead;
      `may_request_role=False` (the New User form: a SUPER gives a role with a new user)
      refuses the role before anything is created."""
    new = NewUser.checked(email=email, first_name=first_name, last_name=last_name,
                          active=active, projects=projects, slack_user_id=slack_user_id)
    with _about_the_role():
        keys = None if admin is None else admin_keys(admin, admin_projects)
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        by_request = (admin is not None and may_request_role
                      and acting.acting_level is Level.ASSISTANT)
        if admin is not None and not by_request:
            with _about_the_role():  # the role's rights first, as the form always did
                require_level_changer(acting, new.projects, None, Scope.of(keys),
                                      "this user")
        if new.active:
            require_user_creator(acting, new.projects, new.name)
            if seat_approval_applies(session, acting):
                if not may_request_seat:
                    require_no_seat_approval(session, acting, f"Creating {new.name} as active")
                return _seat_request(ctx, session, now, via, acting_user, acting, new, admin,
                                     keys)
        user = create_in(session, now, acting_user, acting, via, new, ctx.hasher)
        role: Outcome | Requested | None = None
        with _about_the_role():
            if by_request:
                role = request_admin_change_in(ctx, session, now, via, acting_user, acting,
                                               user=user, level=admin, keys=keys)
            elif admin is not None:
                role = change_admin(session, now, acting_user, acting, via=via,
                                    email=user.email, level=admin, keys=keys)
        view = user_view(user)
        text = f"Created {view.name} ({view.email}), {view.status.value}."
        return Created(view, text + (f" {role.message}" if role else ""),
                       role if isinstance(role, Requested) else None)


def _seat_request(ctx: Context, session: Session, now: datetime, via: Via,
                  acting_user: User, acting: Actor, new: NewUser, admin: Level | None,
                  keys: list[str] | None) -> Requested:
    asked = request_seat_in(ctx, session, now, via, acting_user, acting, new=new)
    if admin is None:
        return asked
    return Requested(asked.id, f"{asked.message} The admin role ({admin.title} over "
                               f"{Scope.of(keys).describe()}) is not part of this request: "
                               f"once {new.first_name} is added, ask for it with "
                               "`/admins set`.")


class _Checked(Exception):
    """Rolls back a SUPER's change checked before confirmation, carrying what to confirm."""

    def __init__(self, needs: NeedsConfirmation) -> None:
        super().__init__(needs.message)
        self.needs = needs


@refusing("admin.set")
def change_admin_role(
    ctx: Context,
    *,
    actor: str,
    via: Via,
    email: str,
    level: Level,
    projects: Sequence[str] | None = None,
    confirmed: bool = False,
    at_cycle_end: bool = False,
    may_request: bool = True,
) -> Changed | Requested | NeedsConfirmation:
    """Make `email` an admin at `level` over `projects` (None: all projects), as DESIGN
    section 1 has it:

    - an ASSISTANT's change becomes a request a SUPER approves (`Requested`), confirmed
      or not (`may_request=False`, the command line: refused, ApprovalRequired);
    - a SUPER's change, until `confirmed`, is made in a transaction that is rolled back,
      so every rule (rights, invariants) is the real one and an impossible change is
      refused before its cost hint is shown (`NeedsConfirmation`); confirmed, it is made
      (`Changed`). A change to what they already are is `Changed` at once ("already").
    - `at_cycle_end`: the change is meant for the cycle's end: its hint says what it does
      then, and a SUPER confirms it by scheduling it (`scheduled.schedule_change`), so
      here it is only ever checked."""
    keys = admin_keys(level, projects)
    try:
        with writing(ctx) as (session, now):
            acting_user, acting = load_actor(session, actor)
            if may_request and acting.acting_level is Level.ASSISTANT:
                return request_admin_change_in(ctx, session, now, via, acting_user, acting,
                                               user=find_user(session, email), level=level,
                                               keys=keys)
            final = confirmed and not at_cycle_end
            # priced before the change is made: the hint compares with and without it
            hint = None if final else cost_hint(session, now, email=email, level=level,
                                                at_cycle_end=at_cycle_end)
            outcome = change_admin(session, now, acting_user, acting, via=via, email=email,
                                   level=level, keys=keys)
            if final or hint is None or not outcome.changed:
                return Changed(outcome)
            raise _Checked(NeedsConfirmation(outcome.user.email, level, keys, hint.message,
                                             hint.suggestion))
    except _Checked as checked:
        return checked.needs


@refusing("user.activate")
def activate(ctx: Context, *, actor: str, via: Via, email: str,
             may_request: bool = True) -> Changed | Requested:
    """Activate `email` (`Changed`; "already active" too). With the seat approval policy,
    an ASSISTANT's activation takes a seat a SUPER approves: a seat request
    (`Requested`), or, with `may_request=False` (the command line), the rules'
    ApprovalRequired refusal."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        user = find_user(session, email)
        if user.status != Status.ACTIVE.value:
            require_user_manager(acting, [p.key for p in user.projects])
            if may_request and seat_approval_applies(session, acting):
                return request_seat_in(ctx, session, now, via, acting_user, acting,
                                       email=user.email)
            require_no_seat_approval(session, acting, f"Activating {user.first_name} "
                                                   f"{user.last_name}")
        return Changed(change_status_in(session, now, acting_user, acting, via, "activate",
                                        email))


def remove_admin_role(ctx: Context, *, actor: str, via: Via, email: str,
                      then: str | None = None, may_request: bool = True
                      ) -> Changed | Requested:
    """Remove `email`'s admin role, alone or (`then` = "deactivate" or "delete") in the
    one step of invariant 2 that also deactivates or deletes them, in one transaction.

    Removing a role is an admin change (invariant 3): where the rules answer
    ApprovalRequired (an ASSISTANT, the user in its scope), it becomes a request for the
    same step (`Requested`), or, with `may_request=False` (the command line), stays that
    refusal. A refusal is audited as the step's own action: `admin.remove`, or
    `user.deactivate` / `user.delete`."""
    removal_action(then)  # anything but None, "deactivate" or "delete" is refused
    return _REMOVING[then](ctx, actor=actor, via=via, email=email, then=then,
                           may_request=may_request)


def _remove_admin_role(ctx: Context, *, actor: str, via: Via, email: str, then: str | None,
                       may_request: bool) -> Changed | Requested:
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        try:  # the rules in their own order; where they answer ApprovalRequired, a request
            with session.begin_nested():
                if then is None:
                    return Changed(remove_admin_in(session, now, acting_user, acting, via,
                                                   email))
                return Changed(change_status_in(session, now, acting_user, acting, via, then,
                                                email, remove_admin=True))
        except ApprovalRequired:
            if not may_request:
                raise
        return request_role_removal_in(ctx, session, now, via, acting_user, acting,
                                       email=email, then=then)


_REMOVING = {then: refusing(action)(_remove_admin_role) for then, action in (
    (None, "admin.remove"), ("deactivate", "user.deactivate"), ("delete", "user.delete"))}


@refusing("users.import")
def import_csv(ctx: Context, *, actor: str, via: Via, data: bytes, source: str | None = None,
               may_request: bool = True) -> ImportResult | Requested:
    """Import a CSV file, all or nothing, once per `source` (`imports.import_users`), in
    one transaction. With the seat approval policy, an ASSISTANT's import that adds
    active users becomes an `import_users` request keeping the file (`Requested`; asked
    once per source), or, with `may_request=False`, the rules' ApprovalRequired refusal."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        try:
            with session.begin_nested():
                return import_in(session, now, acting_user, acting, via, data, source,
                                 hasher=ctx.hasher)
        except ApprovalRequired:
            if not may_request:
                raise
        return request_import_in(ctx, session, now, via, acting_user, acting, data=data,
                                 source=source)


def create_user(ctx: Context, *, actor: str, via: Via, email: str, first_name: str,
                last_name: str, active: bool = True, projects: Sequence[str] = (),
                slack_user_id: str | None = None) -> UserView:
    """`add_user` with no role and no request: the seat approval policy refuses an
    ASSISTANT's active user (ApprovalRequired). What the command line and the golden
    scenarios' replay create users with."""
    created = add_user(ctx, actor=actor, via=via, email=email, first_name=first_name,
                       last_name=last_name, active=active, projects=projects,
                       slack_user_id=slack_user_id, may_request_seat=False)
    assert isinstance(created, Created)  # no request without may_request_seat
    return created.user


def set_admin(ctx: Context, *, actor: str, via: Via, email: str, level: Level,
              projects: Sequence[str] | None = None) -> Outcome:
    """`change_admin_role` made at once, never a request: an ASSISTANT is refused
    (ApprovalRequired). Scope applies at once; the level at the user's next login."""
    changed = change_admin_role(ctx, actor=actor, via=via, email=email, level=level,
                                projects=projects, confirmed=True, may_request=False)
    assert isinstance(changed, Changed)  # confirmed, no request: made (or already so)
    return changed.outcome
