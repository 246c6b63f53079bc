"""Modals: New User, Make admin (with its cost hint), billing settings. Submissions are
checked before the ack so problems come back inline (`response_action: errors`)."""

from __future__ import annotations

import hashlib
import hmac
import json
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
from bot.services import Via, approvals
from bot.services import billing as billing_service
from bot.services.hints import level_hint
from bot.services.queries import (
    acting_level,
    check_admin_change,
    check_grant,
    project_keys,
    require_manager,
    show_user,
)
from bot.services.users import NewUser
from bot.slack_text import mrkdwn
from bot.validation import clean_email, clean_name
from handlers.slack import views
from handlers.slack.support import Deps, Refused, invoker, log

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
    @app.view("user_new")
    def new_user(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values, errors = _values(view), {}
        for field, label in (("first_name", "First name"), ("last_name", "Last name")):
            try:
                clean_name(values.get(field), label)
            except InvalidInput as exc:
                errors[field] = str(exc)
        try:
            clean_email(values.get("email"))
        except InvalidInput as exc:
            errors["email"] = str(exc)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        level = Level.parse(values.get("admin_level") or "none")
        projects = [p for p in values.get("projects") or [] if isinstance(p, str)]
        active = "active" in (values.get("options") or [])
        try:
            actor = _submitter(deps, body)
            if level is not Level.NONE:
                check_grant(deps.ctx, actor=actor, level=level, projects=projects or None)
        except RollcallError as exc:
            ack(response_action="errors", errors={"admin_level": str(exc)})
            return
        try:
            user = services.create_user(deps.ctx, actor=actor, via=SLACK, email=values["email"],
                                        first_name=values["first_name"],
                                        last_name=values["last_name"], active=active,
                                        projects=projects)
        except ApprovalRequired:  # the seat approval policy: the form becomes a request
            new = NewUser.checked(email=values["email"], first_name=values["first_name"],
                                  last_name=values["last_name"], active=True,
                                  projects=projects)
            try:
                requested = approvals.request_seat(deps.ctx, actor=actor, via=SLACK, new=new)
            except RollcallError as exc:
                ack(response_action="errors", errors={"email": str(exc)})
                return
            ack()
            _notify(_response_url(deps, _metadata(view)), requested.message)
            if deps.pump is not None:
                deps.pump.kick()
            return
        except (PermissionDenied, NotFound) as exc:
            ack(response_action="errors", errors={"projects" if projects else "email": str(exc)})
            return
        except RollcallError as exc:  # a taken email, or the database is unreachable
            ack(response_action="errors", errors={"email": str(exc)})
            return
        ack()
        text = f"Created {user.name} ({user.email}), {user.status.value}."
        if level is not Level.NONE:
            try:
                text += " " + services.set_admin(deps.ctx, actor=actor, via=SLACK,
                                                 email=user.email, level=level,
                                                 projects=projects or None).message
            except RollcallError as exc:
                text += f" The admin role was not given: {exc}"
        _notify(_response_url(deps, _metadata(view)), text)

    @app.view("admin_make")
    def make_admin(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values, meta = _values(view), _metadata(view)
        try:
            actor = _submitter(deps, body)
            level = Level.parse(values.get("admin_level") or "view-only")
            projects = [p for p in values.get("projects") or [] if isinstance(p, str)] or None
            if acting_level(deps.ctx, actor=actor) is Level.ASSISTANT:
                requested = approvals.request_admin_change(
                    deps.ctx, actor=actor, via=SLACK, email=str(meta.get("email")),
                    level=level, projects=projects)
                ack(response_action="update", view=views.done("Request sent",
                                                               requested.message))
                if deps.pump is not None:
                    deps.pump.kick()
                return
            check_admin_change(deps.ctx, actor=actor, email=str(meta.get("email")),
                               level=level, projects=projects)
            hint = level_hint(deps.ctx, email=str(meta.get("email")), level=level)
        except (RollcallError, ValueError) as exc:
            ack(response_action="errors", errors={"admin_level": str(exc)})
            return
        change = {"email": meta.get("email"), "level": level.label, "projects": projects}
        ack(response_action="update", view=views.confirm_change(hint.message, change))

    @app.view("admin_make_confirm")
    def confirm_admin(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        change = _metadata(view)
        try:
            actor = _submitter(deps, body)
            email, level = str(change.get("email")), Level.parse(str(change.get("level")))
            text = approvals.change_or_request(deps.ctx, actor=actor, via=SLACK,
                                               email=email, level=level,
                                               projects=change.get("projects"))
        except (RollcallError, ValueError) as exc:
            text = str(exc)
        ack(response_action="update", view=views.done("Make admin", text))

    @app.view("approval_deny")
    def deny_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        try:
            actor = _submitter(deps, body)
            text = approvals.deny(deps.ctx, actor=actor, via=SLACK,
                                  request_id=int(meta.get("request", 0)),
                                  reason=str(_values(view).get("reason") or ""))
        except (RollcallError, ValueError) as exc:
            ack(response_action="errors", errors={"reason": str(exc)[:150]})
            return
        ack(response_action="update", view=views.done("Request denied", text))
        if deps.pump is not None:
            deps.pump.kick()

    @app.view("billing_settings")
    def billing_settings(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values, meta = _values(view), _metadata(view)
        current = meta.get("current") or {}
        errors = _settings_errors(values)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        changed = {k: v for k, v in values.items() if v is not None and v != current.get(k)}
        if not changed:
            ack()
            return
        if "currency" in changed:  # the form shows every price beside it: all restated
            changed.update({k: values[k] for k in PRICE_FIELDS if values.get(k) is not None})
        prices = {level: changed[f"{level.label.replace('-', '_')}_price"]
                  for level in (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY)
                  if f"{level.label.replace('-', '_')}_price" in changed}
        try:
            actor = _submitter(deps, body)
            text = billing_service.configure_billing(
                deps.ctx, actor=actor, via=SLACK, timezone=changed.get("timezone"),
                cycle=changed.get("cycle"),
                anchor=date.fromisoformat(changed["anchor"]) if "anchor" in changed else None,
                currency=changed.get("currency"), user_price=changed.get("user_price"),
                admin_prices=prices or None, user_policy=changed.get("user_policy"))
        except RollcallError as exc:
            ack(response_action="errors", errors={next(iter(changed)): str(exc)})
            return
        ack()
        _notify(_response_url(deps, meta), text)


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
