"""Configuration from the environment (or a `.env` file), DESIGN section 6.

A missing or malformed setting stops start-up with one line naming it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.db import normalize_url


class SettingsError(Exception):
    """One line naming the bad setting and what is wrong with it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = "sqlite:///rollcall.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    port: int = Field(default=3000, ge=1, le=65535)
    rollcall_billing_channel: str | None = None
    rollcall_approvals_channel: str | None = None
    rollcall_webhook_secret: SecretStr | None = None
    rollcall_scheduler: Literal["on", "off"] = "on"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        normalize_url(value)  # raises ValueError with the reason
        return value

    @field_validator("slack_bot_token", "slack_app_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`SLACK_BOT_TOKEN=` (or spaces) in .env means not set; spaces around a pasted
        token are dropped."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_kind(value, "xoxb-", "the Bot User OAuth Token from the app's "
                                            "OAuth & Permissions page")

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_kind(value, "xapp-", "an app-level token with connections:write, "
                                            "from the app's Basic Information page")


def _token_kind(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    """Refuse a token of another kind (a user token xoxp-, a signing secret) before
    anything calls Slack with it. The message never repeats the token."""
    if value is not None and not value.get_secret_value().startswith(prefix):
        raise ValueError(f"it must start with {prefix} ({what})")
    return value


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and .env); SettingsError, one line naming the
    setting, when one is malformed."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"Setting {name} is malformed: {message}.") from None
