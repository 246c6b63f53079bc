"""Rollcall talking to Slack's Web API: the one `WebClient` (SLACK_API_URL, retries on
connection errors and 429s) and the background check of the bot token. Built once, in
`bot/bootstrap.py`; entry points and the outbox are handed what they need."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.settings import Settings

log = logging.getLogger("rollcall.slack")
SLACK_API = "https://slack.com/api/"
TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
                "account_inactive"}


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


