"""What Rollcall posts to channels, as pure functions returning `{text, blocks}`.

Posts are rendered by the code that records them (services, the scheduler), in the
same transaction, so they live here rather than in `handlers/` (which renders replies).

Names, emails, reasons and invoice line descriptions are user-supplied: every mrkdwn text
and every top-level `text` goes through `bot.slack_text.mrkdwn`, which escapes `&`, `<`,
`>` and then cuts to Slack's limit. plain_text (buttons, the header) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from billing.money import format_money
from billing.wording import day_label, document_cycle_days, document_cycle_name, line_sum
from bot.slack_text import mrkdwn


def _post(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A post: the top-level `text` (notification and fallback, parsed as mrkdwn) escaped
    like the blocks."""
    return {"text": str(mrkdwn(text)), "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": str(mrkdwn(text))}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": str(mrkdwn(text))}]}


def _lines(lines: Sequence[Any], limit: int = 15, show: Callable[[Any], str] = str) -> str:
    """The first `limit` lines, each shown by `show` (only those: an invoice may have
    thousands), then how many more there are."""
    shown = [show(line) for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"…and {len(lines) - limit} more")
    return "\n".join(shown)


def cycle_summary(doc: dict[str, Any], changes: Sequence[str],
                  previous_total: str | None) -> dict[str, Any]:
    """The closed cycle at a glance: period, total, lines (each admin's level and why),
    the changes during the cycle, and the difference from the previous cycle."""
    cur = doc["currency"]

    def money(value: str | Decimal) -> str:
        return format_money(Decimal(value), cur)

    period = document_cycle_name(doc)  # "February 2025 (Feb 1 - Feb 28)"
    if previous_total is None:
        versus = "the first invoice"
    else:
        delta = Decimal(doc["total"]) - Decimal(previous_total)
        sign = "+" if delta > 0 else ""
        versus = (f"unchanged from the previous cycle ({money(previous_total)})" if delta == 0
                  else f"{sign}{money(delta)} on the previous cycle ({money(previous_total)})")
    def line(ln: dict[str, Any]) -> str:
        return f"• {ln['description']}: {line_sum(ln, money)}"

    blocks = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"Invoice for {period}: {money(doc['total'])}"}},
        _section(f"*{doc['active_users']} active users* · {versus}"),
        _section("*Lines*\n" + _lines(doc["lines"], 25, line)),
        _section("*Changes during the cycle*\n" + (_lines(changes) or "None.")),
        _context("Final: this invoice never changes. `/billing invoices` lists them all."),
    ]
    return _post(f"Invoice for {period}: {money(doc['total'])}", blocks)


def heads_up(doc: dict[str, Any], scheduled: Sequence[str], upgraded: Sequence[str],
             pending_downgrades: Sequence[str]) -> dict[str, Any]:
    """Before a cycle ends: the estimate (`doc`, the draft), what is scheduled, and how to
    save money. The cycle is named with its last day, not the next cycle's first."""
    cur = doc["currency"]
    period, last = document_cycle_name(doc), day_label(document_cycle_days(doc)[1])
    total = format_money(Decimal(doc["total"]), cur)
    tips = []
    if pending_downgrades:
        tips.append("Pending downgrades still bill the higher level until the admin logs "
                    "in; `/admins apply` applies one now.")
    if upgraded:
        tips.append("Upgrades late in a cycle bill the whole cycle; next time, schedule "
                    "them for the next cycle's start.")
    blocks = [
        _section(f"*Heads-up: this cycle, {period}, closes after {last}.* "
                 f"Estimate so far: *{total}* "
                 f"({doc['active_users']} active users)."),
        _section("*Scheduled for the cycle end*\n" + (_lines(scheduled) or "Nothing.")),
        _section("*Admins upgraded this cycle*\n" + (_lines(upgraded) or "None.")),
        _section("*Pending downgrades*\n" + (_lines(pending_downgrades) or "None.")),
    ]
    if tips:
        blocks.append(_context(" ".join(tips)))
    return _post(f"Heads-up: {period} closes after {last}; estimate {total}", blocks)


def warning(text: str) -> dict[str, Any]:
    """A problem an admin should look at (a failed scheduled change, an integrity check)."""
    return _post(text, [_section(f":warning: {text}")])


def pending_user_card(name: str, email: str, at: str) -> dict[str, Any]:
    """Asks administrators to activate a pending user who just signed in for the first time."""
    text = f"{name} ({email}) signed in for the first time at {at} and is still pending."
    return _post(text, [
        _section(f"*{text}*\nActivate them to give them a seat, or deactivate them."),
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Activate"},
             "style": "primary", "action_id": "pending_activate", "value": email},
            {"type": "button", "text": {"type": "plain_text", "text": "Deactivate"},
             "action_id": "pending_deactivate", "value": email},
        ]},
    ])


def outcome(text: str) -> dict[str, Any]:
    """A card after its decision: the buttons are gone, the outcome stays."""
    return _post(text, [_section(text)])


def approval_card(request_id: int, requester: str, what: str, hint: str, needed: int,
                  expires_at: Any) -> dict[str, Any]:
    """An approval request: who asks, what, the cost hint, Approve and Deny."""
    second = " Above the cost threshold: two SUPERs must approve." if needed > 1 else ""
    text = f"Request #{request_id}: {requester} asks to {what}."
    return _post(text, [
        _section(f"*{text}*\n{hint}{second}"),
        _context(f"Expires {expires_at:%Y-%m-%d %H:%M} UTC. Only an active SUPER whose "
                 "scope covers the change can decide, and never the requester."),
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"},
             "style": "primary", "action_id": "approval_approve", "value": str(request_id)},
            {"type": "button", "text": {"type": "plain_text", "text": "Deny"},
             "style": "danger", "action_id": "approval_deny", "value": str(request_id)},
        ]},
    ])

