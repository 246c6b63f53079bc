"""The filters Rollcall answers (DESIGN §10 "Listing"), read with scim2-models' parser:
`eq` on `userName`, `externalId`, `emails.value`, `emails[type eq "work"].value` and
`active` for users, on `displayName` for groups, joined with `and`. Anything else is
400 `invalidFilter`, saying what is supported."""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidFilterException
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    ValuePath,
)
from scim2_models.path.filter import ScimFilter

from bot.services.directory import UserQuery
from handlers.scim.models import GROUP_SCHEMA, USER_SCHEMA
from handlers.scim.protocol import ScimError

USER_FILTERS = ('userName, externalId, emails.value, emails[type eq "work"].value and '
                "active")
NOTHING = None  # a filter no user can match (two different emails): an empty page


def user_query(text: str) -> UserQuery | None:
    """The query a user filter asks, or NOTHING when its terms contradict each other."""
    wanted: dict[str, Any] = {}
    for attr, value in _terms(text, USER_SCHEMA, _user_term):
        if attr in wanted and (_key(wanted[attr]) if attr == "email" else wanted[attr]) \
                != (_key(value) if attr == "email" else value):
            return NOTHING
        wanted[attr] = value
    return UserQuery(**wanted)


def group_names(text: str) -> set[str]:
    """The casefolded displayNames a group filter asks for (empty: none can match)."""
    names = {_key(value) for _, value in _terms(text, GROUP_SCHEMA, _group_term)}
    return names if len(names) == 1 else set()


def _terms(text: str, schema: str, read: Any) -> list[tuple[str, Any]]:
    try:
        node = ScimFilter(text).ast
    except (InvalidFilterException, ValueError, RecursionError) as exc:
        raise _invalid(f"the filter is not valid SCIM filter syntax ({exc})") from exc
    nodes = node.terms if (isinstance(node, LogicalExpr)
                           and node.op is LogicalOperator.and_) else (node,)
    return [read(term, schema) for term in nodes]


def _user_term(node: FilterNode, schema: str) -> tuple[str, Any]:
    if isinstance(node, ValuePath) and _is(node.attr_path, schema, "emails") \
            and node.sub_attr is None:
        return "email", _work_email(node.val_filter)
    if isinstance(node, Comparison) and node.op is CompareOperator.eq:
        path, value = node.attr_path, node.value
        if _is(path, schema, "userName") or _is(path, schema, "emails", "value"):
            return "email", _text(value)
        if _is(path, schema, "externalId"):
            return "external_id", _text(value)
        if _is(path, schema, "active"):
            return "active", _boolean(value)
    raise _invalid(f"Rollcall filters users by `eq` on {USER_FILTERS}, joined with `and`")


def _work_email(node: FilterNode) -> str:
    """`emails[type eq "work" and value eq "x"]`, which is how the parser reads
    `emails[type eq "work"].value eq "x"`; the type may be left out."""
    terms = node.terms if (isinstance(node, LogicalExpr)
                           and node.op is LogicalOperator.and_) else (node,)
    email = None
    for term in terms:
        if not (isinstance(term, Comparison) and term.op is CompareOperator.eq
                and term.attr_path.uri is None and term.attr_path.sub_attr is None):
            break
        name = term.attr_path.attr.lower()
        if name == "type" and isinstance(term.value, str) and term.value.lower() == "work":
            continue
        if name == "value" and email is None:
            email = _text(term.value)
            continue
        break
    else:
        if email is not None:
            return email
    raise _invalid('Rollcall keeps one email, the work email: filter with '
                   'emails[type eq "work"].value eq "ADDRESS"')


def _group_term(node: FilterNode, schema: str) -> tuple[str, Any]:
    if isinstance(node, Comparison) and node.op is CompareOperator.eq \
            and _is(node.attr_path, schema, "displayName"):
        return "display_name", _text(node.value)
    raise _invalid('Rollcall filters groups by displayName eq "NAME"')


def _is(path: AttrPath, schema: str, attr: str, sub: str | None = None) -> bool:
    return ((path.uri is None or path.uri.lower() == schema.lower())
            and path.attr.lower() == attr.lower()
            and (path.sub_attr or "").lower() == (sub or "").lower())


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("compare this attribute with a quoted string")
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid("compare active with true or false")


def _key(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _invalid(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")
