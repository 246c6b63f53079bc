"""What people type: names, emails, project keys."""

import pytest

from bot.errors import InvalidInput
from bot.validation import clean_email, clean_name, clean_project_key, email_key


@pytest.mark.parametrize("bad", ["", "   ", "\t\n", None])
def test_empty_names_are_refused(bad):
    with pytest.raises(InvalidInput, match="First name is required"):
        clean_name(bad, "First name")


def test_names_are_trimmed():
    assert clean_name("  Ada  ", "First name") == "Ada"


def test_a_ten_thousand_character_name_is_refused_with_its_length():
    with pytest.raises(InvalidInput, match=r"10,000 characters long; use at most 100"):
        clean_name("x" * 10_000, "Last name")


@pytest.mark.parametrize("bad", ["Ada\x00", "Ada\x1b[31m", "A\u202eda", "Ada\nLovelace"])
def test_control_characters_are_refused(bad):
    with pytest.raises(InvalidInput, match="control characters"):
        clean_name(bad, "First name")


@pytest.mark.parametrize("bad", ["ada", "ada@", "@example.com", "a b@example.com",
                                 "ada@example", "ada@@example.com", "x" * 300 + "@example.com",
                                 "ada@exa\x00mple.com"])
def test_invalid_emails_are_refused(bad):
    with pytest.raises(InvalidInput):
        clean_email(bad)


def test_emails_are_trimmed_and_compared_case_insensitively():
    assert clean_email("  Ada@Example.COM ") == "Ada@example.com"
    assert email_key("Ada@example.com") == email_key("ADA@EXAMPLE.COM")


@pytest.mark.parametrize("bad", ["", "Has Space", "-lead", "x" * 41, "dot.ted", "é"])
def test_bad_project_keys_are_refused(bad):
    with pytest.raises(InvalidInput, match="not a project key"):
        clean_project_key(bad)


def test_project_keys_are_lowercased():
    assert clean_project_key(" Alpha-2 ") == "alpha-2"
