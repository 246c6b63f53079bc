"""Who is this Slack user in Rollcall? By the stored Slack id, else by the email of their
Slack profile (`users.info`), which is then stored (DESIGN section 5)."""

from __future__ import annotations

from collections.abc import Callable

from bot.services.context import Context, Via, reading, record, writing
from bot.validation import email_key
from store import repository


def email_for_slack_user(
    ctx: Context, slack_user_id: str, profile_email: Callable[[str], str | None]
) -> str | None:
    """The Rollcall email of a Slack user, or None when they are not a Rollcall user.

    `profile_email` asks Slack (`users.info`); it runs outside any transaction.
    """
    with reading(ctx) as session:
        user = repository.live_user_by_slack_id(session, slack_user_id)
        if user is not None:
            return user.email
    email = profile_email(slack_user_id)
    if not email:
        return None
    with writing(ctx) as (session, now):
        user = repository.live_user_by_email_key(session, email_key(email.strip()))
        if user is None:
            return None
        if user.slack_user_id is None and (
                repository.live_user_by_slack_id(session, slack_user_id) is None):
            user.slack_user_id = slack_user_id
            record(session, at=now, via=Via.SLACK, action="user.link_slack", actor=user,
                   subject=user, before=None, reason=slack_user_id)
        return user.email
