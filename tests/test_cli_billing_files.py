"""`rollcall billing chart [--out FILE.png]` and `rollcall billing invoice --cycle DATE
--csv`: the files of issue 15 on the command line, with the permissions of every billing
read."""

import csv
import io
import json
from decimal import Decimal

import pytest
from PIL import Image

SAM = ["--actor", "sam@example.com"]


@pytest.fixture
def org(cli, clock):
    clock.set("2025-01-05T00:00:00Z")
    assert cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").code == 0
    assert cli("billing", "configure", "--anchor", "2025-01-01", "--user-price", "10",
               "--admin-price", "super=50", "--admin-price", "view-only=10", *SAM).code == 0
    assert cli("users", "add", "--email", "lee@example.com", "--first-name", "=1+1",
               "--last-name", "Park", *SAM).code == 0
    assert cli("users", "add", "--email", "kim@example.com", "--first-name", "Kim",
               "--last-name", "Ray", *SAM).code == 0
    assert cli("admins", "set", "lee@example.com", "view-only", *SAM).code == 0
    clock.set("2025-03-10T00:00:00Z")
    assert cli("billing", "close").code == 0  # January and February
    return cli


def sections(text: str) -> list[list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    out, current = [], []
    for row in rows:
        if row:
            current.append(row)
        else:
            out.append(current)
            current = []
    return [*out, current]


def test_the_invoice_as_csv_equals_its_json_and_neutralises_formulas(org):
    doc = json.loads(org("billing", "invoice", "--cycle", "2025-02-14", "--json").out)
    result = org("billing", "invoice", "--cycle", "2025-02-14", "--csv", *SAM)
    assert result.code == 0
    head, lines, people = sections(result.out)
    assert head == [["invoice", "cycle_start", "cycle_end", "status", "currency", "total"],
                    ["February 2025 (Feb 1 - Feb 28)", doc["cycle_start"], doc["cycle_end"],
                     "final", "USD", doc["total"]]]
    assert lines[0] == ["description", "quantity", "unit_price", "per_days", "amount"]
    assert [(r[0], int(r[1]), r[2], r[4]) for r in lines[1:-1]] == [
        (("'" if ln["description"].startswith("=") else "") + ln["description"],
         ln["quantity"], ln["unit_price"], ln["amount"]) for ln in doc["lines"]]
    assert lines[-1] == ["Total", "", "", "", doc["total"]] == ["Total", "", "", "", "90.00"]
    assert sum(Decimal(r[4]) for r in lines[1:-1]) == Decimal(doc["total"])
    assert any(r[0].startswith("'=1+1 Park (lee@example.com)") for r in lines)  # as text
    assert people == [["email", "seat", "admin_level"], ["kim@example.com", "yes", ""],
                      ["lee@example.com", "yes", "view-only"],
                      ["sam@example.com", "yes", "super"]]


def test_the_running_cycle_as_csv_is_the_draft(org):
    head = sections(org("billing", "invoice", "--cycle", "2025-03-10", "--csv").out)[0]
    assert head[1][3] == "draft"


def test_csv_and_json_are_one_or_the_other(org):
    assert org("billing", "invoice", "--cycle", "2025-02-14", "--csv", "--json").code == 2


def test_the_chart_is_written_where_asked_and_says_where(org, tmp_path):
    out = tmp_path / "history.png"
    result = org("billing", "chart", "--out", str(out), *SAM)
    assert result.code == 0
    assert result.out.splitlines()[0] == f"Wrote the chart to {out}."
    assert "this cycle, March 2025 (Mar 1 - Mar 31): 3 active users, 2 admins" in result.out
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (1200, 675)


def test_the_chart_goes_to_the_current_folder_by_default(org, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = org("billing", "chart")
    assert result.code == 0 and (tmp_path / "rollcall-chart.png").is_file()
    assert str(tmp_path / "rollcall-chart.png") in result.out


def test_billing_files_need_the_rights_of_every_billing_read(org, tmp_path):
    out = tmp_path / "no.png"
    for argv in (["billing", "chart", "--out", str(out)],
                 ["billing", "invoice", "--cycle", "2025-02-14", "--csv"]):
        refused = org(*argv, "--actor", "kim@example.com")
        assert refused.code == 1 and "not an administrator" in refused.err
        assert refused.out == ""
    assert not out.exists()


def test_a_chart_that_cannot_be_written_is_refused_with_the_reason(org, tmp_path):
    result = org("billing", "chart", "--out", str(tmp_path / "missing" / "c.png"))
    assert result.code == 1 and "Could not write the chart" in result.err
