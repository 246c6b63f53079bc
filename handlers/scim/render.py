"""What the endpoints share: the query parameters they read (`attributes`,
`excludedAttributes`, `startIndex`, `count`), the resources and lists they return with
`meta.location`/`meta.version` and their headers, and ETag preconditions (RFC 7644
§3.14): `If-None-Match` on GET (304), `If-Match` on writes (412)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, ListResponse, ResponseParameters

from handlers.scim.protocol import Request, Response, ScimError, invalid_value

_INTEGER = re.compile(r"-?[0-9]{1,12}")


@cache
def _parameters(model: type[Any]) -> type[ResponseParameters[Any]]:
    """`ResponseParameters[model]`, built once (pydantic keeps it only weakly)."""
    return ResponseParameters[model]


def response_parameters(model: type[Any], request: Request) -> ResponseParameters[Any]:
    raw = {"attributes": request.query.get("attributes"),
           "excluded_attributes": request.query.get("excludedattributes")}
    try:
        return _parameters(model).model_validate(
            {k: v for k, v in raw.items() if v})
    except ValidationError as exc:
        raise invalid_value("attributes and excludedAttributes take attribute names, "
                            "not both at once") from exc


def paging(request: Request, maximum: int) -> tuple[int, int]:
    """(startIndex, count): 1-based, below 1 counts as 1; count at most `maximum`,
    below 0 counts as 0 (RFC 7644 §3.4.2.4)."""
    return (max(_integer(request, "startindex", 1), 1),
            min(max(_integer(request, "count", maximum), 0), maximum))


def _integer(request: Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _INTEGER.fullmatch(raw.strip()):
        raise invalid_value(f"{name} must be an integer, not {raw[:40]!r}")
    return int(raw.strip())


def utc(at: datetime) -> datetime:
    """SQLite hands back naive instants; Rollcall stores them in UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def resource(model_object: Any, params: ResponseParameters[Any] | None, status: int = 200,
             *, context: Context = Context.RESOURCE_QUERY_RESPONSE) -> Response:
    meta = model_object.meta
    body = model_object.model_dump(scim_ctx=context, response_parameters=params)
    headers = {"ETag": meta.version, "Location": meta.location} if meta else {}
    return Response(status, body, headers)


def listing(model: type[Any], total: int, start: int, page: list[Any],
            params: ResponseParameters[Any] | None) -> Response:
    body = ListResponse[model](total_results=total, start_index=start,
                               items_per_page=len(page), resources=page
                               ).model_dump(scim_ctx=Context.SEARCH_RESPONSE,
                                            response_parameters=params)
    return Response(200, body)


def not_modified(request: Request, version: str) -> Response | None:
    if version in _tags(request.headers.get("if-none-match")):
        return Response(304, None, {"ETag": version})
    return None


def check_if_match(request: Request, version: str) -> None:
    """A write with `If-Match` goes ahead only on the version it names. Checked just
    before the write: a change in between is not caught (the services take no version)."""
    tags = _tags(request.headers.get("if-match"))
    if tags and "*" not in tags and version not in tags:
        raise ScimError(412, f"the resource changed since that version; it is {version} "
                             "now: read it again")


def _tags(header: str | None) -> set[str]:
    return {tag.strip() for tag in (header or "").split(",") if tag.strip()}
