"""A name is shown, never obeyed: over signed HTTP, a user named `<!channel>` with the last
name `<https://evil.example|verify>` reaches Slack escaped (security review, issue 9)."""

import time

import pytest
from pydantic import SecretStr
from slack_sdk.models.blocks import Block

from bot import services
from bot.services import Via
from bot.services.context import Channels
from handlers.web import create_app
from tests.slack.conftest import SAM
from tests.slack.harness import SlackSide, serve
from tests.slack.test_webhook_e2e import HOOK_SECRET, call

FIRST, LAST = "<!channel>", "<https://evil.example|verify>"
SHOWN = "&lt;!channel&gt; &lt;https://evil.example|verify&gt;"


@pytest.fixture
def app_url(org, settings):
    """The app with a webhook secret and channels, its clock at now (as in the webhook
    tests)."""
    settings = settings.model_copy(update={"rollcall_webhook_secret": SecretStr(HOOK_SECRET)})
    org.clock.set(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    url, server = serve(create_app(settings, context=org))
    yield url
    server.shutdown()
    server.server_close()


def mrkdwn_texts(payload):
    """The top-level text and every mrkdwn text of the blocks: what Slack parses."""
    found = [payload["text"]]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload.get("blocks") or [])
    return found


def answer(slack, fake, command, text):
    response, key = slack.command(command, text, SAM)
    assert response.status == 200, response
    params = fake.wait_for("response", key)[0].params
    for block in params.get("blocks") or []:
        Block.parse(block).validate_json()
    return params


def test_a_hostile_name_comes_back_escaped(org, slack, fake):
    services.create_user(org, actor="sam@example.com", via=Via.CLI,
                         email="mallory@example.com", first_name=FIRST, last_name=LAST)
    for command, text in (("/users", "show mallory@example.com"), ("/users", "list all")):
        reply = answer(slack, fake, command, text)
        texts = mrkdwn_texts(reply)
        assert all("<" not in t and ">" not in t for t in texts), texts
        assert any(SHOWN in t for t in texts[1:]), texts  # shown, escaped, not dropped
    show = answer(slack, fake, "/users", "show mallory@example.com")
    assert show["text"] == f"{SHOWN} (mallory@example.com)"


def test_the_first_login_card_and_its_outcome_escape_the_name_once(org, app_url, fake):
    services.create_user(org, actor="sam@example.com", via=Via.CLI,
                         email="mallory@example.com", first_name=FIRST, last_name=LAST,
                         active=False)
    assert call(app_url + "/hooks/login", {"email": "mallory@example.com"})[0] == 200
    card = fake.wait_for("chat.postMessage")[0].params
    assert card["text"].startswith(f"{SHOWN} (mallory@example.com) signed in")
    assert all("<" not in t and ">" not in t for t in mrkdwn_texts(card))
    button = card["blocks"][1]["elements"][0]
    _, key = SlackSide(app_url, fake).click(SAM, button["action_id"], button["value"])
    outcome = fake.wait_for("response", key)[0].params
    assert SHOWN in outcome["text"] and "&amp;lt;" not in outcome["text"]  # escaped once
    assert outcome["text"].endswith("(sam@example.com)")
    assert all("<" not in t and ">" not in t for t in mrkdwn_texts(outcome))
