"""`rollcall admins list|scheduled|cancel`: admins, and changes waiting for the cycle end."""

from __future__ import annotations

import argparse
import json

from bot import services
from bot.plural import count
from bot.services import Context, Via
from bot.services.scheduled import Scheduled, cancel_scheduled_for, list_scheduled
from handlers.cli.tables import table


def admin_list(args: argparse.Namespace, ctx: Context) -> str:
    """Each admin, with the change scheduled for them at the cycle end, if any."""
    admins = services.list_admins(ctx, actor=args.actor)
    waiting = {s.email: s for s in list_scheduled(ctx)} if admins else {}  # admins in view
    if args.json:
        return json.dumps([{**a.admin_json(), "scheduled": _scheduled_json(waiting.get(a.email))}
                           for a in admins], indent=2)
    rows = [(a.email, a.level.label, a.effective_level.label, "yes" if a.pending else "no",
             a.acting_level.label, a.scope.describe() if a.scope else "-",
             _change(waiting[a.email]) if a.email in waiting else "-") for a in admins]
    return table(("EMAIL", "LEVEL", "EFFECTIVE", "PENDING", "ACTS AS NOW", "PROJECTS",
                  "SCHEDULED"), rows)


def _scheduled_json(change: Scheduled | None) -> dict[str, object] | None:
    if change is None:
        return None
    doc = change.as_json()
    return {key: doc[key] for key in ("action", "level", "projects", "at")}


def _change(change: Scheduled) -> str:
    """"ASSISTANT over alpha on Mar 1", "deactivated on Mar 1"."""
    if change.action == "deactivate" or change.level is None:
        return f"deactivated on {change.when}"
    scope = change.scope.describe() if change.scope else "all projects"
    return f"{change.level.title} over {scope} on {change.when}"


def scheduled(args: argparse.Namespace, ctx: Context) -> str:
    changes = list_scheduled(ctx, actor=args.actor)
    if args.json:
        return json.dumps([c.as_json() for c in changes], indent=2)
    if not changes:
        return ("There are no changes scheduled for the cycle end (`admins set EMAIL LEVEL "
                "--at-cycle-end` schedules one).")
    rows = [(c.email, c.name, _change(c)) for c in changes]
    return (f"{count(len(changes), 'change')} scheduled for the cycle end (each runs at the "
            "boundary, applied at once):\n" + table(("EMAIL", "NAME", "BECOMES"), rows))


def cancel(args: argparse.Namespace, ctx: Context) -> str:
    return cancel_scheduled_for(ctx, actor=args.actor, via=Via.CLI, email=args.email)


HANDLERS = {
    ("admins", "list"): admin_list,
    ("admins", "scheduled"): scheduled,
    ("admins", "cancel"): cancel,
}
