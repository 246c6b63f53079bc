"""Cycle settings that change over time, without ever leaving a gap or an overlap.

A new rule takes effect when the running cycle ends (DESIGN section 2): the running cycle
keeps its normal end, and the next cycle runs from there to the new rule's first boundary
strictly after it (a "transition cycle", possibly short); then the new rule's own cycles.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from billing.cycles import Cycle, CycleRule, cycle_containing, require_aware, walk_cycles


class CycleSchedule:
    """Rule versions `(effective_from, rule)`; a handful at most, so lookups are linear.

    The first version governs all time before the second one takes effect (the store
    rewrites it freely until the first invoice is final). A version recorded while an
    earlier change still waits for the same cycle end replaces it: the last one wins.
    """

    def __init__(self, versions: Iterable[tuple[datetime, CycleRule]]) -> None:
        ordered = sorted(versions, key=lambda version: require_aware(version[0]))
        if not ordered:
            raise ValueError("A cycle schedule needs at least one rule.")
        # Eras: (instant from which the rule cuts the cycles, rule, index of the version in
        # time order); None means "always".
        self._eras: list[tuple[datetime | None, CycleRule, int]] = [(None, ordered[0][1], 0)]
        for index, (effective_from, rule) in enumerate(ordered[1:], 1):
            switch = self.cycle_containing(effective_from).end
            while self._eras[-1][0] is not None and self._eras[-1][0] >= switch:
                self._eras.pop()  # an earlier change waiting for the same boundary
            self._eras.append((switch, rule, index))

    def rule_at(self, instant: datetime) -> CycleRule:
        """The rule that cuts the cycle containing `instant`."""
        return self._era_at(instant)[1]

    def version_at(self, instant: datetime) -> int:
        """Index (in time order) of the version governing the cycle containing `instant`,
        so the store can price that cycle with the same version's terms."""
        return self._era_at(instant)[2]

    def _era_at(self, instant: datetime) -> tuple[datetime | None, CycleRule, int]:
        require_aware(instant)
        return next(era for era in reversed(self._eras) if era[0] is None or era[0] <= instant)

    def cycle_containing(self, instant: datetime) -> Cycle:
        switch, rule, _ = self._era_at(instant)
        cycle = cycle_containing(rule, instant)
        if switch is not None and cycle.start < switch:
            return Cycle(switch, cycle.end)  # the transition cycle
        return cycle

    def next_cycle(self, cycle: Cycle) -> Cycle:
        return self.cycle_containing(cycle.end)

    def previous_cycle(self, cycle: Cycle) -> Cycle:
        return self.cycle_containing(cycle.start - timedelta(microseconds=1))

    def cycles_between(self, start_instant: datetime, end_instant: datetime) -> list[Cycle]:
        """Every cycle overlapping `[start_instant, end_instant)`, oldest first."""
        return walk_cycles(self.cycle_containing, start_instant, end_instant)
