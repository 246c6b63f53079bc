"""Who is this Slack user in Rollcall? By the stored Slack id, else by the email of their
Slack profile (`users.info`), which is then stored (DESIGN section 5).

The stored link always wins, and a profile email only matches a Rollcall user who is not
linked to a Slack user yet: a user linked to Slack user U1 is never matched for U2, even
when U2's profile shows the same email (two accounts, or an edited profile). U2 is then
"not a Rollcall user"; the refused match is audited once per pair of Slack ids
(`user.link_slack`, outcome `refused`) and logged without the email. A Slack id still held
by a deleted user (deleting releases it, DESIGN: the account may come back as a new user)
is released, audited, before it links the live user with the matching email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.transactions import reading, writing
from bot.validation import email_key
from store import repository
from store.models import AuditEvent, User

log = logging.getLogger("rollcall.slack")
LINK = "user.link_slack"
UNLINK = "user.unlink_slack"


def email_for_slack_user(
    ctx: Context, slack_user_id: str, profile_email: Callable[[str], str | None]
) -> str | None:
    """The Rollcall email of a Slack user, or None when they are not a Rollcall user.

    `profile_email` asks Slack (`users.info`); it runs outside any transaction.
    """
    if not slack_user_id:
        return None
    with reading(ctx) as session:
        user = repository.live_user_by_slack_id(session, slack_user_id)
        if user is not None:
            return user.email
    email = (profile_email(slack_user_id) or "").strip()
    if not email:
        return None
    with writing(ctx) as (session, now):
        linked = repository.live_user_by_slack_id(session, slack_user_id)
        if linked is not None:  # linked while Slack was asked: the stored link wins
            return linked.email
        user = repository.live_user_by_email_key(session, email_key(email))
        if user is None:
            return None
        if user.slack_user_id is not None:  # someone else's Rollcall user
            _refuse(session, now, user, slack_user_id)
            return None
        _release_from_deleted(session, now, slack_user_id)
        user.slack_user_id = slack_user_id
        record(session, at=now, via=Via.SLACK, action=LINK, actor=user, subject=user,
               before=None, reason=slack_user_id)
        return user.email


def _refuse(session: Session, now: datetime, user: User, slack_user_id: str) -> None:
    """Audit (once per pair of Slack ids) and log a profile email match not made."""
    reason = (f"Slack user {slack_user_id} has this user's email in its Slack profile, but "
              f"this user is linked to Slack user {user.slack_user_id}; not matched.")
    seen = session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == LINK, AuditEvent.outcome == "refused",
        AuditEvent.subject_user_id == user.id, AuditEvent.reason == reason).limit(1))
    if seen is not None:
        return
    session.add(AuditEvent(at=now, via=Via.SLACK.value, action=LINK, outcome="refused",
                           subject_user_id=user.id, subject=user.email, reason=reason))
    log.warning("Slack user %r has the profile email of Rollcall user #%d, who is linked to "
                "Slack user %r: not matched", slack_user_id, user.id, user.slack_user_id)


def _release_from_deleted(session: Session, now: datetime, slack_user_id: str) -> None:
    """Free a Slack id a deleted user still holds (the column is unique over all rows)."""
    holder = session.scalar(select(User).where(User.slack_user_id == slack_user_id,
                                               User.status == "deleted"))
    if holder is None:
        return
    holder.slack_user_id = None
    session.add(AuditEvent(at=now, via=Via.SLACK.value, action=UNLINK, outcome="ok",
                           subject_user_id=holder.id, subject=holder.email,
                           reason=f"{slack_user_id} was still held by this deleted user"))
    session.flush()  # before another row takes the id
