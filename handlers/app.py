"""The Bolt app: one `register` per kind of listener, wired once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.outbox import Pump
from bot.services import Context
from bot.settings import Settings
from handlers import actions, commands, files, home, modals
from handlers.support import Deps

log = logging.getLogger("rollcall.slack")
SLACK_API = "https://slack.com/api/"
LISTENER_THREADS = 2


def slack_client(settings: Settings) -> WebClient:
    """Every Web API call goes to SLACK_API_URL when set; 429s wait out Retry-After."""
    base = settings.slack_api_url or SLACK_API
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=base if base.endswith("/") else base + "/",
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2),
                        RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def seal_key(settings: Settings) -> bytes:
    """The key that seals private_metadata: derived from the signing secret (the bot token
    in Socket Mode without one), so every process derives the same; random without
    either, which only loses the notices of modals opened in another process."""
    source = settings.slack_signing_secret or settings.slack_bot_token
    if source is None or not source.get_secret_value():
        return secrets.token_bytes(32)
    return hmac.new(source.get_secret_value().encode(), b"rollcall: private_metadata seal",
                    hashlib.sha256).digest()


def build_app(ctx: Context, settings: Settings, client: WebClient | None = None,
              pump: Pump | None = None) -> App:
    """`pump` sends the posts listeners record; without one, the scheduler sends them."""
    client = client or slack_client(settings)
    secret = settings.slack_signing_secret
    app = App(
        client=client,
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
    deps = Deps(ctx=ctx, client=client, pump=pump, seal_key=seal_key(settings))
    for module in (commands, actions, modals, home, files):
        module.register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # what escapes a listener: logged for the operator, never shown as a trace
        log.error("unhandled %s for a %s request", type(error).__name__,
                  (body or {}).get("type") or "command", exc_info=error)
        return BoltResponse(status=200, body="")

    return app
