"""CSV injection (issue 9, finding 10): `users export` neutralises cells a spreadsheet
would run as formulas, and `users import` takes such an export back exactly."""

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.bootstrap import bootstrap, upgrade_schema
from bot.csv_cells import TRIGGERS, csv_text, neutralise, restore
from bot.settings import Settings
from handlers.cli import main
from tests.conftest import HASHER, Result

SAM = ["--actor", "sam@example.com"]
ROOT = ["--actor", "root@example.com"]
FORMULA_CHARS = "=+-@\t\r"  # OWASP's list; TRIGGERS may hold more
DANGEROUS = set(FORMULA_CHARS) | set(TRIGGERS)


def _runner(ctx):
    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), context=ctx, stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def fresh_cli(database_url, tmp_path, clock):
    """`rollcall` on a second, empty database of the same backend as `cli`'s."""
    if database_url.startswith("sqlite"):
        urls = (u for u in [f"sqlite:///{tmp_path / 'fresh.db'}"])
    else:
        from tests.conftest import _postgres_url

        urls = _postgres_url()
    ctx = bootstrap(Settings(database_url=next(urls)), clock=clock, hasher=HASHER)
    upgrade_schema(ctx)
    yield _runner(ctx)
    ctx.uow.engine.dispose()
    urls.close()  # drops the PostgreSQL schema


HOSTILE = [  # (email, first name, last name, project)
    ("=x@example.com", '=HYPERLINK("http://evil")', "+1", "alpha"),
    ("-y@example.com", "-2", "@SUM(A1)", ""),
    ("+z@example.com", "'=already quoted", "''-twice", ""),
    ("plain@example.com", "'Quote", "O'Brien", "alpha"),
]


def _people(run) -> list[dict]:
    return json.loads(run("users", "list", "--json").out)


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_neutralises_formulas_and_imports_back_exactly(cli, fresh_cli, tmp_path):
    assert cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").code == 0
    assert cli("projects", "add", "alpha", "Alpha", *SAM).code == 0
    for email, first, last, project in HOSTILE:
        argv = ["users", "add", f"--email={email}", f"--first-name={first}",
                f"--last-name={last}", *SAM]
        result = cli(*argv, *(["--project", project] if project else []))
        assert result.code == 0, result.err
    before = _people(cli)
    assert {p["first_name"] for p in before} >= {'=HYPERLINK("http://evil")', "-2"}
    assert "=x@example.com" in {p["email"] for p in before}  # the emails are valid as they are

    exported = cli("users", "export").out
    cells = [c for row in _cells(exported) for c in row]
    assert [c for c in cells if c[:1] in DANGEROUS] == []
    assert {"'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)", "'=x@example.com",
            "''=already quoted", "'''-twice", "'Quote", "O'Brien"} <= set(cells)

    # the exact output into a fresh database (whose own SUPER is someone else)
    assert fresh_cli("init", "--org-name", "Other", "--admin-email", "root@example.com",
                     "--admin-first-name", "Root", "--admin-last-name", "Admin").code == 0
    assert fresh_cli("projects", "add", "alpha", "Alpha", *ROOT).code == 0
    path = tmp_path / "export.csv"
    path.write_text(exported + "\n", encoding="utf-8", newline="")
    dry = fresh_cli("users", "import", str(path), "--dry-run", *ROOT)
    assert dry.code == 0, dry.err
    result = fresh_cli("users", "import", str(path), *ROOT)
    assert result.code == 0, result.err
    after = [p for p in _people(fresh_cli) if p["email"] != "root@example.com"]
    assert after == before
    again = fresh_cli("users", "export").out
    assert [ln for ln in again.splitlines() if not ln.startswith("root@")] == \
        exported.splitlines()


def test_an_export_a_spreadsheet_saved_again_still_imports(cli, tmp_path):
    """A spreadsheet drops the marker quote when it saves: the cell is the name again."""
    cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
        "--admin-first-name", "Sam", "--admin-last-name", "Stone")
    path = tmp_path / "saved.csv"
    path.write_text('email,first_name,last_name\n=x@example.com,"=HYPERLINK(""a"")",-2\n')
    assert cli("users", "import", str(path), *SAM).code == 0
    who = next(p for p in _people(cli) if p["email"] == "=x@example.com")
    assert (who["first_name"], who["last_name"]) == ('=HYPERLINK("a")', "-2")


# --- the pair of functions -----------------------------------------------------------

edgy = st.text(alphabet="'= +-@\t\r\nax\x00", max_size=8)


@given(st.one_of(st.text(), edgy, st.tuples(edgy, st.text()).map("".join)))
@example("'=1")
@example("' =1")
@example("''")
@example("")
def test_restore_undoes_neutralise_and_nothing_dangerous_leads(cell):
    safe = neutralise(cell)
    assert restore(safe) == cell
    assert safe[:1] not in DANGEROUS
    assert not safe.lstrip(" ").startswith(tuple(FORMULA_CHARS))
    if safe != cell:
        assert safe == "'" + cell


@given(st.text(alphabet="' "), st.sampled_from(FORMULA_CHARS), st.text())
def test_a_formula_cell_gets_exactly_one_quote(lead, trigger, rest):
    cell = lead + trigger + rest
    assert neutralise(cell) == "'" + cell


@given(st.text(alphabet="' "), st.sampled_from("aZ1é(\"#"), st.text())
def test_any_other_cell_is_written_as_it_is(lead, first, rest):
    cell = lead + first + rest
    assert neutralise(cell) == cell == restore(cell)


@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
                         min_size=1, max_size=4), max_size=4))
def test_csv_text_round_trips_through_a_csv_reader(rows):
    text = csv_text(rows)
    written = _cells(text)
    assert [[restore(c) for c in row] for row in written] == rows
    assert [c for row in written for c in row if c[:1] in DANGEROUS] == []


def test_the_pair_is_written_once():
    """The export uses the shared pair; no other module writes CSV by hand."""
    root = Path(__file__).resolve().parent.parent
    writers = [p.relative_to(root).as_posix() for d in ("bot", "billing", "handlers", "store")
               for p in (root / d).rglob("*.py")
               if "csv.writer(" in p.read_text() or "csv.DictWriter(" in p.read_text()]
    assert writers == ["bot/csv_cells.py"], (
        "write CSV for people through bot.csv_cells.csv_text, which neutralises formulas")
