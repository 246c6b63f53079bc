"""Invoices from histories: the golden scenarios by hand, each user policy, the wording."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.cycles import Cycle, CycleRule, cycle_containing
from billing.invoice import History, Terms, UserPolicy, compute_invoice
from billing.model import Change, Level, State, Status
from billing.usage import Usage
from billing.wording import admin_reason

ACTIVE, GONE = Status.ACTIVE, Status.DEACTIVATED
PRICES = {Level.SUPER: Decimal("50.00"), "assistant": Decimal("30.00"), "view-only": Decimal(10)}
MONTHLY = CycleRule("UTC", "monthly", date(2025, 1, 1))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def terms(policy: str = "any-time", timezone: str = "UTC") -> Terms:
    return Terms("USD", Decimal("10.00"), PRICES, UserPolicy(policy), timezone)


def month(year: int, month: int) -> Cycle:
    return cycle_containing(MONTHLY, utc(year, month, 1))


def at(instant: datetime, status: Status = ACTIVE, assigned=Level.NONE, effective=None, seq=0):
    effective = assigned if effective is None else effective
    return Change(instant, seq, State(status, assigned, effective))


def history(key: str, *changes: Change, before: State | None = None, name: str = "") -> History:
    return History(key, name or key.split("@")[0].title(), before, changes)


def sam(cycle: Cycle) -> History:
    """The first SUPER, there since long before the cycle."""
    return history("sam@example.com", before=State(ACTIVE, Level.SUPER, Level.SUPER))


def test_golden_01_downgrade_bills_super_for_the_rest_of_the_cycle():
    march = month(2025, 3)
    taylor = history(
        "taylor@example.com",
        at(utc(2025, 3, 10, 9), assigned=Level.ASSISTANT, effective=Level.SUPER),
        at(utc(2025, 3, 10, 9, 5), assigned=Level.ASSISTANT),
        before=State(ACTIVE, Level.SUPER, Level.SUPER),
        name="Taylor Reed",
    )
    invoice = compute_invoice(march, terms(), [sam(march), taylor])
    assert invoice.active_users == 2
    assert invoice.users == ("sam@example.com", "taylor@example.com")
    assert invoice.admins == {"sam@example.com": Level.SUPER, "taylor@example.com": Level.SUPER}
    assert invoice.total == Decimal("120.00")
    assert [line.description for line in invoice.lines] == [
        "Active users",
        "Sam (sam@example.com): SUPER",
        "Taylor Reed (taylor@example.com): SUPER, held until Mar 10",
    ]
    april = compute_invoice(
        month(2025, 4),
        terms(),
        [sam(march), history("taylor@example.com", before=State(ACTIVE, Level.ASSISTANT))],
    )
    assert april.admins["taylor@example.com"] is Level.ASSISTANT
    assert april.total == Decimal("100.00")


def test_golden_02_upgrade_on_day_29_bills_super_for_the_whole_cycle():
    april = month(2025, 4)
    taylor = history(
        "taylor@example.com",
        at(utc(2025, 4, 29, 10), assigned=Level.SUPER, effective=Level.ASSISTANT),
        at(utc(2025, 4, 29, 10, 30), assigned=Level.SUPER),
        before=State(ACTIVE, Level.ASSISTANT, Level.ASSISTANT),
        name="Taylor Reed",
    )
    invoice = compute_invoice(april, terms(), [taylor, sam(april)])
    assert invoice.total == Decimal("120.00")
    assert invoice.lines[2].description == (
        "Taylor Reed (taylor@example.com): SUPER from Apr 29 (an upgrade bills the whole cycle)"
    )


def test_golden_07_deactivation_exactly_at_the_boundary_belongs_to_the_new_cycle():
    rule = CycleRule("UTC", "fixed-30", date(2025, 1, 1))
    first = cycle_containing(rule, utc(2025, 1, 1))
    second = cycle_containing(rule, first.end)
    x = [at(utc(2025, 1, 5)), at(utc(2025, 1, 31), GONE)]
    y = [at(utc(2025, 1, 5, 0, 0, 1)), at(utc(2025, 1, 31, 0, 0, 5), GONE)]
    root = at(utc(2025, 1, 1), assigned=Level.SUPER)

    def bill(cycle: Cycle) -> tuple[int, Decimal]:
        histories = [
            History(key, key, None, [c for c in changes if c.at < cycle.end])
            for key, changes in [("sam", [root]), ("x", x), ("y", y)]
        ]
        invoice = compute_invoice(cycle, terms(), histories)
        return invoice.active_users, invoice.total

    assert second.start == utc(2025, 1, 31)
    assert bill(first) == (3, Decimal("80.00"))
    assert bill(second) == (2, Decimal("70.00"))  # x left at the boundary, y 5 s later
    assert bill(cycle_containing(rule, second.end)) == (1, Decimal("60.00"))


def test_golden_08_prorated_counts_local_days_and_rounds_once():
    arrival = at(utc(2025, 2, 20), assigned=Level.SUPER)
    february = compute_invoice(month(2025, 2), terms("prorated"), [history("sam", arrival)])
    assert february.lines[0].description == (
        "Active users, prorated: 9 user-days (1 user) of a 28-day cycle"
    )
    # the quantity is what the amount is computed from: 9 user-days at $10.00 per 28 days
    assert (february.lines[0].quantity, february.lines[0].per_days) == (9, 28)
    assert february.lines[0].amount == Decimal("3.21")
    assert february.total == Decimal("53.21")
    ada = history("ada", at(utc(2025, 3, 11, 12)), at(utc(2025, 3, 20, 8), GONE))
    march = compute_invoice(month(2025, 3), terms("prorated"), [history("sam", arrival), ada])
    assert (march.lines[0].quantity, march.lines[0].per_days) == (41, 31)
    assert march.lines[0].description.endswith("41 user-days (2 users) of a 31-day cycle")
    assert march.active_users == 2
    assert march.total == Decimal("63.23")
    april = compute_invoice(month(2025, 4), terms("prorated"), [history("sam", arrival), ada])
    assert (april.active_users, april.total) == (1, Decimal("60.00"))


def test_golden_09_end_of_cycle_bills_who_is_active_at_the_last_instant():
    ada = history("ada", at(utc(2025, 2, 10)), at(utc(2025, 2, 20), GONE))
    bo = history("bo", at(utc(2025, 2, 27)), at(utc(2025, 3, 1), GONE))
    histories = [sam(month(2025, 2)), ada, bo]
    february = compute_invoice(month(2025, 2), terms("end-of-cycle"), histories)
    assert february.users == ("bo", "sam@example.com")
    assert february.total == Decimal("70.00")
    assert february.lines[0].description == "Active users at the end of the cycle"
    march = compute_invoice(month(2025, 3), terms("end-of-cycle"), histories)
    assert (march.active_users, march.total) == (1, Decimal("60.00"))


def test_any_time_bills_a_user_deactivated_and_reactivated_once():
    u3 = history("u3", at(utc(2025, 3, 1, 10)), at(utc(2025, 3, 20), GONE), at(utc(2025, 3, 25)))
    invoice = compute_invoice(month(2025, 3), terms(), [u3])
    assert (invoice.active_users, invoice.total) == (1, Decimal("10.00"))


def test_only_the_last_change_of_an_instant_is_held():
    blip = [
        at(utc(2025, 3, 5), assigned=Level.SUPER, seq=1),
        at(utc(2025, 3, 5), GONE, seq=2),
    ]
    invoice = compute_invoice(month(2025, 3), terms(), [history("x", *reversed(blip))])
    assert (invoice.active_users, invoice.admins, invoice.total) == (0, {}, Decimal("0.00"))


def test_admin_level_counts_only_while_active():
    pending_super = history("p", at(utc(2025, 3, 2), Status.PENDING, assigned=Level.SUPER))
    invoice = compute_invoice(month(2025, 3), terms(), [pending_super])
    assert invoice.admins == {} and invoice.total == Decimal("0.00")


def test_a_free_level_still_shows_its_line():
    free = Terms("EUR", Decimal(5), {Level.VIEW_ONLY: Decimal(0)}, timezone="Europe/Paris")
    viewer = history("v@example.com", before=State(ACTIVE, Level.VIEW_ONLY, Level.VIEW_ONLY))
    invoice = compute_invoice(month(2025, 3), free, [viewer])
    assert [(line.quantity, line.amount) for line in invoice.lines] == [
        (1, Decimal("5.00")),
        (1, Decimal("0.00")),
    ]
    assert invoice.currency == "EUR" and invoice.total == Decimal("5.00")


def test_admin_lines_sort_by_level_then_email():
    people = [
        history("b", before=State(ACTIVE, Level.ASSISTANT, Level.ASSISTANT)),
        history("c", before=State(ACTIVE, Level.SUPER, Level.SUPER)),
        history("a", before=State(ACTIVE, Level.ASSISTANT, Level.VIEW_ONLY)),
    ]
    invoice = compute_invoice(month(2025, 3), terms(), people)
    assert [line.description.split(" ")[0] for line in invoice.lines[1:]] == ["C", "A", "B"]
    assert invoice.total == sum(line.amount for line in invoice.lines)


def test_prorated_days_are_local_days_of_the_billing_zone():
    rule = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
    march = cycle_containing(rule, utc(2025, 3, 15))
    # 22:30Z on Mar 30 is already Mar 31 in Paris: one local day, out of 31.
    late = history("late", at(utc(2025, 3, 30, 22, 30)))
    invoice = compute_invoice(march, terms("prorated", "Europe/Paris"), [late])
    assert invoice.lines[0].description.endswith("1 user-day (1 user) of a 31-day cycle")
    assert invoice.total == Decimal("0.32")


MARCH_1, MARCH_29 = utc(2025, 3, 1), utc(2025, 3, 29)


@pytest.mark.parametrize(
    ("active_from", "level_from", "level_until", "expected"),
    [
        (MARCH_1, MARCH_1, None, "SUPER"),
        (MARCH_1, MARCH_1, utc(2025, 3, 10, 9, 5), "SUPER, held until Mar 10"),
        (MARCH_1, MARCH_29, None, "SUPER from Mar 29 (an upgrade bills the whole cycle)"),
        (MARCH_29, MARCH_29, None, "SUPER from Mar 29 (admin lines are not prorated)"),
        (
            MARCH_1,
            utc(2025, 3, 5),
            utc(2025, 3, 7),
            "SUPER from Mar 5 until Mar 7 (an upgrade bills the whole cycle)",
        ),
        (MARCH_1, MARCH_1, utc(2025, 3, 31, 23, 30), "SUPER, held until Apr 1"),  # Paris time
    ],
)
def test_admin_reason_says_why_in_the_billing_zone(active_from, level_from, level_until, expected):
    usage = Usage(True, True, 31, active_from, Level.SUPER, level_from, level_until)
    assert admin_reason(usage, month(2025, 3), ZoneInfo("Europe/Paris")) == expected


def test_a_new_admin_mid_cycle_is_not_called_an_upgrade():
    arrival = at(utc(2025, 2, 20), assigned=Level.SUPER)
    invoice = compute_invoice(month(2025, 2), terms(), [history("sam@example.com", arrival)])
    assert invoice.lines[1].description == (
        "Sam (sam@example.com): SUPER from Feb 20 (admin lines are not prorated)"
    )


def test_histories_are_read_once_from_any_iterable():
    people = (history(f"u{n}", before=State(ACTIVE)) for n in range(5))
    assert compute_invoice(month(2025, 3), terms(), people).active_users == 5


def test_a_prorated_line_reads_as_the_sum_it_is():
    """`quantity × unit price = amount`, for every policy: a prorated line counts user-days
    at the price of a whole cycle's worth of them (issue 11: "14 x EUR 10.00 = 100.67")."""
    from billing.money import format_money
    from billing.wording import line_sum

    ada = history("ada", at(utc(2025, 3, 11, 12)), at(utc(2025, 3, 20, 8), GONE))
    sam = history("sam", at(utc(2025, 2, 20), assigned=Level.SUPER))
    march = compute_invoice(month(2025, 3), terms("prorated"), [sam, ada])
    line = march.lines[0]
    doc = {"quantity": line.quantity, "unit_price": str(line.unit_price),
           "amount": str(line.amount), "per_days": line.per_days}
    text = line_sum(doc, lambda v: format_money(Decimal(v), "USD"))
    assert text == "41 user-days × $10.00 per 31 days = $13.23"
    assert (line.unit_price * line.quantity / line.per_days).quantize(Decimal("0.01")) == (
        line.amount)
    plain = compute_invoice(month(2025, 3), terms(), [sam, ada]).lines[0]
    assert plain.per_days is None and plain.amount == plain.unit_price * plain.quantity
