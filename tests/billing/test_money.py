"""Money: minor units, half-up rounding, display, parsing, and no floats anywhere."""

from decimal import Decimal

import pytest

from billing.money import format_money, minor_unit, parse_price, round_money
from billing.terms import Terms


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("eur", 2), ("CHF", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0),
     ("KWD", 3), ("BHD", 3), ("TND", 3), ("XYZ", 2)],
)  # fmt: skip
def test_minor_units(currency, places):
    assert minor_unit(currency) == places


def test_rounding_is_half_up_not_bankers():
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_money(Decimal("-0.125"), "USD") == Decimal("-0.13")
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")
    assert round_money(7, "USD") == Decimal("7.00")


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1240", "USD", "$1,240.00"),
        ("12.5", "EUR", "€12.50"),
        ("3", "GBP", "£3.00"),
        ("1240", "JPY", "¥1,240"),
        ("1240", "CHF", "1,240.00 CHF"),
        ("-20", "USD", "-$20.00"),
        ("-1234.5", "CHF", "-1,234.50 CHF"),
        ("1.2345", "KWD", "1.235 KWD"),
        ("0.004", "USD", "$0.00"),
    ],
)
def test_format_money(amount, currency, shown):
    assert format_money(Decimal(amount), currency) == shown


@pytest.mark.parametrize(("text", "price"), [("10", "10"), (" 10.50 ", "10.50"), ("0", "0")])
def test_parse_price(text, price):
    assert parse_price(text) == Decimal(price)


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("-1", None, "negative"),
        ("NaN", None, "not a price"),
        ("1e3", None, "not a price"),
        ("1,000.00", None, "not a price"),
        ("", None, "not a price"),
        ("1.0001", None, "too many decimals"),
        ("1.5", "JPY", "JPY allows at most 0"),
        ("1.005", "USD", "USD allows at most 2"),
    ],
)
def test_parse_price_refuses_what_is_not_a_price(text, currency, message):
    with pytest.raises(ValueError, match=message):
        parse_price(text, currency)


@pytest.mark.parametrize(
    "call",
    [
        lambda: round_money(0.1, "USD"),
        lambda: format_money(1.5, "USD"),
        lambda: parse_price(10.5),
        lambda: Terms("USD", 10.0, {}),
        lambda: Terms("USD", Decimal(10), {"super": 50.0}),
    ],
)
def test_floats_are_refused(call):
    with pytest.raises(TypeError):
        call()


def test_terms_refuse_negative_prices_and_unknown_currencies():
    with pytest.raises(ValueError, match="cannot be negative"):
        Terms("USD", Decimal(-1), {})
    with pytest.raises(ValueError, match="not a currency"):
        Terms("US$", Decimal(1), {})
