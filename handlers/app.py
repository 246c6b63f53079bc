"""The Bolt app: one `register` per kind of listener, wired once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
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
TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
                "account_inactive"}


class _DeliberateClient(logging.Filter):
    """Rollcall gives Bolt its own client and an `authorize` on purpose, so Bolt's
    warnings that the token (read again from SLACK_BOT_TOKEN) goes unused tell an
    operator nothing; they printed once per worker at every start."""

    SKIPPED = frozenset({warning_client_prioritized_and_token_skipped(),
                         warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.SKIPPED


log.addFilter(_DeliberateClient())


def _base_url(settings: Settings) -> str:
    base = settings.slack_api_url or SLACK_API
    return base if base.endswith("/") else base + "/"


def _token(settings: Settings) -> str | None:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def slack_client(settings: Settings) -> WebClient:
    """Every Web API call goes to SLACK_API_URL when set; 429s wait out Retry-After."""
    return WebClient(
        token=_token(settings),
        base_url=_base_url(settings),
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2),
                        RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class TokenCheck:
    """SLACK_BOT_TOKEN checked with Slack (`auth.test`) in the background, never while
    starting or answering a request: with Slack slow, down or unreachable, or the token
    revoked, Rollcall still starts and answers (/healthz reports the problem, `problem`).

    It checks again with backoff (5 s doubling, at most 5 minutes) until Slack says yes.
    With `announce` the first failure is logged, once; `serve` announces from its master
    process only, so N workers do not say it N times. Bolt asks `authorize` who the bot
    is: the configured token, and the bot's ids once Slack has confirmed them.
    """

    TIMEOUT = 5  # seconds for one auth.test
    FIRST_DELAY, MAX_DELAY = 5.0, 300.0

    def __init__(self, settings: Settings, *, announce: bool = True) -> None:
        self.token = _token(settings)
        self.announce = announce
        # its own client: one short attempt, no retry handlers (the backoff is here)
        self._client = WebClient(token=self.token, base_url=_base_url(settings),
                                 timeout=self.TIMEOUT, retry_handlers=[])
        self._verified: dict[str, Any] | None = None
        self._problem: str | None = None if self.token else "SLACK_BOT_TOKEN is not set"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def verified(self) -> bool:
        return self._verified is not None

    @property
    def problem(self) -> str | None:
        """What /healthz says while the token is not verified: None once Slack confirmed
        it, and while the first check has not answered yet."""
        if self._verified is not None or self._problem is None:
            return None
        return f"token not verified: {self._problem}"

    def start(self) -> TokenCheck:
        """Check in a daemon thread (once per process); returns at once."""
        if self.token and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-token-check",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check_once(self) -> bool:
        """One auth.test; True once Slack confirmed the token."""
        try:
            answer = self._client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            reason = f"Slack answered {error or f'HTTP {exc.response.status_code}'}"
            if error in TOKEN_ERRORS:
                reason += (" (a wrong or revoked token: copy the Bot User OAuth Token into "
                           "SLACK_BOT_TOKEN again)")
            return self._failed(reason)
        except OSError as exc:  # URLError, a timeout, a refused connection
            cause = getattr(exc, "reason", exc)
            if isinstance(cause, TimeoutError) or "timed out" in str(cause):
                return self._failed(f"Slack did not answer within {self.TIMEOUT} s")
            return self._failed(f"could not reach Slack ({cause})")
        except Exception as exc:  # a body that is not Slack's JSON, ...
            return self._failed(f"Slack's answer could not be read ({type(exc).__name__})")
        self._verified = dict(answer.data) if isinstance(answer.data, dict) else {}
        if self._problem is not None and self.announce:
            log.info("Slack verified SLACK_BOT_TOKEN after all")
        self._problem = None
        return True

    def _failed(self, reason: str) -> bool:
        if self._problem is None and self.announce:
            log.warning("Could not check SLACK_BOT_TOKEN with Slack: %s. Rollcall serves "
                        "anyway, checks again in the background and reports it at "
                        "/healthz.", reason)
        self._problem = reason
        return False

    def _run(self) -> None:
        delay = self.FIRST_DELAY
        while not self._stop.is_set() and not self.check_once():
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.MAX_DELAY)

    def authorize(self, enterprise_id: str | None, team_id: str | None,
                  user_id: str | None) -> AuthorizeResult:
        """Bolt's `authorize`: never calls Slack (Bolt's own would call auth.test when
        the app is built, and again in a request until it succeeds)."""
        known = self._verified or {}
        return AuthorizeResult(
            enterprise_id=enterprise_id or known.get("enterprise_id"),
            team_id=team_id or known.get("team_id"), bot_user_id=known.get("user_id"),
            bot_id=known.get("bot_id"), bot_token=self.token, user_id=user_id)


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
              pump: Pump | None = None, token_check: TokenCheck | None = None) -> App:
    """`pump` sends the posts listeners record; without one, the scheduler sends them.
    `token_check` verifies the bot token in the background (a started one, announcing
    its first failure, when not given); building the app never calls Slack."""
    client = client or slack_client(settings)
    check = token_check or TokenCheck(settings).start()

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
