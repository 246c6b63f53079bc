"""Over signed HTTP (issue 9, finding 12b): a second Slack account showing a linked
user's email in its profile is not that user."""

from tests.helpers import audit
from tests.slack.conftest import LEE, SAM

TWIN = "U0TWIN"


def reply(slack, fake, command, text, user):
    response, key = slack.command(command, text, user)
    assert response.status == 200, response
    return fake.wait_for("response", key)[0].params


def test_a_second_slack_account_with_the_supers_email_cannot_act_as_them(org, slack, fake):
    assert reply(slack, fake, "/users", "list", SAM)["text"] == "Total Active Users: 3"
    fake.users[TWIN] = "Sam@Example.com"  # another account, same profile email
    answer = reply(slack, fake, "/users", "deactivate lee@example.com", TWIN)
    assert "not a Rollcall user yet" in answer["text"]
    assert "not a Rollcall user yet" in reply(slack, fake, "/users", "list", TWIN)["text"]
    assert [(e.action, e.subject) for e in audit(org, "refused")] == [
        ("user.link_slack", "sam@example.com")]
    assert reply(slack, fake, "/users", "list", SAM)["text"] == "Total Active Users: 3"  # Lee still


def test_a_mention_of_the_second_account_is_not_the_linked_user(org, slack, fake):
    reply(slack, fake, "/users", "list", SAM)  # links Sam to U0SAM
    reply(slack, fake, "/users", "list", LEE)  # links Lee to U0LEE
    fake.users[TWIN] = "lee@example.com"
    answer = reply(slack, fake, "/users", f"deactivate <@{TWIN}|lee>", SAM)
    assert "is not a Rollcall user" in answer["text"]
    assert reply(slack, fake, "/users", "list", SAM)["text"] == "Total Active Users: 3"


def test_a_deleted_bot_or_external_account_is_never_matched_by_its_email(org, slack, fake):
    """Slack Connect users of another organization, bots and deactivated Slack accounts
    may show any email in their profile; none of them acts for the Rollcall user."""
    for n, flags in enumerate(({"deleted": True}, {"is_bot": True}, {"is_stranger": True})):
        account = f"U0ODD{n}"
        fake.users[account] = "sam@example.com"  # Sam never used Slack: not linked yet
        fake.user_flags[account] = flags
        answer = reply(slack, fake, "/users", "deactivate lee@example.com", account)
        assert "not a Rollcall user yet" in answer["text"], flags
    assert reply(slack, fake, "/users", "list", SAM)["text"] == "Total Active Users: 3"
