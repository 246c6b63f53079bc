"""One call per intention, end to end: the New User form makes the user and the role in
one transaction (or nothing), and `/admins set` refuses an impossible change before its
cost hint."""

import json

from bot import services
from tests.helpers import audit
from tests.slack.conftest import PAT, SAM
from tests.slack.test_commands_e2e import reply
from tests.slack.test_interactions_e2e import NEW, emails, opened_view

VIEW_ONLY = {"type": "static_select", "selected_option": {"value": "view-only"}}


def test_a_refused_role_in_the_new_user_form_leaves_no_user_and_is_audited(org, slack, fake):
    reply(slack, fake, "/users", "new", user=PAT)  # Pat is an ASSISTANT over alpha
    view = opened_view(fake)
    answer = slack.submit(PAT, view, {**NEW, "admin_level": VIEW_ONLY}).json()
    assert answer["response_action"] == "errors"
    assert "Only a SUPER" in answer["errors"]["admin_level"]
    assert "ada@example.com" not in emails(org)
    [refused] = [e for e in audit(org, "refused") if e.action == "user.create"]
    assert (refused.actor, refused.subject, refused.via) == ("pat@example.com",
                                                             "ada@example.com", "slack")
    assert "Only a SUPER" in refused.reason


def test_a_supers_new_user_and_role_are_one_step_and_one_message(org, slack, fake):
    reply(slack, fake, "/users", "new")
    view = opened_view(fake)
    answer = slack.submit(SAM, view, {**NEW, "admin_level": VIEW_ONLY})
    assert answer.status == 200 and answer.body in ("", "{}")
    key = json.loads(view["private_metadata"])["r"].rsplit("/", 1)[1]
    text = fake.wait_for("response", key, count=2)[1].params["text"]  # after "Opening…"
    assert text.startswith("Created Ada Byron (ada@example.com), active. Ada Byron is now "
                           "VIEW ONLY over alpha.")
    assert "ada@example.com" in {a.email for a in services.list_admins(org)}


def test_admins_set_refuses_breaking_invariant_1_before_the_cost_hint(org, slack, fake):
    answer = reply(slack, fake, "/admins", "set sam@example.com view-only")
    assert "SUPER" in answer["text"] and "bills" not in answer["text"]
    buttons = [e["action_id"] for b in answer.get("blocks", []) if b["type"] == "actions"
               for e in b["elements"]]
    assert "admin_set_confirm" not in buttons
    assert [e.action for e in audit(org, "refused")] == ["admin.set"]
