"""The HTTP side of SCIM (RFC 7644 §3): a request as the endpoints read it, the response
they return, and `ScimError`, the refusal every endpoint raises and `errors.py` renders
as a SCIM error body."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MEDIA_TYPE = "application/scim+json"
_JSON_TYPES = ("application/scim+json", "application/json")


class ScimError(Exception):
    """A refusal in SCIM's words: the HTTP status, RFC 7644's `scimType` where it names
    one, and a sentence for whoever reads the directory's log."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


@dataclass(frozen=True)
class Request:
    method: str
    path: tuple[str, ...]      # the segments after /scim/v2: ("Users", "42")
    query: dict[str, str]      # parameter names lower-cased; the first value of each
    headers: dict[str, str]    # header names lower-cased
    body: bytes
    base_url: str              # absolute: scheme://host/scim/v2

    @classmethod
    def from_environ(cls, environ: dict[str, Any], body: bytes, prefix: str) -> Request:
        path = environ.get("PATH_INFO", "").removeprefix(prefix)
        query: dict[str, str] = {}
        try:  # `+` and `%20` both decode to a space
            pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                              max_num_fields=50, errors="replace")
        except ValueError as exc:
            raise invalid_syntax("the query string has too many parameters") from exc
        for name, value in pairs:
            query.setdefault(name.lower(), value)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(method=environ.get("REQUEST_METHOD", "GET").upper(),
                   path=tuple(p for p in path.split("/") if p), query=query,
                   headers=headers, body=body,
                   base_url=_base_url(environ) + prefix)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object: `application/scim+json` or `application/json`
        (or no Content-Type at all); anything else is refused before it is read."""
        media = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media and media not in _JSON_TYPES:
            raise ScimError(415, f"send the body as {MEDIA_TYPE} (or application/json), "
                                 f"not {media}")
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, too deep
            raise invalid_syntax("the body is not a JSON document") from exc
        if not isinstance(data, dict):
            raise invalid_syntax("the body must be a JSON object")
        return data


def _base_url(environ: dict[str, Any]) -> str:
    """The address the client used (behind a proxy, gunicorn's forwarded scheme)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or (
        f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}")
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}"


@dataclass
class Response:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[list[tuple[str, str]], bytes]:
        data = b"" if self.body is None else json.dumps(self.body).encode()
        headers = dict(self.headers)
        if self.body is not None:
            headers["Content-Type"] = MEDIA_TYPE
        headers["Content-Length"] = str(len(data))
        return list(headers.items()), data
