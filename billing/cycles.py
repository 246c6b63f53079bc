"""Billing cycles: half-open `[start, end)` periods whose boundaries are local midnights.

Every boundary is built from a local calendar date, never by adding hours to an instant,
so cycles follow the billing time zone through DST changes (DESIGN section 2).
Boundaries are returned as aware UTC datetimes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TICK = timedelta(microseconds=1)  # the smallest step back: from a cycle's start into the last


class CycleKind(StrEnum):
    MONTHLY = "monthly"
    FIXED_30 = "fixed-30"


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError with a sentence if there is none."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("A time zone is an IANA name such as 'Europe/Paris' or 'UTC'.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a known time zone: use an IANA name such as 'Europe/Paris'."
        ) from None


def require_aware(instant: datetime) -> datetime:
    """Refuse naive datetimes: an instant without a zone means nothing to billing."""
    if not isinstance(instant, datetime):
        raise TypeError(f"Expected an aware datetime, got {type(instant).__name__}.")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone: pass an aware datetime.")
    return instant


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    """The instant (UTC) at which the local `day` starts in `zone`.

    An ambiguous midnight gives the earlier instant (fold=0). A nonexistent one (a DST gap)
    gives the first valid instant after it: the transition itself.
    """
    wall = datetime(day.year, day.month, day.day, tzinfo=zone)
    instant = wall.astimezone(UTC)
    naive = wall.replace(tzinfo=None)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=0 uses the old offset, which overshoots when the gap does not start
    # exactly at midnight; find the transition by bisecting whole seconds (tz data's unit).
    low = int(wall.replace(fold=1).timestamp())  # before the transition: local < midnight
    high = int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        shown = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        low, high = (low, middle) if shown >= naive else (middle, high)
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True, slots=True)
class CycleRule:
    """How an organization cuts time into cycles: zone, kind and anchor local date."""

    timezone: str
    kind: str
    anchor: date

    def __post_init__(self) -> None:
        zone_named(self.timezone)
        if self.kind not in {kind.value for kind in CycleKind}:
            raise ValueError(f"{self.kind!r} is not a cycle: use 'monthly' or 'fixed-30'.")
        object.__setattr__(self, "kind", CycleKind(self.kind))
        if not isinstance(self.anchor, date) or isinstance(self.anchor, datetime):
            raise ValueError("A cycle anchor is a calendar date such as 2025-01-01.")

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)


@dataclass(frozen=True, slots=True)
class Cycle:
    """A billing period `[start, end)`: an event at exactly `end` belongs to the next one."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start).astimezone(UTC))
        object.__setattr__(self, "end", require_aware(self.end).astimezone(UTC))
        if self.start >= self.end:
            raise ValueError(f"A cycle must end after it starts: {self.start} >= {self.end}.")

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _boundary(rule: CycleRule, index: int) -> datetime:
    """The `index`-th boundary: months since year 0, or 30-day steps from the anchor."""
    if rule.kind is CycleKind.MONTHLY:
        year, month0 = divmod(index, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        # Recomputed from the anchor each month, so Feb 28 never drags March to the 28th.
        day = date(year, month0 + 1, min(rule.anchor.day, last_day))
    else:
        day = rule.anchor + timedelta(days=30 * index)
    return local_midnight(rule.zone, day)


def cycle_containing(rule: CycleRule, instant: datetime) -> Cycle:
    """The cycle of `rule` with `start <= instant < end`."""
    local = require_aware(instant).astimezone(rule.zone).date()
    if rule.kind is CycleKind.MONTHLY:
        index = local.year * 12 + local.month - 1
    else:
        index = (local - rule.anchor).days // 30
    # The local-date guess can be one off near a boundary moved by a DST gap; settle it.
    while _boundary(rule, index) > instant:
        index -= 1
    while _boundary(rule, index + 1) <= instant:
        index += 1
    return Cycle(_boundary(rule, index), _boundary(rule, index + 1))


def next_cycle(rule: CycleRule, cycle: Cycle) -> Cycle:
    return cycle_containing(rule, cycle.end)


def previous_cycle(rule: CycleRule, cycle: Cycle) -> Cycle:
    return cycle_containing(rule, cycle.start - _TICK)


def cycles_between(rule: CycleRule, start_instant: datetime, end_instant: datetime) -> list[Cycle]:
    """Every cycle overlapping `[start_instant, end_instant)`, oldest first."""
    return walk_cycles(lambda t: cycle_containing(rule, t), start_instant, end_instant)


def walk_cycles(
    containing: Callable[[datetime], Cycle], start_instant: datetime, end_instant: datetime
) -> list[Cycle]:
    """The cycles overlapping `[start_instant, end_instant)` for any way of cutting time."""
    if require_aware(end_instant) <= require_aware(start_instant):
        return []
    cycles = [containing(start_instant)]
    while cycles[-1].end < end_instant:
        cycles.append(containing(cycles[-1].end))
    return cycles
