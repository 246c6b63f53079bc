"""Modals, buttons and App Home end to end, and what bad payloads get."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot import services
from bot.services import Via
from tests.slack.conftest import LEE, PAT, SAM, STRANGER
from tests.slack.test_commands_e2e import blocks_valid, reply


def opened_view(fake, count=1):
    view = fake.wait_for("views.open", count=count)[-1].params["view"]
    View(**view).validate_json()  # Block Kit limits, as slack_sdk enforces them
    return view


NEW = {"first_name": {"type": "plain_text_input", "value": "Ada"},
       "last_name": {"type": "plain_text_input", "value": "Byron"},
       "email": {"type": "plain_text_input", "value": "ada@example.com"},
       "options": {"type": "checkboxes", "selected_options": [{"value": "random_password"},
                                                              {"value": "active"}]},
       "admin_level": {"type": "static_select", "selected_option": {"value": "none"}},
       "projects": {"type": "multi_static_select", "selected_options": [{"value": "alpha"}]}}


def emails(ctx):
    return {u.email: u for u in services.list_users(ctx)}


def test_the_new_user_modal_has_the_designed_ids(org, slack, fake):
    reply(slack, fake, "/users", "new ada@example.com")
    view = opened_view(fake)
    assert view["callback_id"] == "user_new"
    ids = {b["block_id"]: b["element"]["action_id"] for b in view["blocks"]
           if b["type"] == "input"}
    assert ids == {k: k for k in ("first_name", "last_name", "email", "options", "admin_level",
                                  "projects")}
    options = next(b for b in view["blocks"] if b.get("block_id") == "options")["element"]
    assert [o["value"] for o in options["initial_options"]] == ["random_password", "active"]
    email = next(b for b in view["blocks"] if b.get("block_id") == "email")["element"]
    assert email["initial_value"] == "ada@example.com"
    cost = view["blocks"][-1]["elements"][0]["text"]  # the cost hint of one more seat
    assert "An active user costs $10.00 this cycle and $10.00 the next" in cost


def test_a_valid_submission_creates_the_user_once(org, slack, fake):
    reply(slack, fake, "/users", "new")
    view = opened_view(fake)
    first = slack.submit(SAM, view, NEW)
    assert first.status == 200 and first.body in ("", "{}")
    assert emails(org)["ada@example.com"].projects == ("alpha",)
    fake.wait_for("response", json.loads(view["private_metadata"])["r"].rsplit("/", 1)[1])
    again = slack.submit(SAM, view, NEW)  # a double submission
    assert again.json()["response_action"] == "errors"
    assert "already used" in again.json()["errors"]["email"]
    assert len([e for e in emails(org) if e == "ada@example.com"]) == 1


def test_invalid_input_comes_back_inline(org, slack, fake):
    reply(slack, fake, "/users", "new")
    view = opened_view(fake)
    bad = {**NEW, "first_name": {"type": "plain_text_input", "value": "   "},
           "email": {"type": "plain_text_input", "value": "not-an-email"}}
    answer = slack.submit(SAM, view, bad).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"first_name", "email"}
    assert "ada@example.com" not in emails(org)


def test_unticking_random_password_is_ignored_and_active_makes_pending(org, slack, fake):
    reply(slack, fake, "/users", "new")
    view = opened_view(fake)
    slack.submit(SAM, view, {**NEW, "options": {"type": "checkboxes", "selected_options": []}})
    assert emails(org)["ada@example.com"].status.value == "pending"


def test_an_assistant_cannot_grant_a_role_from_the_modal(org, slack, fake):
    reply(slack, fake, "/users", "new", user=PAT)
    view = opened_view(fake)
    answer = slack.submit(PAT, view, {**NEW, "admin_level": {
        "type": "static_select", "selected_option": {"value": "super"}}}).json()
    assert "Only a SUPER" in answer["errors"]["admin_level"]
    assert "ada@example.com" not in emails(org)


def test_row_buttons_act_as_the_clicker(org, slack, fake):
    _, key = slack.click(LEE, "user_deactivate", "pat@example.com")  # Lee is not an admin
    assert "not an admin" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, "user_deactivate", "lee@example.com")
    assert "deactivated" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, "user_deactivate", "lee@example.com")  # a double click
    assert "already deactivated" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, "user_activate", "lee@example.com")
    assert "active again" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, "user_delete", "ghost@example.com")  # an unknown id
    assert "No user has the email" in fake.wait_for("response", key)[0].params["text"]


def test_make_admin_is_two_steps_with_the_cost_hint(org, slack, fake):
    slack.click(SAM, "user_make_admin", "lee@example.com")
    view = opened_view(fake)
    assert view["callback_id"] == "admin_make"
    step = slack.submit(SAM, view, {"admin_level": {
        "type": "static_select", "selected_option": {"value": "assistant"}}}).json()
    assert step["response_action"] == "update"
    confirm = step["view"]
    View(**confirm).validate_json()
    assert "bills the whole cycle" in confirm["blocks"][0]["text"]["text"]
    assert "lee@example.com" not in {a.email for a in services.list_admins(org)}
    done = slack.submit(SAM, confirm, {}).json()
    assert "now ASSISTANT" in done["view"]["blocks"][0]["text"]["text"]
    assert "lee@example.com" in {a.email for a in services.list_admins(org)}


def test_paging_with_next_and_previous(org, slack, fake):
    for n in range(45):
        services.create_user(org, actor="sam@example.com", via=Via.CLI,
                             email=f"u{n:02d}@example.com", first_name="U", last_name=str(n))
    first = reply(slack, fake, "/users", "list")
    nav = first["blocks"][-1]["elements"]
    assert [b["action_id"] for b in nav] == ["users_page_next"]
    seen = [b["text"]["text"] for b in first["blocks"] if "(" in b.get("text", {}).get("text", "")]
    _, key = slack.click(SAM, "users_page_next", nav[0]["value"])
    second = fake.wait_for("response", key)[0].params
    blocks_valid(second)
    assert second["replace_original"] is True and second["text"] == "Total Active Users: 48"
    nav2 = {b["action_id"]: b["value"] for b in second["blocks"][-1]["elements"]}
    assert set(nav2) == {"users_page_previous", "users_page_next"}
    _, key = slack.click(SAM, "users_page_previous", nav2["users_page_previous"])
    back = fake.wait_for("response", key)[0].params
    assert [b["text"]["text"] for b in back["blocks"]
            if "(" in b.get("text", {}).get("text", "")] == seen


def test_malformed_button_values_get_a_sentence(org, slack, fake):
    for action, value in (("users_page_next", "not json"), ("admin_set_confirm", "[1]"),
                          ("admin_set_confirm", '{"email": "lee@example.com", "level": "x"}'),
                          ("admin_schedule", '{"email": "lee@example.com", "level": "super", '
                                             '"projects": "alpha"}')):
        _, key = slack.click(SAM, action, value)
        assert "out of date" in fake.wait_for("response", key)[0].params["text"]


def test_billing_settings_modal(org, slack, fake):
    reply(slack, fake, "/billing", "settings")
    view = opened_view(fake)
    values = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert values["user_price"]["initial_value"] == "10.00"
    submitted = {k: {"type": "plain_text_input", "value": v.get("initial_value")}
                 for k, v in values.items() if v["type"] == "plain_text_input"}
    submitted["anchor"] = {"type": "datepicker", "selected_date": values["anchor"]["initial_date"]}
    for select in ("cycle", "user_policy"):
        submitted[select] = {"type": "static_select",
                             "selected_option": values[select]["initial_option"]}
    bad = slack.submit(SAM, view, {**submitted, "user_price": {
        "type": "plain_text_input", "value": "ten"}}).json()
    assert set(bad["errors"]) == {"user_price"}
    ok = slack.submit(SAM, view, {**submitted, "user_price": {
        "type": "plain_text_input", "value": "12"}})
    assert ok.status == 200 and "errors" not in ok.body
    assert "$12.00" in reply(slack, fake, "/billing", "")["blocks"][1]["text"]["text"]
    assert "SUPER admin over all projects" in reply(slack, fake, "/billing", "settings",
                                                     user=PAT)["text"]


def test_app_home_for_an_admin_and_for_anyone_else(org, slack, fake):
    from bot.services.scheduled import schedule_change

    schedule_change(org, actor="sam@example.com", via=Via.CLI, email="pat@example.com",
                    level=services.views.Level.VIEW_ONLY, projects=["alpha"])
    assert slack.event({"type": "app_home_opened", "user": SAM, "tab": "home"}).status == 200
    home = fake.wait_for("views.publish")[0].params
    View(**home["view"]).validate_json()
    text = str(home["view"]["blocks"])
    assert "Active users:* 3" in text and "SUPER: 1" in text and "estimate" in text
    assert "for February 2025 (Feb 1 - Feb 28)" in text  # the cycle as people say it
    assert "Pending approvals:* 0" in text and "Scheduled changes:* 1" in text
    slack.event({"type": "app_home_opened", "user": STRANGER, "tab": "home"})
    other = fake.wait_for("views.publish", count=2)[1].params
    assert "Ask an admin" in str(other["view"]["blocks"])


def test_slack_rate_limits_are_waited_out(org, slack, fake):
    fake.fail("views.open", 429, {"ok": False, "error": "ratelimited"})
    reply(slack, fake, "/users", "new")
    calls = fake.wait_for("views.open", count=2)
    assert [c.params.get("_failed") for c in calls] == [429, None]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["/users", "/admins", "/billing"]),
       user=st.sampled_from([SAM, LEE, STRANGER]),
       text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_any_command_text_gets_a_sentence_and_never_a_5xx(org, slack, fake, command, user,
                                                          text):
    response, key = slack.command(command, text, user)
    assert response.status < 500
    answer = fake.wait_for("response", key)[0].params
    assert answer["text"].strip()
    assert "Traceback" not in answer["text"]


def test_cancel_and_the_remove_and_delete_button(org, slack, fake):
    _, key = slack.click(SAM, "admin_set_cancel", "cancel")
    assert "nothing was changed" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, "user_remove_admin_and_delete", "pat@example.com")
    assert "deleted" in fake.wait_for("response", key)[0].params["text"]
    assert "pat@example.com" not in emails(org)


def test_home_buttons(org, slack, fake):
    slack.click(SAM, "home_refresh", "refresh")
    fake.wait_for("views.publish")
    slack.click(SAM, "home_new_user", "new")
    assert opened_view(fake)["callback_id"] == "user_new"
    slack.click(LEE, "home_new_user", "new")  # not an admin: a view that says why
    refused = opened_view(fake, count=2)
    assert "not an admin" in str(refused["blocks"])


def test_with_seat_approval_an_assistants_form_becomes_a_request(org, slack, fake):
    from bot.services import approvals
    from bot.services.context import Channels

    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    approvals.set_policy(org, actor="sam@example.com", via=Via.CLI, seat_approval=True)
    reply(slack, fake, "/users", "new", user=PAT)
    view = opened_view(fake)
    answer = slack.submit(PAT, view, NEW)
    assert answer.status == 200 and "errors" not in answer.body
    assert "ada@example.com" not in emails(org)
    card = fake.wait_for("chat.postMessage")[0].params
    assert "add Ada Byron (ada@example.com) as an active user" in card["text"]
    approve = card["blocks"][-1]["elements"][0]
    _, key = slack.click(SAM, approve["action_id"], approve["value"])
    assert "Created Ada Byron" in fake.wait_for("response", key)[0].params["text"]
    assert emails(org)["ada@example.com"].status.value == "active"


def test_an_assistants_make_admin_becomes_a_request(org, slack, fake):
    from bot.services.context import Channels

    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    slack.click(PAT, "user_make_admin", "lee@example.com")
    view = opened_view(fake)
    done = slack.submit(PAT, view, {
        "admin_level": {"type": "static_select", "selected_option": {"value": "view-only"}},
        "projects": {"type": "multi_static_select", "selected_options": [{"value": "alpha"}]}})
    assert "Request #1 sent" in str(done.json()["view"]["blocks"])
    assert "asks to make Lee Test" in fake.wait_for("chat.postMessage")[0].params["text"]
    assert "lee@example.com" not in {a.email for a in services.list_admins(org)}
