"""What hostile HTTP gets (security review, issue 9), over real HTTP: bodies are capped and
their signature is checked on the raw bytes before anything parses them; a signed body
that still cannot be parsed gets 400; malformed signature headers are bad signatures; a
modal's response_url comes back only if Rollcall sealed it."""

import json
import logging
import time

import pytest

from tests.slack.conftest import SAM
from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import raw_post, sign_bytes
from tests.slack.test_commands_e2e import reply
from tests.slack.test_interactions_e2e import NEW, emails, opened_view

FORM = "application/x-www-form-urlencoded"
NESTED = b"payload=" + b"[" * 100_000
UNPARSABLE = {  # bodies nothing may parse unsigned, and that even signed cannot be parsed
    "invalid utf-8": (FORM, b"command=/users&text=\xff\xfe\xfd"),
    "nested payload": (FORM, NESTED),
    "nested json": ("application/json", b'{"a":' * 100_000),
    "payload not an object": (FORM, b"payload=%5B1%5D"),
    "json not an object": ("application/json", b"[1, 2]"),
}


def headers(body, *, content_type=FORM, ts=None, signature=None, length=None):
    """Slack's headers; Bolt checks Slack's signatures against the wall clock."""
    ts = int(time.time()) if ts is None else ts
    return [("Content-Type", content_type),
            ("Content-Length", str(len(body)) if length is None else length),
            ("X-Slack-Request-Timestamp", str(ts)),
            ("X-Slack-Signature", sign_bytes(body, ts) if signature is None else signature)]


def nothing_ran(fake):
    """No call to Slack but the one Bolt makes when the app is built."""
    return [c.method for c in fake.calls if c.method != "auth.test"] == []


def events(slack):
    return slack.events_url


def base(slack):
    return slack.events_url.removesuffix("/slack/events")


@pytest.mark.parametrize("case", ["invalid utf-8", "nested payload", "nested json"])
def test_unsigned_unparsable_bodies_get_401(org, slack, fake, case):
    content_type, body = UNPARSABLE[case]
    unsigned = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    for sent in (unsigned, headers(body, content_type=content_type, signature="v0=" + "0" * 64)):
        answer = raw_post(events(slack), sent, body)
        assert answer.status == 401 and "Traceback" not in answer.body
    assert nothing_ran(fake)


@pytest.mark.parametrize("case", list(UNPARSABLE))
def test_signed_but_malformed_bodies_get_400(org, slack, fake, case):
    content_type, body = UNPARSABLE[case]
    answer = raw_post(events(slack), headers(body, content_type=content_type), body)
    assert answer.status == 400 and "Traceback" not in answer.body
    assert nothing_ran(fake)


@pytest.mark.parametrize("path", ["/slack/events", "/hooks/login"])
def test_a_body_declared_over_the_cap_gets_413_without_being_read(org, slack, fake, path):
    # nothing of the declared 2 MB is sent: a server that tried to read it would wait for
    # the client's timeout instead of answering
    for declared in (str(2_000_000), str(1024 * 1024 + 1)):
        answer = raw_post(base(slack) + path, headers(b"", length=declared), b"", timeout=5)
        assert answer.status == 413
    assert nothing_ran(fake)


@pytest.mark.parametrize("path", ["/slack/events", "/hooks/login"])
def test_an_invalid_content_length_gets_400_and_a_missing_one_reads_nothing(org, slack, path):
    for declared in ("abc", "-1", "1e3"):
        answer = raw_post(base(slack) + path, headers(b"", length=declared), timeout=5)
        assert answer.status == 400 and "Content-Length" in answer.body
    missing = [h for h in headers(b"x") if h[0] != "Content-Length"]
    assert raw_post(base(slack) + path, missing, timeout=5).status == 401


@pytest.mark.parametrize(("header", "value"), [
    ("X-Slack-Signature", "v0=" + "é" * 64),  # latin-1 on the wire
    ("X-Slack-Signature", b"v0=\xe2\x82\xac" + b"0" * 61),  # UTF-8 on the wire
    ("X-Slack-Request-Timestamp", "9" * 5000),  # more digits than int() takes
    ("X-Slack-Request-Timestamp", "1739145600²"),  # a digit to str.isdigit, not to int
], ids=["latin-1 signature", "utf-8 signature", "5000-digit timestamp", "superscript digit"])
def test_a_malformed_signature_header_is_a_bad_signature(org, slack, fake, header, value):
    body = b"command=%2Fusers&text=list&user_id=U0SAM&team_id=T1&channel_id=C1"
    sent = [(name, value if name == header else old) for name, old in headers(body)]
    answer = raw_post(events(slack), sent, body)
    assert answer.status == 401 and "Traceback" not in answer.body
    assert nothing_ran(fake)


@pytest.fixture
def attacker():
    """A second loopback server: where a forged private_metadata points."""
    other = FakeSlack()
    yield other
    other.close()


def forgeries(genuine, url):
    return [{"r": url}, {"r": url, "mac": "0" * 64}, {"r": url, "mac": "é" * 64},
            {"r": url, "mac": genuine.get("mac")}, {"r": [url], "mac": genuine.get("mac")}]


def test_a_forged_response_url_gets_no_post_and_a_genuine_one_its_notice(org, slack, fake,
                                                                          attacker, caplog):
    reply(slack, fake, "/users", "new")
    view = opened_view(fake)
    genuine = json.loads(view["private_metadata"])
    evil = attacker.response_url("stolen-token")
    caplog.set_level(logging.WARNING, logger="rollcall.slack")
    for n, forged in enumerate(forgeries(genuine, evil)):
        email = f"forged{n}@example.com"
        values = {**NEW, "email": {"type": "plain_text_input", "value": email}}
        answer = slack.submit(SAM, {**view, "private_metadata": json.dumps(forged)}, values)
        assert answer.status == 200 and "errors" not in answer.body
        assert email in emails(org)  # the work is done; only the notice is not sent
        # the listener runs before the response (process_before_response): any POST to
        # the forged URL would already have been received
        assert attacker.calls == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and not any("stolen-token" in line for line in warned)
    assert slack.submit(SAM, view, NEW).status == 200  # the genuine modal
    # the command's own reply, then the notice
    notice = fake.wait_for("response", genuine["r"].rsplit("/", 1)[1], count=2)[1].params
    assert "Created Ada Byron" in notice["text"]
    assert len(view["private_metadata"]) <= 3000 and attacker.calls == []


def test_a_forged_response_url_in_billing_settings_gets_no_post(org, slack, fake, attacker):
    reply(slack, fake, "/billing", "settings")
    view = opened_view(fake)
    genuine = json.loads(view["private_metadata"])
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    submitted = {k: {"type": "plain_text_input", "value": v.get("initial_value")}
                 for k, v in fields.items() if v["type"] == "plain_text_input"}
    submitted["anchor"] = {"type": "datepicker", "selected_date": fields["anchor"]["initial_date"]}
    for select in ("cycle", "user_policy"):
        submitted[select] = {"type": "static_select",
                             "selected_option": fields[select]["initial_option"]}
    for n, price in enumerate(("11", "12")):
        forged = {**genuine, "r": attacker.response_url(f"t{n}")}
        if n:
            forged.pop("mac", None)
        answer = slack.submit(SAM, {**view, "private_metadata": json.dumps(forged)}, {
            **submitted, "user_price": {"type": "plain_text_input", "value": price}})
        assert answer.status == 200 and "errors" not in answer.body
        assert attacker.calls == []
    answer = slack.submit(SAM, view, {**submitted, "user_price": {
        "type": "plain_text_input", "value": "13"}})
    assert answer.status == 200
    notices = fake.wait_for("response", genuine["r"].rsplit("/", 1)[1], count=2)
    assert "Billing settings saved" in notices[1].params["text"] and attacker.calls == []
