"""`/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4): exactly what
Rollcall supports, no more. PATCH and `eq` filters yes (at most `MAX_COUNT` results a
page); bulk, sorting and password changes no; ETags yes (`meta.version`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    ListResponse,
    Meta,
    Pagination,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from bot.services.directory import MAX_COUNT
from handlers.scim.models import RollcallGroup, RollcallUser
from handlers.scim.protocol import Request, Response, ScimError


@cache
def _config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        pagination=Pagination(cursor=False, index=True, default_pagination_method="index",
                              default_page_size=MAX_COUNT, max_page_size=MAX_COUNT),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="Bearer token", primary=True,
            description="Authorization: Bearer TOKEN, with a token from "
                        "`rollcall scim token create`")])


@cache
def _schemas() -> tuple[Schema, ...]:
    user, group = RollcallUser.to_schema(), RollcallGroup.to_schema()
    user.name, user.description = "User", RollcallUser.__doc__
    group.name, group.description = "Group", RollcallGroup.__doc__
    return user, group


@cache
def _resource_types() -> tuple[ResourceType, ...]:
    return (ResourceType(id="User", name="User", endpoint="/Users",
                         description="Rollcall's users", schema_=RollcallUser.__schema__),
            ResourceType(id="Group", name="Group", endpoint="/Groups",
                         description="Rollcall's three admin levels",
                         schema_=RollcallGroup.__schema__))


def service_provider_config(request: Request, rest: tuple[str, ...]) -> Response:
    if rest:
        raise _not_found("/ServiceProviderConfig has nothing below it")
    found = _located(_config(), "ServiceProviderConfig", request.base_url +
                     "/ServiceProviderConfig")
    return Response(200, found.model_dump())


def resource_types(request: Request, rest: tuple[str, ...]) -> Response:
    return _collection(request, rest, "ResourceTypes", "ResourceType",
                       {r.id: r for r in _resource_types()})


def schemas(request: Request, rest: tuple[str, ...]) -> Response:
    return _collection(request, rest, "Schemas", "Schema", {s.id: s for s in _schemas()})


def _collection(request: Request, rest: tuple[str, ...], endpoint: str, kind: str,
                items: dict[Any, Any]) -> Response:
    base = f"{request.base_url}/{endpoint}"
    if not rest:
        located = [_located(item, kind, f"{base}/{key}") for key, item in items.items()]
        body = ListResponse[type(located[0])](
            total_results=len(located), start_index=1, items_per_page=len(located),
            resources=located).model_dump()
        return Response(200, body)
    if len(rest) == 1 and rest[0] in items:
        return Response(200, _located(items[rest[0]], kind, f"{base}/{rest[0]}").model_dump())
    raise _not_found(f"/{endpoint} has no {'/'.join(rest)[:80]!r}")


def _located(item: Any, kind: str, location: str) -> Any:
    return item.model_copy(update={"meta": Meta(resource_type=kind, location=location)})


def _not_found(detail: str) -> ScimError:
    return ScimError(404, detail)
