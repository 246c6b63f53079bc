"""manifest.yml validates against Slack's published schema and declares exactly what the
code handles: every command and event declared is answered by the app, and vice versa."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from handlers.slack import files, home
from handlers.slack.commands import COMMANDS
from tests.slack.conftest import SAM

ROOT = Path(__file__).resolve().parents[2]
_SHARED = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"
SCHEMA = Path(os.environ.get("ROLLCALL_MANIFEST_SCHEMA") or (
    _SHARED if _SHARED.is_file() else ROOT / "tests" / "data" / "slack" /
    "manifest.schema.1.0.0.json"))


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_the_manifest_validates_against_slacks_schema(manifest):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema, cls=jsonschema.Draft7Validator)


def test_a_broken_manifest_is_caught(manifest):
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "features": {**manifest["features"], "slash_comands": []}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_declared_commands_and_events_are_exactly_those_handled(manifest):
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == set(COMMANDS)
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        *home.EVENTS, *files.EVENTS}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # a CSV file shared in the DM is an import: people must be able to write there
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_every_declared_command_is_answered_and_nothing_else(manifest, org, slack, fake):
    for entry in manifest["features"]["slash_commands"]:
        response, key = slack.command(entry["command"], "help", SAM)
        assert response.status == 200
        assert "Usage:" in fake.wait_for("response", key)[0].params["text"]
    unknown, _ = slack.command("/frobnicate", "help", SAM)
    assert unknown.status == 404  # Bolt answers 404 when no listener matched


def test_the_least_scopes(manifest):
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "users:read", "users:read.email",
        "files:read", "im:history",  # the CSV import from the DM: files.info, message.im
        "files:write",  # cycle summaries' chart and CSV, /billing history's chart
        "im:write"}  # conversations.open: /billing history's chart in the asker's DM
