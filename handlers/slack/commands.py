"""`/users`, `/admins`, `/billing`: ack at once, then parse, call one service, reply
ephemerally through the command's response_url."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from billing.model import Status
from bot import services
from bot.errors import AdminRoleHeld
from bot.services import NeedsConfirmation, Via
from bot.services import billing as billing_service
from bot.services.billing_history import history_chart
from bot.services.queries import admin_role_right, show_user, user_history, users_page
from bot.services.scheduled import list_scheduled
from handlers.slack import blocks, modals
from handlers.slack.grammar import (
    ADMINS_USAGE,
    BILLING_USAGE,
    IMPORT_HOW,
    USERS_USAGE,
    parse_admins,
    parse_billing,
    parse_users,
)
from handlers.slack.support import (
    Deps,
    Refused,
    answering,
    confirmation,
    invoker,
    seat_cost,
    target_email,
)
from handlers.slack.uploads import send_to_asker

SLACK = Via.SLACK
COMMANDS = ("/users", "/admins", "/billing")  # manifest.yml declares exactly these


def acknowledge(ack: Ack) -> None:
    """Every command and button is acked at once, from the request's own thread; the
    work runs after, on Bolt's pool (a lazy listener), and answers via response_url."""
    ack()


def register(app: App, deps: Deps) -> None:
    replies = {"/users": users_reply, "/admins": admins_reply, "/billing": billing_reply}
    for name in COMMANDS:
        app.command(name)(ack=acknowledge, lazy=[_work(deps, replies[name])])


def _work(deps: Deps, reply: Callable[[Deps, dict[str, Any]], dict[str, Any]]
          ) -> Callable[..., None]:
    def work(command: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            respond(**reply(deps, command))

    work.__name__ = f"{reply.__name__}_work"  # Bolt tells lazy listeners apart by name
    return work


def status_change(deps: Deps, actor: str, verb: str, email: str) -> dict[str, Any]:
    # activating: made, or under the seat approval policy a request (Changed | Requested)
    service = {"activate": services.activate, "deactivate": services.deactivate_user,
               "delete": services.delete_user}[verb]
    try:
        return blocks.message(service(deps.ctx, actor=actor, via=SLACK, email=email).message)
    except AdminRoleHeld as exc:  # offer the one step that removes the role too
        right = admin_role_right(deps.ctx, actor=actor, email=email)
        if right is False:  # only to those who may use it
            raise Refused(blocks.message(str(exc))) from exc
        raise Refused(blocks.remove_and_deactivate(str(exc), email, verb,
                                                   request=right is None)) from exc


def users_reply(deps: Deps, command: dict[str, Any]) -> dict[str, Any]:
    cmd = parse_users(command.get("text", ""))
    if cmd.verb == "help":
        return blocks.message(f"Usage: {USERS_USAGE}")
    if cmd.verb == "import":  # the import itself starts from a file shared in the DM
        return blocks.message(IMPORT_HOW)
    actor = invoker(deps, command.get("user_id"))
    if cmd.verb == "list":
        status = None if cmd.status == "all" else Status(cmd.status)
        page = users_page(deps.ctx, actor=actor, status=status)
        return blocks.users_page(page, cmd.status or "all", seat_cost(deps))
    if cmd.verb == "new":
        modals.open_new_user(deps, actor, command.get("trigger_id", ""), cmd.email,
                             command.get("response_url"))
        return blocks.message("Opening the New User form…")
    email = target_email(deps, cmd.target)
    if cmd.verb == "show":
        return blocks.user_card(show_user(deps.ctx, actor=actor, email=email))
    if cmd.verb == "delete":  # confirm first: the button re-checks everything when clicked
        return blocks.confirm_delete(show_user(deps.ctx, actor=actor, email=email))
    return status_change(deps, actor, cmd.verb, email)


def admins_reply(deps: Deps, command: dict[str, Any]) -> dict[str, Any]:
    cmd = parse_admins(command.get("text", ""))
    if cmd.verb == "help":
        return blocks.message(f"Usage: {ADMINS_USAGE}")
    actor = invoker(deps, command.get("user_id"))
    if cmd.verb == "list":
        return blocks.admins_list(services.list_admins(deps.ctx, actor=actor))
    if cmd.verb == "scheduled":
        return blocks.scheduled(list_scheduled(deps.ctx, actor=actor))
    email = target_email(deps, cmd.target)
    if cmd.verb == "history":
        return blocks.history(email, user_history(deps.ctx, actor=actor, email=email))
    if cmd.verb == "remove":  # removed, or (an ASSISTANT) requested: one sentence either way
        removed = services.remove_admin_role(deps.ctx, actor=actor, via=SLACK, email=email)
        return blocks.message(removed.message)
    if cmd.verb == "apply":
        return blocks.message(services.apply_now(deps.ctx, actor=actor, via=SLACK,
                                                 email=email).message)
    result = services.change_admin_role(deps.ctx, actor=actor, via=SLACK, email=email,
                                        level=cmd.level, projects=cmd.projects,
                                        at_cycle_end=cmd.at_cycle_end)
    match result:
        case NeedsConfirmation():  # the cost hint; Confirm (or Schedule) makes the change
            return blocks.cost_hint(result.message, confirmation(result),
                                    scheduled=cmd.at_cycle_end,
                                    offer_schedule=result.suggestion is not None)
        case _:  # a request, or "already" so
            return blocks.message(result.message)


def billing_reply(deps: Deps, command: dict[str, Any]) -> dict[str, Any]:
    cmd = parse_billing(command.get("text", ""))
    if cmd.verb == "help":
        return blocks.message(f"Usage: {BILLING_USAGE}")
    actor = invoker(deps, command.get("user_id"))
    if cmd.verb == "estimate":
        return blocks.invoice(billing_service.invoice_on(deps.ctx, actor=actor).document)
    if cmd.verb == "invoice":
        return blocks.invoice(billing_service.invoice_on(deps.ctx, actor=actor,
                                                         day=cmd.day).document)
    if cmd.verb == "invoices":
        return blocks.invoices([v.document for v in billing_service.invoices(deps.ctx,
                                                                             actor=actor)])
    if cmd.verb == "history":  # the figures here, the image in the asker's DM (uploads.py)
        chart = history_chart(deps.ctx, actor=actor)
        where = send_to_asker(deps, chart, user_id=command.get("user_id", ""),
                              asked_in=command.get("channel_id"))
        return blocks.message(f"{chart.alt_text}\n{where}")
    modals.open_billing_settings(deps, actor, command.get("trigger_id", ""),
                                 command.get("response_url"))
    return blocks.message("Opening the billing settings…")
