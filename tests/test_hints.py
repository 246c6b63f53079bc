"""Cost hints over the store: the money effect of a change, and when to schedule it."""

from datetime import date
from decimal import Decimal

import pytest

from billing.model import Level
from bot import services
from bot.services import Via
from bot.services import billing as billing_service
from bot.services.hints import level_hint

SAM, TAYLOR = "sam@example.com", "taylor@example.com"


@pytest.fixture
def org(ctx, clock):
    billing_service.configure_billing(
        ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="10",
        admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30", Level.VIEW_ONLY: "10"})
    services.create_user(ctx, actor=SAM, via=Via.CLI, email=TAYLOR, first_name="Taylor",
                         last_name="Reed")
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.ASSISTANT)
    services.login(ctx, via=Via.CLI, email=TAYLOR)
    return ctx


def test_an_upgrade_bills_the_whole_cycle_and_late_ones_suggest_next_cycle(org, clock):
    clock.set("2025-02-05T00:00:00Z")
    early = level_hint(org, email=TAYLOR, level=Level.SUPER)
    assert (early.this_cycle, early.next_cycle, early.suggestion) == (20, 20, None)
    assert "bills the whole cycle Feb 1-28: +$20.00" in early.message
    clock.set("2025-02-27T00:00:00Z")
    late = level_hint(org, email=TAYLOR, level=Level.SUPER)
    assert late.this_cycle == 20 and late.suggestion == "at-next-cycle"


def test_a_downgrade_mid_cycle_saves_nothing_now_and_suggests_cycle_end(org, clock):
    clock.set("2025-02-10T00:00:00Z")
    hint = level_hint(org, email=TAYLOR, level=Level.VIEW_ONLY)
    assert (hint.this_cycle, hint.next_cycle) == (0, Decimal("-20.00"))
    assert hint.suggestion == "at-cycle-end" and "saves nothing this cycle" in hint.message


def test_a_hint_matches_the_invoice_it_predicts(org, clock):
    clock.set("2025-02-10T00:00:00Z")
    before = Decimal(billing_service.invoice_on(org).document["total"])
    hint = level_hint(org, email=TAYLOR, level=Level.SUPER)
    services.set_admin(org, actor=SAM, via=Via.CLI, email=TAYLOR, level=Level.SUPER)
    after = Decimal(billing_service.invoice_on(org).document["total"])
    assert after - before == hint.this_cycle


def test_a_new_seat_costs_the_user_price(org):
    hint = level_hint(org, email=None, level=Level.NONE)
    assert (hint.this_cycle, hint.next_cycle) == (10, 10)


def test_the_cli_dry_runs_show_the_hint_and_change_nothing(org, cli, tmp_path):
    result = cli("admins", "set", TAYLOR, "super", "--dry-run", "--actor", SAM)
    assert result.code == 0 and "+$20.00" in result.out
    assert next(a for a in services.list_admins(org) if a.email == TAYLOR).level is (
        Level.ASSISTANT)
    path = tmp_path / "u.csv"
    path.write_text("email,first_name,last_name\na@example.com,A,B\nb@example.com,C,D\n")
    dry = cli("users", "import", str(path), "--dry-run", "--actor", SAM)
    assert "Importing 2 active users: this cycle $20.00, next cycle $20.00" in dry.out
