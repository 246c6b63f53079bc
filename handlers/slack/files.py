"""A CSV file shared in the direct message with Rollcall is an import (DESIGN section 5).

The `message` event is acked at once; the work runs after (a lazy listener): who sent
it (an admin who manages users), the file (handlers/slack/slack_files.py), the dry run in the
DM with Import / Cancel. The buttons carry the file's id and digest, never its rows:
Import downloads and checks the file again as the clicker, at click time, and imports
it only if it is still the file the dry run showed (else it shows the new dry run).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from slack_bolt import App, Respond

from billing.model import Level
from billing.money import format_money
from bot.errors import InvalidInput
from bot.services import Via, import_csv
from bot.services.hints import level_hint
from bot.services.imports import check_import
from bot.services.queries import require_manager
from handlers.slack import blocks
from handlers.slack.commands import acknowledge
from handlers.slack.slack_files import SharedFile, fetch_csv
from handlers.slack.support import Deps, answering, invoker

EVENTS = ("message.im",)  # manifest.yml subscribes to these (and to home.EVENTS)
MAX_FILES = 5  # files answered per message
FILE_ID = re.compile(r"F[A-Z0-9]{1,30}")
DIGEST = re.compile(r"[0-9a-f]{64}")
CHANGED = "The file changed since its dry run, so nothing was imported; here it is again. "
OUT_OF_DATE = "That button is out of date; share the file again."


def shared_files(event: dict[str, Any]) -> list[str]:
    """The ids of the files a person shared in a DM with Rollcall; [] for any other
    message (text, edits, bots, channels)."""
    if (event.get("channel_type") != "im" or event.get("subtype") != "file_share"
            or event.get("bot_id") or not isinstance(event.get("user"), str)
            or not isinstance(event.get("channel"), str)):
        return []
    files = event.get("files")
    return [f["id"] for f in (files if isinstance(files, list) else [])[:MAX_FILES]
            if isinstance(f, dict) and isinstance(f.get("id"), str)
            and FILE_ID.fullmatch(f["id"])]


def manager(deps: Deps, slack_user_id: str | None) -> str:
    """The Rollcall user behind a Slack user, if they may manage users at all."""
    actor = invoker(deps, slack_user_id)
    require_manager(deps.ctx, actor=actor)
    return actor


def seats_cost(deps: Deps, seats: int) -> str:
    """What `seats` more active users cost: "+$2,400.00 this cycle, +$2,400.00 a cycle
    after" (one seat's cost hint, times the seats)."""
    hint = level_hint(deps.ctx, email=None, level=Level.NONE)

    def signed(amount: Decimal) -> str:
        return ("+" if amount > 0 else "") + format_money(amount * seats, hint.currency)

    return f"{signed(hint.this_cycle)} this cycle, {signed(hint.next_cycle)} a cycle after"


def dry_run(deps: Deps, actor: str, shared: SharedFile, note: str = "") -> dict[str, Any]:
    """The file checked as `actor` would import it; Import / Cancel if it has no problem."""
    try:
        report = check_import(deps.ctx, actor=actor, data=shared.data)
    except InvalidInput as exc:  # not UTF-8, no header, too many rows: one sentence
        raise InvalidInput(f"{shared.name}: {exc}") from exc
    ready = not report.problems and report.checked > 0
    value = json.dumps({"file": shared.id, "sha256": shared.digest}) if ready else None
    seats = report.active_seats
    return blocks.import_dry_run(shared.name, report.checked, report.problems, seats,
                                 seats_cost(deps, seats) if seats else "", value, note)


def import_file(deps: Deps, actor: str, shared: SharedFile) -> str:
    """Import as `actor`, once per file and content (a double click imports once); with
    the seat approval policy, an ASSISTANT's import becomes a request."""
    done = import_csv(deps.ctx, actor=actor, via=Via.SLACK, data=shared.data,
                      source=f"slack:{shared.id}:{shared.digest}")
    return done.message  # imported, or requested (ImportResult | Requested)


def _file_value(body: dict[str, Any]) -> tuple[str, str]:
    try:
        value = json.loads(((body.get("actions") or [{}])[0].get("value")) or "")
    except (ValueError, TypeError, AttributeError, LookupError):
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(OUT_OF_DATE)
    file_id, digest = value.get("file"), value.get("sha256")
    if not (isinstance(file_id, str) and FILE_ID.fullmatch(file_id)
            and isinstance(digest, str) and DIGEST.fullmatch(digest)):
        raise InvalidInput(OUT_OF_DATE)
    return file_id, digest


def register(app: App, deps: Deps) -> None:
    def file_shared(event: dict[str, Any]) -> None:
        ids = shared_files(event)
        if not ids:
            return

        def send(**payload: Any) -> None:
            deps.client.chat_postMessage(channel=event["channel"], **payload)

        with answering(send, deps):
            actor = manager(deps, event.get("user"))
            for file_id in ids:
                with answering(send):  # each file gets its own answer
                    send(**dry_run(deps, actor, fetch_csv(deps.client, file_id)))

    def run(body: dict[str, Any], respond: Respond) -> None:
        with answering(respond, deps):
            file_id, digest = _file_value(body)
            actor = manager(deps, (body.get("user") or {}).get("id"))
            shared = fetch_csv(deps.client, file_id)
            if shared.digest != digest:
                respond(replace_original=True, **dry_run(deps, actor, shared, CHANGED))
                return
            respond(replace_original=True, **blocks.message(import_file(deps, actor, shared)))

    def cancel(respond: Respond) -> None:
        respond(replace_original=True, **blocks.message("Cancelled; nothing was imported."))

    _lazy(app.event("message"), "file_shared", file_shared)
    _lazy(app.action("import_run"), "import_run", run)
    _lazy(app.action("import_cancel"), "import_cancel", cancel)


def _lazy(listen: Callable[..., Any], name: str, work: Callable[..., None]) -> None:
    work.__name__ = f"{name}_work"  # Bolt tells lazy listeners apart by name
    listen(ack=acknowledge, lazy=[work])
