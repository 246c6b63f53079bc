"""`POST /hooks/login` over real HTTP: signatures, what a login does, the first-login card."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest
from pydantic import SecretStr

from billing.model import Level, Status
from bot import services
from bot.bootstrap import bootstrap
from bot.services import Via
from bot.services.context import Channels
from bot.web import create_app
from tests.conftest import CHEAP_HASHER
from tests.fakes import FixedClock
from tests.helpers import audit, store_state
from tests.slack.conftest import SAM
from tests.slack.harness import SlackSide, serve

HOOK_SECRET = "hook-secret"


@pytest.fixture
def hook(org, settings, fake):
    """The app with a webhook secret, its clock in real time (signatures are checked
    against Rollcall's clock, which this fixture keeps at now)."""
    settings = settings.model_copy(update={"rollcall_webhook_secret": SecretStr(HOOK_SECRET)})
    org.clock.set(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    url, server = serve(create_app(settings, context=org))
    yield url + "/hooks/login"
    server.shutdown()
    server.server_close()


def call(url, payload, *, secret=HOOK_SECRET, ts=None, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if ts is None else ts)
    sig = signature or "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body,
                                        hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Rollcall-Request-Timestamp": ts,
        "X-Rollcall-Signature": sig})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_signed_login_applies_the_pending_level(org, hook):
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.VIEW_ONLY)
    status, body = call(hook, {"email": "lee@example.com"})
    assert status == 200 and "now applied" in body["message"]
    lee = next(a for a in services.list_admins(org) if a.email == "lee@example.com")
    assert lee.effective_level is Level.VIEW_ONLY
    assert audit(org)[-1].via == "webhook"


@pytest.mark.parametrize("tamper", ["bad signature", "wrong secret", "stale", "future",
                                    "no headers"])
def test_bad_or_stale_signatures_get_401_and_change_nothing(org, hook, tamper):
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.VIEW_ONLY)
    before, events = store_state(org), len(audit(org))
    kwargs = {"bad signature": {"signature": "v0=" + "0" * 64},
              "wrong secret": {"secret": "guess"},
              "stale": {"ts": int(time.time()) - 6 * 60},
              "future": {"ts": int(time.time()) + 6 * 60},
              "no headers": {"signature": " ", "ts": ""}}[tamper]
    status, _ = call(hook, {"email": "lee@example.com"}, **kwargs)
    assert status == 401
    assert store_state(org) == before and len(audit(org)) == events


@pytest.mark.parametrize(("payload", "raw", "status"), [
    ({"email": "ghost@example.com"}, None, 404),
    ({"mail": "lee@example.com"}, None, 400),
    (None, b"not json", 400),
    ({"email": 42}, None, 400),
])
def test_bad_requests_get_a_clear_status(hook, payload, raw, status):
    code, body = call(hook, payload, raw=raw)
    assert code == status and body["ok"] is False and body["error"]


def test_a_deactivated_user_is_refused(org, hook):
    services.deactivate_user(org, actor="sam@example.com", via=Via.CLI,
                             email="lee@example.com")
    assert call(hook, {"email": "lee@example.com"})[0] == 403


def test_a_pending_users_first_login_posts_a_card_admins_can_act_on(org, hook, fake,
                                                                   settings):
    services.create_user(org, actor="sam@example.com", via=Via.CLI, email="new@example.com",
                         first_name="New", last_name="Person", active=False)
    assert call(hook, {"email": "new@example.com"})[0] == 200
    card = fake.wait_for("chat.postMessage")[0].params
    assert card["channel"] == "C0APPROVALS" and "first time" in card["text"]
    button = card["blocks"][1]["elements"][0]
    assert button["action_id"] == "pending_activate"
    call(hook, {"email": "new@example.com"})  # a second login: no second card
    url = hook.removesuffix("/hooks/login")
    _, key = SlackSide(url, fake).click(SAM, button["action_id"], button["value"])
    updated = fake.wait_for("response", key)[0].params
    assert updated["replace_original"] is True and "active again" in updated["text"]
    assert next(u for u in services.list_users(org)
                if u.email == "new@example.com").status is Status.ACTIVE
    assert len(fake.called("chat.postMessage")) == 1


def test_without_a_secret_every_call_is_refused(org, settings, fake):
    ctx = bootstrap(settings, clock=FixedClock("2025-02-10T00:00:00Z"), hasher=CHEAP_HASHER)
    url, server = serve(create_app(settings, context=ctx))
    try:
        assert call(url + "/hooks/login", {"email": "lee@example.com"})[0] == 401
    finally:
        server.shutdown()
        server.server_close()
