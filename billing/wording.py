"""Line descriptions: say why a line bills what it bills, in an admin's words.

Dates are shown in the billing time zone as `Mar 10`; a cycle is at most 31 days long,
so the year never helps. Month names are fixed English, whatever the process locale.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from billing.cycles import Cycle
from billing.model import Level
from billing.terms import UserPolicy

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def short_date(instant: datetime, zone: ZoneInfo) -> str:
    """`Mar 10`: the local date of `instant`."""
    local = instant.astimezone(zone)
    return f"{_MONTHS[local.month - 1]} {local.day}"


def admin_reason(
    level: Level,
    level_from: datetime | None,
    level_until: datetime | None,
    cycle: Cycle,
    zone: ZoneInfo,
) -> str:
    """Why an admin is billed `level`: `SUPER`, `SUPER, held until Mar 10`, ...

    `level_from`/`level_until` as in `Usage`: when the highest level was first held and,
    if it was given up before the cycle's end, when.
    """
    late = level_from is not None and level_from > cycle.start
    if late and level_until is not None:
        start, end = short_date(level_from, zone), short_date(level_until, zone)
        return f"{level.title} from {start} until {end} (the highest level bills the whole cycle)"
    if late:
        start = short_date(level_from, zone)
        return f"{level.title} from {start} (an upgrade bills the whole cycle)"
    if level_until is not None:
        return f"{level.title}, held until {short_date(level_until, zone)}"
    return level.title


def admin_line_description(name: str, key: str, reason: str) -> str:
    """`Taylor Reed (taylor@example.com): SUPER, held until Mar 10`."""
    return f"{name} ({key}): {reason}" if name else f"{key}: {reason}"


def users_line_description(policy: UserPolicy, user_days: int, days_in_cycle: int) -> str:
    if policy is UserPolicy.PRORATED:
        return f"Active users, prorated: {user_days} user-days of a {days_in_cycle}-day cycle"
    if policy is UserPolicy.END_OF_CYCLE:
        return "Active users at the end of the cycle"
    return "Active users"
