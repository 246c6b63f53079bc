"""The slash-command grammar of DESIGN section 5, as pure parsing into typed commands.

A target is an email (Slack may send it as `<mailto:a@b.c|a@b.c>`) or a mention
`<@U123|name>`. Anything else raises `Usage` with a sentence and the command's usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from billing.model import Level

MAX_TEXT = 1000
MENTION = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^>]*)?>")
MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
STATUSES = ("active", "pending", "deactivated", "all")

USERS_USAGE = (
    "`/users list [active|pending|deactivated|all]`, `/users new [EMAIL]`, "
    "`/users show TARGET`, `/users activate TARGET`, `/users deactivate TARGET`, "
    "`/users delete TARGET`, `/users import` (TARGET: an email or an @mention)"
)
IMPORT_HOW = (
    "To import users, drop a CSV file into your direct message with Rollcall (its "
    "Messages tab). The header row names the columns `email`, `first_name`, `last_name` "
    "and, optionally, `projects` (keys separated by `;`) and `status` (`active`, the "
    "default, `pending` or `deactivated`); UTF-8, at most 5 MB. Rollcall answers with a "
    "dry run first (the rows ready, each problem by row number, what the new active "
    "users cost) and imports nothing until you click Import: then all rows, or none."
)
ADMINS_USAGE = (
    "`/admins list`, `/admins set TARGET super|assistant|view-only [all|KEY,KEY] "
    "[at cycle-end]`, `/admins remove TARGET`, `/admins apply TARGET`, `/admins scheduled`, "
    "`/admins history TARGET`"
)
BILLING_USAGE = ("`/billing` (this cycle's estimate), `/billing invoices`, "
                 "`/billing invoice YYYY-MM-DD`, `/billing history` (the chart of the last "
                 "12 cycles), `/billing settings`")


class Usage(Exception):
    """Bad command text: `str()` is a sentence followed by the usage."""


@dataclass(frozen=True)
class Target:
    email: str | None = None
    slack_user_id: str | None = None

    def __str__(self) -> str:
        return self.email or f"<@{self.slack_user_id}>"


@dataclass(frozen=True)
class Command:
    verb: str
    target: Target | None = None
    status: str | None = None
    email: str | None = None
    level: Level | None = None
    projects: tuple[str, ...] | None = None  # None: all projects
    at_cycle_end: bool = False
    day: date | None = None


def _words(text: str, usage: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise Usage(f"That command is {len(text):,} characters long; keep it under "
                    f"{MAX_TEXT:,}. Usage: {usage}")
    text = MAILTO.sub(lambda m: m.group(1), text or "")
    return text.split()


def _target(word: str | None, usage: str) -> Target:
    if not word:
        raise Usage(f"Say who: an email or an @mention. Usage: {usage}")
    mention = MENTION.fullmatch(word)
    if mention:
        return Target(slack_user_id=mention.group(1))
    if "@" in word and not word.startswith("<"):
        return Target(email=word)
    raise Usage(f"{word[:40]!r} is neither an email nor an @mention. Usage: {usage}")


def _no_more(words: list[str], usage: str) -> None:
    if words:
        raise Usage(f"Unexpected {' '.join(words)[:40]!r}. Usage: {usage}")


def parse_users(text: str) -> Command:
    words = _words(text, USERS_USAGE)
    verb = words.pop(0).lower() if words else "help"
    if verb == "list":
        status = words.pop(0).lower() if words else "all"
        if status not in STATUSES:
            raise Usage(f"{status[:20]!r} is not a status. Usage: {USERS_USAGE}")
        _no_more(words, USERS_USAGE)
        return Command("list", status=status)
    if verb == "new":
        email = words.pop(0) if words else None
        _no_more(words, USERS_USAGE)
        return Command("new", email=email)
    if verb == "import":
        _no_more(words, USERS_USAGE)
        return Command("import")
    if verb in ("show", "activate", "deactivate", "delete"):
        target = _target(words.pop(0) if words else None, USERS_USAGE)
        _no_more(words, USERS_USAGE)
        return Command(verb, target=target)
    return Command("help")


def parse_admins(text: str) -> Command:
    words = _words(text, ADMINS_USAGE)
    verb = words.pop(0).lower() if words else "help"
    if verb in ("list", "scheduled"):
        _no_more(words, ADMINS_USAGE)
        return Command(verb)
    if verb in ("remove", "apply", "history"):
        target = _target(words.pop(0) if words else None, ADMINS_USAGE)
        _no_more(words, ADMINS_USAGE)
        return Command(verb, target=target)
    if verb == "set":
        target = _target(words.pop(0) if words else None, ADMINS_USAGE)
        try:
            level = Level.parse(words.pop(0)) if words else Level.NONE
        except ValueError:
            level = Level.NONE
        if level is Level.NONE:
            raise Usage(f"Give a level: super, assistant or view-only. Usage: {ADMINS_USAGE}")
        at_end = [w.lower() for w in words[-2:]] == ["at", "cycle-end"]
        if at_end:
            words = words[:-2]
        projects: tuple[str, ...] | None = None
        if words:
            scope = words.pop(0)
            if scope.lower() != "all":
                projects = tuple(k for k in scope.lower().split(",") if k)
        _no_more(words, ADMINS_USAGE)
        return Command("set", target=target, level=level, projects=projects,
                       at_cycle_end=at_end)
    return Command("help")


def parse_billing(text: str) -> Command:
    words = _words(text, BILLING_USAGE)
    verb = words.pop(0).lower() if words else "estimate"
    if verb in ("estimate", "invoices", "history", "settings"):
        _no_more(words, BILLING_USAGE)
        return Command(verb)
    if verb == "invoice":
        try:
            day = date.fromisoformat(words.pop(0)) if words else None
        except ValueError:
            day = None
        if day is None:
            raise Usage(f"Give a date like 2025-03-15. Usage: {BILLING_USAGE}")
        _no_more(words, BILLING_USAGE)
        return Command("invoice", day=day)
    return Command("help")
