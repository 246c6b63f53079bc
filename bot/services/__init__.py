"""The service layer: every action with its rules, permissions, invariants and audit."""

from bot.services.admins import apply_now, login, remove_admin
from bot.services.context import Context, Via
from bot.services.imports import check_import, export_csv, import_users
from bot.services.intentions import (
    activate,
    add_user,
    change_admin_role,
    create_user,
    import_csv,
    remove_admin_role,
    set_admin,
)
from bot.services.org import add_project, init_organization
from bot.services.outcomes import Changed, Created, NeedsConfirmation, Requested
from bot.services.queries import list_admins, list_users
from bot.services.users import activate_user, deactivate_user, delete_user
from bot.services.views import Outcome, UserView

__all__ = [
    "Changed", "Context", "Created", "NeedsConfirmation", "Outcome", "Requested", "UserView",
    "Via", "activate", "activate_user", "add_project", "add_user", "apply_now",
    "change_admin_role", "check_import", "create_user", "deactivate_user", "delete_user",
    "export_csv", "import_csv", "import_users", "init_organization", "list_admins",
    "list_users", "login", "remove_admin", "remove_admin_role", "set_admin",
]
