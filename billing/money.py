"""Money: Decimal amounts, the currency's minor unit, half-up rounding, display.

Floats are refused with TypeError: a binary fraction cannot hold 0.10 exactly, and a bill
must add up to the cent. Rounding happens only where a line's amount is fixed.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units that differ from the common 2. An unknown but well-formed code
# gets 2: most currencies use cents, and refusing one would stop billing over a display rule.
_ZERO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_PRICE = re.compile(r"[0-9]{1,12}(\.[0-9]+)?")


def currency_code(currency: str) -> str:
    """`usd` -> `USD`; ValueError unless three ASCII letters."""
    if not isinstance(currency, str):
        raise TypeError("A currency is a three-letter ISO 4217 code such as 'USD'.")
    code = currency.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"{currency!r} is not a currency: use an ISO 4217 code such as 'USD'.")
    return code


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit: USD 2, JPY 0, KWD 3 (unknown: 2)."""
    code = currency_code(currency)
    if code in _ZERO_DECIMALS:
        return 0
    return 3 if code in _THREE_DECIMALS else 2


def as_amount(value: Decimal | int) -> Decimal:
    """A finite Decimal from a Decimal or an int; floats (and bools) raise TypeError."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not an amount of money.")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"Money is a Decimal, never {type(value).__name__}: got {value!r}.")


def round_money(amount: Decimal | int, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (Python's default would be half-even)."""
    return as_amount(amount).quantize(Decimal(1).scaleb(-minor_unit(currency)), ROUND_HALF_UP)


def format_money(amount: Decimal | int, currency: str) -> str:
    """`$1,240.00`, `€12.50`, `¥1,240`, `-$20.00`; other currencies `1,240.00 CHF`."""
    code = currency_code(currency)
    rounded = round_money(amount, code)
    digits = f"{abs(rounded):,.{minor_unit(code)}f}"
    sign = "-" if rounded < 0 else ""
    if code in _SYMBOLS:
        return f"{sign}{_SYMBOLS[code]}{digits}"
    return f"{sign}{digits} {code}"


def parse_price(text: str, currency: str | None = None) -> Decimal:
    """A price typed by a person: `10`, `10.5`, `0.00`; exact, never rounded.

    Refuses signs, exponents, NaN, separators and more decimals than the currency's
    minor unit (3 when no currency is given, the most any currency uses).
    """
    if not isinstance(text, str):
        raise TypeError(f"A price is read from text such as '10.00', not {type(text).__name__}.")
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise ValueError(f"A price cannot be negative: {text!r}.")
    if not _PRICE.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a price: write digits and a dot, such as '10.00'.")
    places = 3 if currency is None else minor_unit(currency)
    price = Decimal(cleaned)
    if -price.as_tuple().exponent > places:
        unit = currency_code(currency) if currency else "a price"
        raise ValueError(f"{text!r} has too many decimals: {unit} allows at most {places}.")
    return price
