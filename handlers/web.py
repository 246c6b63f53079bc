"""The HTTP surface (DESIGN sections 7 and 10): `POST /slack/events` (Bolt), `GET /healthz`,
`POST /hooks/login` (handlers/login.py), and SCIM 2.0 under `/scim/v2` (handlers/scim/).

A plain WSGI callable, so gunicorn serves it in production and tests serve it on
loopback with the standard library.

Before anything parses a POST body: its size is capped (413 from Content-Length alone,
unread, and never more than the cap + 1 bytes read), then its signature is checked on the
raw bytes (bot/signing.py; 401). Only then is it decoded and parsed; a signed body that
still cannot be parsed gets 400. SCIM requests are capped the same way (their refusals
are SCIM error bodies), and their bearer token is checked before their body is parsed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import wire
from bot.clock import SystemClock
from bot.services import Context
from bot.settings import Settings
from bot.signing import verify
from handlers import login
from handlers.scim import app as scim
from handlers.slack.app import build_app

StartResponse = Callable[..., Any]
MAX_BODY = 1024 * 1024  # 1 MB: far above any Slack request
_LENGTH = re.compile(r"[0-9]+")


class Refusal(Exception):
    """An HTTP error answered before the body is parsed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reply(start: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _refuse(start: StartResponse, refusal: Refusal) -> list[bytes]:
    status = HTTPStatus(refusal.status)
    return _reply(start, f"{status.value} {status.phrase}", {"ok": False, "error": str(refusal)})


def read_body(environ: dict[str, Any], cap: int) -> bytes:
    """The request body, at most `cap` bytes: 413 from Content-Length alone (nothing is
    read), 400 for a Content-Length that is not a number. Without one the body is empty,
    unless the server says its input ends (gunicorn's chunked bodies): then at most
    cap + 1 bytes are read."""
    stream = environ.get("wsgi.input")
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        if stream is None or not environ.get("wsgi.input_terminated"):
            return b""
        body = stream.read(cap + 1)
        if len(body) > cap:
            raise Refusal(413, f"the body is over {cap} bytes")
        return body
    if not _LENGTH.fullmatch(declared):
        raise Refusal(400, "the Content-Length header is not a number of bytes")
    length = int(declared) if len(declared) <= 18 else cap + 1  # int() stops at 4300 digits
    if length > cap:
        raise Refusal(413, f"the body is over {cap} bytes")
    body = stream.read(length) if length and stream is not None else b""
    if len(body) != length:
        raise Refusal(400, "the body is shorter than its Content-Length")
    return body


def _slack_request(environ: dict[str, Any], secret: str | None, cap: int) -> dict[str, Any]:
    """The environ to hand Bolt once the body is within the cap, signed (401 if not) and
    parsable as Bolt will parse it (400 if not); its input is the bytes already read.

    The signature is checked against the wall clock (`SystemClock`), as Bolt checks it
    again right after; in production that is Rollcall's clock too."""
    body = read_body(environ, cap)
    if verify(secret, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
              environ.get("HTTP_X_SLACK_SIGNATURE"), body, SystemClock()) is None:
        raise Refusal(401, "invalid request")
    environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    try:  # what Bolt's adapter does first: decode, parse, read the context's ids
        request = BoltRequest(body=body.decode("utf-8"),
                              headers=WsgiHttpRequest(environ).get_headers())
    except (ValueError, TypeError, AttributeError, LookupError, RecursionError):
        request = None
    if request is None or not isinstance(request.body, dict):
        raise Refusal(400, "the request body is malformed")
    return environ


def database_reachable(ctx: Context) -> bool:
    try:
        with ctx.uow.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def create_app(settings: Settings | None = None, context: Context | None = None,
               *, announce_token: bool = True,
               ) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application. Gunicorn calls it with no arguments (settings from the
    environment); tests pass their own settings and context.

    Building it never calls Slack: the bot token is checked in the background
    (`TokenCheck`), and /healthz reports it while Slack has not confirmed it.
    `announce_token=False` leaves the log line about a failed check to another process
    (`serve`'s master says it once for all its workers)."""
    runtime = wire(settings, context=context, announce_token=announce_token)
    settings, ctx, pump, token = runtime.settings, runtime.ctx, runtime.pump, runtime.token
    slack = SlackRequestHandler(build_app(runtime))
    provisioning = scim.scim_app(ctx, on_write=pump.kick)  # a refusal may post a warning
    secret = settings.rollcall_webhook_secret
    slack_secret = settings.slack_signing_secret

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            try:
                checked = _slack_request(
                    environ, slack_secret.get_secret_value() if slack_secret else None,
                    MAX_BODY)
            except Refusal as refusal:
                return _refuse(start, refusal)
            return slack(checked, start)
        if path == "/hooks/login" and method == "POST":
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                       if k.startswith("HTTP_")}
            try:
                raw = read_body(environ, login.MAX_BODY)
            except Refusal as refusal:
                return _refuse(start, refusal)
            status, body = login.login_hook(
                ctx, secret.get_secret_value() if secret else None, headers, raw)
            if status == 200:
                pump.kick()  # a first-login card may be waiting
            return _reply(start, f"{status} {HTTPStatus(status).phrase}", body)
        if path == scim.PREFIX or path.startswith(scim.PREFIX + "/"):
            try:
                raw = read_body(environ, scim.MAX_BODY)
            except Refusal as refusal:
                return scim.refuse(start, refusal.status, str(refusal))
            return provisioning({**environ, "wsgi.input": io.BytesIO(raw),
                                 "CONTENT_LENGTH": str(len(raw))}, start)
        if path == "/healthz" and method in ("GET", "HEAD"):
            # 200 while the database answers; an unverified Slack token is reported, not
            # fatal (Slack may be down, or the token revoked: the database is still fine)
            problem = token.problem
            slack_state = {"slack": problem} if problem else {}
            if database_reachable(ctx):
                return _reply(start, "200 OK", {"status": "ok", **slack_state})
            return _reply(start, "503 Service Unavailable",
                          {"status": "database unreachable", **slack_state})
        return _reply(start, "404 Not Found", {"error": "not found"})

    return app
