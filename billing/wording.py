"""Line descriptions: say why a line bills what it bills, in an admin's words.

Dates are shown in the billing time zone as `Mar 10`; a cycle is at most 31 days long,
so the year never helps. Month names are fixed English, whatever the process locale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing.cycles import Cycle
from billing.terms import UserPolicy
from billing.usage import Usage

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def short_date(instant: datetime, zone: ZoneInfo) -> str:
    """`Mar 10`: the local date of `instant`."""
    local = instant.astimezone(zone)
    return f"{_MONTHS[local.month - 1]} {local.day}"


def admin_reason(usage: Usage, cycle: Cycle, zone: ZoneInfo) -> str:
    """Why an admin is billed `usage.level`: `SUPER`, `SUPER, held until Mar 10`, ...

    A level reached mid-cycle bills the whole cycle: say so, and whether it came from an
    upgrade or from the user arriving as an admin.
    """
    title = usage.level.title
    until = usage.level_until and short_date(usage.level_until, zone)
    if usage.level_from is None or usage.level_from <= cycle.start:
        return f"{title}, held until {until}" if until else title
    held = f"{title} from {short_date(usage.level_from, zone)}"
    held += f" until {until}" if until else ""
    if usage.active_from is not None and usage.level_from > usage.active_from:
        return f"{held} (an upgrade bills the whole cycle)"
    return f"{held} (admin lines are not prorated)"


def admin_line_description(name: str, key: str, reason: str) -> str:
    """`Taylor Reed (taylor@example.com): SUPER, held until Mar 10`."""
    return f"{name} ({key}): {reason}" if name else f"{key}: {reason}"


def users_line_description(policy: UserPolicy, seats: int, user_days: int,
                           days_in_cycle: int) -> str:
    if policy is UserPolicy.PRORATED:
        days = "user-day" if user_days == 1 else "user-days"
        users = "1 user" if seats == 1 else f"{seats} users"
        return (f"Active users, prorated: {user_days} {days} ({users}) of a "
                f"{days_in_cycle}-day cycle")
    if policy is UserPolicy.END_OF_CYCLE:
        return "Active users at the end of the cycle"
    return "Active users"


def line_sum(line: Mapping[str, Any], money: Callable[[str], str], times: str = "×") -> str:
    """`quantity × unit price = amount` of an invoice line (its JSON), honest for a
    prorated line too: "302 user-days × $10.00 per 30 days = $100.67"."""
    per = line.get("per_days")
    unit = " user-days" if per and line["quantity"] != 1 else " user-day" if per else ""
    price = money(line["unit_price"]) + (f" per {per} days" if per else "")
    return f"{line['quantity']}{unit} {times} {price} = {money(line['amount'])}"
