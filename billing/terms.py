"""What an organization charges: currency, prices, the users-line policy, the billing zone.

The store picks the `Terms` in force for a cycle; price changes after the first final
invoice wait for the running cycle's end, like cycle rules (DESIGN section 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from billing.cycles import zone_named
from billing.model import Level
from billing.money import as_amount, currency_code

_ADMIN_LEVELS = (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY)


class UserPolicy(StrEnum):
    """When an active user takes a seat in a cycle."""

    ANY_TIME = "any-time"  # active at any instant of the cycle
    END_OF_CYCLE = "end-of-cycle"  # active at its last instant
    PRORATED = "prorated"  # price x active local days / days in the cycle


@dataclass(frozen=True)
class Terms:
    """Prices are exact Decimals (floats raise TypeError) and never negative.

    `admin_prices` may be keyed by `Level` or by its label (`"view-only"`); a level left
    out costs 0, and its line still shows, because an admin should see every seat.
    """

    currency: str
    user_price: Decimal
    admin_prices: Mapping[Level, Decimal] = field(default_factory=dict)
    user_policy: UserPolicy = UserPolicy.ANY_TIME
    timezone: str = "UTC"

    @property
    def priced(self) -> bool:
        """Whether any price is set (until configured every price is 0)."""
        return self.user_price > 0 or any(p > 0 for p in self.admin_prices.values())

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency_code(self.currency))
        object.__setattr__(self, "user_price", _price(self.user_price, "the user price"))
        prices = {level: Decimal(0) for level in _ADMIN_LEVELS}
        for key, price in self.admin_prices.items():
            level = key if isinstance(key, Level) else Level.parse(key)
            if level is Level.NONE:
                raise ValueError("Only admin levels have a price: super, assistant, view-only.")
            prices[level] = _price(price, f"the {level.label} price")
        object.__setattr__(self, "admin_prices", prices)
        if self.user_policy not in {policy.value for policy in UserPolicy}:
            choices = ", ".join(policy.value for policy in UserPolicy)
            raise ValueError(f"{self.user_policy!r} is not a user policy: use one of {choices}.")
        object.__setattr__(self, "user_policy", UserPolicy(self.user_policy))
        zone_named(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)

    def admin_price(self, level: Level) -> Decimal:
        return self.admin_prices[level]


def _price(value: Decimal, what: str) -> Decimal:
    price = as_amount(value)
    if price < 0:
        raise ValueError(f"{what.capitalize()} cannot be negative: {price}.")
    return price
