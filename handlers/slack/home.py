"""App Home: the dashboard an admin sees in the app's Home tab."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slack_bolt import Ack, App

from billing.model import Level
from billing.money import format_money
from billing.wording import document_cycle_name
from bot import services
from bot.errors import RollcallError
from bot.services import billing as billing_service
from bot.services.approvals import pending_requests
from bot.services.queries import users_page
from bot.services.scheduled import list_scheduled
from handlers.slack import modals, views
from handlers.slack.support import Deps, Refused, invoker


def summary(deps: Deps, actor: str) -> dict[str, Any] | None:
    """What the dashboard shows, or None for someone who is not an admin."""
    try:
        page = users_page(deps.ctx, actor=actor, limit=1)
        admins = services.list_admins(deps.ctx, actor=actor)
        estimate = billing_service.invoice_on(deps.ctx, actor=actor)
        doc = estimate.document
    except RollcallError:
        return None
    counts = {level.title: sum(a.level is level for a in admins)
              for level in (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY)}
    return {"active_users": page.total_active,
            "admins": {k: n for k, n in counts.items() if n},
            "estimate": format_money(Decimal(doc["total"]), doc["currency"]),
            "cycle": document_cycle_name(doc),
            "approvals": pending_requests(deps.ctx),
            "scheduled": len(list_scheduled(deps.ctx, actor=actor)),
            "notice": estimate.notice}


def publish(deps: Deps, slack_user_id: str) -> None:
    try:
        data = summary(deps, invoker(deps, slack_user_id))
    except Refused:
        data = None
    deps.client.views_publish(user_id=slack_user_id, view=views.home(data))


EVENTS = ("app_home_opened",)  # manifest.yml subscribes to exactly these


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            publish(deps, event["user"])

    @app.action("home_refresh")
    def refresh(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        publish(deps, (body.get("user") or {}).get("id", ""))

    @app.action("home_new_user")
    def new_user(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        slack_user_id = (body.get("user") or {}).get("id", "")
        try:
            modals.open_new_user(deps, invoker(deps, slack_user_id), body.get("trigger_id", ""),
                                 None, None)
        except (Refused, RollcallError) as exc:
            deps.client.views_open(trigger_id=body.get("trigger_id", ""),
                                   view=views.done("New user", str(exc)))
