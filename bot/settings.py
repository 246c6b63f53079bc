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


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"Setting {name} is malformed: {message}.") from None
