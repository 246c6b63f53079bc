"""`rollcall billing settings` and `rollcall projects list`: what is set, read only."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing.money import format_money
from bot.services import Context
from bot.services.org import list_projects
from bot.services.settings_view import SettingsVersion, billing_settings
from handlers.cli.tables import table

POLICIES = {"any-time": "a user active at any moment of a cycle is billed for it",
            "end-of-cycle": "a user active at a cycle's last instant is billed for it",
            "prorated": "a user is billed for the local days they were active"}


def settings(args: argparse.Namespace, ctx: Context) -> str:
    found = billing_settings(ctx, actor=args.actor)
    if args.json:
        return json.dumps(found.as_json(), indent=2)
    now = found.in_force
    lines = [f"Billing settings in force (from {_day(now, found.zone)}"
             f"{'' if found.configured else '; the defaults, never configured'}):",
             *_describe(now)]
    for version in found.waiting:
        lines += [f"Waiting for the cycle end: from {_day(version, found.zone)} "
                  f"(recorded {version.recorded_at.astimezone(found.zone):%Y-%m-%d}):",
                  *_describe(version)]
    if not any(Decimal(p) for p in now.values["prices"].values()):
        lines.append("No prices are set, so every amount is 0: `rollcall billing configure "
                     "--user-price P --admin-price super=P --actor EMAIL` sets them.")
    if found.changes:
        lines.append("Changes (newest first):")
        lines.append(table((f"WHEN ({found.zone.key})", "BY", "VIA", "CHANGED"), [
            (f"{c.at.astimezone(found.zone):%Y-%m-%d %H:%M}", c.actor or "-", c.via, c.what)
            for c in found.changes], limit=60))
    return "\n".join(lines)


def _day(version: SettingsVersion, zone: ZoneInfo) -> str:
    return f"{version.starts.astimezone(zone):%Y-%m-%d}"


def _describe(version: SettingsVersion) -> list[str]:
    v, cur = version.values, version.values["currency"]
    prices = v["prices"]
    admins = ", ".join(f"{level.upper().replace('-', ' ')} {format_money(Decimal(p), cur)}"
                       for level, p in prices.items() if level != "user")
    return [f"  {name:<13}{value}" for name, value in (
        ("time zone", v["timezone"]),
        ("cycle", f"{v['cycle']}, anchored on {v['anchor']:%Y-%m-%d}"),
        ("currency", cur),
        ("user price", f"{format_money(Decimal(prices['user']), cur)} a cycle"),
        ("admin prices", f"{admins} a cycle"),
        ("user policy", f"{v['user_policy']}: {POLICIES.get(v['user_policy'], '')}"))]


def projects(args: argparse.Namespace, ctx: Context) -> str:
    found = list_projects(ctx, actor=args.actor)
    if args.json:
        return json.dumps([p.as_json() for p in found], indent=2)
    if not found:
        return ("There are no projects to show. A SUPER over all projects adds one: "
                "`rollcall projects add KEY NAME --actor EMAIL`.")
    return table(("KEY", "NAME", "MEMBERS"), [(p.key, p.name, p.members) for p in found])


HANDLERS = {
    ("billing", "settings"): settings,
    ("projects", "list"): projects,
}

