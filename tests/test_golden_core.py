"""Every golden scenario replayed through the CLI at its instants: each `rejected` step is
refused (exit 1) and changes nothing; every other step succeeds; the final state holds the
admin levels and active users of the last expected cycle; then every cycle is closed and
each expected invoice is matched exactly (cycle start, active users, admins, total).
"""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.golden import golden_files, load, settings_argv, step_action, step_argv
from tests.helpers import store_state


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_golden_steps_replay_through_the_cli(path, cli, clock, empty_ctx):
    scenario = load(path)
    first_admin = None
    for number, step in enumerate(scenario["steps"], 1):
        action, fields = step_action(step)
        first_admin = first_admin or fields.get("admin_email")
        clock.set(step["at"])
        before = store_state(empty_ctx) if step.get("rejected") else None
        result = cli(*step_argv(step, first_admin))
        if action == "init":
            configured = cli(*settings_argv(scenario["settings"], first_admin))
            assert configured.code == 0, configured.err
        if step.get("rejected"):
            assert result.code == 1, f"step {number} ({action}) should be refused: {result}"
            assert result.err.strip(), "a refusal says why"
            assert store_state(empty_ctx) == before, f"step {number} changed something"
        else:
            assert result.code == 0, f"step {number} ({action}) failed: {result.err}"

    last = scenario["expect"][-1]
    admins = json.loads(cli("admins", "list", "--json").out)
    assert {a["email"]: a["level"] for a in admins} == last["admins"]
    assert not any(a["pending"] for a in admins)
    users = json.loads(cli("users", "list", "--json", "--status", "active").out)
    assert len(users) == last["active_users"]

    zone = ZoneInfo(scenario["settings"]["timezone"])
    starts = [datetime.fromisoformat(str(e["cycle_start"])) for e in scenario["expect"]]
    clock.set(max(starts) + timedelta(days=70))  # every expected cycle has ended
    assert cli("billing", "close").code == 0
    for expected, start in zip(scenario["expect"], starts, strict=True):
        day = start.astimezone(zone).date().isoformat()
        result = cli("billing", "invoice", "--cycle", day, "--json")
        assert result.code == 0, result.err
        invoice = json.loads(result.out)
        assert datetime.fromisoformat(invoice["cycle_start"]) == start
        assert invoice["status"] == "final"
        assert invoice["active_users"] == expected["active_users"]
        assert invoice["admins"] == expected["admins"]
        assert invoice["total"] == str(expected["total"]), invoice["lines"]
        assert sum(Decimal(ln["amount"]) for ln in invoice["lines"]) == Decimal(invoice["total"])


def test_the_golden_scenarios_are_there():
    names = [p.name for p in golden_files()]
    assert "05-last-admin.yaml" in names and "06-assistant-scope.yaml" in names
