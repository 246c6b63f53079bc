"""Slash commands end to end: signed HTTP in, replies through response_url."""

import time

import pytest
from slack_sdk.models.blocks import Block

from tests.slack.conftest import LEE, PAT, SAM, STRANGER
from tests.slack.harness import get


def blocks_valid(payload):
    blocks = payload.get("blocks") or []
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError
    return blocks


def reply(slack, fake, command, text, user=SAM):
    response, key = slack.command(command, text, user)
    assert response.status == 200, response
    call = fake.wait_for("response", key)[0]
    blocks_valid(call.params)
    return call.params


def test_users_list_shows_the_total_and_rows(org, slack, fake):
    answer = reply(slack, fake, "/users", "list")
    assert answer["text"] == "Total Active Users: 3"
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    row_actions = [b for b in answer["blocks"] if b["type"] == "actions"]
    assert {e["action_id"] for b in row_actions for e in b["elements"]} >= {
        "user_deactivate", "user_delete", "user_make_admin"}
    assert all("confirm" in e for b in row_actions for e in b["elements"]
               if e["action_id"] in ("user_deactivate", "user_delete", "user_activate"))


def test_activating_from_the_list_shows_the_seat_cost_first(org, slack, fake):
    reply(slack, fake, "/users", "deactivate lee@example.com")
    answer = reply(slack, fake, "/users", "list")
    activate = next(e for b in answer["blocks"] if b["type"] == "actions"
                    for e in b["elements"] if e["action_id"] == "user_activate")
    assert "$10.00 this cycle" in activate["confirm"]["text"]["text"]


def test_the_invoker_is_mapped_by_profile_email_once(org, slack, fake):
    reply(slack, fake, "/users", "list")
    reply(slack, fake, "/users", "list")
    assert len(fake.called("users.info")) == 1  # then the stored Slack id is used


def test_non_admins_and_strangers_get_a_polite_refusal(org, slack, fake):
    assert "not an administrator" in reply(slack, fake, "/users", "list", user=LEE)["text"]
    assert "not a Rollcall user yet" in reply(slack, fake, "/admins", "list",
                                              user=STRANGER)["text"]


def test_help_and_unknown_words_print_usage(org, slack, fake):
    for text in ("", "help", "frobnicate"):
        assert "Usage:" in reply(slack, fake, "/users", text)["text"]
    assert "Give a level" in reply(slack, fake, "/admins", "set lee@example.com emperor")["text"]


def test_before_init_every_command_says_how_to_initialise(slack, fake):
    for command in ("/users", "/admins", "/billing"):
        text = reply(slack, fake, command, "list" if command != "/billing" else "")["text"]
        assert "rollcall init" in text


def test_show_activate_deactivate_delete(org, slack, fake):
    assert "Lee Test" in reply(slack, fake, "/users", "show lee@example.com")["text"]
    assert "deactivated" in reply(slack, fake, "/users", "deactivate lee@example.com")["text"]
    assert "active again" in reply(slack, fake, "/users", f"activate <@{LEE}|lee>")["text"]
    ask = reply(slack, fake, "/users", "delete <mailto:lee@example.com|x>")
    assert ask["text"].startswith("Delete Lee Test") and "deleted" not in ask["text"]
    assert "Lee Test" in reply(slack, fake, "/users", "show lee@example.com")["text"]
    delete = ask["blocks"][1]["elements"][0]
    assert delete["action_id"] == "user_delete" and "confirm" in delete
    _, key = slack.click(SAM, delete["action_id"], delete["value"])
    assert "deleted" in fake.wait_for("response", key)[0].params["text"]
    assert "No user has the email" in reply(slack, fake, "/users", "show lee@example.com")["text"]


def test_an_admin_cannot_be_deactivated_but_gets_the_one_step_button(org, slack, fake):
    answer = reply(slack, fake, "/users", "deactivate pat@example.com")
    assert "Remove their admin role first" in answer["text"]
    button = answer["blocks"][1]["elements"][0]
    assert button["action_id"] == "user_remove_admin_and_deactivate"
    response, key = slack.click(SAM, button["action_id"], button["value"])
    assert response.status == 200
    assert "deactivated" in fake.wait_for("response", key)[0].params["text"]


def test_the_last_super_is_protected_in_slack_too(org, slack, fake):
    assert "last active SUPER" in reply(slack, fake, "/users", "deactivate sam@example.com")[
        "text"]


def test_admins_set_shows_the_cost_hint_and_commits_only_on_confirm(org, slack, fake):
    answer = reply(slack, fake, "/admins", "set lee@example.com super")
    assert "bills the whole cycle" in answer["text"]
    confirm = answer["blocks"][1]["elements"][0]
    assert confirm["action_id"] == "admin_set_confirm"
    assert "lee@example.com: " not in reply(slack, fake, "/admins", "list")["text"]
    listing = reply(slack, fake, "/admins", "list")
    assert "lee@example.com" not in str(listing["blocks"])
    _, key = slack.click(PAT, "admin_set_confirm", confirm["value"])  # an assistant clicks:
    assert "Request #1 sent to the approvers" in (  # their admin change is a request
        fake.wait_for("response", key)[0].params["text"])
    assert "lee@example.com" not in str(reply(slack, fake, "/admins", "list")["blocks"])
    _, key = slack.click(SAM, "admin_set_confirm", confirm["value"])
    assert "now SUPER" in fake.wait_for("response", key)[0].params["text"]
    assert "lee@example.com" in str(reply(slack, fake, "/admins", "list")["blocks"])


def test_admins_remove_apply_history_and_scheduled(org, slack, fake):
    assert "has no pending" in reply(slack, fake, "/admins", "apply pat@example.com")["text"]
    assert "removed" in reply(slack, fake, "/admins", "remove pat@example.com")["text"]
    assert "applied" in reply(slack, fake, "/admins", "apply pat@example.com")["text"]
    history = reply(slack, fake, "/admins", "history pat@example.com")
    assert "admin.apply" in str(history["blocks"]) and "user.create" in str(history["blocks"])
    assert "no scheduled" in reply(slack, fake, "/admins", "scheduled")["text"]


def test_billing_estimate_invoices_and_a_date(org, slack, fake):
    estimate = reply(slack, fake, "/billing", "")
    assert estimate["text"].startswith("Estimate (draft) for February 2025 (Feb 1 - Feb 28): $")
    assert "*Estimate (draft)* for February 2025 (Feb 1 - Feb 28) · *$" in str(
        estimate["blocks"])
    assert "Invoices" in reply(slack, fake, "/billing", "invoices")["text"]
    assert "Estimate" in reply(slack, fake, "/billing", "invoice 2025-02-03")["text"]
    assert "has not started" in reply(slack, fake, "/billing", "invoice 2030-01-01")["text"]
    assert "not an administrator" in reply(slack, fake, "/billing", "", user=LEE)["text"]


def test_a_bad_signature_or_a_stale_timestamp_gets_401_and_runs_nothing(org, slack, fake):
    bad, _ = slack.command("/users", "delete lee@example.com", SAM, signature="v0=" + "0" * 64)
    stale, _ = slack.command("/users", "delete lee@example.com", SAM,
                             timestamp=int(time.time()) - 10 * 60)
    assert (bad.status, stale.status) == (401, 401)
    assert "Lee Test" in reply(slack, fake, "/users", "show lee@example.com")["text"]
    assert fake.called("response") and all(
        "deleted" not in c.params.get("text", "") for c in fake.called("response"))


def test_healthz(org, slack):
    base = slack.events_url.removesuffix("/slack/events")
    health = get(base + "/healthz")
    assert health.status == 200 and health.json() == {"status": "ok"}
    assert get(base + "/nope").status == 404


@pytest.mark.parametrize("text", ["list", "new", "show x", "set a@b.c super"])
def test_oversized_or_odd_input_never_crashes(org, slack, fake, text):
    assert reply(slack, fake, "/users", text + " " + "é" * 3000)["text"]


def test_an_unreachable_database_says_try_again(settings, fake):
    from bot.bootstrap import bootstrap
    from handlers.web import create_app
    from tests.slack.harness import SlackSide, serve

    down = settings.model_copy(update={"database_url": "postgresql://x@127.0.0.1:1/none"})
    url, server = serve(create_app(down, context=bootstrap(down)))
    try:
        assert get(url + "/healthz").status == 503
        response, key = SlackSide(url, fake).command("/users", "list", SAM)
        assert response.status == 200
        assert "unreachable" in fake.wait_for("response", key)[0].params["text"]
    finally:
        server.shutdown()
        server.server_close()


def test_an_assistants_admin_change_becomes_a_request(org, slack, fake):
    from bot.services.context import Channels

    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    answer = reply(slack, fake, "/admins", "set lee@example.com view-only alpha", user=PAT)
    assert "Request #1 sent to the approvers" in answer["text"]
    card = fake.wait_for("chat.postMessage")[0].params
    assert card["channel"] == "C0APPROVALS"
    approve, deny = card["blocks"][-1]["elements"]
    _, key = slack.click(PAT, approve["action_id"], approve["value"])  # self-approval
    assert "your own request" in fake.wait_for("response", key)[0].params["text"]
    _, key = slack.click(SAM, approve["action_id"], approve["value"])
    assert "Approved" in fake.wait_for("response", key)[0].params["text"]
    updated = fake.wait_for("chat.update")[0].params
    assert updated["channel"] == "C0APPROVALS" and "approved by Sam Stone" in updated["text"]
    dm = fake.wait_for("chat.postMessage", count=2)[1].params
    assert dm["channel"] == PAT and "approved" in dm["text"]
    _, key = slack.click(SAM, approve["action_id"], approve["value"])  # a double click
    assert "already approved" in fake.wait_for("response", key)[0].params["text"]

    reply(slack, fake, "/admins", "set lee@example.com assistant alpha", user=PAT)
    second = fake.wait_for("chat.postMessage", count=3)[2].params
    deny = second["blocks"][-1]["elements"][1]
    slack.click(SAM, deny["action_id"], deny["value"])
    form = fake.wait_for("views.open")[0].params["view"]
    assert form["callback_id"] == "approval_deny"
    empty = slack.submit(SAM, form, {"reason": {"type": "plain_text_input", "value": " "}})
    assert "Give a reason" in empty.json()["errors"]["reason"]
    done = slack.submit(SAM, form, {"reason": {"type": "plain_text_input",
                                               "value": "Lee is enough as view-only"}})
    assert done.json()["response_action"] == "update"
    denied = fake.wait_for("chat.update", count=2)[1].params
    assert "denied by Sam Stone: Lee is enough as view-only" in denied["text"]


def test_scheduling_from_slack_and_cancelling(org, slack, fake):
    hint = reply(slack, fake, "/admins", "set pat@example.com view-only alpha at cycle-end")
    assert "at the cycle end (Mar 1): this cycle $0.00" in hint["text"]
    button = hint["blocks"][1]["elements"][0]
    assert button["action_id"] == "admin_schedule"
    _, key = slack.click(SAM, "admin_schedule", button["value"])
    assert "becomes VIEW ONLY at the cycle end" in fake.wait_for("response", key)[0].params[
        "text"]
    listing = reply(slack, fake, "/admins", "scheduled")
    cancel = listing["blocks"][1]["accessory"]
    assert cancel["action_id"] == "scheduled_cancel" and "confirm" in cancel
    _, key = slack.click(SAM, "scheduled_cancel", cancel["value"])
    assert "will not run" in fake.wait_for("response", key)[0].params["text"]
    assert "no scheduled" in reply(slack, fake, "/admins", "scheduled")["text"]


def test_a_mid_cycle_downgrade_offers_to_schedule_it(org, slack, fake):
    org.clock.advance(days=1)  # Pat has been ASSISTANT for a day of this cycle
    hint = reply(slack, fake, "/admins", "set pat@example.com view-only alpha")
    ids = [e["action_id"] for e in hint["blocks"][1]["elements"]]
    assert ids == ["admin_set_confirm", "admin_schedule", "admin_set_cancel"]
