"""`rollcall serve`: the Slack app over HTTP (gunicorn, `POST /slack/events`) or, when
SLACK_APP_TOKEN is set, over Socket Mode. Pending migrations are applied first, and the
scheduler runs inside unless ROLLCALL_SCHEDULER=off (where a `clock` process runs it)."""

from __future__ import annotations

import logging
from typing import Any

from bot.bootstrap import bootstrap, upgrade_schema, wire
from bot.errors import NotInitialised
from bot.services.context import Context
from bot.services.transactions import reading
from bot.settings import Settings, SettingsError
from store.db import describe

log = logging.getLogger("rollcall.serve")

HOW_TO_CREATE = (
    "Create the Slack app from manifest.yml (https://api.slack.com/apps > Create New App > "
    "From a manifest), install it to your workspace, then put the values in .env or the "
    "environment (see README.md, 'Connect Slack')."
)


def require_slack(settings: Settings) -> None:
    """Socket Mode needs the bot and app tokens; HTTP mode the bot token and signing secret."""
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if settings.slack_app_token is None:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    missing = [name for name, value in needed.items()
               if value is None or not value.get_secret_value().strip()]
    if missing:
        raise SettingsError(f"Missing {' and '.join(missing)}. {HOW_TO_CREATE}")


def configuration_gaps(settings: Settings, *, http: bool = True) -> list[str]:
    """What a long-running process says once at start about optional settings left out:
    the posting channels (bot.outbox.channel_gaps) and, serving HTTP, the login
    webhook's secret."""
    from bot.outbox import channel_gaps

    gaps = channel_gaps(settings)
    if http and settings.rollcall_webhook_secret is None:
        gaps.append("ROLLCALL_WEBHOOK_SECRET is not set: POST /hooks/login refuses every "
                    "request (401), so sign-ins reach Rollcall only from Slack and the CLI.")
    return gaps


def announce_start(ctx: Context, settings: Settings, *, http: bool = True) -> None:
    """Log, once, each configuration gap and a database that is not initialised (naming
    it: a relative SQLite path is read from the folder the process started in). Per
    event, nothing more is said about them."""
    log.info("Rollcall uses %s", describe(ctx.uow.engine.url))
    try:
        with reading(ctx):  # a database that cannot be used raises what it means
            pass
    except NotInitialised as exc:
        log.warning("%s Until then every Slack command answers with how to initialise.",
                    exc.for_operator())
    for gap in configuration_gaps(settings, http=http):
        log.warning(gap)


def serve(settings: Settings, *, workers: int = 2, threads: int = 8) -> None:
    """Check the settings, apply migrations, then serve (HTTP or Socket Mode). Every
    configuration gap is logged once, here; the Slack token is checked in the
    background, so a slow or unreachable Slack never stops the start."""
    require_slack(settings)
    socket_mode = settings.slack_app_token is not None
    ctx = bootstrap(settings)
    upgrade_schema(ctx)  # a database that cannot be used stops the start here
    announce_start(ctx, settings, http=not socket_mode)
    # the master's runtime: its token check announces a failure once for every worker
    runtime = wire(settings, context=ctx)
    if settings.rollcall_scheduler == "on":  # one scheduler, in this (the master) process
        from handlers.scheduler import run_forever

        run_forever(ctx, runtime.client, blocking=False)
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from handlers.slack.app import build_app

        SocketModeHandler(build_app(runtime),
                          settings.slack_app_token.get_secret_value()).start()
        return

    def post_fork(server: Any, worker: Any) -> None:
        # workers build their own engine; the scheduler's connections stay the master's
        ctx.uow.engine.dispose(close=False)

    Gunicorn({"bind": f"0.0.0.0:{settings.port}", "workers": workers,
              "worker_class": "gthread", "threads": threads, "accesslog": None,
              "post_fork": post_fork}).run()


class Gunicorn:
    """gunicorn run in-process with Rollcall's WSGI app, built in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        from gunicorn.app.base import BaseApplication

        outer = options

        class App(BaseApplication):
            def load_config(self) -> None:
                for key, value in outer.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                from handlers.web import create_app

                return create_app(announce_token=False)  # the master says it once

        self._app = App()

    def run(self) -> None:
        self._app.run()
