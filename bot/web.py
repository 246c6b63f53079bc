"""The HTTP surface (DESIGN section 7): `POST /slack/events` (Bolt), `GET /healthz`,
`POST /hooks/login` (bot/hooks.py).

A plain WSGI callable, so gunicorn serves it in production and tests serve it on
loopback with the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import bootstrap
from bot.hooks import MAX_BODY, login_hook
from bot.outbox import Pump
from bot.services import Context
from bot.settings import Settings, load_settings

StartResponse = Callable[..., Any]


def _reply(start: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(min(length, MAX_BODY + 1)) if length > 0 else b""


def database_reachable(ctx: Context) -> bool:
    try:
        with ctx.uow.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def create_app(settings: Settings | None = None, context: Context | None = None,
               bolt: Any = None) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application. Gunicorn calls it with no arguments (settings from the
    environment); tests pass their own context and Bolt app."""
    from handlers.app import build_app, slack_client

    settings = settings or load_settings()
    ctx = context or bootstrap(settings)
    client = slack_client(settings)
    pump = Pump(ctx, client)  # sends what requests record (cards, warnings) after commit
    slack = SlackRequestHandler(build_app(ctx, settings, client, pump))
    secret = settings.rollcall_webhook_secret

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack(environ, start)
        if path == "/hooks/login" and method == "POST":
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                       if k.startswith("HTTP_")}
            status, body = login_hook(ctx, secret.get_secret_value() if secret else None,
                                      headers, _body(environ))
            if status == 200:
                pump.kick()  # a first-login card may be waiting
            return _reply(start, f"{status} {HTTPStatus(status).phrase}", body)
        if path == "/healthz" and method in ("GET", "HEAD"):
            if database_reachable(ctx):
                return _reply(start, "200 OK", {"status": "ok"})
            return _reply(start, "503 Service Unavailable", {"status": "database unreachable"})
        return _reply(start, "404 Not Found", {"error": "not found"})

    return app
