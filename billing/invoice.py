"""The invoice of one cycle, computed from every user's history in one streaming pass.

`compute_invoice` reads each `History` once and keeps only counters, the billed emails
and the admin lines, so the store can feed it ~100,000 histories from a cursor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing.cycles import Cycle
from billing.model import Level
from billing.money import round_money
from billing.terms import Terms, UserPolicy
from billing.usage import History, Usage, day_starts, measure
from billing.wording import admin_line_description, admin_reason, users_line_description

__all__ = [
    "History", "Invoice", "Line", "Terms", "UserPolicy", "compute_invoice", "invoice_from_usages",
    "price_cycle",
]


@dataclass(frozen=True, slots=True)
class Line:
    """`amount` = `unit_price` x `quantity` (/ `per_days`, a prorated line: its quantity is
    user-days and its unit price buys `per_days` of them, a whole cycle), rounded once."""

    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # rounded once, to the currency's minor unit
    per_days: int | None = None


@dataclass(frozen=True)
class Invoice:
    """`users` are the billed emails, sorted; `admins` maps email to billed level.

    Lines: the users line first, then one line per billed admin, highest level first.
    `total` is the sum of the rounded lines.
    """

    cycle: Cycle
    currency: str
    active_users: int
    users: tuple[str, ...]
    admins: dict[str, Level]
    lines: tuple[Line, ...]
    total: Decimal


def takes_seat(usage: Usage, policy: UserPolicy) -> bool:
    """Whether the user counts on the users line under `policy`."""
    if policy is UserPolicy.END_OF_CYCLE:
        return usage.active_at_end
    return usage.active_any_time  # prorated: the same as having at least one active day


def compute_invoice(cycle: Cycle, terms: Terms, histories: Iterable[History]) -> Invoice:
    """The reference path: apply the per-user rules to each history, then price."""
    days = day_starts(cycle, terms.zone)
    usages = ((h.key, h.name, measure(h, cycle, days)) for h in histories)
    return invoice_from_usages(cycle, terms, usages, days_in_cycle=len(days) - 1)


def invoice_from_usages(
    cycle: Cycle, terms: Terms, usages: Iterable[tuple[str, str, Usage]], days_in_cycle: int
) -> Invoice:
    """Price a cycle from each user's usage `(email, full name, usage)`, in one pass."""
    seats: list[str] = []
    user_days = 0
    admins: list[tuple[str, str, Usage]] = []
    for key, name, usage in usages:
        if takes_seat(usage, terms.user_policy):
            seats.append(key)
            user_days += usage.active_days
        if usage.level > Level.NONE:
            admins.append((key, name, usage))
    return price_cycle(cycle, terms, seats, user_days, admins, days_in_cycle)


def price_cycle(
    cycle: Cycle,
    terms: Terms,
    seats: list[str],
    user_days: int,
    admins: Iterable[tuple[str, str, Usage]],
    days_in_cycle: int,
) -> Invoice:
    """The invoice from what the cycle used: the emails taking a seat (`takes_seat`),
    their active days in all (prorated), and each admin's `(email, full name, usage)`.

    The store measures big organizations in SQL (store/usage.py) and hands over just
    this; `invoice_from_usages` is the same from per-user usages.
    """
    zone = terms.zone
    admin_lines: list[tuple[Level, str, str]] = []  # (level, email, description)
    for key, name, usage in admins:
        if usage.level > Level.NONE:
            reason = admin_reason(usage, cycle, zone)
            admin_lines.append((usage.level, key, admin_line_description(name, key, reason)))
    users = sorted(seats)
    admin_lines.sort(key=lambda line: (-line[0], line[1], line[2]))
    priced = {level: (terms.admin_price(level), _round(terms, terms.admin_price(level)))
              for level in {level for level, _, _ in admin_lines}}  # each price rounded once
    lines = (
        _users_line(terms, len(users), user_days, days_in_cycle),
        *(Line(description, 1, *priced[level]) for level, _, description in admin_lines),
    )
    admins_billed: dict[str, Level] = {}
    for level, email, _ in admin_lines:  # highest first: a reused email keeps its highest
        admins_billed.setdefault(email, level)
    return Invoice(
        cycle=cycle,
        currency=terms.currency,
        active_users=len(users),
        users=tuple(users),
        admins=admins_billed,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
    )


def _users_line(terms: Terms, seats: int, user_days: int, days_in_cycle: int) -> Line:
    description = users_line_description(terms.user_policy, seats, user_days, days_in_cycle)
    if terms.user_policy is UserPolicy.PRORATED:  # the quantity is what the amount counts
        amount = terms.user_price * user_days / days_in_cycle  # rounded once, for the line
        return Line(description, user_days, terms.user_price, _round(terms, amount),
                    per_days=days_in_cycle)
    return Line(description, seats, terms.user_price, _round(terms, terms.user_price * seats))


def _round(terms: Terms, amount: Decimal) -> Decimal:
    return round_money(amount, terms.currency)
