"""Buttons: paging, per-row user actions (behind confirm dialogs), the cost hint's Confirm,
the one-step "remove admin role and deactivate". Permissions are checked against the
clicker at click time, never against what the payload claims."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App, Respond

from billing.model import Level, Status
from bot import posts, services
from bot.errors import InvalidInput
from bot.services import Via, approvals
from bot.services.queries import users_page
from bot.services.scheduled import cancel_scheduled as cancel_scheduled_change
from bot.services.scheduled import schedule_change
from bot.slack_text import Mrkdwn, compose
from handlers.slack import blocks, modals
from handlers.slack.commands import acknowledge, status_change
from handlers.slack.support import Deps, answering, invoker, seat_cost

SLACK = Via.SLACK
OUT_OF_DATE = "That button is out of date; run the command again."


def _clicker(deps: Deps, body: dict[str, Any]) -> str:
    return invoker(deps, (body.get("user") or {}).get("id"))


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value")
    if not isinstance(value, str) or not value or len(value) > 2000:
        raise InvalidInput(OUT_OF_DATE)
    return value


def _request_id(body: dict[str, Any]) -> int:
    value = _value(body)
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput("That button is out of date; it names no request.")
    return int(value)


def _admin_change(body: dict[str, Any]) -> tuple[str, Level, list[str] | None]:
    """The (email, level, projects) an admin-change button carries, checked as a whole:
    a malformed value is refused, never read as "all projects"."""
    change = _json_value(body)
    projects = change.get("projects")
    if projects is not None and not (isinstance(projects, list) and all(
            isinstance(p, str) for p in projects)):
        raise InvalidInput(OUT_OF_DATE)
    try:
        level = Level.parse(str(change.get("level")))
    except ValueError:
        raise InvalidInput(OUT_OF_DATE) from None
    return str(change.get("email")), level, projects


def _json_value(body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(_value(body))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InvalidInput(OUT_OF_DATE)
    return data


def _on_status(deps: Deps, verb: str) -> Callable[..., None]:
    def listener(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            respond(replace_original=False,
                    **status_change(deps, _clicker(deps, body), verb, _value(body)))

    return listener


def _on_remove_and(deps: Deps, verb: str) -> Callable[..., None]:
    """The one step of invariant 2: remove the admin role, then deactivate or delete (made,
    or for an ASSISTANT requested: `Changed | Requested`, one sentence either way)."""

    def listener(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            done = services.remove_admin_role(deps.ctx, actor=_clicker(deps, body), via=SLACK,
                                              email=_value(body), then=verb)
            respond(replace_original=True, **blocks.message(done.message))

    return listener


def _on_page(deps: Deps) -> Callable[..., None]:
    def listener(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            cursor = _json_value(body)
            status = cursor.get("s") if cursor.get("s") in (
                "active", "pending", "deactivated") else None
            after, before = cursor.get("after"), cursor.get("before")
            page = users_page(deps.ctx, actor=_clicker(deps, body),
                              status=status and Status(status),
                              after=after if isinstance(after, str) else None,
                              before=before if isinstance(before, str) else None)
            respond(replace_original=True,
                    **blocks.users_page(page, status or "all", seat_cost(deps)))

    return listener


def _on_pending_card(deps: Deps, verb: str) -> Callable[..., None]:
    """The first-login card's Activate / Deactivate: act as the clicker, then replace the
    card with the outcome so nobody clicks it again."""

    def listener(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            clicker = _clicker(deps, body)
            message = status_change(deps, clicker, verb, _value(body))["text"]
            respond(replace_original=True,  # `message` is escaped already
                    **posts.outcome(compose(Mrkdwn(message), f" ({clicker})")))

    return listener


def register(app: App, deps: Deps) -> None:
    for verb in ("activate", "deactivate"):
        _lazy(app, f"pending_{verb}", _on_pending_card(deps, verb))
    for verb in ("activate", "deactivate", "delete"):
        _lazy(app, f"user_{verb}", _on_status(deps, verb))
    for verb in ("deactivate", "delete"):
        _lazy(app, f"user_remove_admin_and_{verb}", _on_remove_and(deps, verb))
    for direction in ("next", "previous"):
        _lazy(app, f"users_page_{direction}", _on_page(deps))

    def make_admin(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            modals.open_make_admin(deps, _clicker(deps, body), body.get("trigger_id", ""),
                                   _value(body))

    def confirm(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            email, level, projects = _admin_change(body)
            done = services.change_admin_role(deps.ctx, actor=_clicker(deps, body), via=SLACK,
                                              email=email, level=level, projects=projects,
                                              confirmed=True)
            respond(replace_original=True, **blocks.message(done.message))

    def schedule(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            email, level, projects = _admin_change(body)
            done = schedule_change(deps.ctx, actor=_clicker(deps, body), via=SLACK,
                                   email=email, level=level, projects=projects)
            respond(replace_original=True, **blocks.message(f"Scheduled: {done.describe()}."))

    def cancel_scheduled(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            value = _value(body)
            if not value.isdigit():
                raise InvalidInput(OUT_OF_DATE)
            text = cancel_scheduled_change(deps.ctx, actor=_clicker(deps, body), via=SLACK,
                                           change_id=int(value))
            respond(replace_original=False, **blocks.message(text))

    def cancel(respond: Respond) -> None:
        respond(replace_original=True, **blocks.message("Cancelled; nothing was changed."))

    _lazy(app, "user_make_admin", make_admin)
    _lazy(app, "admin_set_confirm", confirm)
    _lazy(app, "admin_set_cancel", cancel)
    _lazy(app, "admin_schedule", schedule)

    def approve(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            text = approvals.approve(deps.ctx, actor=_clicker(deps, body), via=SLACK,
                                     request_id=_request_id(body))
            respond(replace_original=False, response_type="ephemeral",
                    **blocks.message(text))

    def deny(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            modals.open_deny_reason(deps, _clicker(deps, body), body.get("trigger_id", ""),
                                    _request_id(body))

    _lazy(app, "approval_approve", approve)
    _lazy(app, "approval_deny", deny)
    _lazy(app, "scheduled_cancel", cancel_scheduled)


def _lazy(app: App, action_id: str, work: Callable[..., None]) -> None:
    work.__name__ = f"{action_id}_work"  # Bolt tells lazy listeners apart by name
    app.action(action_id)(ack=acknowledge, lazy=[work])
