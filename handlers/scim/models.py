"""What Rollcall keeps of a SCIM User and Group (DESIGN §10), as scim2-models resources.

`/Schemas` publishes these models, and requests are read through them under `POLICY`:
an attribute Rollcall does not keep (`displayName`, `title`, the enterprise extension,
phone numbers...) is accepted and dropped, so it never blocks the rest of a request.

`active` and `emails` are required because every Rollcall user has a status and one
address: a PATCH cannot remove them (400 `mutability`). A POST may still leave them out:
it then creates an active user whose email is the `userName`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Mutability,
    Reference,
    Required,
    Resource,
    Returned,
    ScimPolicy,
    Uniqueness,
)

from billing.model import Level

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# Entra ID sends `"op": "Remove"` with the members to remove as its value, and
# `emails[type eq "work"].value` before a user has a work email
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore,
                    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)


class Name(ComplexAttribute):
    """The person's names, both required (DESIGN §1: at most 100 characters)."""

    family_name: Annotated[str | None, Required.true] = None
    given_name: Annotated[str | None, Required.true] = None


class Email(ComplexAttribute):
    """Rollcall keeps one address, the user's email: the primary work email."""

    value: Annotated[str | None, Required.true] = None
    type: str | None = Field(None, examples=["work"])
    primary: bool | None = None


class RollcallUser(Resource):
    """A Rollcall user: the email, the names, the status (`active`) and the directory's
    `externalId`. Nothing else is kept."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = Field(
        None, description="The user's email, unique among live users, case-insensitively.")
    name: Annotated[Name | None, Required.true] = None
    emails: Annotated[list[Email] | None, Required.true] = Field(
        None, description="The user's email again, as the primary work email.")
    active: Annotated[bool | None, Required.true] = Field(
        None, description="true: active; false: deactivated (pending if created so).")


UserReference = Reference["User"]  # a reference to a resource of the type named User


class Member(ComplexAttribute):
    """A user holding the group's admin level."""

    value: Annotated[str | None, Required.true, Mutability.immutable, CaseExact.true] = None
    # set from the user when they join (a request's own $ref and display are ignored)
    ref: Annotated[UserReference | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref")
    display: Annotated[str | None, Mutability.immutable] = None


class RollcallGroup(Resource):
    """One of Rollcall's three admin levels: its members are the users whose assigned
    level it is. The three exist from the start; none is created, renamed or deleted."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Mutability.immutable,
                            Uniqueness.server] = None
    members: Annotated[list[Member] | None, Returned.default] = None


# the fixed groups: (id, displayName, level)
GROUPS = (("super", "Rollcall SUPER", Level.SUPER),
          ("assistant", "Rollcall ASSISTANT", Level.ASSISTANT),
          ("view-only", "Rollcall VIEW ONLY", Level.VIEW_ONLY))
GROUP_NAMES = ", ".join(f'"{name}"' for _, name, _ in GROUPS)
