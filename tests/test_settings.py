"""Configuration: a bad setting stops start-up with one line naming it."""

import pytest

from bot.settings import SettingsError, load_settings
from handlers.cli import main


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DATABASE_URL", "PORT", "ROLLCALL_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///rollcall.db"
    assert settings.port == 3000 and settings.rollcall_scheduler == "on"


@pytest.mark.parametrize(("name", "value"), [
    ("PORT", "abc"), ("PORT", "70000"), ("DATABASE_URL", "mysql://x/y"),
    ("ROLLCALL_SCHEDULER", "sometimes"), ("SLACK_API_URL", "not a url"),
])
def test_a_malformed_setting_is_named_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"Setting {name} is malformed") and "\n" not in message


def test_secrets_never_show_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    assert "very-secret" not in repr(load_settings())


def test_the_cli_stops_on_a_bad_setting_with_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "mysql://x/y")
    assert main(["users", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rollcall: Setting DATABASE_URL is malformed") and "\n" not in err


def test_an_unreachable_database_is_reported_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["users", "list"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and "Traceback" not in err
