"""`rollcall serve` when Slack cannot verify the bot token at start-up (issue 11): a
revoked token (auth.test answers invalid_auth) or a Slack that never answers. The server
starts anyway, says so in one log line, keeps checking in the background and reports it
in /healthz's body (200 while the database is fine). `serve` runs as a subprocess, as
`make run` runs it, against a loopback fake of Slack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import SECRET, SlackSide

ROLLCALL = str(Path(sys.executable).with_name("rollcall"))
DEADLINE = 30.0  # seconds: generous for a loaded machine; polling ends far sooner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tmp_path: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "ROLLCALL_", "DATABASE_URL", "PORT"))}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "SLACK_BOT_TOKEN": "xoxb-revoked-or-unchecked", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url, **extra}


def healthz(port: int) -> tuple[int, dict[str, Any]] | None:
    """(status, body), or None while nothing listens yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def poll_healthz(port: int, proc: subprocess.Popen, until: Any) -> tuple[int, dict]:
    """Poll until `until(status, body)` holds; fails if serve exits or time runs out."""
    deadline, seen = time.monotonic() + DEADLINE, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited with {proc.returncode}"
        seen = healthz(port)
        if seen is not None and until(*seen):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"/healthz never got there within {DEADLINE}s: {seen}")


class Served:
    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc, self.port = proc, port
        self.err = ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, self.err = self.proc.communicate(timeout=DEADLINE)
        return self.proc.returncode


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def run(api_url: str, **extra: str) -> Served:
        port = free_port()
        proc = subprocess.Popen([ROLLCALL, "serve"], cwd=tmp_path, text=True,
                                env=env_for(tmp_path, api_url, PORT=str(port), **extra),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        served = Served(proc, port)
        started.append(served)
        return served

    yield run
    for served in started:
        served.stop()


@pytest.fixture
def silent_slack() -> Iterator[str]:
    """A Slack that accepts connections and never answers (a hung network path)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections complete in the kernel's backlog; nothing is read
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/"
    sock.close()


def assert_one_quiet_start(err: str) -> None:
    assert "Traceback" not in err and "Worker failed to boot" not in err, err
    assert err.count("Could not check SLACK_BOT_TOKEN") == 1, err  # the master, once
    assert "`token` will be unused" not in err and "will be ignored" not in err, err


def test_a_revoked_token_serves_and_reports_it_in_healthz(start, fake: FakeSlack):
    fake.fail("auth.test", 200, {"ok": False, "error": "invalid_auth"}, times=1000)
    served = start(fake.api_url)
    status, body = poll_healthz(served.port, served.proc,
                                lambda status, body: "slack" in body)
    assert status == 200 and body["status"] == "ok"
    assert body["slack"].startswith("token not verified: Slack answered invalid_auth")
    # and it still answers Slack: the token is only unverified, requests carry it
    response, key = SlackSide(f"http://127.0.0.1:{served.port}", fake).command(
        "/users", "list", "U1")
    assert response.status == 200
    assert "rollcall init" in fake.wait_for("response", key)[0].params["text"]
    assert served.stop() == 0
    assert_one_quiet_start(served.err)
    line = next(x for x in served.err.splitlines() if "Could not check" in x)
    assert "invalid_auth" in line and "/healthz" in line
    assert "xoxb-revoked-or-unchecked" not in served.err


def test_a_slack_that_never_answers_does_not_stop_the_start(start, silent_slack):
    served = start(silent_slack)
    first = poll_healthz(served.port, served.proc, lambda status, body: True)
    assert first[0] == 200  # up while the first check still waits for Slack
    status, body = poll_healthz(served.port, served.proc,
                                lambda status, body: "slack" in body)
    assert status == 200 and body == {
        "status": "ok", "slack": "token not verified: Slack did not answer within 5 s"}
    assert served.stop() == 0
    assert_one_quiet_start(served.err)


def test_a_verified_token_and_full_settings_start_without_a_warning(start, fake):
    served = start(fake.api_url, ROLLCALL_BILLING_CHANNEL="C1",
                   ROLLCALL_APPROVALS_CHANNEL="C2", ROLLCALL_WEBHOOK_SECRET="w")
    fake.wait_for("auth.test", count=3)  # the master and both workers checked
    status, body = poll_healthz(served.port, served.proc, lambda status, body: True)
    assert (status, body) == (200, {"status": "ok"})
    assert served.stop() == 0
    assert "Traceback" not in served.err and "Could not check" not in served.err
    assert "not set" not in served.err and "will be unused" not in served.err


def test_each_configuration_gap_is_said_once_at_start(start, fake):
    served = start(fake.api_url)
    poll_healthz(served.port, served.proc, lambda status, body: True)
    assert served.stop() == 0
    for gap in ("ROLLCALL_BILLING_CHANNEL is not set", "ROLLCALL_APPROVALS_CHANNEL is not set",
                "ROLLCALL_WEBHOOK_SECRET is not set", "Rollcall is not initialised"):
        assert served.err.count(gap) == 1, (gap, served.err)


@pytest.mark.parametrize(("name", "value", "prefix"), [
    ("SLACK_BOT_TOKEN", "xoxp-a-user-token", "xoxb-"),
    ("SLACK_BOT_TOKEN", "the-signing-secret", "xoxb-"),
    ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "xapp-"),
])
def test_a_token_of_the_wrong_kind_stops_the_start_in_one_line(tmp_path, fake, name, value,
                                                                prefix):
    env = env_for(tmp_path, fake.api_url, PORT=str(free_port()), **{name: value})
    done = subprocess.run([ROLLCALL, "serve"], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=DEADLINE)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"rollcall: Setting {name} is malformed")
    assert f"must start with {prefix}" in done.stderr and value not in done.stderr
    assert not fake.called("auth.test")  # refused before anything called Slack


def test_the_check_retries_until_slack_confirms_the_token(bare_ctx, settings, fake,
                                                          monkeypatch):
    """In-process (the WSGI app as gunicorn's worker builds it), with a short first delay:
    Slack fails twice, then confirms; /healthz stops reporting once it has."""
    from bot.slack_api import TokenCheck
    from handlers.web import create_app
    from tests.slack.harness import get, serve

    monkeypatch.setattr(TokenCheck, "FIRST_DELAY", 1.0)  # a 3 s window to see it
    fake.fail("auth.test", 503, {"ok": False, "error": "service_unavailable"}, times=2)
    url, server = serve(create_app(settings, context=bare_ctx, announce_token=False))
    try:
        def body() -> dict[str, Any]:
            reply = get(url + "/healthz")
            assert reply.status == 200
            return reply.json()

        deadline = time.monotonic() + DEADLINE
        while "slack" not in body() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert body()["slack"] == "token not verified: Slack answered service_unavailable"
        while body() != {"status": "ok"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert body() == {"status": "ok"}
        assert len(fake.called("auth.test")) == 3  # failed, failed (after 1 s), ok (2 s)
    finally:
        server.shutdown()
        server.server_close()
