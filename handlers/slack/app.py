"""The Bolt app: one `register` per kind of listener, wired once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)

from bot.bootstrap import Runtime
from bot.settings import Settings
from handlers.slack import actions, commands, files, home, modals
from handlers.slack.support import Deps

log = logging.getLogger("rollcall.slack")
LISTENER_THREADS = 2


class _DeliberateClient(logging.Filter):
    """Rollcall gives Bolt its own client and an `authorize` on purpose, so Bolt's
    warnings that the token (read again from SLACK_BOT_TOKEN) goes unused tell an
    operator nothing; they printed once per worker at every start."""

    SKIPPED = frozenset({warning_client_prioritized_and_token_skipped(),
                         warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.SKIPPED


log.addFilter(_DeliberateClient())


def seal_key(settings: Settings) -> bytes:
    """The key that seals private_metadata: derived from the signing secret (the bot token
    in Socket Mode without one), so every process derives the same; random without
    either, which only loses the notices of modals opened in another process."""
    source = settings.slack_signing_secret or settings.slack_bot_token
    if source is None or not source.get_secret_value():
        return secrets.token_bytes(32)
    return hmac.new(source.get_secret_value().encode(), b"rollcall: private_metadata seal",
                    hashlib.sha256).digest()


def build_app(runtime: Runtime) -> App:
    """The Bolt app over the runtime built once per process (`bot.bootstrap.wire`): its
    Web API client, its token check (Bolt's `authorize` never calls Slack) and the pump
    that sends the posts listeners record."""
    settings, client, check = runtime.settings, runtime.client, runtime.token

    def authorize(enterprise_id: str | None, team_id: str | None,
                  user_id: str | None) -> AuthorizeResult:  # Bolt passes these by name
        return check.authorize(enterprise_id, team_id, user_id)

    secret = settings.slack_signing_secret
    app = App(
        client=client,
        authorize=authorize,
        signing_secret=secret.get_secret_value() if secret else None,
        # ack from the request's thread; the work runs on a small pool (lazy listeners),
        # so a busy pool never delays an ack. Two threads keep acks fast even when the
        # work saturates the CPU; the trade-off is measured in docs/benchmarks.md.
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                             thread_name_prefix="bolt"),
        raise_error_for_unhandled_request=False,
        logger=log,
    )
    deps = Deps(ctx=runtime.ctx, client=client, pump=runtime.pump,
                seal_key=seal_key(settings))
    for module in (commands, actions, modals, home, files):
        module.register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # what escapes a listener: logged for the operator, never shown as a trace
        log.error("unhandled %s for a %s request", type(error).__name__,
                  (body or {}).get("type") or "command", exc_info=error)
        return BoltResponse(status=200, body="")

    return app
