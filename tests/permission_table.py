"""DESIGN section 1's permission table, written from the design (not from the code), for
the permission-matrix tests of every entry point.

Six actors, all members of project `alpha`; a target is "in" (a member of alpha) or
"out" (a member of beta only). An actor over all projects has both in scope.

| action kind | view-only | assistant | super |
|---|---|---|---|
| see users, admins, invoices in scope | yes | yes | yes |
| create, activate, deactivate, delete users in scope | no | yes | yes |
| change another admin's level or scope | no | request | yes, within own scope |
| apply a pending change now, schedule one for the cycle end | no | no | yes, within own scope |
| approve requests | no | no | yes, in scope, never own |
| billing settings, approval policy, projects | no | no | SUPER over all projects |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    SEE = "see"
    MANAGE = "manage"  # create, activate, deactivate, delete
    ADMIN = "admin"  # change an admin level or scope (removing a role included)
    # only a SUPER, in person: "A SUPER can also apply a pending change at once"; a
    # request carries no schedule, so an ASSISTANT cannot ask for one at the cycle end
    SUPER_ONLY = "super-only"
    APPROVE = "approve"
    ORG = "org"  # organisation-wide settings


class Outcome(StrEnum):
    OK = "ok"
    REQUEST = "request"  # becomes an approval request (Slack only)
    REFUSED = "refused"


@dataclass(frozen=True)
class Who:
    key: str
    email: str
    slack_id: str
    level: str | None  # "super", "assistant", "view-only", None (no role / no user)
    all_projects: bool
    is_user: bool = True


ACTORS = (
    Who("super_all", "sam@example.com", "U0SAM", "super", True),
    Who("super_alpha", "sue@example.com", "U0SUE", "super", False),
    Who("assistant_alpha", "pat@example.com", "U0PAT", "assistant", False),
    Who("view_only_all", "vic@example.com", "U0VIC", "view-only", True),
    Who("non_admin", "lee@example.com", "U0LEE", None, False),
    Who("stranger", "nobody@example.org", "U0NOBODY", None, False, is_user=False),
)


def expected(actor: Who, kind: Kind, target_in: bool, *, slack: bool) -> Outcome:
    """What DESIGN section 1 says `actor` gets for an action of `kind` on a target in
    alpha (`target_in`) or in beta only. The command line makes no requests: an
    ASSISTANT's admin change is refused there (README, "Approvals from the command
    line")."""
    in_scope = actor.all_projects or target_in
    level = actor.level if actor.is_user else None
    if kind is Kind.ORG:
        return Outcome.OK if level == "super" and actor.all_projects else Outcome.REFUSED
    if kind is Kind.SEE:
        allowed = level in ("view-only", "assistant", "super")
    elif kind is Kind.MANAGE:
        allowed = level in ("assistant", "super")
    elif kind is Kind.ADMIN:
        if level == "assistant" and in_scope:
            return Outcome.REQUEST if slack else Outcome.REFUSED
        allowed = level == "super"
    else:  # APPROVE, SUPER_ONLY
        allowed = level == "super"
    return Outcome.OK if allowed and in_scope else Outcome.REFUSED
