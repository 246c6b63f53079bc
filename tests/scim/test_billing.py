"""Billing through SCIM, golden style (tests/test_golden_core.py): the same people, made
admin and deprovisioned on the 10th, once by the identity provider over SCIM and once by
an admin on the command line, in two organizations on one clock. Every invoice comes out
the same, under each user policy; under `any-time` it is also the one DESIGN §2 gives.

The clock is the tests' own (FixedClock): each step sets the instant it happens at."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap, upgrade_schema
from bot.services import Context
from bot.settings import Settings
from handlers.cli import main
from tests.conftest import HASHER, _copy_sqlite, _postgres_url
from tests.scim.conftest import SAM, patch_body, user_body

URSULA, ADAM = "ursula@example.com", "adam@example.com"
CYCLES = ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]


@pytest.fixture
def twin(database_url: str, migrated_sqlite: Path, tmp_path: Path, clock) -> Iterator[Context]:
    """A second, empty organization on the same backend and the same clock."""
    made = None
    if database_url.startswith("sqlite"):
        _copy_sqlite(migrated_sqlite, tmp_path / "twin.db")
        url = f"sqlite:///{tmp_path / 'twin.db'}"
    else:
        made = _postgres_url()
        url = next(made)
    ctx = bootstrap(Settings(database_url=url), clock=clock, hasher=HASHER)
    if made is not None:
        upgrade_schema(ctx)
    yield ctx
    ctx.uow.engine.dispose()
    if made is not None:
        made.close()


def rollcall(ctx: Context, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(argv), context=ctx, stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def configure(ctx: Context, policy: str) -> None:
    rollcall(ctx, "billing", "configure", "--timezone", "UTC", "--cycle", "monthly",
             "--anchor", "2025-01-01", "--currency", "USD", "--user-price", "10.00",
             "--admin-price", "super=50.00", "--admin-price", "assistant=30.00",
             "--admin-price", "view-only=10.00", "--user-policy", policy, "--actor", SAM)


def invoices(ctx: Context) -> list[dict]:
    rollcall(ctx, "billing", "close")
    return [json.loads(rollcall(ctx, "billing", "invoice", "--cycle", day, "--json"))
            for day in CYCLES]


@pytest.mark.parametrize("policy", ["any-time", "end-of-cycle", "prorated"])
def test_deprovisioning_by_scim_on_the_10th_bills_as_the_command_line(scim, ctx, twin,
                                                                      clock, policy):
    # the reference: everything on the command line, as a person would type it
    clock.set("2025-02-01T00:00:00Z")
    rollcall(twin, "init", "--org-name", "Acme", "--admin-email", SAM,
             "--admin-first-name", "Sam", "--admin-last-name", "Stone")
    clock.set("2025-02-01T00:00:30Z")
    for org in (twin, ctx):
        configure(org, policy)
    clock.set("2025-02-01T00:01:00Z")
    rollcall(twin, "users", "add", "--email", URSULA, "--first-name", "Ursula",
             "--last-name", "Ode", "--actor", SAM)
    ursula = scim.post("/Users", user_body(URSULA, "Ursula", "Ode")).body["id"]
    clock.set("2025-02-01T00:01:01Z")
    rollcall(twin, "users", "add", "--email", ADAM, "--first-name", "Adam", "--last-name",
             "Ash", "--actor", SAM)
    adam = scim.post("/Users", user_body(ADAM, "Adam", "Ash")).body["id"]
    clock.set("2025-02-01T00:02:00Z")
    rollcall(twin, "admins", "set", ADAM, "assistant", "--projects", "all", "--actor", SAM)
    assert scim.patch("/Groups/assistant", patch_body(
        {"op": "add", "path": "members", "value": [{"value": adam}]})).status == 200
    clock.set("2025-02-01T00:03:00Z")
    for org in (twin, ctx):
        rollcall(org, "users", "login", ADAM)

    # the 10th: deactivated on the command line, deprovisioned by Okta and by Entra ID
    clock.set("2025-03-10T09:00:00Z")
    rollcall(twin, "users", "deactivate", URSULA, "--actor", SAM)
    okta = scim.patch(f"/Users/{ursula}", patch_body(
        {"op": "replace", "value": {"active": False}}))
    assert okta.status == 200 and okta.body["active"] is False
    clock.set("2025-03-10T09:00:01Z")
    rollcall(twin, "users", "deactivate", ADAM, "--remove-admin", "--actor", SAM)
    entra = scim.patch(f"/Users/{adam}", patch_body(
        {"op": "Replace", "path": "active", "value": "False"}))
    assert entra.status == 200 and entra.body["active"] is False

    clock.set("2025-06-01T12:00:00Z")
    by_cli, by_scim = invoices(twin), invoices(ctx)
    assert by_scim == by_cli
    if policy == "any-time":  # DESIGN §2: billed for a cycle if active at any instant of it
        assert [i["total"] for i in by_scim] == ["110.00", "110.00", "60.00", "60.00"]
        assert [i["active_users"] for i in by_scim] == [3, 3, 1, 1]
        assert by_scim[1]["admins"] == {SAM: "super", ADAM: "assistant"}
        assert by_scim[2]["admins"] == {SAM: "super"}
