"""`rollcall serve` as an operator runs it: settings checked, gunicorn on a real port."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from handlers.cli import main
from tests.slack.harness import SECRET, SlackSide, get

ROLLCALL = str(Path(sys.executable).with_name("rollcall"))


def clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "ROLLCALL_", "DATABASE_URL", "PORT"))}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", **extra}


@pytest.mark.parametrize(("present", "missing"), [
    ({}, "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
])
def test_serve_names_the_missing_slack_settings(tmp_path, monkeypatch, capsys, present,
                                                missing):
    monkeypatch.chdir(tmp_path)  # no .env
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in present.items():
        monkeypatch.setenv(key, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert f"Missing {missing}." in err and "manifest.yml" in err
    assert "xoxb-1" not in err and "xapp-1" not in err


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_gunicorn_with_migrations_and_answers_slack(tmp_path, fake):
    port = free_port()
    env = clean_env(tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=fake.api_url, PORT=str(port))
    proc = subprocess.Popen([ROLLCALL, "serve"], cwd=tmp_path, env=env, text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        for line in proc.stderr:  # blocks until gunicorn reports a worker
            if "Booting worker" in line:
                break
        base = f"http://127.0.0.1:{port}"
        assert get(base + "/healthz").status == 200  # migrations ran: the schema is there
        response, key = SlackSide(base, fake).command("/users", "list", "U1")
        assert response.status == 200
        assert "rollcall init" in fake.wait_for("response", key)[0].params["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class RecordingSocketMode:
    """Stands in for Slack's websocket: records what serve() asked of it."""

    started: ClassVar[list] = []

    def __init__(self, app, app_token):
        self.app, self.app_token = app, app_token

    def start(self):
        RecordingSocketMode.started.append(self)


def test_serve_uses_socket_mode_when_an_app_token_is_set(tmp_path, fake, monkeypatch):
    import slack_bolt.adapter.socket_mode as socket_mode

    from bot.settings import Settings
    from handlers.serve import serve

    monkeypatch.setattr(socket_mode, "SocketModeHandler", RecordingSocketMode)
    serve(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", slack_bot_token="xoxb-t",
                   slack_app_token="xapp-t", slack_api_url=fake.api_url))
    handler = RecordingSocketMode.started[-1]
    assert handler.app_token == "xapp-t"
    assert fake.wait_for("auth.test")  # the token is checked (in the background) at SLACK_API_URL


@pytest.mark.parametrize(("setting", "embedded"), [("on", True), ("off", False)])
def test_serve_embeds_the_scheduler_unless_it_is_off(tmp_path, fake, monkeypatch, setting,
                                                     embedded):
    from bot.settings import Settings
    from handlers import scheduler, serve

    started = []
    monkeypatch.setattr(scheduler, "run_forever",
                        lambda ctx, client, blocking=True: started.append(blocking))
    monkeypatch.setattr(serve.Gunicorn, "run", lambda self: None)  # no real server here
    serve.serve(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                         slack_bot_token="xoxb-t", slack_signing_secret="s",
                         slack_api_url=fake.api_url, rollcall_scheduler=setting))
    assert started == ([False] if embedded else [])
