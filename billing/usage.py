"""One user's usage of one cycle: the per-user rules of DESIGN section 2.

The state at instant t folds every change at or before t; a state that exists only
between two changes at the same instant is never held, so only the last change of an
instant counts. Everything an invoice needs about a user comes from `measure`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from billing.cycles import Cycle, local_midnight
from billing.model import Change, Level, State


@dataclass(frozen=True, slots=True)
class History:
    """One user's history as one cycle sees it.

    `key` is the email, `name` the person's full name. `before` is the state folding
    every change with `at < cycle.start` (None: the user did not exist yet); `changes`
    are those with `cycle.start <= at < cycle.end`. Order and exact duplicates do not
    matter (sorted here by `(at, seq)`); changes before the cycle fold over `before`,
    changes from `cycle.end` on are ignored.
    """

    key: str
    name: str
    before: State | None
    changes: Sequence[Change] = ()


@dataclass(frozen=True, slots=True)
class Period:
    """A non-empty stretch `[start, end)` of a cycle during which one state was held."""

    start: datetime
    end: datetime
    state: State | None


@dataclass(frozen=True, slots=True)
class Usage:
    """What billing needs to know about one user over one cycle.

    `active_from` is the first instant the user was active in the cycle. `level` is the
    highest billable level held while active; `level_from` is the first instant it was
    held, `level_until` the end of the last stretch holding it when that ended before the
    cycle did (None: held to the end).
    """

    active_any_time: bool
    active_at_end: bool
    active_days: int
    active_from: datetime | None = None
    level: Level = Level.NONE
    level_from: datetime | None = None
    level_until: datetime | None = None


def held_periods(history: History, cycle: Cycle) -> list[Period]:
    """The states held over the cycle, as consecutive non-empty periods covering it."""
    periods: list[Period] = []
    state, since = history.before, cycle.start
    for change in sorted(history.changes, key=lambda change: (change.at, change.seq)):
        if change.at >= cycle.end:
            break
        if change.at > since:  # the state so far was held for a while: record it
            periods.append(Period(since, change.at, state))
            since = change.at
        state = change.state  # a later change at the same instant overrides this one
    periods.append(Period(since, cycle.end, state))
    return periods


def day_starts(cycle: Cycle, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Marks cutting the cycle into local days: day i is `[marks[i], marks[i + 1])`.

    Days start at local midnights built like cycle boundaries; a day a time zone skipped
    entirely (Pacific/Apia, 2011-12-30) has no instant and is not counted.
    """
    marks = [cycle.start]
    day = cycle.start.astimezone(zone).date()
    while True:
        day += timedelta(days=1)
        mark = local_midnight(zone, day)
        if mark >= cycle.end:
            return (*marks, cycle.end)
        if mark > marks[-1]:
            marks.append(mark)


def measure(history: History, cycle: Cycle, days: Sequence[datetime]) -> Usage:
    """Apply the per-user rules to one history; `days` comes from `day_starts(cycle, ...)`."""
    periods = held_periods(history, cycle)
    active = [period for period in periods if period.state and period.state.active]
    level, level_from, level_until = Level.NONE, None, None
    for period in active:
        held = period.state.billable_level
        if held > level:
            level, level_from = held, period.start
        if held == level:
            level_until = period.end
    if level is Level.NONE:
        level_from = level_until = None
    elif level_until == cycle.end:
        level_until = None
    return Usage(
        active_any_time=bool(active),
        active_at_end=bool(active) and active[-1].end == cycle.end,
        active_days=count_active_days(((p.start, p.end) for p in active), days),
        active_from=active[0].start if active else None,
        level=level,
        level_from=level_from,
        level_until=level_until,
    )


def count_active_days(
    stretches: Iterable[tuple[datetime, datetime]], days: Sequence[datetime]
) -> int:
    """Local days touched by the active stretches `[start, end)`, given in time order.

    `days` comes from `day_starts`; a day counts once, however often it is touched.
    """
    active_days, last_day = 0, -1
    for start, end in stretches:
        first = max(bisect_right(days, start) - 1, last_day + 1)
        last_day = max(bisect_left(days, end) - 1, last_day)
        active_days += max(last_day - first + 1, 0)
    return active_days
