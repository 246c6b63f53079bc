"""Who a Slack user is in Rollcall (issue 9, finding 12b): the stored Slack id wins, and a
profile email never matches a user already linked to another Slack id."""

import logging

import pytest
from sqlalchemy import select, update

from bot import services
from bot.services import Via
from bot.services.slack_identity import email_for_slack_user
from store.models import User
from tests.helpers import audit

SAM, KIM = "sam@example.com", "kim@example.com"


def profiles(**emails):
    """A fake `users.info`: Slack id -> profile email; remembers who was asked."""
    asked = []

    def lookup(slack_user_id):
        asked.append(slack_user_id)
        return emails.get(slack_user_id)

    lookup.asked = asked
    return lookup


def never(slack_user_id):
    raise AssertionError(f"Slack was asked about {slack_user_id}")


def add(ctx, email, first="Kim", **kw):
    return services.create_user(ctx, actor=SAM, via=Via.CLI, email=email, first_name=first,
                                last_name="Test", **kw)


def slack_ids(ctx):
    with ctx.uow as uow:
        return {u.email: u.slack_user_id
                for u in uow.session.scalars(select(User).where(User.status != "deleted"))}


def test_an_unlinked_user_is_matched_by_profile_email_once_and_linked(ctx):
    add(ctx, KIM)
    assert email_for_slack_user(ctx, "U1", profiles(U1="Kim@Example.com ")) == KIM
    assert slack_ids(ctx)[KIM] == "U1"
    event = audit(ctx)[-1]
    assert (event.action, event.outcome, event.subject, event.reason) == (
        "user.link_slack", "ok", KIM, "U1")
    assert email_for_slack_user(ctx, "U1", never) == KIM  # the stored id from now on


def test_a_user_linked_to_another_slack_id_is_not_matched_by_email(ctx, caplog):
    add(ctx, KIM, slack_user_id="U1")
    twin = profiles(U1=KIM, U2=KIM)
    with caplog.at_level(logging.INFO, logger="rollcall"):
        assert email_for_slack_user(ctx, "U2", twin) is None
        assert email_for_slack_user(ctx, "U2", twin) is None  # again: not audited again
    assert email_for_slack_user(ctx, "U1", twin) == KIM  # Kim herself is unaffected
    assert slack_ids(ctx)[KIM] == "U1"
    refused = audit(ctx, "refused")
    assert [(e.action, e.subject, e.actor) for e in refused] == [("user.link_slack", KIM, None)]
    assert "U2" in refused[0].reason and "U1" in refused[0].reason
    assert refused[0].status_after is None  # no state: billing ignores it
    warnings = [r for r in caplog.records if r.name.startswith("rollcall")]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "U2" in warnings[0].getMessage() and KIM not in warnings[0].getMessage().lower()


def test_a_second_refusing_pair_is_audited_on_its_own(ctx):
    add(ctx, KIM, slack_user_id="U1")
    assert email_for_slack_user(ctx, "U2", profiles(U2=KIM)) is None
    assert email_for_slack_user(ctx, "U3", profiles(U3=KIM)) is None
    assert len(audit(ctx, "refused")) == 2


def test_the_stored_link_wins_over_a_changed_profile_email(ctx):
    add(ctx, KIM, slack_user_id="U1")
    add(ctx, "lee@example.com", first="Lee")
    assert email_for_slack_user(ctx, "U1", never) == KIM
    assert slack_ids(ctx)["lee@example.com"] is None


def test_a_linked_user_whose_email_changed_keeps_their_slack_id(ctx):
    """Kim's Rollcall email changes; a new user takes the old one: each keeps their own."""
    add(ctx, KIM, slack_user_id="U1")
    with ctx.uow as uow:
        uow.session.execute(update(User).where(User.email == KIM).values(
            email="kimberly@example.com", email_key="kimberly@example.com"))
        uow.commit()
    add(ctx, KIM, first="Newkim")
    slack = profiles(U1=KIM, U3=KIM)  # U1's profile still shows the old address
    assert email_for_slack_user(ctx, "U1", slack) == "kimberly@example.com"
    assert email_for_slack_user(ctx, "U3", slack) == KIM
    assert slack_ids(ctx) == {SAM: None, "kimberly@example.com": "U1", KIM: "U3"}
    assert slack.asked == ["U3"]


def test_a_deleted_users_slack_id_can_come_back_as_a_new_user(ctx):
    add(ctx, KIM, slack_user_id="U1")
    services.delete_user(ctx, actor=SAM, via=Via.CLI, email=KIM)
    assert email_for_slack_user(ctx, "U1", profiles(U1=KIM)) is None  # no live user
    add(ctx, KIM, first="Again")
    assert email_for_slack_user(ctx, "U1", profiles(U1=KIM)) == KIM
    assert slack_ids(ctx)[KIM] == "U1"


def test_a_slack_id_a_deleted_user_still_holds_is_released_to_the_live_user(ctx):
    """Rows deleted before deleting released the id (or by hand) must not crash the
    lookup on the unique Slack id: the id moves to the live user, audited."""
    add(ctx, KIM, slack_user_id="U1")
    services.delete_user(ctx, actor=SAM, via=Via.CLI, email=KIM)
    with ctx.uow as uow:
        uow.session.execute(update(User).where(User.status == "deleted").values(
            slack_user_id="U1"))
        uow.commit()
    add(ctx, KIM, first="Again")
    assert email_for_slack_user(ctx, "U1", profiles(U1=KIM)) == KIM
    with ctx.uow as uow:
        rows = uow.session.execute(select(User.status, User.slack_user_id)
                                   .where(User.email_key == KIM).order_by(User.id)).all()
    assert [tuple(r) for r in rows] == [("deleted", None), ("active", "U1")]
    assert [e.action for e in audit(ctx)[-2:]] == ["user.unlink_slack", "user.link_slack"]


def test_a_link_made_while_slack_was_asked_wins(ctx):
    """U2 got linked to Lee meanwhile (another request); its profile shows Kim's email."""
    add(ctx, KIM)
    add(ctx, "lee@example.com", first="Lee")

    def slow_profile(slack_user_id):
        with ctx.uow as uow:
            uow.session.execute(update(User).where(User.email == "lee@example.com")
                                .values(slack_user_id=slack_user_id))
            uow.commit()
        return KIM

    assert email_for_slack_user(ctx, "U2", slow_profile) == "lee@example.com"
    assert slack_ids(ctx)[KIM] is None


@pytest.mark.parametrize("profile", [None, "", "   ", "nobody@example.org"])
def test_no_profile_email_or_an_unknown_one_is_not_a_rollcall_user(ctx, profile):
    add(ctx, KIM)
    assert email_for_slack_user(ctx, "U9", profiles(U9=profile)) is None
    assert slack_ids(ctx)[KIM] is None


def test_an_empty_slack_id_is_nobody(ctx):
    add(ctx, KIM)
    assert email_for_slack_user(ctx, "", never) is None
