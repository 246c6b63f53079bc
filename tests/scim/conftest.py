"""SCIM end to end: Rollcall's WSGI app (`handlers.web.create_app`) served on loopback by
a real HTTP server, over the organization of tests/conftest.py (`ctx`: sam@example.com,
SUPER over all projects; SQLite, and PostgreSQL with TEST_DATABASE_URL), with a bearer
token made by the directory service as `rollcall scim token create` makes it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.services import Context, Via, directory
from bot.settings import Settings
from handlers.web import create_app
from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import SECRET, serve

SAM = "sam@example.com"
MEDIA = "application/scim+json"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Scim:
    """A SCIM client as plain as a directory's: JSON in, status, JSON and headers out."""

    url: str  # .../scim/v2
    token: str | None
    ctx: Context

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             token: str | bool | None = True, headers: dict[str, str] | None = None,
             content_type: str = MEDIA) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Accept": MEDIA, **({"Content-Type": content_type} if data is not None else {}),
                **(headers or {})}
        bearer = self.token if token is True else token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return _reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.read(), exc.headers)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)


def _reply(status: int, data: bytes, headers: Any) -> Reply:
    return Reply(status, json.loads(data) if data else None,
                 {k.lower(): v for k, v in headers.items()})


def user_body(email: str, first: str = "Ada", last: str = "Lovelace", *,
              active: bool = True, external_id: str | None = None, **extra: Any) -> dict:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
            "name": {"givenName": first, "familyName": last},
            "emails": [{"primary": True, "value": email, "type": "work"}], "active": active}
    if external_id is not None:
        body["externalId"] = external_id
    return {**body, **extra}


def patch_body(*operations: dict) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations)}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack(users={})
    yield slack
    slack.close()


@pytest.fixture
def web_settings(tmp_path: Path, fake: FakeSlack) -> Settings:
    """The server's settings; its database is the test context's, handed to create_app."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                    slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                    slack_api_url=fake.api_url)


@pytest.fixture
def server(ctx: Context, web_settings: Settings) -> Iterator[str]:
    url, httpd = serve(create_app(web_settings, context=ctx))
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def scim(ctx: Context, server: str) -> Scim:
    token = directory.create_token(ctx, actor=SAM, via=Via.CLI, name="identity provider")
    return Scim(server + "/scim/v2", token, ctx)
