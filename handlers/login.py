"""`POST /hooks/login`: the service provider tells Rollcall that someone signed in.

Signed like Slack's requests, with ROLLCALL_WEBHOOK_SECRET: `X-Rollcall-Signature:
v0=hex(hmac_sha256(secret, "v0:" + timestamp + ":" + body))` and the timestamp in
`X-Rollcall-Request-Timestamp`, at most 5 minutes from Rollcall's clock (bot/signing.py).
A bad or stale signature gets 401 and changes nothing; so does a signature received
before (bot/services/replay.py). The body is parsed only once its signature checked out.
"""

from __future__ import annotations

import json
from typing import Any

from bot import services
from bot.errors import (
    InvalidInput,
    NotFound,
    NotInitialised,
    PermissionDenied,
    RollcallError,
    Unavailable,
)
from bot.services import Context, Via, replay
from bot.signing import verify

MAX_BODY = 10_000
STATUS = {NotFound: 404, PermissionDenied: 403, InvalidInput: 400, NotInitialised: 503,
          Unavailable: 503}


def login_hook(ctx: Context, secret: str | None, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one webhook request; `headers` by lower-case name."""
    if len(body) > MAX_BODY:
        return 413, {"ok": False, "error": f"the body is over {MAX_BODY} bytes"}
    signed = verify(secret, headers.get("x-rollcall-request-timestamp"),
                    headers.get("x-rollcall-signature"), body, ctx.clock)
    if signed is None:
        return 401, {"ok": False, "error": "invalid or stale signature"}
    try:
        if not replay.claim(ctx, signed.signature, signed.at):
            return 401, {"ok": False, "error": "this request was already received; sign "
                                               "each request with a fresh timestamp"}
    except Unavailable as exc:
        return 503, {"ok": False, "error": str(exc)}
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the stack
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
