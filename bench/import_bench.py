"""Onboarding benchmark: `rollcall users import` as a whole process, against a floor.

Run by hand, not by pytest:

    .venv/bin/python bench/import_bench.py [--sizes 10000,100000] [--postgres URL]

For each size and store, in one run:

- import: a fresh database (`rollcall init`, one project), then `rollcall users import
  FILE.csv` run as its own process, timed from outside (wall time) with its peak RSS
  (the parent's `os.wait4` rusage of that child). Half the rows belong to the project.
- floor: the same fresh database, then one process that inserts the same users, their
  `user.create` audit events and their first state periods with bare SQLAlchemy Core
  (executemany of 1,000 rows, one transaction): no CSV, no checks, no rules. What any
  import must at least write, through the same driver.
- the password hash of one new user: argon2id (what every creation paid before) and
  SHA-256 of the random secret (now; bot/passwords.py).
- `users add`: one user created through the service inside a warm process (`create_user`,
  which the CLI, the New User modal and approvals call), median of 50 after 5 warm-ups.

Results are printed and written to bench/last_import_results.json; docs/benchmarks.md
discusses them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ROLLCALL = str(Path(PYTHON).with_name("rollcall"))
SAM = "sam@example.com"

FLOOR = r"""
import sys
from datetime import UTC, datetime
from sqlalchemy import create_engine, insert
from store.db import normalize_url
from store.models import AuditEvent, Membership, StatePeriod, User
from store.periods import FOREVER

url, path = sys.argv[1], sys.argv[2]
import csv
rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
engine = create_engine(normalize_url(url))
now = datetime.now(UTC)
with engine.begin() as conn:
    project = conn.exec_driver_sql("SELECT id FROM projects").scalar()
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        ids = [i for (i,) in conn.execute(insert(User.__table__).returning(User.id), [
            {"first_name": r["first_name"], "last_name": r["last_name"], "email": r["email"],
             "email_key": r["email"].casefold(), "status": "active", "password_hash": "x" * 71,
             "created_at": now} for r in batch])]
        members = [{"user_id": i, "project_id": project} for i, r in zip(ids, batch)
                   if r["projects"]]
        if members:
            conn.execute(insert(Membership.__table__), members)
        conn.execute(insert(AuditEvent.__table__), [
            {"at": now, "via": "cli", "action": "user.create", "outcome": "ok",
             "subject_user_id": i, "subject": r["email"],
             "after": {"status": "active", "level": "none", "effective_level": "none",
                       "scope": None, "projects": [r["projects"]] if r["projects"] else []},
             "status_after": "active", "level_after": 0, "effective_after": 0}
            for i, r in zip(ids, batch)])
        conn.execute(insert(StatePeriod.__table__), [
            {"user_id": i, "start": now, "stop": FOREVER, "status": "active", "level": 0,
             "effective": 0} for i in ids])
"""


def write_csv(path: Path, size: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["email", "first_name", "last_name", "projects"])
        for n in range(size):
            out.writerow([f"person{n}@example.com", f"First{n}", f"Last{n}",
                          "alpha" if n % 2 else ""])


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stderr) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    out, err = child.stdout.read().decode(), child.stderr.read().decode()
    child.stdout.close()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{out}\n{err}")
    return seconds, usage.ru_maxrss / 1024, out.strip()


def fresh(url: str, env: dict[str, str]) -> None:
    env = {**env, "DATABASE_URL": url}
    run([ROLLCALL, "init", "--org-name", "Bench", "--admin-email", SAM,
         "--admin-first-name", "Sam", "--admin-last-name", "Stone"], env)
    run([ROLLCALL, "projects", "add", "alpha", "Alpha", "--actor", SAM], env)


def database(kind: str, folder: Path, postgres: str | None, label: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{label}.db'}"
    from sqlalchemy import create_engine, text

    from store.db import normalize_url

    schema = f"bench_{label}"
    with create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT").connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres else "?"
    return f"{postgres}{sep}options=-csearch_path%3D{schema}"


def users_add_ms(url: str) -> float:
    """Median milliseconds of one `create_user` in a warm process."""
    sys.path.insert(0, str(ROOT))
    from bot.bootstrap import bootstrap
    from bot.services import Via, create_user
    from bot.settings import Settings

    ctx = bootstrap(Settings(database_url=url))
    times = []
    for n in range(55):
        start = time.perf_counter()
        create_user(ctx, actor=SAM, via=Via.CLI, email=f"one{n}@example.org",
                    first_name="One", last_name="User", projects=["alpha"])
        times.append((time.perf_counter() - start) * 1000)
    ctx.uow.engine.dispose()
    return statistics.median(times[5:])


def hash_costs() -> dict[str, float]:
    """Milliseconds per new user's password hash: argon2id (before) and SHA-256 (now)."""
    from argon2 import PasswordHasher

    sys.path.insert(0, str(ROOT))
    from bot.passwords import RandomSecretHasher, random_password

    out = {}
    for name, hasher, count in (("argon2id_ms", PasswordHasher(), 10),
                                ("sha256_ms", RandomSecretHasher(), 10_000)):
        start = time.perf_counter()
        for _ in range(count):
            hasher.hash(random_password())
        out[name] = round((time.perf_counter() - start) * 1000 / count, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ROLLCALL_SCHEDULER": "off"}
    stores = ["sqlite"] + (["postgres"] if args.postgres else [])
    results = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
                          f"Python {platform.python_version()}",
               "date": time.strftime("%Y-%m-%d"), "runs": []}
    results["hash"] = hash_costs()
    print(json.dumps(results["hash"]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in (int(s) for s in args.sizes.split(",")):
            path = folder / f"users-{size}.csv"
            write_csv(path, size)
            for store in stores:
                url = database(store, folder, args.postgres, f"import{size}")
                fresh(url, env)
                took, rss, out = run([ROLLCALL, "users", "import", str(path), "--actor", SAM,
                                      "--json"], {**env, "DATABASE_URL": url})
                assert json.loads(out)["created"] == size, out
                floor_url = database(store, folder, args.postgres, f"floor{size}")
                fresh(floor_url, env)
                floor, floor_rss, _ = run([PYTHON, "-c", FLOOR, floor_url, str(path)], env)
                row = {"store": store, "rows": size, "import_s": round(took, 2),
                       "import_rss_mb": round(rss), "floor_s": round(floor, 2),
                       "floor_rss_mb": round(floor_rss), "ratio": round(took / floor, 2)}
                results["runs"].append(row)
                print(json.dumps(row), flush=True)
        for store in stores:
            url = database(store, folder, args.postgres, "add")
            fresh(url, env)
            ms = users_add_ms(url)
            results["runs"].append({"store": store, "users_add_ms": round(ms, 1)})
            print(json.dumps(results["runs"][-1]), flush=True)
    (ROOT / "bench" / "last_import_results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
