"""Checks on what people type: names, emails, project keys. Pure functions that return
the cleaned value or raise InvalidInput with a sentence that says what to fix."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from bot.errors import InvalidInput

NAME_MAX = 100
PROJECT_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def _has_control(text: str) -> bool:
    if text.isprintable():  # none of Cc, Cf, Zl, Zp (the common case, in C)
        return False
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def clean_name(value: str | None, field: str) -> str:
    """Trimmed, non-empty, at most NAME_MAX characters, no control characters."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required; it cannot be empty or only spaces.")
    if len(text) > NAME_MAX:
        raise InvalidInput(
            f"{field} is {len(text):,} characters long; use at most {NAME_MAX} characters."
        )
    if _has_control(text):
        raise InvalidInput(f"{field} contains control characters; type it as plain text.")
    return text


def clean_email(value: str | None) -> str:
    """Trimmed and syntax-checked (no DNS look-up); the domain is normalised."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput("Email is required; it cannot be empty.")
    if len(text) > 254 or _has_control(text):
        raise InvalidInput("That email is not valid: it is too long or has control characters.")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"{_shorten(text)} is not a valid email address: {exc}") from exc


def email_key(email: str) -> str:
    """Emails are unique case-insensitively: this is the form the database compares."""
    return email.casefold()


EXTERNAL_ID_MAX = 255


def clean_external_id(value: str | None) -> str | None:
    """A directory's own id for a user (SCIM `externalId`): trimmed, at most
    EXTERNAL_ID_MAX characters, no control characters; empty means none."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > EXTERNAL_ID_MAX:
        raise InvalidInput(f"externalId is {len(text):,} characters long; use at most "
                           f"{EXTERNAL_ID_MAX} characters.")
    if _has_control(text):
        raise InvalidInput("externalId contains control characters; send it as plain text.")
    return text


def clean_project_key(value: str | None) -> str:
    text = (value or "").strip().lower()
    if not PROJECT_KEY.fullmatch(text):
        raise InvalidInput(
            f"{_shorten(value or '')!r} is not a project key: use 1-40 lowercase letters, "
            "digits and dashes, starting with a letter or digit (e.g. `alpha`)."
        )
    return text


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
