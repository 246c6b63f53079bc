"""The permission matrix on the command line: every command that changes something (and
the reads that take --actor) x every actor x a target in and out of scope. The expected
outcome comes from `tests/permission_table.py`, written from DESIGN section 1.

Each case runs `rollcall ...` in-process on its own copy of one prepared SQLite database,
so cases are independent and the whole matrix takes seconds. (The rules are Python over
the store's values; the PostgreSQL behaviour of the same services is covered by the
store and concurrency tests.)
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap, upgrade_schema
from bot.services import Via
from bot.services.scheduled import schedule_change
from bot.settings import Settings
from handlers.cli import main
from tests.conftest import HASHER
from tests.fakes import FixedClock
from tests.helpers import store_state
from tests.permission_table import ACTORS, Kind, Outcome, Who, expected

SAM = "sam@example.com"
NOW = "2025-02-10T09:00:00Z"


def target(kind: str, where: str) -> str:
    """The prepared user of each kind, in alpha ("in") or beta ("out")."""
    return f"{kind}-{where}@example.com"


def prepare(path: Path) -> None:
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=FixedClock(NOW),
                    hasher=HASHER)
    upgrade_schema(ctx)
    services.init_organization(ctx, org_name="Acme", admin_email=SAM,
                               admin_first_name="Sam", admin_last_name="Stone")
    cli = Via.CLI
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=cli, key=key, name=key.title())

    def add(email: str, project: str, *, active: bool = True) -> None:
        services.create_user(ctx, actor=SAM, via=cli, email=email, first_name=email[:3].title(),
                             last_name="Test", projects=[project], active=active)

    def grant(email: str, level: Level, projects: list[str] | None, *, apply: bool = True
              ) -> None:
        services.set_admin(ctx, actor=SAM, via=cli, email=email, level=level, projects=projects)
        if apply:
            services.login(ctx, via=cli, email=email)

    for who in ACTORS:
        if who.is_user and who.email != SAM:
            add(who.email, "alpha")
            if who.level:
                grant(who.email, Level.parse(who.level),
                      None if who.all_projects else ["alpha"])
    for where, project in (("in", "alpha"), ("out", "beta")):
        add(target("pending", where), project, active=False)
        add(target("active", where), project)
        add(target("admin", where), project)
        grant(target("admin", where), Level.VIEW_ONLY, [project])
        add(target("unapplied", where), project)
        grant(target("unapplied", where), Level.VIEW_ONLY, [project], apply=False)
        add(target("scheduled", where), project)
        schedule_change(ctx, actor=SAM, via=cli, email=target("scheduled", where),
                        level=Level.VIEW_ONLY, projects=[project])
    ctx.uow.engine.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("matrix") / "template.db"
    prepare(path)
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Action:
    name: str
    kind: Kind
    argv: Callable[[Who, str], list[str]]  # (actor, where) -> the command
    changed: Callable[[dict, dict, str], bool] | None = None  # (before, after, where)


def _user(state: dict, email: str) -> tuple | None:
    return next((u for u in state["users"] if u[1] == email), None)


def _status(email_kind: str, status: str) -> Callable[[dict, dict, str], bool]:
    def changed(before: dict, after: dict, where: str) -> bool:
        return _user(after, target(email_kind, where))[4] == status

    return changed


def _grant_of(state: dict, email: str) -> tuple | None:
    user = _user(state, email)
    return next((g for g in state["grants"] if user and g[0] == user[0]), None)


def _granted(before: dict, after: dict, where: str) -> bool:
    grant = _grant_of(after, target("active", where))
    return grant is not None and grant[1] == "view-only"


def _removed(before: dict, after: dict, where: str) -> bool:
    grant = _grant_of(after, target("admin", where))
    return grant is None or grant[1] is None


def _applied(before: dict, after: dict, where: str) -> bool:
    grant = _grant_of(after, target("unapplied", where))
    return grant is not None and grant[2] == "view-only"


def _created(before: dict, after: dict, where: str) -> bool:
    return _user(after, f"new-{where}@example.com") is not None


def _csv(where: str, tmp: Path) -> str:
    path = tmp / f"import-{where}.csv"
    project = "alpha" if where == "in" else "beta"
    path.write_text(f"email,first_name,last_name,projects\nnew-{where}@example.com,New,"
                    f"Person,{project}\n", encoding="utf-8")
    return str(path)


def _update_csv(where: str, tmp: Path) -> str:
    """The prepared active user, as an export shows them, now deactivated."""
    path = tmp / f"update-{where}.csv"
    path.write_text(f"email,first_name,last_name,status,projects\n{target('active', where)},"
                    f"Act,Test,deactivated,{_project(where)}\n", encoding="utf-8")
    return str(path)


IMPORTS = {
    "users import": lambda where, tmp: ["users", "import", _csv(where, tmp)],
    "users import --update": lambda where, tmp: ["users", "import", _update_csv(where, tmp),
                                                 "--update"],
}


def _project(where: str) -> str:
    return "alpha" if where == "in" else "beta"


MANAGE, ADMIN, ORG, SEE = Kind.MANAGE, Kind.ADMIN, Kind.ORG, Kind.SEE
ACTIONS = [
    Action("users add", MANAGE, lambda a, w: [
        "users", "add", "--email", f"new-{w}@example.com", "--first-name", "New",
        "--last-name", "Person", "--project", _project(w)], _created),
    Action("users add --inactive", MANAGE, lambda a, w: [
        "users", "add", "--email", f"new-{w}@example.com", "--first-name", "New",
        "--last-name", "Person", "--project", _project(w), "--inactive"], _created),
    Action("users activate", MANAGE, lambda a, w: [
        "users", "activate", target("pending", w)], _status("pending", "active")),
    Action("users deactivate", MANAGE, lambda a, w: [
        "users", "deactivate", target("active", w)], _status("active", "deactivated")),
    Action("users delete", MANAGE, lambda a, w: [
        "users", "delete", target("active", w)], _status("active", "deleted")),
    Action("users deactivate --remove-admin", ADMIN, lambda a, w: [
        "users", "deactivate", target("admin", w), "--remove-admin"],
        _status("admin", "deactivated")),
    Action("users delete --remove-admin", ADMIN, lambda a, w: [
        "users", "delete", target("admin", w), "--remove-admin"], _status("admin", "deleted")),
    # the grant is over alpha either way: "out" is a user outside the actor's scope being
    # given a role inside it (finding 3 of the security review)
    Action("admins set", ADMIN, lambda a, w: [
        "admins", "set", target("active", w), "view-only", "--projects", "alpha"], _granted),
    Action("admins set --at-cycle-end", Kind.SUPER_ONLY, lambda a, w: [
        "admins", "set", target("active", w), "view-only", "--projects", "alpha",
        "--at-cycle-end"], None),
    Action("admins remove", ADMIN, lambda a, w: [
        "admins", "remove", target("admin", w)], _removed),
    Action("admins apply", Kind.SUPER_ONLY, lambda a, w: [
        "admins", "apply", target("unapplied", w)], _applied),
    Action("admins cancel", Kind.SUPER_ONLY, lambda a, w: [
        "admins", "cancel", target("scheduled", w)], lambda b, a, w: a["scheduled"] != b[
            "scheduled"]),
    Action("projects add", ORG, lambda a, w: ["projects", "add", "gamma", "Gamma"], None),
    Action("billing configure", ORG, lambda a, w: ["billing", "configure", "--currency",
                                                   "EUR"], None),
    Action("approvals policy", ORG, lambda a, w: ["approvals", "policy", "--expiry-hours",
                                                  "48"], None),
    # the identity provider acts as the token's creator (DESIGN section 10)
    Action("scim token create", ORG, lambda a, w: ["scim", "token", "create", "--name",
                                                   "okta"],
           lambda b, a, w: [name for name, _ in a["scim_tokens"]] == ["okta"]),
    # argv built with the case's folder (IMPORTS)
    Action("users import", MANAGE, None, _created),
    Action("users import --update", MANAGE, None, _status("active", "deactivated")),
]
READS = [
    Action("users list", SEE, lambda a, w: ["users", "list", "--json"]),
    Action("users export", SEE, lambda a, w: ["users", "export"]),
    Action("admins list", SEE, lambda a, w: ["admins", "list", "--json"]),
]
UNTARGETED = {"projects add", "billing configure", "approvals policy",
              "scim token create"}


def cases(actions: list[Action]) -> list:
    out = []
    for action in actions:
        wheres = ("in",) if action.name in UNTARGETED else ("in", "out")
        for who in ACTORS:
            for where in wheres:
                out.append(pytest.param(action, who, where,
                                        id=f"{who.key}-{where}-{action.name}"))
    return out


def run(db: Path, argv: list[str]) -> tuple[Run, object]:
    ctx = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=FixedClock(NOW),
                    hasher=HASHER)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, context=ctx, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return Run(code, out.getvalue(), err.getvalue()), ctx


def copy_of(template: Path, tmp_path: Path) -> Path:
    db = tmp_path / "case.db"
    with sqlite3.connect(template) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    return db


@pytest.mark.parametrize(("action", "who", "where"), cases(ACTIONS))
def test_every_change_on_the_command_line(template, tmp_path, action, who, where):
    db = copy_of(template, tmp_path)
    ctx = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=FixedClock(NOW),
                    hasher=HASHER)
    before = store_state(ctx)
    argv = (action.argv(who, where) if action.argv
            else IMPORTS[action.name](where, tmp_path))
    result, ran = run(db, [*argv, "--actor", who.email])
    after = store_state(ctx)
    want = expected(who, action.kind, where == "in", slack=False)
    got = Outcome.OK if result.code == 0 else Outcome.REFUSED
    assert got is want, (f"{who.key} `{' '.join(argv)}` on a target {where} of scope: "
                         f"expected {want}, got {got}: {result}")
    assert "Traceback" not in result.err
    if got is Outcome.REFUSED:
        reasons = [ln for ln in result.err.splitlines() if not ln.startswith("Importing: ")]
        assert result.code == 1 and reasons[0].startswith("rollcall: "), result.err
        assert after == before, "a refused command changed something"
    elif action.changed is not None:
        assert action.changed(before, after, where), f"{action.name} did not take effect"
    ctx.uow.engine.dispose()
    ran.uow.engine.dispose()


@pytest.mark.parametrize(("action", "who", "where"), cases(READS))
def test_every_read_on_the_command_line_shows_only_the_scope(template, tmp_path, action,
                                                              who, where):
    result, ran = run(template, [*action.argv(who, where), "--actor", who.email])
    want = expected(who, action.kind, where == "in", slack=False)
    if action.name == "admins list":
        shown = target("admin", where) in result.out
    else:
        shown = target("active", where) in result.out
    got = Outcome.OK if result.code == 0 and shown else Outcome.REFUSED
    assert got is want, (f"{who.key} {action.name}: a target {where} of scope should be "
                         f"{'shown' if want is Outcome.OK else 'hidden'}: {result}")
    assert "Traceback" not in result.err
    ran.uow.engine.dispose()
