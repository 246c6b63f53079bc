"""Cost hints run the invoice rules with and without the proposed change."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.cycles import Cycle
from billing.hints import level_change_effect
from billing.invoice import History, Terms
from billing.model import Change, Level, State, Status

TERMS = Terms("USD", Decimal(10), {"super": Decimal(50), "assistant": Decimal(30)})
NOVEMBER = Cycle(datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC))
SUPER = State(Status.ACTIVE, Level.SUPER, Level.SUPER)
ASSISTANT = State(Status.ACTIVE, Level.ASSISTANT, Level.ASSISTANT)
TAYLOR = History("taylor@example.com", "Taylor Reed", SUPER, ())


def test_downgrade_mid_cycle_saves_nothing_now_and_the_difference_next_cycle():
    mid = datetime(2025, 11, 10, 9, tzinfo=UTC)
    assert level_change_effect(NOVEMBER, TERMS, TAYLOR, ASSISTANT, mid) == (
        Decimal(0),
        Decimal(-20),
    )


def test_a_pending_downgrade_saves_nothing_until_the_admin_logs_in():
    pending = State(Status.ACTIVE, Level.ASSISTANT, Level.SUPER)
    mid = datetime(2025, 11, 10, 9, tzinfo=UTC)
    assert level_change_effect(NOVEMBER, TERMS, TAYLOR, pending, mid) == (0, 0)


def test_upgrade_on_the_last_day_bills_the_difference_this_cycle():
    assistant = History("taylor@example.com", "Taylor Reed", ASSISTANT, ())
    late = datetime(2025, 11, 30, 23, 59, tzinfo=UTC)
    assert level_change_effect(NOVEMBER, TERMS, assistant, SUPER, late) == (20, 20)


def test_a_change_scheduled_for_the_cycle_end_only_moves_the_next_cycle():
    assert level_change_effect(NOVEMBER, TERMS, TAYLOR, ASSISTANT, NOVEMBER.end) == (0, -20)


def test_a_new_admin_on_a_new_user_costs_the_seat_and_the_level():
    newcomer = History("lee@example.com", "Lee Park", None, ())
    at = datetime(2025, 11, 15, tzinfo=UTC)
    assert level_change_effect(NOVEMBER, TERMS, newcomer, SUPER, at) == (60, 60)


def test_the_change_lands_after_earlier_changes_at_the_same_instant():
    at = datetime(2025, 11, 15, tzinfo=UTC)
    deactivated = History("x", "X", SUPER, (Change(at, 7, State(Status.DEACTIVATED)),))
    this_cycle, next_cycle = level_change_effect(NOVEMBER, TERMS, deactivated, ASSISTANT, at)
    assert (this_cycle, next_cycle) == (0, 40)  # reactivated as an assistant at once


def test_hints_are_for_this_cycle_only():
    with pytest.raises(ValueError, match="within the cycle"):
        level_change_effect(NOVEMBER, TERMS, TAYLOR, ASSISTANT, datetime(2026, 1, 1, tzinfo=UTC))
