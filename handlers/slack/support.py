"""What every listener shares: the services' context, the Slack client, who is acting,
and one way of turning refusals and failures into a sentence for the person."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from billing.model import Level
from billing.money import format_money
from bot.errors import RollcallError
from bot.outbox import Pump
from bot.services import Context, NeedsConfirmation
from bot.services.hints import level_hint
from bot.services.slack_identity import email_for_slack_user
from bot.slack_text import compose, mention
from handlers.slack import blocks
from handlers.slack.grammar import Target, Usage

log = logging.getLogger("rollcall.slack")
OOPS = ("Something went wrong on Rollcall's side, and nothing was changed. Try again in a "
        "moment; if it keeps happening, tell whoever runs Rollcall.")


@dataclass
class Deps:
    ctx: Context
    client: WebClient
    pump: Pump | None = None  # sends posts recorded by listeners (bot/outbox.py)
    # seals what a modal keeps in its private_metadata (handlers/slack/modals.py); build_app
    # derives it from the signing secret, so every process agrees on it
    seal_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))


class Refused(Exception):
    """A message (text or blocks) to send instead of the normal reply."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("text", ""))
        self.payload = payload


def profile_email(client: WebClient) -> Callable[[str], str | None]:
    def lookup(slack_user_id: str) -> str | None:
        try:
            user = client.users_info(user=slack_user_id)["user"]
        except SlackApiError:
            return None
        if user.get("deleted") or user.get("is_bot") or user.get("is_stranger"):
            return None  # a deactivated account, a bot or another org's user is nobody here
        return (user.get("profile") or {}).get("email")

    return lookup


def invoker(deps: Deps, slack_user_id: str | None) -> str:
    """The acting Rollcall user's email, from the Slack user id of the request."""
    if not slack_user_id:
        raise Refused(blocks.message("Rollcall could not tell who you are; try again."))
    email = email_for_slack_user(deps.ctx, slack_user_id, profile_email(deps.client))
    if email is None:
        raise Refused(blocks.message(
            "You are not a Rollcall user yet, so Rollcall cannot act for you. Ask an admin "
            "to add you with the email of your Slack profile."))
    return email


def target_email(deps: Deps, target: Target) -> str:
    if target.email:
        return target.email
    email = email_for_slack_user(deps.ctx, target.slack_user_id or "", profile_email(deps.client))
    if email is None:
        raise Refused(blocks.message(compose(mention(target.slack_user_id or ""),
                                             " is not a Rollcall user; add them first "
                                             "with `/users new`.")))
    return email


@contextmanager
def answering(send: Callable[..., Any], deps: Deps | None = None) -> Iterator[None]:
    """Run a listener's work; any refusal or failure becomes one polite message. Posts
    the work recorded (cards, warnings) go out right after, from the outbox."""
    try:
        yield
    except Refused as exc:
        send(**exc.payload)
    except (Usage, RollcallError) as exc:
        send(**blocks.message(str(exc)))
    except Exception:  # never a stack trace in Slack
        log.exception("listener failed")
        send(**blocks.message(OOPS))
    finally:
        if deps is not None and deps.pump is not None:  # posts go out on their own thread
            deps.pump.kick()


def seat_cost(deps: Deps) -> str:
    """What one more active user costs this cycle, for confirmations (the cost hint)."""
    hint = level_hint(deps.ctx, email=None, level=Level.NONE)
    return f", {format_money(hint.this_cycle, hint.currency)} this cycle"


def confirmation(checked: NeedsConfirmation) -> dict[str, Any]:
    """What a Confirm (or Schedule) button or form carries of a checked admin change; the
    click checks it all again against the clicker."""
    return {"email": checked.email, "level": checked.level.label,
            "projects": checked.projects}
