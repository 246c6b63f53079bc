"""The service layer: every action with its rules, permissions, invariants and audit."""

from bot.services.admins import apply_now, login, remove_admin, set_admin
from bot.services.context import Context, Via
from bot.services.imports import check_import, export_csv, import_users
from bot.services.org import add_project, init_organization
from bot.services.queries import list_admins, list_users
from bot.services.users import activate_user, create_user, deactivate_user, delete_user
from bot.services.views import Outcome, UserView

__all__ = [
    "Context", "Outcome", "UserView", "Via", "activate_user", "add_project", "apply_now",
    "check_import", "create_user", "deactivate_user", "delete_user", "export_csv",
    "import_users", "init_organization", "list_admins", "list_users", "login",
    "remove_admin", "set_admin",
]
