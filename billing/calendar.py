"""The billing calendar: every settings version, and what follows from them (DESIGN §2).

One frozen value instead of a `(effective from, rule, terms)` tuple threaded through every
caller: the cycle containing an instant, the terms that price a cycle, the latest terms
(what a new change is measured in), the cycles between two instants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from billing.cycles import Cycle, CycleRule, require_aware
from billing.schedule import CycleSchedule
from billing.terms import Terms


@dataclass(frozen=True)
class Version:
    """One settings version: from when it was recorded, its cycle rule and its terms."""

    effective_from: datetime
    rule: CycleRule
    terms: Terms


@dataclass(frozen=True)
class BillingCalendar:
    versions: tuple[Version, ...]
    schedule: CycleSchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("A billing calendar needs at least one settings version.")
        ordered = tuple(sorted(self.versions, key=lambda v: require_aware(v.effective_from)))
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "schedule", CycleSchedule(
            (v.effective_from, v.rule) for v in ordered))

    @classmethod
    def of(cls, versions: Iterable[Version]) -> BillingCalendar:
        return cls(tuple(versions))

    @property
    def latest(self) -> Terms:
        """The terms of the latest version (recorded, perhaps not yet in force)."""
        return self.versions[-1].terms

    def cycle_containing(self, instant: datetime) -> Cycle:
        return self.schedule.cycle_containing(instant)

    def terms_for(self, cycle: Cycle) -> Terms:
        """The terms of the version whose rule cuts this cycle."""
        return self.versions[self.schedule.version_at(cycle.start)].terms

    def terms_at(self, instant: datetime) -> Terms:
        return self.terms_for(self.cycle_containing(instant))

    def cycles_between(self, start: datetime, end: datetime) -> list[Cycle]:
        return self.schedule.cycles_between(start, end)
