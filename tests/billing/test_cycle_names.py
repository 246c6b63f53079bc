"""Cycles named as people say them (issue 15): a whole month by its name, any other cycle
by its first and last local day in the billing zone; never by the next cycle's start."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.calendar import BillingCalendar, Version
from billing.cycles import CycleRule, cycle_containing, next_cycle
from billing.schedule import CycleSchedule
from billing.terms import Terms
from billing.wording import (
    cycle_days,
    cycle_name,
    days_name,
    document_cycle_days,
    document_cycle_name,
)
from tests.billing.test_properties import instants, rules


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def name_at(timezone: str, kind: str, anchor: date, instant: datetime) -> str:
    """The name of the cycle containing `instant`, and the same name read back from the
    invoice JSON's ISO instants (which carry the zone's offset)."""
    rule = CycleRule(timezone, kind, anchor)
    cycle = cycle_containing(rule, instant)
    name = cycle_name(cycle.start, cycle.end, rule.zone)
    doc = {"cycle_start": cycle.start.astimezone(rule.zone).isoformat(),
           "cycle_end": cycle.end.astimezone(rule.zone).isoformat()}
    assert document_cycle_name(doc) == name
    return name


@pytest.mark.parametrize(("timezone", "kind", "anchor", "instant", "name"), [
    ("UTC", "monthly", date(2025, 1, 1), utc(2025, 2, 10), "February 2025 (Feb 1 - Feb 28)"),
    ("UTC", "monthly", date(2025, 1, 1), utc(2024, 2, 10), "February 2024 (Feb 1 - Feb 29)"),
    ("UTC", "monthly", date(2025, 1, 1), utc(2100, 2, 10), "February 2100 (Feb 1 - Feb 28)"),
    ("UTC", "monthly", date(2025, 1, 1), utc(2025, 12, 31, 23), "December 2025 (Dec 1 - Dec 31)"),
    # the end (Mar 6, 00:00) is the next cycle's first instant: the last day is Mar 5
    ("UTC", "monthly", date(2025, 1, 6), utc(2025, 2, 10), "Feb 6 - Mar 5, 2025"),
    # anchored on the 31st: clamped to Feb 28, back to the 31st in March
    ("UTC", "monthly", date(2025, 1, 31), utc(2025, 3, 1), "Feb 28 - Mar 30, 2025"),
    ("UTC", "fixed-30", date(2025, 2, 6), utc(2025, 2, 10), "Feb 6 - Mar 7, 2025"),
    ("UTC", "fixed-30", date(2025, 1, 1), utc(2025, 2, 10), "Jan 31 - Mar 1, 2025"),
    # thirty days that happen to be a whole month are called by it: that is what they are
    ("UTC", "fixed-30", date(2025, 4, 1), utc(2025, 4, 10), "April 2025 (Apr 1 - Apr 30)"),
    ("UTC", "monthly", date(2025, 1, 20), utc(2026, 1, 1), "Dec 20, 2025 - Jan 19, 2026"),
    ("UTC", "fixed-30", date(2025, 12, 20), utc(2025, 12, 25), "Dec 20, 2025 - Jan 18, 2026"),
], ids=["february", "leap-february", "february-2100", "december", "monthly-on-the-6th",
        "monthly-on-the-31st", "fixed-30", "fixed-30-over-february", "fixed-30-whole-month",
        "monthly-over-the-year-end", "fixed-30-over-the-year-end"])
def test_names(timezone, kind, anchor, instant, name):
    assert name_at(timezone, kind, anchor, instant) == name


def test_local_days_not_utc_days():
    # Tokyo's March starts on Feb 28 at 15:00 UTC and ends on Mar 31 at 15:00 UTC
    assert name_at("Asia/Tokyo", "monthly", date(2025, 1, 1), utc(2025, 3, 10)) == \
        "March 2025 (Mar 1 - Mar 31)"
    rule = CycleRule("Asia/Tokyo", "monthly", date(2025, 1, 1))
    march = cycle_containing(rule, utc(2025, 3, 10))
    assert march.start == utc(2025, 2, 28, 15)
    assert cycle_name(march.start, march.end, UTC) == "Feb 28 - Mar 30, 2025"  # the wrong zone
    # Los Angeles: the cycle's UTC end (Apr 1, 07:00) is on the day after its last local day
    assert name_at("America/Los_Angeles", "fixed-30", date(2025, 3, 2), utc(2025, 3, 31, 23)) == \
        "Mar 2 - Mar 31, 2025"
    assert name_at("Pacific/Auckland", "monthly", date(2025, 1, 1), utc(2025, 12, 31, 12)) == \
        "January 2026 (Jan 1 - Jan 31)"  # already 2026 there


def test_a_dst_change_inside_the_cycle():
    # Paris moves to summer time on Mar 30: the cycle is 743 hours long, still Mar 1 - Mar 31
    assert name_at("Europe/Paris", "monthly", date(2025, 1, 1), utc(2025, 3, 10)) == \
        "March 2025 (Mar 1 - Mar 31)"
    assert name_at("Europe/Paris", "monthly", date(2025, 1, 1), utc(2025, 10, 10)) == \
        "October 2025 (Oct 1 - Oct 31)"
    assert name_at("America/New_York", "fixed-30", date(2025, 2, 20), utc(2025, 3, 5)) == \
        "Feb 20 - Mar 21, 2025"


def test_a_boundary_in_a_dst_gap_at_midnight():
    """Santiago skips Sep 7, 00:00-01:00 in 2025: the boundary is 01:00; the cycle before
    still ends with Sep 6, and the next one starts on Sep 7."""
    rule = CycleRule("America/Santiago", "monthly", date(2025, 1, 7))
    august = cycle_containing(rule, utc(2025, 8, 20))
    assert august.end.astimezone(rule.zone).hour == 1
    assert cycle_days(august.start, august.end, rule.zone) == (date(2025, 8, 7), date(2025, 9, 6))
    assert name_at(rule.timezone, "monthly", rule.anchor, utc(2025, 8, 20)) == \
        "Aug 7 - Sep 6, 2025"
    assert name_at(rule.timezone, "monthly", rule.anchor, utc(2025, 9, 20)) == \
        "Sep 7 - Oct 6, 2025"


def test_a_one_day_cycle_and_the_wording_on_dates():
    assert days_name(date(2025, 3, 31), date(2025, 3, 31)) == "Mar 31, 2025"
    assert days_name(date(2025, 3, 1), date(2025, 3, 30)) == "Mar 1 - Mar 30, 2025"
    assert days_name(date(2025, 3, 2), date(2025, 3, 31)) == "Mar 2 - Mar 31, 2025"
    assert days_name(date(2024, 12, 1), date(2025, 1, 31)) == "Dec 1, 2024 - Jan 31, 2025"


def test_the_invoice_json_is_read_in_its_own_offsets():
    doc = {"cycle_start": "2025-03-01T00:00:00+01:00", "cycle_end": "2025-04-01T00:00:00+02:00"}
    assert document_cycle_days(doc) == (date(2025, 3, 1), date(2025, 3, 31))
    assert document_cycle_name(doc) == "March 2025 (Mar 1 - Mar 31)"


@settings(max_examples=400, deadline=None)
@given(rule=rules, instant=instants)
def test_named_cycles_tile_the_local_days(rule, instant):
    """Every cycle has a first and a last local day, the next one starts the day after, a
    monthly rule on the 1st names every cycle by its month, and the invoice JSON names each
    cycle the same (`name_at`)."""
    cycle = cycle_containing(rule, instant)
    following = next_cycle(rule, cycle)
    first, last = cycle_days(cycle.start, cycle.end, rule.zone)
    assert first < last
    assert cycle_days(following.start, following.end, rule.zone)[0] == last + timedelta(days=1)
    whole_month = first.day == 1 and (last + timedelta(days=1)) == date(
        first.year + first.month // 12, first.month % 12 + 1, 1)
    name = name_at(rule.timezone, rule.kind, rule.anchor, instant)
    assert name.endswith(")") == whole_month
    if rule.kind == "monthly" and rule.anchor.day == 1:
        assert whole_month


@settings(max_examples=150, deadline=None)
@given(versions=st.lists(st.tuples(instants, rules), min_size=2, max_size=4), start=instants)
def test_transition_cycles_still_have_a_first_and_a_last_day(versions, start):
    """A settings change (of the time zone, say) may leave a short transition cycle, named
    in the new rule's zone; its last local day is never before its first."""
    schedule = CycleSchedule(versions)
    for cycle in schedule.cycles_between(start, start + timedelta(days=400)):
        first, last = cycle_days(cycle.start, cycle.end, schedule.rule_at(cycle.start).zone)
        assert first <= last
        assert days_name(first, last)


def test_each_cycle_is_named_in_the_zone_of_the_terms_that_price_it():
    """Paris until the end of March, then Tokyo: March ends at Paris midnight (Mar 31,
    22:00 UTC), already Apr 1, 07:00 in Tokyo; the transition cycle runs to Tokyo's May 1."""
    paris = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
    tokyo = CycleRule("Asia/Tokyo", "monthly", date(2025, 1, 1))
    calendar = BillingCalendar.of([
        Version(utc(2025, 1, 1), paris, Terms("EUR", Decimal(10), timezone=paris.timezone)),
        Version(utc(2025, 3, 10), tokyo, Terms("EUR", Decimal(10), timezone=tokyo.timezone))])
    names = [cycle_name(c.start, c.end, calendar.terms_for(c).zone)
             for c in calendar.cycles_between(utc(2025, 3, 1), utc(2025, 5, 15))]
    assert names == ["March 2025 (Mar 1 - Mar 31)", "April 2025 (Apr 1 - Apr 30)",
                     "May 2025 (May 1 - May 31)"]
