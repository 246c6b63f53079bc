"""Rule changes take effect when the running cycle ends: no gap, no overlap."""

import itertools
from datetime import UTC, date, datetime

import pytest

from billing.cycles import Cycle, CycleRule
from billing.schedule import CycleSchedule


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


MONTHLY_1ST = CycleRule("UTC", "monthly", date(2025, 1, 1))


def test_a_single_rule_schedule_is_the_rule():
    schedule = CycleSchedule([(utc(2025, 1, 1), MONTHLY_1ST)])
    assert schedule.cycle_containing(utc(2024, 6, 5)) == Cycle(utc(2024, 6, 1), utc(2024, 7, 1))


def test_new_anchor_waits_for_the_running_cycle_then_a_short_transition_cycle():
    mid_month = CycleRule("UTC", "monthly", date(2025, 1, 15))
    schedule = CycleSchedule([(utc(2025, 1, 1), MONTHLY_1ST), (utc(2025, 3, 10), mid_month)])
    assert [c.start for c in schedule.cycles_between(utc(2025, 2, 1), utc(2025, 5, 1))] == [
        utc(2025, 2, 1),
        utc(2025, 3, 1),  # running when the change was made: keeps its normal end
        utc(2025, 4, 1),  # transition: to the new rule's first boundary after Apr 1
        utc(2025, 4, 15),
    ]
    assert schedule.cycle_containing(utc(2025, 4, 14)) == Cycle(utc(2025, 4, 1), utc(2025, 4, 15))
    assert schedule.rule_at(utc(2025, 3, 31)) == MONTHLY_1ST
    assert schedule.rule_at(utc(2025, 4, 1)) == mid_month


def test_time_zone_change_joins_at_the_old_boundary():
    paris = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
    schedule = CycleSchedule([(utc(2025, 1, 1), MONTHLY_1ST), (utc(2025, 5, 20), paris)])
    cycles = schedule.cycles_between(utc(2025, 5, 1), utc(2025, 7, 31, 22))
    assert cycles == [
        Cycle(utc(2025, 5, 1), utc(2025, 6, 1)),
        Cycle(utc(2025, 6, 1), utc(2025, 6, 30, 22)),  # Paris's Jul 1 midnight
        Cycle(utc(2025, 6, 30, 22), utc(2025, 7, 31, 22)),
    ]
    assert schedule.next_cycle(cycles[0]) == cycles[1]
    assert schedule.previous_cycle(cycles[2]) == cycles[1]


def test_switch_to_fixed_30_and_back_tiles_time():
    fixed = CycleRule("America/New_York", "fixed-30", date(2025, 3, 3))
    schedule = CycleSchedule(
        [
            (utc(2025, 1, 1), MONTHLY_1ST),
            (utc(2025, 3, 10), fixed),
            (utc(2025, 7, 4), MONTHLY_1ST),
        ]
    )
    cycles = schedule.cycles_between(utc(2025, 1, 1), utc(2026, 1, 1))
    for earlier, later in itertools.pairwise(cycles):
        assert earlier.end == later.start
    assert cycles[-1].end >= utc(2026, 1, 1)
    for cycle in cycles:
        assert schedule.cycle_containing(cycle.start) == cycle


def test_a_second_change_in_the_same_running_cycle_replaces_the_first():
    mid_month = CycleRule("UTC", "monthly", date(2025, 1, 15))
    twentieth = CycleRule("UTC", "monthly", date(2025, 1, 20))
    schedule = CycleSchedule(
        [
            (utc(2025, 1, 1), MONTHLY_1ST),
            (utc(2025, 3, 10), mid_month),
            (utc(2025, 3, 12), twentieth),
        ]
    )
    assert schedule.cycle_containing(utc(2025, 4, 2)) == Cycle(utc(2025, 4, 1), utc(2025, 4, 20))


def test_an_empty_schedule_is_refused():
    with pytest.raises(ValueError, match="at least one rule"):
        CycleSchedule([])
