"""The permission matrix over real signed HTTP, from Slack's side: every Slack command,
button and form that changes something (or opens a form) x every actor of
`tests/permission_table.py` x a target in scope (a member of alpha) and out of scope (a
member of beta only).

The expected outcome comes from the table (DESIGN section 1), never from the code. The
actual outcome is read from the store: OK = the target changed as the action says (or the
form opened), REQUEST = a new approval request about the target and the target unchanged,
REFUSED = nothing changed, no request, and the person was told why in a sentence.

One server and one database for the module; every case makes fresh targets, so the cases
do not depend on each other or on their order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap, upgrade_schema
from bot.services import Context, Via
from bot.services import approvals as approval_service
from bot.services import billing as billing_service
from bot.services.billing import configure_billing
from bot.services.context import Channels
from bot.services.queries import project_keys
from bot.settings import Settings
from bot.validation import email_key
from handlers.slack import views
from handlers.slack.support import OOPS
from handlers.web import create_app
from store.models import ApprovalRequest, ScheduledChange, User
from tests.conftest import HASHER
from tests.fakes import FixedClock
from tests.permission_table import ACTORS, Kind, Outcome, Who, expected
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.harness import SECRET, SlackSide, serve

SAM = "sam@example.com"  # the SUPER over all projects who sets every case up
ANN = "ann@example.com"  # an ASSISTANT over beta: asks for changes about "out" targets
PAT = "pat@example.com"  # the ASSISTANT over alpha: asks for changes about "in" targets
NOT_A_USER = "not a Rollcall user"
WAIT = 15  # seconds; only reached when an answer never comes


# --- the world: one org, one server, one fake Slack for the module --------------------


@dataclass
class World:
    ctx: Context
    fake: FakeSlack
    slack: SlackSide
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def fresh_email(self) -> str:
        return f"t{next(self.serial)}@example.com"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    fake = FakeSlack(users={who.slack_id: who.email for who in ACTORS} | {"U0ANN": ANN})
    db = Path(tmp_path_factory.mktemp("matrix")) / "matrix.db"
    settings = Settings(database_url=f"sqlite:///{db}", slack_bot_token="xoxb-test",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    ctx = bootstrap(settings, clock=FixedClock("2025-02-10T00:00:00Z"), hasher=HASHER)
    upgrade_schema(ctx)
    ctx.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    _organization(ctx)
    url, server = serve(create_app(settings, context=ctx))
    try:
        yield World(ctx, fake, SlackSide(url, fake))
    finally:
        server.shutdown()
        server.server_close()
        fake.close()
        ctx.uow.engine.dispose()


def _organization(ctx: Context) -> None:
    """Sam SUPER over all; Sue SUPER over alpha; Pat ASSISTANT over alpha; Vic VIEW ONLY
    over all; Lee a plain user (all members of alpha); Ann ASSISTANT over beta (member of
    beta). Every grant applied by a login."""
    services.init_organization(ctx, org_name="Acme", admin_email=SAM,
                               admin_first_name="Sam", admin_last_name="Stone")
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=Via.CLI, key=key, name=key.title())
    grants = {"sue@example.com": (Level.SUPER, ["alpha"]),
              PAT: (Level.ASSISTANT, ["alpha"]),
              "vic@example.com": (Level.VIEW_ONLY, None),
              "lee@example.com": None}
    for email, grant in grants.items():
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email,
                             first_name=email.split("@")[0].title(), last_name="Test",
                             projects=["alpha"])
        if grant is not None:
            services.set_admin(ctx, actor=SAM, via=Via.CLI, email=email, level=grant[0],
                               projects=grant[1])
            services.login(ctx, via=Via.CLI, email=email)
    services.create_user(ctx, actor=SAM, via=Via.CLI, email=ANN, first_name="Ann",
                         last_name="Test", projects=["beta"])
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email=ANN, level=Level.ASSISTANT,
                       projects=["beta"])
    services.login(ctx, via=Via.CLI, email=ANN)
    configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1),
                      user_price="10", admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30",
                                                     Level.VIEW_ONLY: "5"})


# --- targets: made fresh for each case, in the state the action needs ------------------


@dataclass(frozen=True)
class Target:
    email: str
    project: str
    request: int | None = None  # a pending approval request about the target


def _user(w: World, project: str, *, active: bool = True) -> str:
    email = w.fresh_email()
    services.create_user(w.ctx, actor=SAM, via=Via.CLI, email=email, first_name="Tess",
                         last_name="Target", active=active, projects=[project])
    return email


def make_target(w: World, need: str, project: str) -> Target:
    if need == "new":  # a user the form is about to create
        return Target(w.fresh_email(), project)
    if need == "pending":
        return Target(_user(w, project, active=False), project)
    email = _user(w, project)
    if need in ("admin", "pending_admin"):
        services.set_admin(w.ctx, actor=SAM, via=Via.CLI, email=email,
                           level=Level.VIEW_ONLY, projects=[project])
        if need == "admin":
            services.login(w.ctx, via=Via.CLI, email=email)
    if need == "request":
        requested = approval_service.request_admin_change(
            w.ctx, actor=PAT if project == "alpha" else ANN, via=Via.SLACK, email=email,
            level=Level.VIEW_ONLY, projects=[project])
        return Target(email, project, requested.id)
    return Target(email, project)


# --- what the store says ----------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    user: tuple[Any, ...] | None  # status, assigned level, effective level, scope
    requests: dict[int, str]  # approval requests about the target: id -> status
    scheduled: int  # pending scheduled changes of the target
    currency: str


def observe(w: World, target: Target | None) -> Seen:
    currency = billing_service.current_settings(w.ctx, actor=SAM)["currency"]
    if target is None:
        return Seen(None, {}, 0, currency)
    with Session(w.ctx.uow.engine) as session:
        user = session.scalars(select(User).where(User.email_key == email_key(target.email))
                               .order_by(User.id.desc()).limit(1)).first()
        state, scheduled = None, 0
        if user is not None:
            grant = user.grant
            state = (user.status, tuple(p.key for p in user.projects),
                     grant and grant.level, grant and grant.effective_level,
                     grant and ("all" if grant.all_projects else
                                tuple(p.key for p in grant.scope)))
            scheduled = len(session.scalars(select(ScheduledChange).where(
                ScheduledChange.user_id == user.id,
                ScheduledChange.status == "pending")).all())
        requests = {r.id: r.status for r in session.scalars(select(ApprovalRequest))
                    if str((r.change or {}).get("email", "")).lower() == target.email}
    return Seen(state, requests, scheduled, currency)


# --- what Slack sees ------------------------------------------------------------------


@dataclass
class Answer:
    text: str  # the sentence the person reads (reply text, errors, the modal's page)
    opened: bool = False  # a modal was opened for this request (views.open)
    payload: Any = None  # the response_url reply or the view_submission answer


def _calls_for(fake: FakeSlack, key: str) -> list[Call]:
    return [c for c in fake.calls
            if (c.method == "response" and c.params.get("_key") == key)
            or (c.method == "views.open" and c.params.get("trigger_id") == f"trigger-{key}")]


def answer_for(fake: FakeSlack, key: str, *, response: bool) -> Answer:
    """Wait for the response_url reply of `key` (or, with `response` False, for that or a
    modal opened with its trigger), on the fake's condition variable."""
    def ready() -> bool:
        calls = _calls_for(fake, key)
        return any(c.method == "response" for c in calls) or (not response and bool(calls))

    with fake._changed:
        if not fake._changed.wait_for(ready, timeout=WAIT):
            raise AssertionError(f"no answer to request {key} within {WAIT}s")
        calls = _calls_for(fake, key)
    opened = any(c.method == "views.open" for c in calls)
    reply = next((c.params for c in calls if c.method == "response"), None)
    return Answer((reply or {}).get("text") or "", opened, reply)


def form_answer(status: int, body: str) -> Answer:
    assert status == 200, f"view_submission answered HTTP {status}: {body[:300]}"
    if not body.strip():
        return Answer("", payload={})
    data = json.loads(body)
    if data.get("response_action") == "errors":
        return Answer(" ".join(map(str, data.get("errors", {}).values())), payload=data)
    texts = [b["text"]["text"] for b in (data.get("view") or {}).get("blocks", [])
             if isinstance(b.get("text"), dict)]
    return Answer(" ".join(texts), payload=data)


# --- the actions ------------------------------------------------------------------------

Send = Callable[[World, Who, Target | None], Answer]
Did = Callable[[Seen, Seen, Answer, Target | None], bool]


@dataclass(frozen=True)
class Action:
    name: str
    kind: Kind
    need: str | None  # the target's state (make_target), None: no target
    send: Send
    did: Did  # the action's own effect, as the store (or Slack) shows it
    opens_form: bool = False  # OK means "the form opened" (REQUEST too: see user_make_admin)


def command(name: str, text: str, *, response: bool = True) -> Send:
    def send(w: World, who: Who, t: Target | None) -> Answer:
        words = text.format(t=t.email if t else "", p=t.project if t else "")
        reply, key = w.slack.command(name, words, who.slack_id)
        assert reply.status == 200, f"{name} {words}: HTTP {reply.status} {reply.body[:300]}"
        return answer_for(w.fake, key, response=response)

    return send


def button(action_id: str, value: Callable[[Target], str]) -> Send:
    def send(w: World, who: Who, t: Target | None) -> Answer:
        assert t is not None
        reply, key = w.slack.click(who.slack_id, action_id, value(t))
        assert reply.status == 200, f"{action_id}: HTTP {reply.status} {reply.body[:300]}"
        return answer_for(w.fake, key, response=False)

    return send


def import_button(w: World, who: Who, t: Target | None) -> Answer:
    """Import, clicked on the dry run of a CSV file shared in the DM: one row, the target,
    in the target's project (the file is in the fake's registry, as Slack would hold it)."""
    assert t is not None
    data = (f"email,first_name,last_name,projects\n{t.email},Nia,New,{t.project}\n"
            ).encode()
    file_id = f"F{t.email.split('@')[0].upper()}"
    w.fake.add_file(file_id, "people.csv", data)
    value = json.dumps({"file": file_id, "sha256": hashlib.sha256(data).hexdigest()})
    reply, key = w.slack.click(who.slack_id, "import_run", value)
    assert reply.status == 200, f"import_run: HTTP {reply.status} {reply.body[:300]}"
    return answer_for(w.fake, key, response=True)


def change_value(t: Target) -> str:
    return json.dumps({"email": t.email, "level": "view-only", "projects": [t.project]})


def _text(kind: str, value: str) -> dict[str, Any]:
    return {"type": kind, "value": value}


def submit_user_new(w: World, who: Who, t: Target | None) -> Answer:
    assert t is not None
    view = views.new_user(project_keys(w.ctx), None, {}, "")
    options = [{"value": "random_password"}, {"value": "active"}]
    reply = w.slack.submit(who.slack_id, view, {
        "first_name": _text("plain_text_input", "Nia"),
        "last_name": _text("plain_text_input", "New"),
        "email": _text("plain_text_input", t.email),
        "options": {"type": "checkboxes", "selected_options": options},
        "admin_level": {"type": "static_select", "selected_option": {"value": "none"}},
        "projects": {"type": "multi_static_select",
                     "selected_options": [{"value": t.project}]}})
    return form_answer(reply.status, reply.body)


def submit_admin_make(w: World, who: Who, t: Target | None) -> Answer:
    assert t is not None
    view = views.make_admin(t.email, "Tess Target", project_keys(w.ctx), {})
    reply = w.slack.submit(who.slack_id, view, {
        "admin_level": {"type": "static_select", "selected_option": {"value": "view-only"}},
        "projects": {"type": "multi_static_select",
                     "selected_options": [{"value": t.project}]}})
    return form_answer(reply.status, reply.body)


def submit_admin_make_confirm(w: World, who: Who, t: Target | None) -> Answer:
    assert t is not None
    view = views.confirm_change("The cost hint.", json.loads(change_value(t)))
    reply = w.slack.submit(who.slack_id, view, {})
    return form_answer(reply.status, reply.body)


def submit_deny(w: World, who: Who, t: Target | None) -> Answer:
    assert t is not None and t.request is not None
    reply = w.slack.submit(who.slack_id, views.deny_reason(t.request),
                           {"reason": _text("plain_text_input", "no")})
    return form_answer(reply.status, reply.body)


def submit_billing_settings(w: World, who: Who, t: Target | None) -> Answer:
    current = billing_service.current_settings(w.ctx, actor=SAM)
    view = views.billing_settings(current, {"current": current})
    values: dict[str, Any] = {
        k: _text("plain_text_input", current[k])
        for k in ("timezone", "user_price", "super_price", "assistant_price",
                  "view_only_price")}
    values["currency"] = _text("plain_text_input",
                               "EUR" if current["currency"] != "EUR" else "GBP")
    values["anchor"] = {"type": "datepicker", "selected_date": current["anchor"]}
    for select_id in ("cycle", "user_policy"):
        values[select_id] = {"type": "static_select",
                             "selected_option": {"value": current[select_id]}}
    reply = w.slack.submit(who.slack_id, view, values)
    return form_answer(reply.status, reply.body)


# what each action does to the target when it is allowed


def status_is(status: str) -> Did:
    return lambda before, after, answer, t: after.user is not None and after.user[0] == status


def role_removed(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return after.user is not None and after.user[2] is None  # the assigned level is gone


def role_applied(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return after.user is not None and after.user[2:4] == ("view-only", "view-only")


def role_given(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return (t is not None and after.user is not None
            and after.user[2] == "view-only" and after.user[4] == (t.project,))


def removed_and(status: str) -> Did:
    return lambda b, a, answer, t: a.user is not None and a.user[0] == status and a.user[2] is None


def hint_offered(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    """`/admins set`: the cost hint with Confirm; nothing changes yet."""
    buttons = [e.get("action_id") for b in (answer.payload or {}).get("blocks", [])
               if b.get("type") == "actions" for e in b.get("elements", [])]
    return "admin_set_confirm" in buttons and after == before


def scheduled(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return after.scheduled > before.scheduled


def form_opened(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return answer.opened


def confirm_step(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    """Make admin, step one: the confirm page with the cost hint; nothing changes yet."""
    view = (answer.payload or {}).get("view") or {}
    return view.get("callback_id") == "admin_make_confirm" and after == before


def request_is(status: str) -> Did:
    return lambda b, a, answer, t: t is not None and a.requests.get(t.request) == status


def approved(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return request_is("approved")(before, after, answer, t) and role_given(
        before, after, answer, t)


def created(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return (t is not None and after.user is not None and after.user[0] == "active"
            and after.user[1] == (t.project,))


def currency_changed(before: Seen, after: Seen, answer: Answer, t: Target | None) -> bool:
    return after.currency != before.currency


def email(t: Target) -> str:
    return t.email


def request_id(t: Target) -> str:
    return str(t.request)


ACTIONS = (
    # slash commands
    Action("cmd_users_activate", Kind.MANAGE, "pending",
           command("/users", "activate {t}"), status_is("active")),
    Action("cmd_users_deactivate", Kind.MANAGE, "active",
           command("/users", "deactivate {t}"), status_is("deactivated")),
    Action("cmd_admins_remove", Kind.ADMIN, "admin",
           command("/admins", "remove {t}"), role_removed),
    Action("cmd_admins_apply", Kind.SUPER_ONLY, "pending_admin",
           command("/admins", "apply {t}"), role_applied),
    Action("cmd_admins_set", Kind.ADMIN, "active",
           command("/admins", "set {t} view-only {p}"), hint_offered),
    Action("cmd_users_new", Kind.MANAGE, None, command("/users", "new"), form_opened,
           opens_form=True),
    Action("cmd_billing_settings", Kind.ORG, None, command("/billing", "settings"),
           form_opened, opens_form=True),
    # buttons
    Action("user_activate", Kind.MANAGE, "pending", button("user_activate", email),
           status_is("active")),
    Action("user_deactivate", Kind.MANAGE, "active", button("user_deactivate", email),
           status_is("deactivated")),
    Action("user_delete", Kind.MANAGE, "active", button("user_delete", email),
           status_is("deleted")),
    Action("pending_activate", Kind.MANAGE, "pending", button("pending_activate", email),
           status_is("active")),
    Action("pending_deactivate", Kind.MANAGE, "pending", button("pending_deactivate", email),
           status_is("deactivated")),
    Action("user_remove_admin_and_deactivate", Kind.ADMIN, "admin",
           button("user_remove_admin_and_deactivate", email), removed_and("deactivated")),
    Action("user_remove_admin_and_delete", Kind.ADMIN, "admin",
           button("user_remove_admin_and_delete", email), removed_and("deleted")),
    Action("admin_set_confirm", Kind.ADMIN, "active",
           button("admin_set_confirm", change_value), role_given),
    Action("admin_schedule", Kind.SUPER_ONLY, "active",
           button("admin_schedule", change_value), scheduled),
    Action("user_make_admin", Kind.ADMIN, "active", button("user_make_admin", email),
           form_opened, opens_form=True),
    Action("approval_approve", Kind.APPROVE, "request",
           button("approval_approve", request_id), approved),
    Action("approval_deny", Kind.APPROVE, "request",
           button("approval_deny", request_id), form_opened, opens_form=True),
    Action("import_run", Kind.MANAGE, "new", import_button, created),
    # forms (view_submission)
    Action("form_user_new", Kind.MANAGE, "new", submit_user_new, created),
    Action("form_admin_make", Kind.ADMIN, "active", submit_admin_make, confirm_step),
    Action("form_admin_make_confirm", Kind.ADMIN, "active", submit_admin_make_confirm,
           role_given),
    Action("form_approval_deny", Kind.APPROVE, "request", submit_deny, request_is("denied")),
    Action("form_billing_settings", Kind.ORG, None, submit_billing_settings,
           currency_changed),
)


def _cases() -> list[Any]:
    cases = []
    for who in ACTORS:
        for action in ACTIONS:
            for target_in in ((True,) if action.need is None else (True, False)):
                where = "in" if target_in else "out"
                cases.append(pytest.param(who, action, target_in,
                                          id=f"{who.key}-{where}-{action.name}"))
    return cases


def classify(action: Action, before: Seen, after: Seen, answer: Answer, who: Who,
             target: Target | None) -> str:
    """The outcome the store and the reply show, or a description of anything else."""
    if action.did(before, after, answer, target):
        return Outcome.OK
    new_requests = set(after.requests) - set(before.requests)
    unchanged = (after.user == before.user and after.scheduled == before.scheduled
                 and after.currency == before.currency and not answer.opened)
    if new_requests and unchanged:
        return Outcome.REQUEST
    if unchanged and not new_requests and after.requests == before.requests:
        sentence = answer.text.strip()
        if not sentence:
            return "refused without a sentence (nothing told the person why)"
        if "Traceback" in sentence or sentence == OOPS:
            return f"failed (not a refusal): {sentence[:200]!r}"
        if not who.is_user and NOT_A_USER not in sentence:
            return f"refused, but without saying {NOT_A_USER!r}"
        return Outcome.REFUSED
    return (f"something else: user {before.user} -> {after.user}, requests "
            f"{before.requests} -> {after.requests}, scheduled {before.scheduled} -> "
            f"{after.scheduled}, currency {before.currency} -> {after.currency}, "
            f"form opened {answer.opened}")


@pytest.mark.parametrize(("who", "action", "target_in"), _cases())
def test_permission_matrix(world: World, who: Who, action: Action, target_in: bool) -> None:
    project = "alpha" if target_in else "beta"
    target = make_target(world, action.need, project) if action.need else None
    want = expected(who, action.kind, target_in, slack=True)
    if action.opens_form and want is Outcome.REQUEST:
        want = Outcome.OK  # the form opens; the assistant's submission becomes the request
    before = observe(world, target)
    answer = action.send(world, who, target)
    after = observe(world, target)
    got = classify(action, before, after, answer, who, target)
    assert got == want, (
        f"{who.key} ({who.email}) -> {action.name} ({action.kind}) on "
        f"{target.email + ' in ' + project if target else 'no target'}: expected "
        f"{want}, got {got}. The reply: {answer.text[:400]!r}")
