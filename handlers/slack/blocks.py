"""Block Kit, as pure functions of plain values (tests compare dicts and validate them
with slack_sdk's models). Limits: 50 blocks a message, 3000 characters a text.

Every mrkdwn text and every top-level `text` goes through `bot.slack_text.mrkdwn`, which
escapes `&`, `<`, `>` (names, emails and messages are user-supplied) and then cuts to the
limit; plain_text (button labels) is not parsed by Slack and is left as it is."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from billing.model import Level, Status
from billing.money import format_money
from billing.wording import document_cycle_name, line_sum
from bot.services.queries import HistoryEntry, UsersPage
from bot.services.views import UserView
from bot.slack_text import TEXT_LIMIT, Mrkdwn, mrkdwn

Block = dict[str, Any]
CONFIRM_LIMIT = 300  # a confirm dialog's text


def _payload(text: str, blocks: list[Block]) -> dict[str, Any]:
    """A message: the top-level `text` (the notification and fallback, parsed as mrkdwn
    by Slack) escaped like the blocks."""
    return {"text": str(mrkdwn(text)), "blocks": blocks}


def text_block(text: str) -> Block:
    """A mrkdwn section: `text` escaped (unless already `Mrkdwn`), then cut to the limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": str(mrkdwn(text))}}


def chunks(lines: Iterable[str], limit: int = TEXT_LIMIT) -> list[Block]:
    """Sections of whole lines, each within the text limit (counted after escaping)."""
    blocks: list[Block] = []
    current = ""
    for raw in lines:
        line = mrkdwn(raw, limit)
        if current and len(current) + 1 + len(line) > limit:
            blocks.append(text_block(Mrkdwn(current)))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(text_block(Mrkdwn(current)))
    return blocks


def message(text: str) -> dict[str, Any]:
    """A reply of one sentence (a service's message, a refusal): escaped everywhere."""
    return _payload(text, [text_block(text)])


def _button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: tuple[str, str] | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text},
                     "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "mrkdwn", "text": str(mrkdwn(confirm[0], CONFIRM_LIMIT))},
            "confirm": {"type": "plain_text", "text": confirm[1]},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def _status_words(user: UserView) -> str:
    words = [user.status.value]
    if user.is_admin:
        words.append(user.level.title if user.level else "admin role ending")
        if user.pending:
            words.append("change pending")
    return " · ".join(words)


def user_row(user: UserView, seat_cost: str = "") -> list[Block]:
    """One user: name, email, status and projects, then the buttons that apply."""
    projects = ", ".join(user.projects) or "no project"
    line = f"*{user.name}* ({user.email}) · {_status_words(user)} · {projects}"
    buttons = []
    if user.status is not Status.ACTIVE:
        buttons.append(_button("Activate", "user_activate", user.email, "primary",
                               (f"Activate {user.name}? They take a seat from now{seat_cost}.",
                                "Activate")))
    if user.status is not Status.DEACTIVATED:
        buttons.append(_button("Deactivate", "user_deactivate", user.email, None,
                               (f"Deactivate {user.name}? Billing stops from the next cycle.",
                                "Deactivate")))
    buttons.append(_button("Delete", "user_delete", user.email, "danger",
                           (f"Delete {user.name}? They disappear from lists; their email "
                            "becomes free.", "Delete")))
    if not user.is_admin and user.status is not Status.DEACTIVATED:
        buttons.append(_button("Make admin", "user_make_admin", user.email))
    return [text_block(line), {"type": "actions", "elements": buttons}]


def users_page(page: UsersPage, status: str, seat_cost: str = "") -> dict[str, Any]:
    """Header, one row (section + buttons) per user, then Previous/Next. `seat_cost`
    (", +$10.00 this cycle") goes into the Activate confirmation: the cost hint."""
    blocks: list[Block] = [text_block(f"*Total Active Users: {page.total_active}*"),
                           {"type": "divider"}]
    for user in page.users:
        blocks += user_row(user, seat_cost)
    if not page.users:
        blocks.append(text_block("No users to show here."))
    nav = []
    if page.has_before and page.users:
        nav.append(_button("Previous", "users_page_previous",
                           json.dumps({"s": status, "before": page.users[0].email.casefold()})))
    if page.has_after and page.users:
        nav.append(_button("Next", "users_page_next",
                           json.dumps({"s": status, "after": page.users[-1].email.casefold()})))
    if nav:
        blocks.append({"type": "actions", "elements": nav})
    return _payload(f"Total Active Users: {page.total_active}", blocks)


def confirm_delete(user: UserView) -> dict[str, Any]:
    """`/users delete` asks first; deleting happens when the button is confirmed."""
    text = (f"Delete {user.name} ({user.email})? They disappear from lists and their email "
            "becomes free; their history is kept for billing.")
    return _payload(text, [text_block(text), {"type": "actions", "elements": [
        _button("Delete", "user_delete", user.email, "danger", (text, "Delete")),
        _button("Cancel", "admin_set_cancel", "cancel"),
    ]}])


def user_card(user: UserView) -> dict[str, Any]:
    """`/users show`: who they are, their status, projects and admin role."""
    scope = user.scope.describe() if user.scope else "-"
    lines = [f"*{user.name}* ({user.email})", f"Status: {user.status.value}",
             f"Projects: {', '.join(user.projects) or 'none'}"]
    if user.is_admin:
        level = user.level.title if user.level else "none (removal pending)"
        applied = user.effective_level.title if user.effective_level else "not yet"
        lines += [f"Admin level: {level} · applied: {applied}", f"Scope: {scope}"]
    return _payload(f"{user.name} ({user.email})", [text_block("\n".join(lines))])


def admins_list(admins: Sequence[UserView]) -> dict[str, Any]:
    """`/admins list`: admins grouped by level, with scope and pending changes."""
    lines = []
    for level in (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY, Level.NONE):
        group = [a for a in admins if a.level is level]
        if not group:
            continue
        lines.append(f"*{level.title if level else 'Role being removed'}* ({len(group)})")
        for a in group:
            pending = " · change pending until their next login" if a.pending else ""
            now = a.acting_level.title if a.acting_level else "nothing yet (not an admin)"
            if a.status is not Status.ACTIVE:
                now = f"nothing ({a.status.value})"
            lines.append(f"• {a.name} ({a.email}) · {a.scope.describe()}{pending} · "
                         f"can act now as {now}")
    blocks = chunks(lines or ["No admins."])[:50]
    return _payload(f"{len(admins)} admins", blocks)


def history(email: str, entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    """`/admins history`: a user's latest audit events."""
    lines = [f"*History of {email}* (latest first)"]
    for e in entries:
        who = f" by {e.actor}" if e.actor else ""
        why = f": {e.reason}" if e.reason else ""
        refused = " (refused)" if e.outcome == "refused" else ""
        lines.append(f"• {e.at:%Y-%m-%d %H:%M} UTC {e.action}{refused}{who} via {e.via}{why}")
    return _payload(f"History of {email}", chunks(lines)[:50])


def invoice(doc: dict[str, Any]) -> dict[str, Any]:
    """One invoice document: the total, then its lines (descriptions name people)."""
    cur = doc["currency"]

    def money(text: str) -> str:
        return format_money(Decimal(text), cur)

    kind = "Estimate (draft)" if doc["status"] == "draft" else "Final invoice"
    period = document_cycle_name(doc)  # "February 2025 (Feb 1 - Feb 28)"
    head = f"*{kind}* for {period} · *{money(doc['total'])}*"
    lines = [f"• {ln['description']}: {line_sum(ln, money)}" for ln in doc["lines"]]
    blocks = [text_block(head), *chunks(lines)][:50]
    return _payload(f"{kind} for {period}: {money(doc['total'])}", blocks)


def invoices(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`/billing invoices`: one line per invoice."""
    lines = [f"• {document_cycle_name(d)} · {d['status']} · {d['active_users']} users · "
             f"{format_money(Decimal(d['total']), d['currency'])}" for d in docs]
    return _payload("Invoices", [text_block("*Invoices*"), *chunks(lines)][:50])


def cost_hint(message_text: str, change: dict[str, Any], *, scheduled: bool = False,
              offer_schedule: bool = False) -> dict[str, Any]:
    """The hint before an admin change commits: Confirm (now, or at the cycle end when
    asked for), Schedule for cycle end when that saves money, and Cancel."""
    value = json.dumps(change)
    if scheduled:
        message_text += " Confirm to schedule it for the cycle end."
        buttons = [_button("Confirm: at cycle end", "admin_schedule", value, "primary")]
    else:
        buttons = [_button("Confirm", "admin_set_confirm", value, "primary")]
        if offer_schedule:
            buttons.append(_button("Schedule for cycle end", "admin_schedule", value))
    buttons.append(_button("Cancel", "admin_set_cancel", "cancel"))
    return _payload(message_text, [text_block(message_text),
                                   {"type": "actions", "elements": buttons}])


def scheduled(changes: Sequence[Any]) -> dict[str, Any]:
    """`/admins scheduled`: each waiting change with a Cancel button."""
    if not changes:
        return message("There are no scheduled changes.")
    out: list[Block] = [text_block(f"*Scheduled for the cycle end* ({len(changes)})")]
    for change in changes[:24]:
        out.append({**text_block(change.describe()),
                    "accessory": _button("Cancel", "scheduled_cancel", str(change.id),
                                         None, (f"Cancel: {change.describe()}?",
                                                "Cancel it"))})
    return _payload(f"{len(changes)} scheduled changes", out)


def remove_and_deactivate(message_text: str, email: str, verb: str,
                          request: bool = False) -> dict[str, Any]:
    """Invariant 2's refusal, with the one button that does both steps (for an ASSISTANT,
    who may only ask, the button sends that request to the approvers)."""
    action = "user_remove_admin_and_deactivate" if verb == "deactivate" else (
        "user_remove_admin_and_delete")
    label = (f"Ask to remove admin role and {verb}" if request
             else f"Remove admin role and {verb}")
    return _payload(message_text, [
        text_block(message_text),
        {"type": "actions", "elements": [_button(label[:75], action, email, "danger",
                                                 (f"{label}?", "Do both"))]},
    ])


IMPORT_PROBLEMS = 40  # problem lines shown under a dry run; the rest are counted


def import_dry_run(name: str, checked: int, problems: Sequence[tuple[int, str]],
                   seats: int, cost: str, value: str | None, note: str = "") -> dict[str, Any]:
    """A CSV file's dry run in the DM: rows ready, each problem by row number (the first
    IMPORT_PROBLEMS, then how many more), what the new active seats cost (`cost`: "+$10.00
    this cycle, +$10.00 a cycle after"), and Import / Cancel when `value` is given (only
    for a file without problems)."""
    def count(n: int, word: str) -> str:
        return f"{n:,} {word[:-1] if n == 1 else word}"

    if problems:
        summary = (f"{count(checked, 'rows')} read, {count(len(problems), 'problems')}; "
                   "nothing was imported. Fix the file and share it again.")
    elif not checked:
        summary = "the file has a header but no rows; there is nothing to import."
    else:
        adds = (f"adds {count(seats, 'active users')}: {cost}" if seats
                else "adds no active user, so it costs nothing")
        summary = f"{count(checked, 'rows')} ready, no problems. Importing {adds}."
    lines = [f"row {n}: {text}" for n, text in problems[:IMPORT_PROBLEMS]]
    if len(problems) > IMPORT_PROBLEMS:
        lines.append(f"…and {len(problems) - IMPORT_PROBLEMS:,} more problems")
    out = [text_block(f"{note}*{name}*: {summary}"), *chunks(lines)][:49]
    if value is not None:
        out.append({"type": "actions", "elements": [
            _button("Import", "import_run", value, "primary"),
            _button("Cancel", "import_cancel", "cancel")]})
    return _payload(f"{note}{name}: {summary}", out)
