"""Loads `../shared/golden/*.yaml` (DESIGN section 10) and turns each step into the
`rollcall` command line that performs it. New files are picked up without code changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

# The shared scenarios beside the repository (../shared/golden) win; the copy under
# tests/data keeps a lone clone testable. ROLLCALL_GOLDEN_DIR overrides both.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "golden"
GOLDEN_DIR = Path(os.environ.get("ROLLCALL_GOLDEN_DIR") or (
    _SHARED if _SHARED.is_dir() else Path(__file__).parent / "data" / "golden"))
ACTIONS = ("init", "project", "add_user", "activate", "deactivate", "delete", "login",
           "set_admin", "remove_admin", "apply_now")


def golden_files() -> list[Path]:
    return sorted(GOLDEN_DIR.glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def step_action(step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [a for a in ACTIONS if a in step]
    assert len(found) == 1, f"a step has exactly one action: {step}"
    return found[0], step[found[0]]


def step_argv(step: dict[str, Any], first_admin: str | None) -> list[str]:
    """The CLI invocation of one step. A `project` step names no actor: the first SUPER
    (the organization's creator) adds it, as `projects add` needs one."""
    action, f = step_action(step)
    actor = ["--actor", f.get("actor") or first_admin or ""]
    if action == "init":
        return ["init", "--org-name", f["org_name"], "--admin-email", f["admin_email"],
                "--admin-first-name", f["admin_first_name"],
                "--admin-last-name", f["admin_last_name"]]
    if action == "project":
        return ["projects", "add", f["key"], f["name"], *actor]
    if action == "add_user":
        projects = [a for k in f.get("projects", []) for a in ("--project", k)]
        inactive = ["--inactive"] if f.get("active") is False else []
        return ["users", "add", "--email", f["email"], "--first-name", f["first_name"],
                "--last-name", f["last_name"], *projects, *inactive, *actor]
    if action in ("activate", "deactivate", "delete"):
        return ["users", action, f["email"], *actor]
    if action == "login":
        return ["users", "login", f["email"]]
    if action == "set_admin":
        projects = f.get("projects", "all")
        scope = projects if isinstance(projects, str) else ",".join(projects)
        return ["admins", "set", f["email"], f["level"], "--projects", scope, *actor]
    verb = {"remove_admin": "remove", "apply_now": "apply"}[action]
    return ["admins", verb, f["email"], *actor]


def settings_argv(settings: dict[str, Any], actor: str) -> list[str]:
    """`billing configure` for a scenario's settings."""
    argv = ["billing", "configure", "--timezone", settings["timezone"], "--cycle",
            settings["cycle"], "--anchor", str(settings["anchor"]), "--currency",
            settings["currency"], "--user-price", str(settings["user_price"]),
            "--user-policy", settings["user_policy"], "--actor", actor]
    for level, price in settings["admin_prices"].items():
        argv += ["--admin-price", f"{level}={price}"]
    return argv
