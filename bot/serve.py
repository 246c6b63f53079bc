"""`rollcall serve`: the Slack app over HTTP (gunicorn, `POST /slack/events`) or, when
SLACK_APP_TOKEN is set, over Socket Mode. Pending migrations are applied first, and the
scheduler runs inside unless ROLLCALL_SCHEDULER=off (where a `clock` process runs it)."""

from __future__ import annotations

from typing import Any

from bot.bootstrap import bootstrap, upgrade_schema
from bot.settings import Settings, SettingsError

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


def serve(settings: Settings, *, workers: int = 2, threads: int = 8) -> None:
    require_slack(settings)
    ctx = bootstrap(settings)
    upgrade_schema(ctx)
    if settings.rollcall_scheduler == "on":  # one scheduler, in this (the master) process
        from bot.scheduler import run_forever
        from handlers.app import slack_client

        run_forever(ctx, slack_client(settings), blocking=False)
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.outbox import Pump
        from handlers.app import build_app, slack_client

        client = slack_client(settings)
        SocketModeHandler(build_app(ctx, settings, client, Pump(ctx, client)),
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
                from bot.web import create_app

                return create_app()

        self._app = App()

    def run(self) -> None:
        self._app.run()
