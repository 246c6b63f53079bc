"""Invariants 1 and 2, checked inside the transaction that would break them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.errors import AdminRoleHeld, LastSuperViolation
from store import repository
from store.models import User


def is_org_super(user: User) -> bool:
    """Counts for invariant 1: an active user who can act as SUPER over all projects now,
    so assigned AND effective level both SUPER (a pending grant cannot act yet)."""
    grant = user.grant
    return (
        user.status == "active"
        and grant is not None
        and grant.level == "super"
        and grant.effective_level == "super"
        and grant.all_projects
    )


def last_super_message(user: User, doing: str) -> str:
    return (
        f"{user.first_name} {user.last_name} is the last active SUPER admin over all "
        f"projects who can act now, so Rollcall cannot {doing}. Make another active user "
        "a SUPER admin over all projects and have it applied first (their next login, or "
        "`admins apply`), then try again."
    )


def keep_an_org_super(session: Session, user: User, was_super: bool, doing: str) -> None:
    """Invariant 1: refuse when this change took away the last org-wide SUPER."""
    if not was_super or is_org_super(user):
        return
    session.flush()
    if repository.count_org_supers(session) == 0:
        raise LastSuperViolation(last_super_message(user, doing))


def refuse_admin_removal_by_status(user: User, doing: str) -> None:
    """Invariant 2: an admin is not deactivated or deleted; remove the role first."""
    grant = user.grant
    if grant is None or grant.level is None:
        return
    level = grant.level.upper().replace("-", " ")
    raise AdminRoleHeld(
        f"{user.first_name} {user.last_name} is an admin ({level}), so Rollcall cannot "
        f"{doing} them. Remove their admin role first (admins remove {user.email}), or "
        f"remove the role and {doing} them in one step."
    )
