"""The slash-command grammar."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.model import Level
from handlers.slack.grammar import Target, Usage, parse_admins, parse_billing, parse_users


def test_users_commands():
    assert parse_users("list").status == "all"
    assert parse_users("LIST pending").status == "pending"
    assert parse_users("new a@example.com").email == "a@example.com"
    assert parse_users("new").email is None
    assert parse_users("show <@U123ABC|lee>").target == Target(slack_user_id="U123ABC")
    assert parse_users("delete <mailto:a@example.com|a@example.com>").target == Target(
        email="a@example.com")
    assert parse_users("").verb == "help" and parse_users("frobnicate").verb == "help"


def test_admins_set_with_scope_and_schedule():
    cmd = parse_admins("set lee@example.com Assistant alpha,beta at cycle-end")
    assert (cmd.level, cmd.projects, cmd.at_cycle_end) == (Level.ASSISTANT, ("alpha", "beta"),
                                                           True)
    cmd = parse_admins("set <@U1> super")
    assert cmd.projects is None and not cmd.at_cycle_end
    assert parse_admins("set <@U1> view-only all").projects is None


@pytest.mark.parametrize(("parse", "text", "words"), [
    (parse_users, "list frozen", "not a status"),
    (parse_users, "activate", "Say who"),
    (parse_users, "activate bob", "neither an email nor an @mention"),
    (parse_users, "activate a@example.com extra", "Unexpected"),
    (parse_admins, "set a@example.com emperor", "Give a level"),
    (parse_admins, "set a@example.com", "Give a level"),
    (parse_billing, "invoice yesterday", "Give a date"),
    (parse_users, "list " + "x" * 5000, "characters long"),
])
def test_bad_text_gets_a_sentence_and_the_usage(parse, text, words):
    with pytest.raises(Usage, match=words) as caught:
        parse(text)
    assert "Usage:" in str(caught.value)


def test_billing_commands():
    assert parse_billing("").verb == "estimate"
    assert parse_billing("invoice 2025-03-15").day == date(2025, 3, 15)
    assert parse_billing("invoices").verb == "invoices"


@given(st.text(max_size=300))
def test_any_text_parses_or_explains(text):
    for parse in (parse_users, parse_admins, parse_billing):
        try:
            parse(text)
        except Usage as exc:
            assert str(exc)
