"""Replay the shared golden scenarios straight into the billing core.

A deliberately tiny replay (no permissions, rejected steps skipped) that turns steps into
each user's changes, to check the core's rules against every `expect` invoice; the
store-backed replay lives with the services.
"""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billing.cycles import CycleRule, cycle_containing
from billing.invoice import History, Terms, compute_invoice
from billing.model import Change, Level, State, Status

yaml = pytest.importorskip("yaml")
GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "golden"
SCENARIOS = sorted(GOLDEN.glob("*.yaml")) if GOLDEN.is_dir() else []


def replay(steps: list[dict]) -> dict[str, list[Change]]:
    """email -> changes, each the user's full state right after a step."""
    changes: dict[str, list[Change]] = defaultdict(list)
    names: dict[str, str] = {}
    for seq, step in enumerate(steps):
        if step.get("rejected"):
            continue
        at = datetime.fromisoformat(step["at"].replace("Z", "+00:00"))
        (action, fields), *_ = ((k, v) for k, v in step.items() if k != "at")
        email = fields.get("email") or fields.get("admin_email")
        if email is None:  # a project: no billing effect
            continue
        names[email] = " ".join(filter(None, [fields.get("first_name"), fields.get("last_name")]))
        now = changes[email][-1].state if changes[email] else None
        changes[email].append(Change(at, seq, _after(action, fields, now)))
    return changes


def _after(action: str, fields: dict, now: State | None) -> State:
    if action == "init":
        return State(Status.ACTIVE, Level.SUPER, Level.SUPER)
    if action == "add_user":
        return State(Status.PENDING if fields.get("inactive") else Status.ACTIVE)
    assert now is not None, action
    status = {"activate": Status.ACTIVE, "deactivate": Status.DEACTIVATED, "delete": Status.DELETED}
    if action in status:
        return State(status[action], now.assigned, now.effective)
    if action == "set_admin":
        return State(now.status, Level.parse(fields["level"]), now.effective)
    if action == "remove_admin":
        return State(now.status, Level.NONE, now.effective)
    assert action in {"login", "apply_now"}, action
    return State(now.status, now.assigned, now.assigned)


@pytest.mark.skipif(not SCENARIOS, reason="no golden scenarios next to the repository")
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_golden_scenario(path):
    scenario = yaml.safe_load(path.read_text())
    settings = scenario["settings"]
    anchor = settings["anchor"]
    anchor = anchor if isinstance(anchor, date) else date.fromisoformat(anchor)
    rule = CycleRule(settings["timezone"], settings["cycle"], anchor)
    terms = Terms(
        settings["currency"],
        Decimal(settings["user_price"]),
        {level: Decimal(price) for level, price in settings["admin_prices"].items()},
        settings["user_policy"],
        settings["timezone"],
    )
    changes = replay(scenario["steps"])
    for expected in scenario["expect"]:
        cycle = cycle_containing(rule, datetime.fromisoformat(expected["cycle_start"]))
        assert cycle.start == datetime.fromisoformat(expected["cycle_start"])
        histories = [
            History(email, email, None, [c for c in user_changes if c.at < cycle.end])
            for email, user_changes in changes.items()
        ]
        invoice = compute_invoice(cycle, terms, histories)
        got = {
            "active_users": invoice.active_users,
            "admins": {email: level.label for email, level in invoice.admins.items()},
            "total": str(invoice.total),
        }
        want = {key: expected[key] for key in ("active_users", "admins", "total")}
        assert got == want, expected["cycle_start"]
