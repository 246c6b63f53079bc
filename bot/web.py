"""The HTTP surface (DESIGN section 7): `POST /slack/events` (Bolt), `GET /healthz`.

A plain WSGI callable, so gunicorn serves it in production and tests serve it on
loopback with the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import bootstrap
from bot.services import Context
from bot.settings import Settings, load_settings

StartResponse = Callable[..., Any]


def _reply(start: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


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
    from handlers.app import build_app

    settings = settings or load_settings()
    ctx = context or bootstrap(settings)
    slack = SlackRequestHandler(bolt or build_app(ctx, settings))

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack(environ, start)
        if path == "/healthz" and method in ("GET", "HEAD"):
            if database_reachable(ctx):
                return _reply(start, "200 OK", {"status": "ok"})
            return _reply(start, "503 Service Unavailable", {"status": "database unreachable"})
        return _reply(start, "404 Not Found", {"error": "not found"})

    return app
