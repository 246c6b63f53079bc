"""`/Groups` (DESIGN §10 "Groups"): the three admin levels, each with a fixed id. A member
is a user whose assigned level it is; adding one grants the level over all projects,
removing one removes the grant. None is created (409 for one of their names, so the
directory links to it; 400 for another), renamed or deleted."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, Meta, ResponseParameters

from billing.model import Level
from bot.errors import PermissionDenied
from bot.services import directory
from bot.services.context import Context as Services
from bot.services.context import Via
from handlers.scim import filters, render
from handlers.scim.models import GROUP_NAMES, GROUPS, POLICY, Member, RollcallGroup
from handlers.scim.patch import member_ids, patched_members
from handlers.scim.protocol import Request, Response, ScimError

ALLOWED = "GET, PUT, PATCH"


def find(group_id: str) -> tuple[str, str, Level]:
    for group in GROUPS:
        if group[0] == group_id:
            return group
    raise ScimError(404, f"No group has the id {group_id[:40]!r}: Rollcall's groups are "
                         f"{GROUP_NAMES}")


def as_group(ctx: Services, actor: str, group: tuple[str, str, Level], base_url: str,
             *, members: bool = True) -> RollcallGroup:
    group_id, name, level = group
    at, version = directory.group_version(ctx, level=level)
    held = directory.group_members(ctx, actor=actor, level=level) if members else []
    return RollcallGroup(
        id=group_id, display_name=name,
        members=[Member(value=str(uid), display=email, ref=f"{base_url}/Users/{uid}")
                 for uid, email in held] or None,
        meta=Meta(resource_type="Group", last_modified=render.utc(at),
                  location=f"{base_url}/Groups/{group_id}", version=version))


def _wants_members(params: ResponseParameters[Any]) -> bool:
    """Okta lists groups with `excludedAttributes=members`: then nobody is looked up."""
    named = {str(p).lower() for p in params.excluded_attributes or ()}
    asked = {str(p).lower().split(".")[0] for p in params.attributes or ()}
    return "members" not in named and (not params.attributes or "members" in asked)


def list_groups(ctx: Services, actor: str, request: Request) -> Response:
    params = render.response_parameters(RollcallGroup, request)
    start, count = render.paging(request, len(GROUPS))
    text = request.query.get("filter", "").strip()
    names = filters.group_names(text) if text else None
    chosen = [g for g in GROUPS if names is None or g[1].casefold() in names]
    page = chosen[start - 1:start - 1 + count]
    return render.listing(RollcallGroup, len(chosen), start,
                          [as_group(ctx, actor, g, request.base_url,
                                    members=_wants_members(params)) for g in page], params)


def get_group(ctx: Services, actor: str, request: Request, group_id: str) -> Response:
    group, params = find(group_id), render.response_parameters(RollcallGroup, request)
    _, version = directory.group_version(ctx, level=group[2])
    return render.not_modified(request, version) or render.resource(
        as_group(ctx, actor, group, request.base_url, members=_wants_members(params)),
        params)


def create_group(ctx: Services, actor: str, request: Request) -> Response:
    wanted = _read(request.json(), Context.RESOURCE_CREATION_REQUEST)
    for group_id, name, _ in GROUPS:
        if (wanted.display_name or "").strip().casefold() == name.casefold():
            raise ScimError(409, f"{name} exists already, with the id {group_id}: link "
                                 "to it", "uniqueness")
    raise ScimError(400, f"Rollcall's groups are its three admin levels, {GROUP_NAMES}, "
                         "which exist already: push one of those", "invalidValue")


def replace_group(ctx: Services, actor: str, request: Request, group_id: str) -> Response:
    group = find(group_id)
    wanted = _read(request.json(), Context.RESOURCE_REPLACEMENT_REQUEST)
    if (wanted.display_name or "").strip().casefold() != group[1].casefold():
        raise ScimError(400, f"{group[1]} keeps its name: Rollcall's groups are its three "
                             "admin levels", "mutability")
    _check_version(ctx, request, group)
    directory.change_group(ctx, actor=actor, via=Via.SCIM, level=group[2],
                           replace=member_ids(wanted))
    return _answer(ctx, actor, request, group)


def patch_group(ctx: Services, actor: str, request: Request, group_id: str) -> Response:
    group = find(group_id)
    data = request.json()
    _check_version(ctx, request, group)
    added, removed = patched_members(as_group(ctx, actor, group, request.base_url), data)
    if added or removed:
        directory.change_group(ctx, actor=actor, via=Via.SCIM, level=group[2], add=added,
                               remove=removed)
    return _answer(ctx, actor, request, group)


def delete_group(ctx: Services, actor: str, request: Request, group_id: str) -> Response:
    find(group_id)
    raise ScimError(405, "Rollcall's groups are its three admin levels and are never "
                         "deleted: remove their members instead", None, {"Allow": ALLOWED})


def _check_version(ctx: Services, request: Request, group: tuple[str, str, Level]) -> None:
    if request.headers.get("if-match"):
        render.check_if_match(request, directory.group_version(ctx, level=group[2])[1])


def _answer(ctx: Services, actor: str, request: Request,
            group: tuple[str, str, Level]) -> Response:
    """The group after a change. A change that took the token's creator out of the SUPER
    group is made, but they can no longer read it: 204, and the next request is 403."""
    params = render.response_parameters(RollcallGroup, request)
    try:
        changed = as_group(ctx, actor, group, request.base_url,
                           members=_wants_members(params))
    except PermissionDenied:
        return Response(204)
    return render.resource(changed, params)


def _read(data: dict[str, Any], context: Context) -> RollcallGroup:
    with POLICY:
        return RollcallGroup.model_validate(data, scim_ctx=context)
