"""PATCH (RFC 7644 §3.5.2) and PUT, translated into what changes: scim2-models applies
the operations (any `op` case, with or without `path`, filters in paths, `"False"` for
false) to the resource as Rollcall shows it, and what differs afterwards is what the
request asks. Attributes Rollcall does not keep are dropped by `models.POLICY`.

Rollcall keeps one address: `userName` is the email, and the work address a PATCH adds
or replaces in `emails` (one typed "work", else the primary one, else the first without
a type; other types are not kept) changes it too. Where both change, `userName` wins; a
PUT's email is its `userName`."""

from __future__ import annotations

from functools import cache
from typing import Any

from scim2_models import Context, PatchOp

from bot.services.directory import DirectoryUser
from handlers.scim.models import POLICY, Email, Member, Name, RollcallGroup, RollcallUser
from handlers.scim.protocol import ScimError


@cache
def _patch_op(model: type[Any]) -> type[PatchOp[Any]]:
    """`PatchOp[model]`, built once: pydantic keeps parametrized classes only weakly, so
    building it per request rebuilt the class about every time (3 ms of a PATCH)."""
    return PatchOp[model]


def read_patch(model: type[Any], data: dict[str, Any]) -> PatchOp[Any]:
    with POLICY:
        return _patch_op(model).model_validate(data, scim_ctx=Context.RESOURCE_PATCH_REQUEST)


def kept(user: DirectoryUser) -> RollcallUser:
    """The attributes of a user that a request can change."""
    return RollcallUser(
        id=str(user.id), external_id=user.external_id, user_name=user.email,
        name=Name(given_name=user.first_name, family_name=user.last_name),
        emails=[Email(value=user.email, type="work", primary=True)], active=user.active)


def patched_user(user: DirectoryUser, data: dict[str, Any]) -> dict[str, Any]:
    """The changes a PATCH body asks of `user`, as `directory.update_user` keywords."""
    patch = read_patch(RollcallUser, data)
    resource = kept(user)
    with POLICY:
        patch.patch(resource)
    return user_changes(user, resource)


def user_changes(user: DirectoryUser, wanted: RollcallUser,
                 replacing: bool = False) -> dict[str, Any]:
    """What differs between `user` and `wanted`. A PUT (`replacing`) that leaves out
    `active` or `externalId` does not assert them: they stay as they are."""
    fields_set = wanted.model_fields_set
    name = wanted.name or Name()
    target: dict[str, Any] = {
        "email": _email(user.email, wanted, emails=not replacing),
        "first_name": name.given_name, "last_name": name.family_name,
    }
    if not replacing or "external_id" in fields_set:
        target["external_id"] = wanted.external_id
    if wanted.active is not None:
        target["active"] = wanted.active
    now = {"email": user.email, "first_name": user.first_name,
           "last_name": user.last_name, "external_id": user.external_id,
           "active": user.active}
    return {key: value for key, value in target.items() if value != now[key]}


def _email(current: str, wanted: RollcallUser, *, emails: bool) -> Any:
    if wanted.user_name != current or not emails:
        return wanted.user_name
    added = [e for e in wanted.emails or [] if e.value and e.value != current
             and (e.type or "work").lower() == "work"]  # a home address is not kept
    pick = (next((e for e in added if e.type), None) or next((e for e in added if e.primary),
                                                             None) or next(iter(added), None))
    return pick.value if pick else current


def patched_members(group: RollcallGroup, data: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(added, removed) user ids a group PATCH asks. Okta re-sends the group's own `id`
    and `displayName` with its member changes: that changes nothing; another name is
    refused, as groups keep their names."""
    patch = read_patch(RollcallGroup, data)
    before = member_ids(group)
    # members by value alone: Entra ID removes {"value": ID, "$ref": null}
    resource = RollcallGroup(id=group.id, display_name=group.display_name,
                             members=[Member(value=str(i)) for i in before] or None)
    with POLICY:
        patch.patch(resource)
    if (resource.display_name or "") != (group.display_name or ""):
        raise ScimError(400, f"{group.display_name} keeps its name: Rollcall's groups are "
                             "its three admin levels", "mutability")
    after = member_ids(resource)
    return [i for i in after if i not in before], [i for i in before if i not in after]


def member_ids(group: RollcallGroup) -> list[int]:
    """The members' ids, in order, once each; a value that names no user is 404."""
    out: dict[int, None] = {}
    for member in group.members or []:
        value = (member.value or "").strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 10:
            raise ScimError(404, f"No user has the id {value[:40]!r}; members are users' ids")
        out[int(value)] = None
    return list(out)
