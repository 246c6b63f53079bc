"""Every refusal as a SCIM error body (RFC 7644 §3.12): `status` as a string, `scimType`
where the RFC names one, and the sentence Rollcall wrote for a person as `detail`."""

from __future__ import annotations

from pydantic import ValidationError
from scim2_models import Error, SCIMException

from bot.errors import (
    Conflict,
    InvalidInput,
    InvariantViolation,
    NotFound,
    NotInitialised,
    PermissionDenied,
    RollcallError,
    Unauthenticated,
    Unavailable,
)
from handlers.scim.protocol import Response, ScimError

CHALLENGE = 'Bearer realm="Rollcall SCIM"'

# the service layer's refusals, most specific first: (kind, status, scimType)
_ROLLCALL = (
    (Unauthenticated, 401, None),
    (PermissionDenied, 403, None),
    (NotFound, 404, None),
    (Conflict, 409, "uniqueness"),
    (InvariantViolation, 409, None),   # LastSuperViolation among them
    (InvalidInput, 400, "invalidValue"),
    (Unavailable, 503, None),
    (NotInitialised, 503, None),
)


def error_response(status: int, detail: str, scim_type: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    return Response(status, body, headers)


def from_exception(exc: Exception) -> Response | None:
    """The SCIM error for a refusal, or None for an exception nobody meant (a bug: the
    caller logs it and answers 500)."""
    if isinstance(exc, ScimError):
        return error_response(exc.status, exc.detail, exc.scim_type, exc.headers)
    if isinstance(exc, SCIMException):
        return _from_error(exc.to_error())
    if isinstance(exc, ValidationError):
        errors = Error.from_validation_errors(exc)
        return _from_error(errors[0]) if errors else error_response(400, str(exc),
                                                                     "invalidSyntax")
    if isinstance(exc, RollcallError):
        return error_response(*rollcall_status(exc))
    return None


def rollcall_status(exc: RollcallError) -> tuple[int, str, str | None]:
    for kind, status, scim_type in _ROLLCALL:
        if isinstance(exc, kind):
            return status, str(exc), scim_type
    return 400, str(exc), None


def _from_error(error: Error) -> Response:
    return error_response(error.status or 400, error.detail or "invalid request",
                          error.scim_type)
