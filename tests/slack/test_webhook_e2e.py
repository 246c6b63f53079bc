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
from handlers.web import create_app
from tests.conftest import HASHER
from tests.fakes import FixedClock
from tests.helpers import audit, store_state
from tests.slack.conftest import SAM
from tests.slack.harness import SlackSide, raw_post, serve

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
    assert updated["replace_original"] is True and "is active now" in updated["text"]
    assert next(u for u in services.list_users(org)
                if u.email == "new@example.com").status is Status.ACTIVE
    assert len(fake.called("chat.postMessage")) == 1


def test_without_a_secret_every_call_is_refused(org, settings, fake):
    ctx = bootstrap(settings, clock=FixedClock("2025-02-10T00:00:00Z"), hasher=HASHER)
    url, server = serve(create_app(settings, context=ctx))
    try:
        assert call(url + "/hooks/login", {"email": "lee@example.com"})[0] == 401
    finally:
        server.shutdown()
        server.server_close()


def lee_admin(ctx):
    return next(a for a in services.list_admins(ctx) if a.email == "lee@example.com")


def test_a_replayed_login_is_refused_and_changes_nothing(org, hook):
    """The same signed request twice inside the 5-minute window: the second is refused,
    even after a new level was assigned that a real login would apply."""
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.VIEW_ONLY)
    ts = int(org.clock.now().timestamp())
    assert call(hook, {"email": "lee@example.com"}, ts=ts)[0] == 200
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.SUPER)
    before, events = store_state(org), len(audit(org))
    org.clock.advance(seconds=30)
    status, body = call(hook, {"email": "lee@example.com"}, ts=ts)
    assert status == 401 and "already received" in body["error"]
    assert store_state(org) == before and len(audit(org)) == events
    assert lee_admin(org).effective_level is Level.VIEW_ONLY and lee_admin(org).pending
    # a fresh signature (a real login) still works
    assert call(hook, {"email": "lee@example.com"}, ts=ts + 30)[0] == 200
    assert lee_admin(org).effective_level is Level.SUPER


def test_a_replay_to_another_web_process_is_refused(org, hook, settings):
    """Two web processes share the database: what one received, the other refuses."""
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.VIEW_ONLY)
    other_settings = settings.model_copy(
        update={"rollcall_webhook_secret": SecretStr(HOOK_SECRET)})
    other = bootstrap(other_settings, clock=FixedClock(org.clock.now()), hasher=HASHER)
    url, server = serve(create_app(other_settings, context=other))
    try:
        ts = int(org.clock.now().timestamp())
        assert call(hook, {"email": "lee@example.com"}, ts=ts)[0] == 200
        services.set_admin(org, actor="sam@example.com", via=Via.CLI,
                           email="lee@example.com", level=Level.SUPER)
        before = store_state(org)
        status, body = call(url + "/hooks/login", {"email": "lee@example.com"}, ts=ts)
        assert status == 401 and "already received" in body["error"]
        assert store_state(org) == before
    finally:
        server.shutdown()
        server.server_close()
        other.uow.engine.dispose()


@pytest.mark.parametrize("raw", [b'{"email": "lee@example.com\xff"}', b"\xff\xfe",
                                 b"[" * 9_000, b'{"email":' * 1_000],  # under the cap
                         ids=["invalid utf-8 in json", "not utf-8", "nested list",
                              "nested object"])
def test_a_signed_but_malformed_body_gets_400(org, hook, raw):
    before = store_state(org)
    code, body = call(hook, None, raw=raw, ts=int(org.clock.now().timestamp()))
    assert code == 400 and body["ok"] is False and body["error"]
    assert store_state(org) == before


@pytest.mark.parametrize(("header", "value"), [
    ("X-Rollcall-Signature", "v0=" + "é" * 64),  # latin-1 on the wire
    ("X-Rollcall-Signature", b"v0=\xe2\x82\xac" + b"0" * 61),  # UTF-8 on the wire
    ("X-Rollcall-Request-Timestamp", "9" * 5000),  # more digits than int() takes
    ("X-Rollcall-Request-Timestamp", "1739145600²"),  # a digit to str.isdigit, not to int
], ids=["latin-1 signature", "utf-8 signature", "5000-digit timestamp", "superscript digit"])
def test_a_malformed_signature_header_is_a_bad_signature(org, hook, header, value):
    services.set_admin(org, actor="sam@example.com", via=Via.CLI, email="lee@example.com",
                       level=Level.VIEW_ONLY)
    before = store_state(org)
    body = json.dumps({"email": "lee@example.com"}).encode()
    ts = str(int(org.clock.now().timestamp()))
    if header.endswith("Timestamp"):  # signed with the malformed timestamp itself
        ts = value
    good = "v0=" + hmac.new(HOOK_SECRET.encode(), f"v0:{ts}:".encode() + body,
                            hashlib.sha256).hexdigest()
    sent = {"Content-Type": "application/json", "Content-Length": str(len(body)),
            "X-Rollcall-Request-Timestamp": ts, "X-Rollcall-Signature": good, header: value}
    answer = raw_post(hook, list(sent.items()), body)
    assert answer.status == 401 and answer.json()["ok"] is False
    assert store_state(org) == before
