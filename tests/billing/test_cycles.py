"""Cycle boundaries are local midnights: UTC, DST zones, skipped and repeated midnights."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.cycles import (
    Cycle,
    CycleRule,
    cycle_containing,
    cycles_between,
    local_midnight,
    next_cycle,
    previous_cycle,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def starts(rule: CycleRule, first: datetime, last: datetime) -> list[datetime]:
    return [cycle.start for cycle in cycles_between(rule, first, last)]


def test_monthly_utc_cycle_and_neighbours():
    rule = CycleRule("UTC", "monthly", date(2025, 1, 1))
    cycle = cycle_containing(rule, utc(2025, 3, 10, 9))
    assert cycle == Cycle(utc(2025, 3, 1), utc(2025, 4, 1))
    assert next_cycle(rule, cycle) == Cycle(utc(2025, 4, 1), utc(2025, 5, 1))
    assert previous_cycle(rule, cycle) == Cycle(utc(2025, 2, 1), utc(2025, 3, 1))


def test_an_instant_exactly_on_a_boundary_belongs_to_the_new_cycle():
    rule = CycleRule("UTC", "monthly", date(2025, 1, 1))
    assert cycle_containing(rule, utc(2025, 4, 1)).start == utc(2025, 4, 1)
    just_before = utc(2025, 4, 1) - timedelta(microseconds=1)
    assert cycle_containing(rule, just_before).end == utc(2025, 4, 1)


@pytest.mark.parametrize("year", [2024, 2025])
def test_anchor_31_is_clamped_and_recomputed_every_month(year):
    rule = CycleRule("UTC", "monthly", date(2020, 1, 31))
    february = 29 if year == 2024 else 28
    assert starts(rule, utc(year, 1, 31), utc(year, 6, 1)) == [
        utc(year, 1, 31),
        utc(year, 2, february),
        utc(year, 3, 31),
        utc(year, 4, 30),
        utc(year, 5, 31),
    ]


def test_monthly_new_york_boundaries_follow_both_dst_changes():
    rule = CycleRule("America/New_York", "monthly", date(2025, 1, 9))
    assert starts(rule, utc(2025, 3, 1), utc(2025, 11, 12)) == [
        utc(2025, 2, 9, 5),  # EST
        utc(2025, 3, 9, 5),  # the DST switch is at 02:00 that day: midnight is still EST
        utc(2025, 4, 9, 4),  # EDT
        utc(2025, 5, 9, 4),
        utc(2025, 6, 9, 4),
        utc(2025, 7, 9, 4),
        utc(2025, 8, 9, 4),
        utc(2025, 9, 9, 4),
        utc(2025, 10, 9, 4),
        utc(2025, 11, 9, 5),  # EST again
    ]


def test_monthly_paris_boundaries_are_local_midnights():
    rule = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
    cycle = cycle_containing(rule, utc(2025, 3, 31, 21, 59))
    assert cycle == Cycle(utc(2025, 2, 28, 23), utc(2025, 3, 31, 22))
    assert cycle_containing(rule, utc(2025, 3, 31, 22)).start == utc(2025, 3, 31, 22)
    assert cycle_containing(rule, utc(2025, 10, 15)) == Cycle(
        utc(2025, 9, 30, 22), utc(2025, 10, 31, 23)
    )


def test_fixed_30_counts_local_days_not_hours_across_dst():
    rule = CycleRule("Europe/Paris", "fixed-30", date(2025, 3, 1))
    cycle = cycle_containing(rule, utc(2025, 3, 15))
    # Mar 1 00:00 CET -> Mar 31 00:00 CEST: 30 local days, one hour short of 720 hours.
    assert cycle == Cycle(utc(2025, 2, 28, 23), utc(2025, 3, 30, 22))
    assert cycle.end - cycle.start == timedelta(hours=719)
    following = next_cycle(rule, cycle)
    assert following.end == utc(2025, 4, 29, 22)
    autumn = cycle_containing(rule, utc(2025, 10, 20))
    assert autumn == Cycle(utc(2025, 9, 26, 22), utc(2025, 10, 26, 23))
    assert autumn.end - autumn.start == timedelta(hours=721)


def test_fixed_30_works_before_the_anchor_too():
    rule = CycleRule("UTC", "fixed-30", date(2025, 1, 1))
    assert cycle_containing(rule, utc(2024, 12, 31)) == Cycle(utc(2024, 12, 2), utc(2025, 1, 1))


def test_golden_07_fixed_30_cycles():
    rule = CycleRule("UTC", "fixed-30", date(2025, 1, 1))
    assert starts(rule, utc(2025, 1, 1), utc(2025, 3, 3)) == [
        utc(2025, 1, 1),
        utc(2025, 1, 31),
        utc(2025, 3, 2),
    ]


def test_santiago_nonexistent_midnight_starts_at_the_first_valid_instant():
    # 2025-09-07: clocks jump from 00:00 to 01:00; the day starts at 01:00 -03 = 04:00Z.
    zone = ZoneInfo("America/Santiago")
    assert local_midnight(zone, date(2025, 9, 7)) == utc(2025, 9, 7, 4)
    rule = CycleRule("America/Santiago", "monthly", date(2025, 1, 7))
    assert cycle_containing(rule, utc(2025, 9, 7, 3, 59)).end == utc(2025, 9, 7, 4)
    assert cycle_containing(rule, utc(2025, 9, 7, 4)) == Cycle(
        utc(2025, 9, 7, 4), utc(2025, 10, 7, 3)
    )


def test_havana_march_gap_and_november_repeated_midnight():
    zone = ZoneInfo("America/Havana")
    assert local_midnight(zone, date(2025, 3, 9)) == utc(2025, 3, 9, 5)  # 00:00 -> 01:00 CDT
    assert local_midnight(zone, date(2025, 11, 2)) == utc(2025, 11, 2, 4)  # earlier 00:00
    rule = CycleRule("America/Havana", "monthly", date(2025, 1, 9))
    assert cycle_containing(rule, utc(2025, 3, 9, 4, 59)).end == utc(2025, 3, 9, 5)
    repeated = CycleRule("America/Havana", "fixed-30", date(2025, 11, 2))
    assert cycle_containing(repeated, utc(2025, 11, 2, 4, 30)).start == utc(2025, 11, 2, 4)


def test_a_gap_across_midnight_starts_the_day_at_the_transition():
    # Pacific/Apia skipped 2011-12-30 entirely: that day starts where Dec 31 starts.
    zone = ZoneInfo("Pacific/Apia")
    assert local_midnight(zone, date(2011, 12, 30)) == utc(2011, 12, 30, 10)
    assert local_midnight(zone, date(2011, 12, 31)) == utc(2011, 12, 30, 10)


def test_boundaries_are_utc_and_instants_may_be_in_any_zone():
    rule = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
    instant = datetime(2025, 4, 1, 0, 0, tzinfo=ZoneInfo("Europe/Paris"))
    cycle = cycle_containing(rule, instant)
    assert cycle.start == utc(2025, 3, 31, 22)
    assert cycle.start.tzinfo is UTC and cycle.end.tzinfo is UTC


def test_cycles_between_lists_every_overlapping_cycle():
    rule = CycleRule("UTC", "monthly", date(2025, 1, 1))
    assert starts(rule, utc(2025, 1, 15), utc(2025, 3, 1)) == [utc(2025, 1, 1), utc(2025, 2, 1)]
    assert starts(rule, utc(2025, 1, 15), utc(2025, 3, 1, 0, 0, 1))[-1] == utc(2025, 3, 1)
    assert cycles_between(rule, utc(2025, 3, 1), utc(2025, 3, 1)) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("Mars/Olympus", "monthly", date(2025, 1, 1)), "not a known time zone"),
        (("UTC", "weekly", date(2025, 1, 1)), "not a cycle"),
        (("UTC", "monthly", utc(2025, 1, 1)), "calendar date"),
    ],
)
def test_rules_refuse_bad_settings_with_a_sentence(arguments, message):
    with pytest.raises(ValueError, match=message):
        CycleRule(*arguments)


def test_naive_instants_are_refused():
    rule = CycleRule("UTC", "monthly", date(2025, 1, 1))
    with pytest.raises(ValueError, match="no time zone"):
        cycle_containing(rule, datetime(2025, 1, 1))
