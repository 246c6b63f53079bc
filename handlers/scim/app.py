"""The SCIM 2.0 service (DESIGN §10) as one WSGI application, mounted by
`handlers/web.py` under `/scim/v2` behind its body cap.

Every request is authenticated first (`directory.authenticate`, before the body is
parsed), then routed to one endpoint, which makes one service call per intention and
renders the result. Whatever goes wrong is a SCIM error body: a refusal in the words of
`errors.py`, and anything unexpected logged and answered 500 without its traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from bot.services import directory
from bot.services.context import Context
from handlers.scim import discovery, errors, groups, users
from handlers.scim.protocol import Request, Response, ScimError

log = logging.getLogger("rollcall.scim")

PREFIX = "/scim/v2"
MAX_BODY = 1024 * 1024  # 1 MB: a group PATCH with thousands of members fits
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
StartResponse = Callable[..., Any]
Endpoint = Callable[..., Response]

# resource endpoints: {method: handler} for the collection, and for one resource by id
_USERS = ({"GET": users.list_users, "POST": users.create_user},
          {"GET": users.get_user, "PUT": users.replace_user, "PATCH": users.patch_user,
           "DELETE": users.delete_user})
_GROUPS = ({"GET": groups.list_groups, "POST": groups.create_group},
           {"GET": groups.get_group, "PUT": groups.replace_group,
            "PATCH": groups.patch_group, "DELETE": groups.delete_group})
_DISCOVERY = {"serviceproviderconfig": discovery.service_provider_config,
              "resourcetypes": discovery.resource_types, "schemas": discovery.schemas}
_UNSUPPORTED = {".search": "searching with POST", "bulk": "bulk operations",
                "me": "/Me (the directory acts as its token's creator)"}


def scim_app(ctx: Context, *, on_write: Callable[[], None] | None = None
             ) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application. `on_write` runs after every write request, whatever its
    outcome (the router wakes the outbox: a refusal may have recorded a warning post)."""

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            response = serve(ctx, Request.from_environ(environ, _body(environ), PREFIX))
        except Exception as exc:  # every refusal, and what nobody meant
            response = errors.from_exception(exc) or _unexpected(exc, environ)
        if method in WRITES and on_write is not None:
            on_write()
        headers, data = response.encoded()
        status = HTTPStatus(response.status)
        start(f"{status.value} {status.phrase}", headers)
        return [data] if method != "HEAD" else [b""]

    return app


def serve(ctx: Context, request: Request) -> Response:
    token = _bearer(request.headers.get("authorization"))
    actor = directory.authenticate(ctx, token)
    first, rest = (request.path[0].lower(), request.path[1:]) if request.path else ("", ())
    if first in _DISCOVERY:
        _allow(request, {"GET": True, "HEAD": True})
        return _DISCOVERY[first](request, rest)
    if first in _UNSUPPORTED or (len(rest) == 1 and rest[0].lower() == ".search"):
        what = _UNSUPPORTED.get(first, "searching with POST")
        raise ScimError(501, f"Rollcall does not support {what}; see /ServiceProviderConfig")
    routes = {"users": _USERS, "groups": _GROUPS}.get(first)
    if routes is None or len(rest) > 1:
        raise ScimError(404, f"{PREFIX}/{'/'.join(request.path)[:80]} is not a SCIM "
                             "endpoint of Rollcall: try /Users or /Groups")
    if not rest:
        return _allow(request, routes[0])(ctx, actor, request)
    handler = _allow(request, routes[1])
    return handler(ctx, actor, request, _user_id(rest[0]) if first == "users" else rest[0])


def _allow(request: Request, handlers: dict[str, Any]) -> Any:
    method = "GET" if request.method == "HEAD" else request.method
    if method not in handlers:
        raise ScimError(405, f"{request.method} is not allowed here",
                        headers={"Allow": ", ".join(m for m in handlers if m != "HEAD")})
    return handlers[method]


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _user_id(text: str) -> int:
    """Rollcall's ids are numbers; anything else names no user (404, like a deleted one)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise ScimError(404, f"No user has the id {text[:40]!r}; look them up by userName")
    return int(text)


def _body(environ: dict[str, Any]) -> bytes:
    """The body, within MAX_BODY (handlers/web.py has read and capped it already)."""
    stream = environ.get("wsgi.input")
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if stream is None or not declared.isdigit():
        return b""
    if int(declared) > MAX_BODY:
        raise ScimError(413, f"the body is over {MAX_BODY} bytes")
    return stream.read(int(declared))


def _unexpected(exc: Exception, environ: dict[str, Any]) -> Response:
    log.error("SCIM %s %s failed", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
              exc_info=exc)
    return errors.error_response(500, "Rollcall met an unexpected error. Read the resource "
                                      "again before retrying, and tell Rollcall's operator.")


def refuse(start: StartResponse, status: int, detail: str) -> Iterable[bytes]:
    """A refusal answered before the request reaches the service (the router's body cap)."""
    headers, data = errors.error_response(status, detail).encoded()
    start(f"{status} {HTTPStatus(status).phrase}", headers)
    return [data]
