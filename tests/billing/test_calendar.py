"""The billing calendar: which terms price which cycle, as one value."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.calendar import BillingCalendar, Version
from billing.cycles import Cycle, CycleRule
from billing.terms import Terms


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


MONTHLY = CycleRule("UTC", "monthly", date(2025, 1, 1))
TEN, TWELVE = Terms("USD", Decimal(10)), Terms("EUR", Decimal(12))


def test_a_change_prices_from_the_end_of_the_running_cycle():
    calendar = BillingCalendar.of([Version(utc(2025, 3, 10), MONTHLY, TWELVE),
                                   Version(utc(2025, 1, 5), MONTHLY, TEN)])  # any order
    march = calendar.cycle_containing(utc(2025, 3, 20))
    assert march == Cycle(utc(2025, 3, 1), utc(2025, 4, 1))
    assert calendar.terms_for(march) is TEN  # running when the change was recorded
    assert calendar.terms_at(utc(2025, 4, 1)) is TWELVE
    assert calendar.latest is TWELVE
    assert [c.start for c in calendar.cycles_between(utc(2025, 2, 1), utc(2025, 5, 1))] == [
        utc(2025, 2, 1), utc(2025, 3, 1), utc(2025, 4, 1)]


def test_a_calendar_needs_a_version():
    with pytest.raises(ValueError, match="at least one"):
        BillingCalendar(())
