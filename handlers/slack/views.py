"""Modal and App Home views, as pure functions (DESIGN section 5).

mrkdwn goes through `handlers.slack.blocks.text_block` (or `bot.slack_text.mrkdwn`), which
escapes it; plain_text (titles, labels, option labels, input values) is left as it is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.slack_text import mrkdwn
from handlers.slack.blocks import Block, text_block

LEVEL_OPTIONS = (("none", "No admin role"), ("view-only", "VIEW ONLY"),
                 ("assistant", "ASSISTANT"), ("super", "SUPER"))


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label[:75]), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label),
                    "element": {**element, "action_id": block_id}, "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(initial: str | None = None, max_length: int | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input"}
    if initial:
        element["initial_value"] = initial[:150]
    if max_length:
        element["max_length"] = max_length
    return element


def _select(options: Sequence[tuple[str, str]], initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select",
                               "options": [_option(v, label) for v, label in options]}
    chosen = [_option(v, label) for v, label in options if v == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _projects_select(projects: Sequence[tuple[str, str]], label: str) -> Block:
    """An optional multi-select of projects (Slack allows 100 options)."""
    return _input("projects", label, {
        "type": "multi_static_select",
        "options": [_option(key, f"{title} ({key})") for key, title in projects[:100]],
    }, optional=True)


def new_user(projects: Sequence[tuple[str, str]], email: str | None,
             metadata: dict[str, Any], cost: str = "") -> dict[str, Any]:
    """The New User modal: callback `user_new`; block ids equal action ids. `cost` is the
    cost hint of one more active user."""
    options = [_option("random_password", "Generate a random password"),
               _option("active", "Active")]
    blocks: list[Block] = [
        _input("first_name", "First name", _text_input(max_length=100)),
        _input("last_name", "Last name", _text_input(max_length=100)),
        _input("email", "Email", _text_input(email, 254)),
        _input("options", "Options", {"type": "checkboxes", "options": options,
                                      "initial_options": options}, optional=True,
               hint="A random password is always generated and never shown; Slack cannot "
                    "lock that box, so unticking it is ignored."),
        _input("admin_level", "Admin role", _select(LEVEL_OPTIONS, "none")),
    ]
    if projects:  # a select with no options is invalid Block Kit
        blocks.append(_projects_select(projects, "Projects"))
    if cost:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": str(mrkdwn(cost))}]})
    return {"type": "modal", "callback_id": "user_new", "title": _plain("New user"),
            "submit": _plain("Create"), "close": _plain("Cancel"),
            "private_metadata": json.dumps(metadata)[:3000], "blocks": blocks}


def make_admin(email: str, name: str, projects: Sequence[tuple[str, str]],
               metadata: dict[str, Any]) -> dict[str, Any]:
    """The Make Admin modal: callback `admin_make`; level, then projects."""
    blocks: list[Block] = [
        text_block(f"Give *{name}* ({email}) an admin role."),
        _input("admin_level", "Level", _select(LEVEL_OPTIONS[1:], "view-only")),
    ]
    if projects:
        blocks.append(_projects_select(projects, "Projects (leave empty for all projects)"))
    return {"type": "modal", "callback_id": "admin_make", "title": _plain("Make admin"),
            "submit": _plain("Next"), "close": _plain("Cancel"),
            "private_metadata": json.dumps({**metadata, "email": email})[:3000],
            "blocks": blocks}


def confirm_change(hint: str, change: dict[str, Any]) -> dict[str, Any]:
    """Step two: the cost hint, then Confirm commits."""
    return {"type": "modal", "callback_id": "admin_make_confirm",
            "title": _plain("Confirm"), "submit": _plain("Confirm"), "close": _plain("Cancel"),
            "private_metadata": json.dumps(change)[:3000], "blocks": [text_block(hint)]}


def done(title: str, text: str) -> dict[str, Any]:
    """A modal's last page: what happened."""
    return {"type": "modal", "title": _plain(title[:24]), "close": _plain("Close"),
            "blocks": [text_block(text)]}


def billing_settings(current: dict[str, str], metadata: dict[str, Any]) -> dict[str, Any]:
    """The Billing Settings modal, filled with the current settings."""
    blocks = [
        _input("timezone", "Time zone (IANA)", _text_input(current["timezone"], 64)),
        _input("cycle", "Cycle", _select((("monthly", "Monthly"), ("fixed-30", "Every 30 days")),
                                         current["cycle"])),
        _input("anchor", "Anchor date", {"type": "datepicker",
                                         "initial_date": current["anchor"]}),
        _input("currency", "Currency", _text_input(current["currency"], 3)),
        _input("user_price", "Price per active user", _text_input(current["user_price"], 24)),
        _input("super_price", "Price per SUPER", _text_input(current["super_price"], 24)),
        _input("assistant_price", "Price per ASSISTANT",
               _text_input(current["assistant_price"], 24)),
        _input("view_only_price", "Price per VIEW ONLY",
               _text_input(current["view_only_price"], 24)),
        _input("user_policy", "Users are billed", _select((
            ("any-time", "If active at any time"), ("end-of-cycle", "If active at the end"),
            ("prorated", "Prorated by active days")), current["user_policy"])),
    ]
    return {"type": "modal", "callback_id": "billing_settings",
            "title": _plain("Billing settings"), "submit": _plain("Save"),
            "close": _plain("Cancel"), "private_metadata": json.dumps(metadata)[:3000],
            "blocks": blocks}


def home(summary: dict[str, Any] | None) -> dict[str, Any]:
    """App Home: a dashboard for admins, a short note for everyone else."""
    if summary is None:
        return {"type": "home", "blocks": [text_block(
            "*Rollcall* manages this workspace's users and admins. Ask an admin if you need "
            "access.")]}
    levels = " · ".join(f"{label}: {n}" for label, n in summary["admins"].items()) or "none"
    return {"type": "home", "blocks": [
        text_block("*Rollcall*"),
        text_block(f"*Active users:* {summary['active_users']}\n*Admins:* {levels}\n"
                   f"*This cycle's estimate:* {summary['estimate']} for {summary['cycle']}"
                   + (f"\n:warning: {summary['notice']}" if summary.get("notice") else "")),
        text_block(f"*Pending approvals:* {summary['approvals']}\n"
                   f"*Scheduled changes:* {summary['scheduled']}"),
        {"type": "actions", "elements": [
            {"type": "button", "text": _plain("New user"), "action_id": "home_new_user",
             "value": "new", "style": "primary"},
            {"type": "button", "text": _plain("Refresh"), "action_id": "home_refresh",
             "value": "refresh"},
        ]},
    ]}


def deny_reason(request_id: int) -> dict[str, Any]:
    """Asks the approver who denies a request why."""
    return {"type": "modal", "callback_id": "approval_deny", "title": _plain("Deny request"),
            "submit": _plain("Deny"), "close": _plain("Cancel"),
            "private_metadata": json.dumps({"request": request_id}),
            "blocks": [_input("reason", "Why? The requester will see this.",
                              {"type": "plain_text_input", "multiline": True,
                               "max_length": 500})]}
