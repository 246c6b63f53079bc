"""The layers are checked by import-linter (pyproject.toml [tool.importlinter], run by
`make lint` and `make test`): these tests show the contracts hold on the tree, and that
they fail on an import against the grain, so the check cannot pass vacuously."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("billing", "store", "bot", "handlers")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=folder, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(folder),
                                                       "PATH": "/usr/bin:/bin"})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the four packages and the contracts, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract(tree):
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("bot/services/users.py", "import handlers.slack.views", "Layers: entry points, application"),
    ("store/repository.py", "import bot.rules", "Layers: entry points, application"),
    ("billing/cycles.py", "import store.models", "Layers: entry points, application"),
    ("bot/services/approvals.py", "import bot.outbox", "The services import no entry"),
    ("bot/services/users.py", "import bot.bootstrap", "The services import no entry"),
    ("handlers/slack/commands.py", "import handlers.scheduler", "Entry points are peers"),
    ("handlers/login.py", "import handlers.slack.support", "Entry points are peers"),
    ("bot/services/org.py", "import slack_sdk", "never speak Slack transport"),
    ("billing/money.py", "import sqlalchemy", "Billing is pure"),
])
def test_an_import_against_the_grain_breaks_a_contract(tree, module, line, contract):
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # against the grain\n")
    done = lint_imports(tree)
    assert done.returncode != 0
    broken = [row for row in done.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(contract in row for row in broken), done.stdout
