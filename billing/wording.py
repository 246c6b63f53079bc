"""Words a person reads: cycles named as people say them, and why each line bills what
it bills.

Dates are shown in the billing time zone as `Mar 10`; within a cycle (at most 31 days)
the year never helps, so only a cycle's name carries it. Month names are fixed English,
whatever the process locale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from billing.cycles import Cycle
from billing.terms import UserPolicy
from billing.usage import Usage

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]


def day_label(day: date) -> str:
    """`Mar 10`."""
    return f"{_MONTHS[day.month - 1]} {day.day}"


def short_date(instant: datetime, zone: ZoneInfo) -> str:
    """`Mar 10`: the local date of `instant`."""
    return day_label(instant.astimezone(zone).date())


def cycle_days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last local day of the cycle `[start, end)` in its billing zone.

    `end` is the next cycle's first instant: a local midnight (or, in a DST gap, the first
    instant after it), on the next cycle's first day; so the last day is the day before
    the end's local date. Dates, not `end - 1 µs`: an invoice's fixed offsets (below) would
    put that instant an hour off when the zone's offset changes at midnight.
    """
    return start.astimezone(zone).date(), end.astimezone(zone).date() - timedelta(days=1)


def days_name(first: date, last: date) -> str:
    """A cycle named as people say it, from its first and last local day:
    `February 2025 (Feb 1 - Feb 28)` for a whole calendar month, else
    `Feb 6 - Mar 7, 2025`, `Dec 20, 2025 - Jan 19, 2026`, or `Mar 31, 2025` for one day
    (a short transition cycle after a settings change)."""
    if first.day == 1 and last.month == first.month and (last + timedelta(days=1)).day == 1:
        return (f"{_MONTH_NAMES[first.month - 1]} {first.year} "
                f"({day_label(first)} - {day_label(last)})")
    if first == last:
        return f"{day_label(first)}, {first.year}"
    if first.year == last.year:
        return f"{day_label(first)} - {day_label(last)}, {last.year}"
    return f"{day_label(first)}, {first.year} - {day_label(last)}, {last.year}"


def cycle_name(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """The cycle `[start, end)` named as people say it, in its billing zone (`days_name`)."""
    return days_name(*cycle_days(start, end, zone))


def document_cycle_days(doc: Mapping[str, Any]) -> tuple[date, date]:
    """`cycle_days` of an invoice (its JSON): each ISO instant there carries the billing
    zone's offset at that instant, so its own date is the local one."""
    start = datetime.fromisoformat(doc["cycle_start"])
    end = datetime.fromisoformat(doc["cycle_end"])
    return start.date(), end.date() - timedelta(days=1)


def document_cycle_name(doc: Mapping[str, Any]) -> str:
    """The cycle of an invoice (its JSON) named as people say it: `February 2025 (Feb 1 -
    Feb 28)`, `Feb 6 - Mar 7, 2025`."""
    return days_name(*document_cycle_days(doc))


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
