"""`/billing history` end to end: the figures come back ephemerally where it was asked,
and the image is uploaded to the asker's direct message with Rollcall (Slack has no
ephemeral files; uploads.py), never to the channel; refused as every billing read."""

import io

from PIL import Image

from bot import charts
from bot.services.billing_history import history_points
from tests.slack.conftest import LEE, SAM
from tests.slack.test_commands_e2e import reply


def test_history_answers_the_figures_and_puts_the_image_in_the_askers_dm(org, slack, fake):
    answer = reply(slack, fake, "/billing", "history")
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert answer["text"].startswith("Billing, the first cycle: this cycle, February 2025 "
                                     "(Feb 1 - Feb 28): 3 active users, 2 admins")
    assert "direct message with Rollcall" in answer["text"]
    opened = fake.called("conversations.open")
    assert [c.params["users"] for c in opened] == [SAM]
    [shared] = fake.uploads
    assert shared.channel == "D1"  # the DM conversations.open answered, not C1
    assert Image.open(io.BytesIO(shared.data)).size == (1200, 675)
    points = history_points(org, actor="sam@example.com")
    assert shared.alt_txt == charts.alt_text(points) and points[-1].current


def test_asked_in_the_dm_the_image_is_right_there(org, slack, fake):
    response, key = slack.command("/billing", "history", SAM, channel="D1")
    assert response.status == 200
    answer = fake.wait_for("response", key)[0].params
    assert "in this conversation" in answer["text"] and fake.uploads[0].channel == "D1"


def test_a_failed_upload_still_answers_the_figures(org, slack, fake):
    fake.fail("files.completeUploadExternal", 200, {"ok": False, "error": "missing_scope"})
    answer = reply(slack, fake, "/billing", "history")
    assert "3 active users" in answer["text"] and "missing_scope" in answer["text"]
    assert fake.uploads == []


def test_history_is_refused_to_a_user_who_may_not_read_invoices(org, slack, fake):
    answer = reply(slack, fake, "/billing", "history", user=LEE)
    assert "not an administrator" in answer["text"]
    assert fake.uploads == [] and fake.called("files.getUploadURLExternal") == []


def test_history_is_in_the_usage(org, slack, fake):
    assert "/billing history" in reply(slack, fake, "/billing", "help")["text"]
