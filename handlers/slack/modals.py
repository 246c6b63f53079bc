"""Modals: New User, Make admin (with its cost hint), billing settings. Submissions are
checked before the ack so problems come back inline (`response_action: errors`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App
from slack_sdk.webhook import WebhookClient

from billing.cycles import zone_named
from billing.model import Level
from billing.money import currency_code, format_money, parse_price
from bot import services
from bot.errors import (
    ApprovalRequired,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RollcallError,
)
from bot.services import NeedsConfirmation, Requested, Via, approvals
from bot.services import billing as billing_service
from bot.services.hints import level_hint
from bot.services.intentions import ROLE
from bot.services.queries import (
    acting_level,
    check_grant,
    project_keys,
    require_manager,
    show_user,
)
from bot.slack_text import mrkdwn
from bot.validation import clean_email, clean_name
from handlers.slack import views
from handlers.slack.support import Deps, Refused, confirmation, invoker, log

SLACK = Via.SLACK


def open_new_user(deps: Deps, actor: str, trigger_id: str, email: str | None,
                  response_url: str | None) -> None:
    require_manager(deps.ctx, actor=actor)
    hint = level_hint(deps.ctx, email=None, level=Level.NONE)
    cost = (f"An active user costs {format_money(hint.this_cycle, hint.currency)} this "
            f"cycle and {format_money(hint.next_cycle, hint.currency)} the next; a pending "
            "one costs nothing until activated.")
    deps.client.views_open(trigger_id=trigger_id, view=views.new_user(
        project_keys(deps.ctx), email, _sealed(deps, response_url), cost))


def open_make_admin(deps: Deps, actor: str, trigger_id: str, email: str) -> None:
    """A SUPER sets the role (after the cost hint); an ASSISTANT's choice becomes a request."""
    user = show_user(deps.ctx, actor=actor, email=email)
    if acting_level(deps.ctx, actor=actor) is not Level.ASSISTANT:
        check_grant(deps.ctx, actor=actor, level=Level.VIEW_ONLY,
                    projects=list(user.projects) or None)
    deps.client.views_open(trigger_id=trigger_id, view=views.make_admin(
        user.email, user.name, project_keys(deps.ctx), {}))


def open_billing_settings(deps: Deps, actor: str, trigger_id: str,
                          response_url: str | None) -> None:
    current = billing_service.current_settings(deps.ctx, actor=actor)
    deps.client.views_open(trigger_id=trigger_id, view=views.billing_settings(
        current, {**_sealed(deps, response_url), "current": current}))


def open_deny_reason(deps: Deps, actor: str, trigger_id: str, request_id: int) -> None:
    """Deny asks for a reason first, only of someone who may decide the request; the
    decision is taken (and checked again) when the form is sent."""
    note = approvals.check_decider(deps.ctx, actor=actor, request_id=request_id)
    if note is not None:  # already decided or expired: nothing to ask
        raise InvalidInput(note)
    deps.client.views_open(trigger_id=trigger_id, view=views.deny_reason(request_id))


def _values(view: dict[str, Any]) -> dict[str, Any]:
    """block_id -> the submitted value (text, selected option value(s), or date)."""
    out: dict[str, Any] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for element in actions.values():
            if "selected_options" in element:
                out[block_id] = [o.get("value") for o in element["selected_options"] or []]
            elif "selected_option" in element:
                out[block_id] = (element["selected_option"] or {}).get("value")
            elif "selected_date" in element:
                out[block_id] = element["selected_date"]
            else:
                out[block_id] = element.get("value")
    return out


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _mac(key: bytes, url: str) -> str:
    return hmac.new(key, url.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _sealed(deps: Deps, response_url: str | None) -> dict[str, Any]:
    """What a modal keeps of the command's response_url: the URL and its MAC, so a
    submission can only name a URL Rollcall put there (never one a forged payload
    chose). About 100 characters; Slack allows 3000."""
    if not response_url:
        return {}
    return {"r": response_url, "mac": _mac(deps.seal_key, response_url)}


def _response_url(deps: Deps, meta: dict[str, Any]) -> str | None:
    """The sealed response_url of a submitted modal; None when there is none, or when its
    MAC is missing or wrong (logged once, without the URL's secret path)."""
    url, mac = meta.get("r"), meta.get("mac")
    if url is None and mac is None:
        return None  # opened without one (App Home)
    if isinstance(url, str) and isinstance(mac, str) and hmac.compare_digest(
            mac.encode("utf-8", "surrogatepass"), _mac(deps.seal_key, url).encode()):
        return url
    try:
        host = urlsplit(url).hostname if isinstance(url, str) else type(url).__name__
    except ValueError:
        host = "?"
    log.warning("a modal's private_metadata names a response_url Rollcall did not seal "
                "(host %r); no notice sent", (host or "")[:100])
    return None


def _notify(response_url: str | None, text: str) -> None:
    """Tell the person in the channel where they started, once the modal closed."""
    if response_url is not None and response_url.startswith(("https://", "http://")):
        try:
            WebhookClient(response_url).send(text=mrkdwn(text), response_type="ephemeral")
        except Exception:  # a lost notice must not undo the work
            log.exception("could not post to response_url")


def _submitter(deps: Deps, body: dict[str, Any]) -> str:
    """Who sent the form; someone Rollcall does not know hears why, inline."""
    try:
        return invoker(deps, (body.get("user") or {}).get("id"))
    except Refused as exc:
        raise PermissionDenied(str(exc)) from None


def register(app: App, deps: Deps) -> None:
    """One listener per form (`callback_id`), each `(deps, ack, body, view)` below."""
    for callback_id, listener in FORMS.items():
        app.view(callback_id)(_bound(deps, listener))


Listener = Callable[[Deps, Ack, dict[str, Any], dict[str, Any]], None]


def _bound(deps: Deps, listener: Listener) -> Callable[..., None]:
    def run(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        listener(deps, ack, body, view)  # Bolt passes arguments by these names

    run.__name__ = listener.__name__
    return run


def _kick(deps: Deps) -> None:
    """Send the posts (request cards) the submission recorded."""
    if deps.pump is not None:
        deps.pump.kick()


def new_user(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """New User: the fields checked inline, then one call (`add_user`: the user, and the
    role if one is chosen, in one transaction); a refusal shows under its field."""
    values = _values(view)
    errors = _name_and_email_errors(values)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    projects = [p for p in values.get("projects") or [] if isinstance(p, str)]
    level = Level.parse(values.get("admin_level") or "none")
    try:
        result = services.add_user(
            deps.ctx, actor=_submitter(deps, body), via=SLACK, email=values["email"],
            first_name=values["first_name"], last_name=values["last_name"],
            active="active" in (values.get("options") or []), projects=projects,
            admin=None if level is Level.NONE else level, admin_projects=projects or None,
            may_request_role=False)  # the form gives a role only as a SUPER
    except RollcallError as exc:
        ack(response_action="errors", errors={_field_of(exc, projects): str(exc)})
        return
    ack()
    _notify(_response_url(deps, _metadata(view)), result.message)
    _kick(deps)


def _name_and_email_errors(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    for field, label in (("first_name", "First name"), ("last_name", "Last name")):
        try:
            clean_name(values.get(field), label)
        except InvalidInput as exc:
            errors[field] = str(exc)
    try:
        clean_email(values.get("email"))
    except InvalidInput as exc:
        errors["email"] = str(exc)
    return errors


def _field_of(exc: RollcallError, projects: list[str]) -> str:
    """The New User field a refusal belongs under: the role's own, the projects' (a scope
    or a project that does not exist), else the email (taken, or a database problem)."""
    if exc.part == ROLE:
        return "admin_level"
    if isinstance(exc, PermissionDenied | NotFound) and not isinstance(exc, ApprovalRequired):
        return "projects" if projects else "email"
    return "email"


def make_admin(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Make admin, step one: a SUPER sees the cost hint to confirm; an ASSISTANT's choice
    is sent as a request at once."""
    values, meta = _values(view), _metadata(view)
    try:
        result = services.change_admin_role(
            deps.ctx, actor=_submitter(deps, body), via=SLACK, email=str(meta.get("email")),
            level=Level.parse(values.get("admin_level") or "view-only"),
            projects=[p for p in values.get("projects") or [] if isinstance(p, str)] or None)
    except (RollcallError, ValueError) as exc:
        ack(response_action="errors", errors={"admin_level": str(exc)})
        return
    match result:
        case NeedsConfirmation():
            ack(response_action="update",
                view=views.confirm_change(result.message, confirmation(result)))
        case Requested():
            ack(response_action="update", view=views.done("Request sent", result.message))
            _kick(deps)
        case _:  # already so
            ack(response_action="update", view=views.done("Make admin", result.message))


def confirm_admin(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Make admin, step two: the change, checked again against whoever confirms it."""
    change = _metadata(view)
    try:
        text = services.change_admin_role(
            deps.ctx, actor=_submitter(deps, body), via=SLACK, email=str(change.get("email")),
            level=Level.parse(str(change.get("level"))), projects=change.get("projects"),
            confirmed=True).message
    except (RollcallError, ValueError) as exc:
        text = str(exc)
    ack(response_action="update", view=views.done("Make admin", text))
    _kick(deps)


def deny_reason(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    meta = _metadata(view)
    try:
        text = approvals.deny(deps.ctx, actor=_submitter(deps, body), via=SLACK,
                              request_id=int(meta.get("request", 0)),
                              reason=str(_values(view).get("reason") or ""))
    except (RollcallError, ValueError) as exc:
        ack(response_action="errors", errors={"reason": str(exc)[:150]})
        return
    ack(response_action="update", view=views.done("Request denied", text))
    _kick(deps)


def billing_settings(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    values, meta = _values(view), _metadata(view)
    errors = _settings_errors(values)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    changed = _changed_settings(values, meta.get("current") or {})
    if not changed:
        ack()
        return
    prices = {level: changed[f"{level.label.replace('-', '_')}_price"]
              for level in (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY)
              if f"{level.label.replace('-', '_')}_price" in changed}
    try:
        text = billing_service.configure_billing(
            deps.ctx, actor=_submitter(deps, body), via=SLACK,
            timezone=changed.get("timezone"), cycle=changed.get("cycle"),
            anchor=date.fromisoformat(changed["anchor"]) if "anchor" in changed else None,
            currency=changed.get("currency"), user_price=changed.get("user_price"),
            admin_prices=prices or None, user_policy=changed.get("user_policy"))
    except RollcallError as exc:
        ack(response_action="errors", errors={next(iter(changed)): str(exc)})
        return
    ack()
    _notify(_response_url(deps, meta), text)


def _changed_settings(values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The fields that differ from what the form showed; a new currency restates every
    price (the form shows them beside it)."""
    changed = {k: v for k, v in values.items() if v is not None and v != current.get(k)}
    if "currency" in changed:
        changed.update({k: values[k] for k in PRICE_FIELDS if values.get(k) is not None})
    return changed


FORMS: dict[str, Listener] = {"user_new": new_user, "admin_make": make_admin,
                              "admin_make_confirm": confirm_admin,
                              "approval_deny": deny_reason,
                              "billing_settings": billing_settings}


PRICE_FIELDS = ("user_price", "super_price", "assistant_price", "view_only_price")


def _settings_errors(values: dict[str, Any]) -> dict[str, str]:
    """Each field checked on its own, so each problem shows under its field."""
    errors = {}
    checks = {
        "timezone": zone_named,
        "currency": currency_code,
        "anchor": date.fromisoformat,
        **{f: parse_price for f in ("user_price", "super_price", "assistant_price",
                                    "view_only_price")},
    }
    for field, check in checks.items():
        try:
            check(str(values.get(field) or ""))
        except (ValueError, TypeError, ArithmeticError) as exc:
            errors[field] = f"Not valid: {exc}"[:150]
    return errors
