"""Approval requests (DESIGN section 4): an ASSISTANT's admin change waits for a SUPER.

The approver's rights are checked when they click (an active SUPER whose scope covers
the change, never the requester). The first decision wins: deciding is an UPDATE that
only matches a pending request, under the writers' lock. An approved change is applied
then, re-checked against today's rules; if it no longer holds the request fails with the
reason. Each outcome updates the request's card and tells the requester in a DM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing.model import Level
from bot import posts
from bot.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RollcallError,
)
from bot.rules import (
    Actor,
    Scope,
    require_in_scope,
    require_level_changer,
    require_user_creator,
    require_user_manager,
)
from bot.services.actors import find_user, load_actor
from bot.services.admins import (
    admin_keys,
    change_admin,
    remove_admin_in,
    require_project_keys,
)
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.csv_rows import CsvFile, read_csv
from bot.services.hints import cost_hint
from bot.services.imports import check_in, import_in, parse_csv
from bot.services.outcomes import Requested
from bot.services.refusals import refusing
from bot.services.transactions import writing
from bot.services.users import NewUser, change_status_in, create_in
from bot.services.views import user_view
from bot.validation import email_key
from store import repository
from store.models import Approval, ApprovalPolicy, ApprovalRequest, ApprovalStatus, User
from store.outbox import enqueue

REASON_MAX = 500


def policy(session: Session) -> ApprovalPolicy:
    return session.get(ApprovalPolicy, 1) or ApprovalPolicy(
        id=1, seat_approval=False, cost_threshold=None, expiry_hours=24)


# request actions that remove an admin role, and what follows in the same step
# (approval_requests.action is at most 20 characters)
REMOVALS = {"remove_admin": None, "remove_deactivate": "deactivate",
            "remove_delete": "delete"}
IMPORT = "import_users"  # a CSV import with active users, under the seat approval policy


def _describe(action: str, change: dict[str, Any], name: str) -> str:
    if action == IMPORT:
        rows = change["rows"]
        return (f"import {rows:,} user{'s' * (rows != 1)} from a CSV file "
                f"({change['active']:,} active)")
    subject = f"{name} ({change['email']})"
    if action == "create_user":
        return f"add {subject} as an active user"
    if action == "activate_user":
        return f"activate {subject}"
    if action in REMOVALS:
        then = REMOVALS[action]
        return f"remove {subject}'s admin role" + (f" and {then} them" if then else "")
    keys = change.get("projects")
    scope = "all projects" if keys is None else ", ".join(keys)
    return f"make {subject} {Level.parse(change['level']).title} over {scope}"


def _name(user: User) -> str:
    return f"{user.first_name} {user.last_name}"


def _require_requester(acting: Actor, target: User) -> None:
    """Only an ASSISTANT asks (a SUPER acts directly), for a user in its scope."""
    if acting.acting_level is not Level.ASSISTANT:
        raise PermissionDenied("Only an ASSISTANT asks for an admin change; a SUPER "
                               "makes it directly, and other admins cannot.")
    require_in_scope(acting, [p.key for p in target.projects])


@refusing("approval.request")
def request_admin_change(ctx: Context, *, actor: str, via: Via, email: str, level: Level,
                         projects: Sequence[str] | None = None) -> Requested:
    """An ASSISTANT asks for an admin change; it is posted for the SUPERs to decide."""
    keys = admin_keys(level, projects)
    with writing(ctx) as (session, now):
        requester, acting = load_actor(session, actor)
        return request_admin_change_in(ctx, session, now, via, requester, acting,
                                       user=find_user(session, email), level=level, keys=keys)


def request_admin_change_in(ctx: Context, session: Session, now: datetime, via: Via,
                            requester: User, acting: Actor, *, user: User, level: Level,
                            keys: list[str] | None) -> Requested:
    """The request inside the caller's transaction (also for a user that transaction has
    just created: `intentions.add_user`)."""
    _require_requester(acting, user)
    require_project_keys(session, keys)
    hint = cost_hint(session, now, email=user.email, level=level)
    rules = policy(session)
    threshold = Decimal(rules.cost_threshold) if rules.cost_threshold else None
    needed = 2 if threshold is not None and hint.this_cycle > threshold else 1
    change = {"email": user.email, "level": level.label, "projects": keys}
    return _post_request(ctx, session, now, via, requester, acting, action="set_admin",
                         change=change, subject=user, needed=needed, hint=hint.message,
                         what=_describe("set_admin", change, _name(user)))


@refusing("approval.request")
def request_role_removal(ctx: Context, *, actor: str, via: Via, email: str,
                         then: str | None = None) -> Requested:
    """An ASSISTANT asks for an admin role to be removed, alone or (`then` = "deactivate"
    or "delete") in the one step of invariant 2 that also deactivates or deletes."""
    removal_action(then)
    with writing(ctx) as (session, now):
        requester, acting = load_actor(session, actor)
        return request_role_removal_in(ctx, session, now, via, requester, acting,
                                       email=email, then=then)


def removal_action(then: str | None) -> str:
    """The request action of a role removal followed by `then` (None, "deactivate",
    "delete"); anything else is refused."""
    action = {None: "remove_admin", "deactivate": "remove_deactivate",
              "delete": "remove_delete"}.get(then)
    if action is None:
        raise InvalidInput("After removing the role, Rollcall can deactivate or delete.")
    return action


def request_role_removal_in(ctx: Context, session: Session, now: datetime, via: Via,
                            requester: User, acting: Actor, *, email: str,
                            then: str | None = None) -> Requested:
    """The request inside the caller's transaction (also `intentions.remove_admin_role`)."""
    action = removal_action(then)
    user = find_user(session, email)
    _require_requester(acting, user)
    if user.grant is None or user.grant.level is None:
        raise InvalidInput(f"{user.first_name} {user.last_name} has no admin role to "
                           "remove.")
    change = {"email": user.email}
    return _post_request(ctx, session, now, via, requester, acting, action=action,
                         change=change, subject=user,
                         what=_describe(action, change, _name(user)),
                         hint="Removing an admin role saves nothing this cycle; the "
                              "next cycle no longer bills it.")


def _post_request(ctx: Context, session: Session, now: datetime, via: Via, requester: User,
                  acting: Actor, *, action: str, change: dict[str, Any], subject: User | None,
                  what: str, hint: str, needed: int = 1, audited: str | None = None
                  ) -> Requested:
    """Record a request, audit it (`audited`, else `what`) and post its card."""
    request = ApprovalRequest(action=action, change=change, requested_by=requester.id,
                              requested_at=now, status=ApprovalStatus.PENDING,
                              approvals_needed=needed,
                              expires_at=now + timedelta(hours=policy(session).expiry_hours),
                              hint=hint)
    session.add(request)
    session.flush()
    record(session, at=now, via=via, action="approval.request", actor=requester,
           subject=subject, before=None, reason=f"request {request.id}: {audited or what}")
    enqueue(session, key=f"approval:{request.id}", channel=ctx.channels.approvals,
            now=now, payload=posts.approval_card(
                request.id, f"{acting.name} ({requester.email})", what, hint,
                needed, request.expires_at))
    return Requested(request.id, f"Request #{request.id} sent to the approvers: {what}. "
                                 f"{hint}")


@refusing("approval.approve")
def approve(ctx: Context, *, actor: str, via: Via, request_id: int) -> str:
    with writing(ctx) as (session, now):
        request, approver, acting = _open(session, now, actor, request_id)
        if isinstance(request, str):
            return request
        change = request.change
        _check_approver(session, acting, request)
        if session.get(Approval, (request.id, approver.id)) is None:
            session.add(Approval(request_id=request.id, approver_id=approver.id, at=now))
            session.flush()
        count = session.scalar(select(func.count()).select_from(Approval)
                               .where(Approval.request_id == request.id))
        if count < request.approvals_needed:  # the card says so, and keeps its buttons
            requester = session.get(User, request.requested_by)
            target = None if request.action == IMPORT else find_user(session, change["email"])
            card = posts.approval_card(
                request.id, f"{requester.first_name} {requester.last_name} "
                f"({requester.email})",
                _describe(request.action, change,
                          f"{target.first_name} {target.last_name}" if target else ""),
                f"{request.hint or ''} Approved by {acting.name} ({count} of "
                f"{request.approvals_needed}).", request.approvals_needed, request.expires_at)
            enqueue(session, key=f"approval:{request.id}:partial:{count}", now=now,
                    method="chat.update", channel=ctx.channels.approvals,
                    payload={**card, "updates": f"approval:{request.id}"})
            return (f"Approved by you ({count} of {request.approvals_needed}); above the "
                    "cost threshold another SUPER must approve too.")
        if not _decide(session, request, ApprovalStatus.APPROVED, approver, now):
            return "This request was already decided."
        try:
            with session.begin_nested():  # a change that no longer holds is undone alone
                outcome = _apply(ctx, session, now, approver, acting, via, request.action, change)
        except RollcallError as exc:
            request.status, request.reason = ApprovalStatus.FAILED, str(exc)
            _tell(ctx, session, request, now, f"Request #{request.id} failed when approved "
                                              f"by {acting.name}: {exc}")
            return f"The change no longer holds, so request #{request.id} failed: {exc}"
        _tell(ctx, session, request, now, f"Request #{request.id} approved by {acting.name}: "
                                          f"{outcome}")
        return f"Approved. {outcome}"


@refusing("approval.deny")
def deny(ctx: Context, *, actor: str, via: Via, request_id: int, reason: str) -> str:
    text = (reason or "").strip()
    if not text or len(text) > REASON_MAX:
        raise InvalidInput(f"Give a reason (at most {REASON_MAX} characters) so the "
                           "requester knows what to do.")
    with writing(ctx) as (session, now):
        request, approver, acting = _open(session, now, actor, request_id)
        if isinstance(request, str):
            return request
        _check_approver(session, acting, request)  # deny needs the rights approve needs
        if not _decide(session, request, ApprovalStatus.DENIED, approver, now, reason=text):
            return "This request was already decided."
        _tell(ctx, session, request, now, f"Request #{request.id} denied by {acting.name}: "
                                          f"{text}")
        return f"Denied request #{request.id}."


def check_decider(ctx: Context, *, actor: str, request_id: int) -> str | None:
    """Refuse early (before the Deny form opens) whoever could not decide this request;
    a sentence instead when it is no longer pending."""
    from bot.services.transactions import reading

    with reading(ctx) as session:
        request, _, acting = _open(session, ctx.clock.now(), actor, request_id)
        if isinstance(request, str):
            return request
        _check_approver(session, acting, request)
    return None


def _check_approver(session: Session, acting: Actor, request: ApprovalRequest) -> None:
    """The approver must be allowed to make the change themselves: the user in their
    scope, and their scope covering the grant's old and new scope. Deciding a request,
    approve or deny, needs the same rights."""
    change, action = request.change, request.action
    if action == "create_user":
        require_user_creator(acting, change.get("projects") or [], change["email"])
        return
    if action == IMPORT:  # the approver must be allowed to create every row
        rows, _ = parse_csv(change["csv"].encode())
        for keys, row in {r.projects: r for r in reversed(rows)}.items():
            require_user_creator(acting, keys, f"{row.first_name} {row.last_name}")
        return
    user = repository.live_user_by_email_key(session, email_key(change["email"]))
    projects = [p.key for p in user.projects] if user is not None else []
    old = user_view(user).scope if user is not None else None
    if action == "set_admin":
        require_level_changer(acting, projects, old, Scope.of(change.get("projects")),
                              change["email"])
    elif action in REMOVALS:
        require_level_changer(acting, projects, old, None, change["email"])
        if REMOVALS[action]:
            require_user_manager(acting, projects)
    else:
        require_user_manager(acting, projects)


def _apply(ctx: Context, session: Session, now: datetime, approver: User, acting: Actor,
           via: Via, action: str, change: dict[str, Any]) -> str:
    """Make the approved change as the approver, with today's rules."""
    if action == "set_admin":
        return change_admin(session, now, approver, acting, via=via, email=change["email"],
                            level=Level.parse(change["level"]),
                            keys=change.get("projects")).message
    if action == "create_user":
        new = NewUser(**{**change, "projects": tuple(change.get("projects") or ())})
        user = create_in(session, now, approver, acting, via, new, ctx.hasher)
        return f"Created {user.first_name} {user.last_name} ({user.email}), active."
    if action == "remove_admin":
        return remove_admin_in(session, now, approver, acting, via, change["email"]).message
    if action == IMPORT:
        return import_in(session, now, approver, acting, via, change["csv"].encode(),
                         change["source"], hasher=ctx.hasher).message
    if action in REMOVALS:
        return change_status_in(session, now, approver, acting, via, REMOVALS[action],
                                change["email"], remove_admin=True).message
    return change_status_in(session, now, approver, acting, via, "activate",
                            change["email"]).message


@refusing("approval.request")
def request_seat(ctx: Context, *, actor: str, via: Via, new: NewUser | None = None,
                 email: str | None = None) -> Requested:
    """With the seat approval policy on, an ASSISTANT asks for a new active user (`new`)
    or for activating `email`; a SUPER decides."""
    with writing(ctx) as (session, now):
        requester, acting = load_actor(session, actor)
        return request_seat_in(ctx, session, now, via, requester, acting, new=new,
                               email=email)


def request_seat_in(ctx: Context, session: Session, now: datetime, via: Via,
                    requester: User, acting: Actor, *, new: NewUser | None = None,
                    email: str | None = None) -> Requested:
    """The seat request inside the caller's transaction (also `intentions.add_user`)."""
    if acting.acting_level is not Level.ASSISTANT:
        raise PermissionDenied("Only an ASSISTANT asks for a seat; a SUPER adds users "
                               "directly.")
    if new is not None:
        require_user_creator(acting, new.projects, f"{new.first_name} {new.last_name}")
        if repository.live_user_by_email_key(session, email_key(new.email)):
            raise InvalidInput(f"{new.email} is already a user.")
        action, subject = "create_user", None
        change: dict[str, Any] = {"email": new.email, "first_name": new.first_name,
                                  "last_name": new.last_name, "active": True,
                                  "projects": list(new.projects)}
        name = f"{new.first_name} {new.last_name}"
    else:
        subject = find_user(session, email or "")
        require_user_manager(acting, [p.key for p in subject.projects])
        action, change, name = "activate_user", {"email": subject.email}, _name(subject)
    hint = cost_hint(session, now, email=None, level=Level.NONE)
    return _post_request(ctx, session, now, via, requester, acting, action=action,
                         change=change, subject=subject,
                         what=_describe(action, change, name), audited=action,
                         hint=f"A seat costs {_signed(hint.this_cycle, hint.currency)} "
                              "this cycle.")


def _signed(amount: Decimal, currency: str) -> str:
    from billing.money import format_money

    return ("+" if amount > 0 else "") + format_money(amount, currency)


@refusing("approval.request")
def request_import(ctx: Context, *, actor: str, via: Via, data: bytes,
                   source: str) -> Requested:
    """With the seat approval policy on, an ASSISTANT asks for a CSV import with active
    users; a SUPER decides. The request keeps the file's text (at most 5 MB) and its
    `source`, so the import still happens once; asking twice for one file asks once."""
    found = read_csv(data)  # a file that cannot be read is refused before anything else
    with writing(ctx) as (session, now):
        requester, acting = load_actor(session, actor)
        return request_import_in(ctx, session, now, via, requester, acting, data=data,
                                 source=source, found=found)


def request_import_in(ctx: Context, session: Session, now: datetime, via: Via,
                      requester: User, acting: Actor, *, data: bytes, source: str | None,
                      found: CsvFile | None = None) -> Requested:
    """The request inside the caller's transaction (also `intentions.import_csv`);
    `found`: the file already read, if it was."""
    report = check_in(session, acting, read_csv(data) if found is None else found)
    if report.problems or not report.rows:
        raise InvalidInput("Nothing was requested: " + (report.text() or "the file has no "
                                                        "rows."))
    if acting.acting_level is not Level.ASSISTANT:
        raise PermissionDenied("Only an ASSISTANT asks for an import; a SUPER imports "
                               "directly.")
    hint = cost_hint(session, now, email=None, level=Level.NONE)
    seats = report.active_seats
    waiting = None if source is None else session.scalar(select(ApprovalRequest.id).where(
        ApprovalRequest.action == IMPORT, ApprovalRequest.status == ApprovalStatus.PENDING,
        ApprovalRequest.change["source"].as_string() == source))
    if waiting is not None:
        return Requested(waiting, f"Request #{waiting} for this file already waits for "
                                  "the approvers.")
    change = {"csv": data.decode("utf-8-sig"), "source": source,
              "rows": len(report.rows), "active": seats}
    rules = policy(session)
    threshold = Decimal(rules.cost_threshold) if rules.cost_threshold else None
    needed = 2 if threshold is not None and seats * hint.this_cycle > threshold else 1
    cost = (f"Adds {seats:,} active user{'s' * (seats != 1)}: "
            f"{_signed(seats * hint.this_cycle, hint.currency)} this cycle, "
            f"{_signed(seats * hint.next_cycle, hint.currency)} a cycle after.")
    return _post_request(ctx, session, now, via, requester, acting, action=IMPORT,
                         change=change, subject=None, needed=needed, hint=cost,
                         what=_describe(IMPORT, change, ""))


def expire_requests(ctx: Context) -> list[str]:
    """The scheduler's step: pending requests past their time expire, and say so."""
    done = []
    with writing(ctx) as (session, now):
        due = session.scalars(select(ApprovalRequest).where(
            ApprovalRequest.status == ApprovalStatus.PENDING,
            ApprovalRequest.expires_at <= now)).all()
        for request in due:
            if _decide(session, request, ApprovalStatus.EXPIRED, None, now):
                _tell(ctx, session, request, now, f"Request #{request.id} expired without a "
                                                  "decision; ask again if it is still needed.")
                done.append(f"expired:{request.id}")
    return done


def _open(session: Session, now: datetime, actor: str,
          request_id: int) -> tuple[ApprovalRequest | str, User | None, Actor | None]:
    """The request and the approver, or a sentence when there is nothing to decide."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"There is no request #{request_id}.")
    approver, acting = load_actor(session, actor)
    if request.status != ApprovalStatus.PENDING:
        return f"Request #{request.id} was already {request.status}.", None, None
    if request.expires_at <= now:
        return f"Request #{request.id} has expired.", None, None
    if approver.id == request.requested_by:
        raise PermissionDenied("You cannot approve or deny your own request; another SUPER "
                               "must decide it.")
    if acting.acting_level is not Level.SUPER:
        raise PermissionDenied("Only an active SUPER admin can decide requests.")
    return request, approver, acting


def _decide(session: Session, request: ApprovalRequest, status: ApprovalStatus,
            approver: User | None, now: datetime, reason: str | None = None) -> bool:
    """The first decision wins: this only matches while the request is pending."""
    won = session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id,
               ApprovalRequest.status == ApprovalStatus.PENDING)
        .values(status=status, decided_by=approver.id if approver else None, decided_at=now,
                reason=reason).execution_options(synchronize_session="fetch")
    ).rowcount == 1
    if won:
        record(session, at=now, via=Via.SLACK if approver else Via.SCHEDULER,
               action=f"approval.{status}", actor=approver, subject=None, before=None,
               reason=f"request {request.id}" + (f": {reason}" if reason else ""))
    return won


def _tell(ctx: Context, session: Session, request: ApprovalRequest, now: datetime,
          text: str) -> None:
    """Update the card (in place) and tell the requester in a direct message."""
    enqueue(session, key=f"approval:{request.id}:{request.status}", now=now,
            method="chat.update", channel=ctx.channels.approvals,
            payload={**posts.outcome(text), "updates": f"approval:{request.id}"})
    requester = session.get(User, request.requested_by)
    enqueue(session, key=f"approval-dm:{request.id}:{request.status}", now=now,
            channel=requester.slack_user_id if requester else None, payload=posts.outcome(text))


@refusing("approval.policy")
def set_policy(ctx: Context, *, actor: str, via: Via, cost_threshold: str | None = None,
               expiry_hours: int | None = None, seat_approval: bool | None = None) -> str:
    """A SUPER over all projects sets when a second SUPER must approve (a change that
    raises this cycle's invoice by more than `cost_threshold`; "off" for never) and how
    long requests wait before they expire."""
    from billing.money import parse_price
    from bot.rules import require_org_super

    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        require_org_super(acting, "Changing the approval policy")
        rules = session.get(ApprovalPolicy, 1)
        if rules is None:
            rules = policy(session)
            session.add(rules)
        if cost_threshold is not None:
            try:
                rules.cost_threshold = (None if cost_threshold.strip().lower() == "off"
                                        else str(parse_price(cost_threshold)))
            except (ValueError, TypeError) as exc:
                raise InvalidInput(f"The cost threshold is not an amount: {exc}") from exc
        if seat_approval is not None:
            rules.seat_approval = seat_approval
        if expiry_hours is not None:
            if not 1 <= expiry_hours <= 24 * 30:
                raise InvalidInput("Requests expire after 1 to 720 hours.")
            rules.expiry_hours = expiry_hours
        record(session, at=now, via=via, action="approval.policy", actor=acting_user,
               subject=None, before=None,
               reason=f"seat_approval={rules.seat_approval}, "
                      f"cost_threshold={rules.cost_threshold}, expiry={rules.expiry_hours}h")
        threshold = rules.cost_threshold or "off"
        seats = "on" if rules.seat_approval else "off"
        return (f"Approval policy: seat approval {seats}; second SUPER above {threshold}; "
                f"requests expire after {rules.expiry_hours} hours.")


def pending_requests(ctx: Context) -> int:
    """How many requests wait for a decision (for the App Home dashboard)."""
    from bot.services.transactions import reading

    with reading(ctx) as session:
        return session.scalar(select(func.count()).select_from(ApprovalRequest)
                              .where(ApprovalRequest.status == ApprovalStatus.PENDING)) or 0
