"""Counts in sentences: "1 row", "2 rows", "1,000 users"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: `count(1, "user")` is "1 user"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
