"""The application's refusals. Each carries a sentence for a person: what happened and
what to do instead. The edges (CLI, Slack) turn them into exit codes and messages."""


class RollcallError(Exception):
    """Base class: `str(error)` is the sentence shown to the actor."""

    detail: str | None = None  # the operator's fuller sentence, when there is one
    # which part of a request with several parts was refused, when it is one part (the
    # admin role of a new user: "admin_role"), so a form shows it under that field
    part: str | None = None
    # whom the refusal is about, when the request named no single person by email (a
    # directory's group change), so its audit row and warning post name them
    subject: str | None = None

    def for_operator(self) -> str:
        """The sentence for whoever runs Rollcall (the command line, a log line): with
        what only they need (which database, why it failed). Slack shows `str()`."""
        return self.detail or str(self)


class InvalidInput(RollcallError):
    """The request itself is malformed: a bad email, an empty name, a bad CSV."""


class Unauthenticated(RollcallError):
    """A request without a valid credential (a missing, unknown or revoked SCIM token):
    nothing ran; the sentence says how to get one."""


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


INIT_COMMAND = ("rollcall init --org-name NAME --admin-email EMAIL --admin-first-name FIRST "
                "--admin-last-name LAST")


class NotInitialised(RollcallError):
    """No organization in the database. `detail`, for the operator, says which database
    was used and how to point at another one."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(f"Rollcall is not initialised yet: run `{INIT_COMMAND}` first.")
        self.detail = detail


class Unavailable(RollcallError):
    """The database could not be reached; nothing was written. `detail`, for the
    operator, says why."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("The database is unreachable right now; nothing was changed. Try again.")
        self.detail = detail


class DatabaseSettingError(Unavailable):
    """DATABASE_URL names a database Rollcall cannot use as it is: a folder, database or
    role that does not exist, a file that is not a database, a refused password. Trying
    again cannot help; the setting must change (the command line exits 2). `detail` is
    the operator's one line naming the setting, what is wrong and what to do."""

    def __init__(self, detail: str) -> None:
        RollcallError.__init__(
            self, "Rollcall cannot use its database as configured; nothing was changed. "
                  "Ask whoever runs Rollcall to check its DATABASE_URL setting.")
        self.detail = detail


class OutdatedSchema(Unavailable):
    """The database was set up by an older Rollcall: a table this version needs is
    missing until `rollcall db upgrade` runs (`serve` and `clock` run it themselves)."""

    def __init__(self, detail: str) -> None:
        RollcallError.__init__(
            self, "Rollcall's database needs an upgrade; nothing was changed. Ask whoever "
                  "runs Rollcall to run `rollcall db upgrade`.")
        self.detail = detail


class UsageError(RollcallError):
    """The command line's arguments are malformed (a price that is not a number, an
    unknown time zone, nothing to change): a usage error, exit 2, like argparse's own."""
