"""`/Users` (DESIGN §10 "Users"): each request is one directory service call, rendered as
a SCIM User. `id` is Rollcall's; `userName` is the email; `active` is the status."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, Meta

from bot.services import directory
from bot.services.context import Context as Services
from bot.services.context import Via
from bot.services.directory import DirectoryUser
from handlers.scim import filters, render
from handlers.scim.models import POLICY, RollcallUser
from handlers.scim.patch import kept, patched_user, user_changes
from handlers.scim.protocol import Request, Response, ScimError


def as_resource(user: DirectoryUser, base_url: str) -> RollcallUser:
    resource = kept(user)
    resource.meta = Meta(resource_type="User", created=render.utc(user.created),
                         last_modified=render.utc(user.last_modified),
                         location=f"{base_url}/Users/{user.id}", version=user.version)
    return resource


def list_users(ctx: Services, actor: str, request: Request) -> Response:
    params = render.response_parameters(RollcallUser, request)
    start, count = render.paging(request, directory.MAX_COUNT)
    text = request.query.get("filter", "").strip()
    query = filters.user_query(text) if text else directory.UserQuery()
    if query is filters.NOTHING:
        return render.listing(RollcallUser, 0, start, [], params)
    total, page = directory.find_users(ctx, actor=actor, query=query, start=start,
                                       count=count)
    return render.listing(RollcallUser, total, start,
                          [as_resource(u, request.base_url) for u in page], params)


def get_user(ctx: Services, actor: str, request: Request, user_id: int) -> Response:
    params = render.response_parameters(RollcallUser, request)
    user = directory.get_user(ctx, actor=actor, user_id=user_id)
    return render.not_modified(request, user.version) or render.resource(
        as_resource(user, request.base_url), params)


def create_user(ctx: Services, actor: str, request: Request) -> Response:
    wanted = _read(request.json(), Context.RESOURCE_CREATION_REQUEST, active=True)
    name = wanted.name
    user = directory.provision_user(
        ctx, actor=actor, via=Via.SCIM, email=wanted.user_name,
        first_name=name.given_name if name else None,
        last_name=name.family_name if name else None,
        external_id=wanted.external_id, active=bool(wanted.active))
    return render.resource(as_resource(user, request.base_url), None, 201,
                           context=Context.RESOURCE_CREATION_RESPONSE)


def replace_user(ctx: Services, actor: str, request: Request, user_id: int) -> Response:
    data = request.json()
    user = directory.get_user(ctx, actor=actor, user_id=user_id)
    render.check_if_match(request, user.version)
    wanted = _read(data, Context.RESOURCE_REPLACEMENT_REQUEST, active=user.active)
    return _update(ctx, actor, request, user, user_changes(user, wanted, replacing=True),
                   Context.RESOURCE_REPLACEMENT_RESPONSE)


def patch_user(ctx: Services, actor: str, request: Request, user_id: int) -> Response:
    data = request.json()
    user = directory.get_user(ctx, actor=actor, user_id=user_id)
    render.check_if_match(request, user.version)
    return _update(ctx, actor, request, user, patched_user(user, data),
                   Context.RESOURCE_PATCH_RESPONSE)


def delete_user(ctx: Services, actor: str, request: Request, user_id: int) -> Response:
    if request.headers.get("if-match"):
        user = directory.get_user(ctx, actor=actor, user_id=user_id)
        render.check_if_match(request, user.version)
    directory.deprovision_user(ctx, actor=actor, via=Via.SCIM, user_id=user_id)
    return Response(204)


def _update(ctx: Services, actor: str, request: Request, user: DirectoryUser,
            changes: dict[str, Any], context: Context) -> Response:
    if changes:  # nothing asked changes nothing, and records nothing
        user = directory.update_user(ctx, actor=actor, via=Via.SCIM, user_id=user.id,
                                     **changes)
    params = render.response_parameters(RollcallUser, request)
    return render.resource(as_resource(user, request.base_url), params, context=context)


def _read(data: dict[str, Any], context: Context, *, active: bool) -> RollcallUser:
    """The body as a Rollcall user. `active` and `emails` may be left out (the user is
    then `active` as given here, and their email is the userName)."""
    names = {key.lower(): key for key in data if isinstance(key, str)}
    data = dict(data)
    if "active" not in names:
        data["active"] = active
    user_name = data.get(names.get("username", "userName"))
    if "emails" not in names and isinstance(user_name, str):
        data["emails"] = [{"value": user_name, "type": "work", "primary": True}]
    with POLICY:
        wanted = RollcallUser.model_validate(data, scim_ctx=context)
    if not wanted.user_name:
        raise ScimError(400, "userName (the email) is required", "invalidValue")
    return wanted
