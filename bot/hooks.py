"""`POST /hooks/login`: the service provider tells Rollcall that someone signed in.

Signed like Slack's requests, with ROLLCALL_WEBHOOK_SECRET: `X-Rollcall-Signature:
v0=hex(hmac_sha256(secret, "v0:" + timestamp + ":" + body))` and the timestamp in
`X-Rollcall-Request-Timestamp`, at most 5 minutes from Rollcall's clock. A bad or stale
signature gets 401 and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot import services
from bot.errors import (
    InvalidInput,
    NotFound,
    NotInitialised,
    PermissionDenied,
    RollcallError,
    Unavailable,
)
from bot.services import Context, Via

MAX_BODY = 10_000
STATUS = {NotFound: 404, PermissionDenied: 403, InvalidInput: 400, NotInitialised: 503,
          Unavailable: 503}


class _Epoch:
    """slack_sdk's verifier asks a clock for epoch seconds; Rollcall's clock answers."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def now(self) -> float:
        return self.ctx.clock.now().timestamp()


def login_hook(ctx: Context, secret: str | None, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one webhook request."""
    timestamp = headers.get("x-rollcall-request-timestamp", "").strip()
    signature = headers.get("x-rollcall-signature", "").strip()
    if not (secret and timestamp.isdigit() and signature and len(body) <= MAX_BODY
            and SignatureVerifier(secret, clock=_Epoch(ctx)).is_valid(
                body=body, timestamp=timestamp, signature=signature)):
        return 401, {"ok": False, "error": "invalid or stale signature"}
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email.strip():
        return 400, {"ok": False, "error": 'send JSON like {"email": "ada@example.com"}'}
    try:
        outcome = services.login(ctx, via=Via.WEBHOOK, email=email)
    except RollcallError as exc:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return status, {"ok": False, "error": str(exc)}
    return 200, {"ok": True, "message": outcome.message}
