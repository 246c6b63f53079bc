"""User-supplied text never reaches Slack as markup (security review, issue 9, item 4).

Every Block Kit builder (replies, modals, App Home, channel posts) is rendered with a hostile
string in every user-supplied field. In what Slack parses as mrkdwn (mrkdwn text objects
and a message's top-level `text`) there is no raw `<` or `>`, and every `&` starts
`&amp;`, `&lt;` or `&gt;`; the hostile value is still there, escaped; plain_text (labels,
titles, input values) is shown by Slack as given, so there it is unchanged. Each payload
still validates with slack_sdk's Block Kit models.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from billing.model import Level, Status
from bot import posts
from bot.rules import Scope
from bot.services.queries import HistoryEntry, UsersPage
from bot.services.scheduled import Scheduled
from bot.services.views import UserView
from bot.slack_text import Mrkdwn, compose, cut, escape, mention, mrkdwn
from handlers.slack import blocks, views

BUILDER_MODULES = (blocks, views, posts)
CONTROL = ["<!channel>", "<!here>", "<@U123>", "<#C1>", "<https://evil.example|verify>",
           "&", "&lt;", "&amp;", ">", "<", "<mailto:a@b.c|x>"]
FILLER = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=6)
HOSTILE = st.one_of(
    st.builds(lambda a, t, b: a + t + b, st.sampled_from(CONTROL), FILLER,
              st.sampled_from([*CONTROL, ""])),
    st.builds(lambda t, a: t + a, FILLER, st.sampled_from(CONTROL)),
)
BAD_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
DOC = {"status": "final", "cycle_start": "2025-01-01T00:00:00+00:00",
       "cycle_end": "2025-02-01T00:00:00+00:00", "currency": "USD", "total": "60.00",
       "active_users": 2}


@dataclass(frozen=True)
class Hostile:
    """One hostile value per kind of user-supplied field."""

    first: str
    last: str
    email: str
    key: str
    project: str
    reason: str
    line: str
    text: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Case:
    """One builder's output, and the hostile values it must still show (`shown`: escaped
    in mrkdwn; `plain`: as given, in plain_text or an input value)."""

    builder: Callable[..., Any]
    output: Any
    kind: str  # "message", "view", "blocks"
    shown: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()


@dataclass
class Texts:
    mrkdwn: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)


def public_builders(module: ModuleType) -> set[Callable[..., Any]]:
    return {f for name, f in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and f.__module__ == module.__name__}


def user(h: Hostile, n: int = 0, level: Level = Level.SUPER,
         status: Status = Status.DEACTIVATED, admin: bool = True) -> UserView:
    return UserView(email=f"{n}{h.email}", first_name=h.first, last_name=h.last,
                    status=status, projects=(h.key, "alpha"), slack_user_id=None, level=level,
                    effective_level=Level.ASSISTANT if admin else Level.NONE,
                    scope=Scope.of([h.key]) if admin else None)


def cases(h: Hostile) -> Iterator[Case]:
    admin, plain_user = user(h), user(h, 1, Level.NONE, Status.ACTIVE, admin=False)
    at = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    doc = {**DOC, "lines": [
        {"description": h.line, "quantity": 1, "unit_price": "50.00", "amount": "50.00"},
        {"description": f"{h.name} ({h.email}): SUPER", "quantity": 1,
         "unit_price": "10.00", "amount": "10.00"}]}
    change = Scheduled(id=7, email=h.email, name=h.name, action="set_level",
                       level=Level.ASSISTANT, run_at=at, when="Feb 1")
    projects = [(h.key, h.project), ("alpha", "Alpha")]
    who = (h.first, h.last, h.email)

    yield Case(blocks.text_block, [blocks.text_block(h.text)], "blocks", (h.text,))
    yield Case(blocks.chunks, blocks.chunks([h.text, h.reason] * 3), "blocks",
               (h.text, h.reason))
    yield Case(blocks.message, blocks.message(h.text), "message", (h.text,))
    yield Case(blocks.user_row, blocks.user_row(admin, h.text), "blocks", (*who, h.key))
    yield Case(blocks.users_page,
               blocks.users_page(UsersPage([admin, plain_user], 2, True, True), "all", h.text),
               "message", (*who, h.key))
    yield Case(blocks.confirm_delete, blocks.confirm_delete(admin), "message", who)
    yield Case(blocks.user_card, blocks.user_card(admin), "message", (*who, h.key))
    yield Case(blocks.admins_list, blocks.admins_list([admin, user(h, 2, Level.NONE)]),
               "message", (*who, h.key))
    yield Case(blocks.history, blocks.history(h.email, [
        HistoryEntry(at=at, action="user.create", outcome="refused", actor=h.text,
                     via="slack", reason=h.reason, after=None)]), "message",
               (h.email, h.text, h.reason))
    yield Case(blocks.invoice, blocks.invoice(doc), "message", (h.line, *who))
    yield Case(blocks.invoices, blocks.invoices([{**doc, "status": h.text}]), "message",
               (h.text,))
    yield Case(blocks.cost_hint, blocks.cost_hint(h.text, {"email": h.email}, scheduled=True),
               "message", (h.text,))
    yield Case(blocks.scheduled, blocks.scheduled([change]), "message", who)
    yield Case(blocks.remove_and_deactivate,
               blocks.remove_and_deactivate(h.text, h.email, "delete"), "message", (h.text,))
    yield Case(blocks.import_dry_run,  # a file's name and the problems' sentences
               blocks.import_dry_run(h.text, 3, [(2, h.reason), (3, h.email)], 1, h.line,
                                     None, h.project), "message", (h.text, h.reason, h.email,
                                                                   h.project))
    yield Case(blocks.import_dry_run,
               blocks.import_dry_run(h.text, 3, [], 2, h.line, '{"file": "F1"}'), "message",
               (h.text, h.line))

    yield Case(views.new_user, views.new_user(projects, h.email, {"r": h.text}, h.text),
               "view", (h.text,), plain=(h.email, h.project))
    yield Case(views.make_admin, views.make_admin(h.email, h.name, projects, {}), "view",
               who, plain=(h.project,))
    yield Case(views.confirm_change, views.confirm_change(h.text, {"email": h.email}), "view",
               (h.text,))
    yield Case(views.done, views.done("Make admin", h.text), "view", (h.text,))
    yield Case(views.billing_settings, views.billing_settings({
        "timezone": h.text, "cycle": "monthly", "anchor": "2025-01-01", "currency": "USD",
        "user_price": "10", "super_price": "50", "assistant_price": "30",
        "view_only_price": "0", "user_policy": "any-time"}, {"r": h.reason}), "view",
               plain=(h.text,))
    yield Case(views.home, views.home({
        "active_users": 3, "admins": {h.key: 1}, "estimate": h.text, "cycle": h.reason,
        "approvals": 1, "scheduled": 0, "notice": h.name}), "view",
        (h.key, h.text, h.reason, h.name))
    yield Case(views.deny_reason, views.deny_reason(5), "view")

    yield Case(posts.cycle_summary, posts.cycle_summary(doc, [h.text, h.reason], "50.00"),
               "message", (h.line, *who, h.text, h.reason))
    yield Case(posts.heads_up, posts.heads_up(doc, [h.text, h.reason], [h.name], [h.email]),
               "message", (h.reason, h.text, *who))
    yield Case(posts.warning, posts.warning(h.text), "message", (h.text,))
    yield Case(posts.pending_user_card, posts.pending_user_card(h.name, h.email, h.reason),
               "message", (*who, h.reason))
    yield Case(posts.outcome, posts.outcome(h.text), "message", (h.text,))
    yield Case(posts.approval_card,
               posts.approval_card(3, f"{h.name} ({h.email})", f"activate {h.project}",
                                   h.reason, 2, at),
               "message", (*who, h.project, h.reason))


def texts(output: Any, kind: str) -> Texts:
    """What Slack parses as mrkdwn, and the other strings (plain_text, input values)."""
    found = Texts()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "private_metadata":
                    continue
                if key == "text" and isinstance(value, str):
                    (found.mrkdwn if node.get("type") == "mrkdwn" else found.plain).append(value)
                elif isinstance(value, str):
                    found.plain.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if kind == "message":
        found.mrkdwn.append(output["text"])  # top-level text: parsed as mrkdwn, notified
        walk(output["blocks"])
    else:
        walk(output)
    return found


def validate(case: Case) -> None:
    if case.kind == "view":
        View(**case.output).validate_json()
        return
    items = case.output["blocks"] if case.kind == "message" else case.output
    assert len(items) <= 50
    for block in items:
        Block.parse(block).validate_json()


@settings(max_examples=60, deadline=None)
@given(st.builds(Hostile, *[HOSTILE] * 8))
def test_no_builder_lets_user_text_through_as_markup(h):
    for case in cases(h):
        name = case.builder.__name__
        validate(case)
        found = texts(case.output, case.kind)
        for text in found.mrkdwn:
            assert "<" not in text and ">" not in text, (name, text)
            assert not BAD_AMP.search(text), (name, text)
        every_mrkdwn, every_plain = "\n".join(found.mrkdwn), "\n".join(found.plain)
        for value in case.shown:
            assert escape(value) in every_mrkdwn, (name, value)  # escaped, not dropped
        for value in case.plain:
            assert value in every_plain, (name, value)  # plain_text: as given


def test_every_public_builder_is_covered():
    """A new public builder must be added to `cases` (and so be checked for escaping)."""
    h = Hostile(*["<!channel>"] * 8)
    covered = {case.builder for case in cases(h)}
    public = set().union(*(public_builders(m) for m in BUILDER_MODULES))
    assert public - covered == set(), "add these builders to tests/test_escaping.py"


def test_nothing_is_escaped_twice():
    first = blocks.message("Tom & Jerry <tj@example.com>")
    assert first["text"] == "Tom &amp; Jerry &lt;tj@example.com&gt;"
    assert first["blocks"][0]["text"]["text"] == first["text"]
    again = posts.outcome(compose(Mrkdwn(first["text"]), " (sam@example.com)"))
    assert again["text"] == "Tom &amp; Jerry &lt;tj@example.com&gt; (sam@example.com)"
    # a user who typed an entity sees it as typed, not decoded
    assert blocks.message("&lt;b&gt;")["text"] == "&amp;lt;b&amp;gt;"


@pytest.mark.parametrize("tail", ["&", "<", ">", "a&"])
def test_cutting_never_splits_an_entity(tail):
    for pad in range(0, 8):
        text = "x" * (3000 - pad) + tail * 10
        out = mrkdwn(text)
        assert len(out) <= 3000
        assert not BAD_AMP.search(out) and out.startswith("x" * (3000 - pad - 5))
    # 1,009 characters as typed, 5,009 once escaped: the limit counts what Slack receives
    sections = blocks.chunks(["&" * 100] * 10)
    assert [len(b["text"]["text"]) for b in sections] == [2504, 2504]
    assert blocks.chunks(["&" * 700])[0]["text"]["text"] == "&amp;" * 600  # one long line


def test_a_deliberate_mention_survives_and_a_fake_one_does_not():
    assert compose(mention("U0LEE"), " <!here>") == "<@U0LEE> &lt;!here&gt;"
    assert mention("U1> <!channel") == "&lt;@U1&gt; &lt;!channel&gt;"
    assert cut(Mrkdwn("ab <@U0LEE>"), 6) == "ab "
