"""The application's refusals. Each carries a sentence for a person: what happened and
what to do instead. The edges (CLI, Slack) turn them into exit codes and messages."""


class RollcallError(Exception):
    """Base class: `str(error)` is the sentence shown to the actor."""


class InvalidInput(RollcallError):
    """The request itself is malformed: a bad email, an empty name, a bad CSV."""


class NotFound(RollcallError):
    """A user, project or actor that does not exist (or was deleted)."""


class Conflict(RollcallError):
    """The request collides with existing data, e.g. an email already in use."""


class AlreadyImported(Conflict):
    """The same file (by its source key) was imported before: nothing is imported twice."""


class PermissionDenied(RollcallError):
    """The actor's admin level or scope does not allow the action."""


class ApprovalRequired(PermissionDenied):
    """Allowed, but only with a SUPER's approval (the seat approval policy)."""


class InvariantViolation(RollcallError):
    """The action would break one of the design's invariants."""


class AdminRoleHeld(InvariantViolation):
    """Invariant 2: an admin is not deactivated or deleted; the role goes first (Slack
    offers the one step that does both)."""


class LastSuperViolation(InvariantViolation):
    """Invariant 1: the change would leave no active SUPER over all projects. Besides the
    refusal, the attempt is posted to the billing channel so the admins see it."""


class NotInitialised(RollcallError):
    def __init__(self) -> None:
        super().__init__(
            "Rollcall is not initialised yet: run `rollcall init --org-name NAME "
            "--admin-email EMAIL --admin-first-name FIRST --admin-last-name LAST` first."
        )


class Unavailable(RollcallError):
    """The database could not be reached; nothing was written."""

    def __init__(self) -> None:
        super().__init__("The database is unreachable right now; nothing was changed. Try again.")
