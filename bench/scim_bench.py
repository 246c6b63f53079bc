"""SCIM benchmark: `POST /scim/v2/Users` and `PATCH /scim/v2/Users/{id}` through the real
HTTP server, against a bare WSGI floor served the same way, on SQLite and PostgreSQL.

Run by hand, not by pytest:

    .venv/bin/python bench/scim_bench.py [--users 10000] [--store sqlite|postgres|both]
                                         [--seed 10000] [--patches 4000] [--clients 8]
                                         [--configs 2x8] [--postgres URL] [--profile]

For each store, in one run, one server after the other (each on its own fresh database):

1. Seed: `rollcall init` (sam@example.com, SUPER over all projects), then `rollcall users
   import seed.csv` of `--seed` users (the service layer's bulk path, `import_users`),
   both run as processes. For Rollcall, `rollcall scim token create --name bench --actor
   sam@example.com`; the token is its last stdout line. On PostgreSQL each server gets
   its own database (`scim_bench`, `scim_bench_floor`), created and dropped here through
   the `--postgres` URL; its own database (`test`) is never written.
2. Serve, as production does (Procfile's `web`, `rollcall serve`: gthread, 2 workers x 8
   threads): `python -m gunicorn SPEC --worker-class gthread --workers W --threads T`,
   - `rollcall`: `handlers.web:create_app()`, with a fake Slack (bench/slack_bench.py's)
     behind SLACK_API_URL so nothing leaves the machine;
   - `floor`: `bench.scim_bench:floor_app()`, a bare WSGI app on the same database,
     through the same engine settings (`store.db.make_engine`: the pool, SQLite's WAL and
     busy timeout): POST parses the JSON, INSERTs the user row (RETURNING its id) and
     commits, PATCH parses the JSON and UPDATEs the status (RETURNING the row) and
     commits; both answer the user as SCIM JSON. No token, no rules, no audit.
3. Load: `--clients` threads, each with its own keep-alive `http.client` connection,
   take the next request from a shared list until it is empty. Latency is from sending
   a request to reading its whole response. First a warm-up (100 POSTs, 100 PATCHes,
   not counted), then:
   - provisioning: `--users` POSTs of new users, as Okta sends them (`userName`, `name`,
     `emails`, `externalId`, `displayName`, `active`); the wall time from the first
     request to the last answer, and the POST latencies;
   - deprovisioning: `--patches` PATCHes `{"Operations": [{"op": "replace", "path":
     "active", "value": false}]}` on distinct seeded users (none of them an admin).
   Anything but 201 (POST) or 200 (PATCH) is an error; its time counts in the
   percentiles. Afterwards the users are counted in the database (and for Rollcall
   through `GET /Users?filter=active eq false`).
4. `--profile`: after the runs, one POST and one PATCH (200 of each) through Rollcall's
   WSGI app in this process under cProfile, on the same seeded SQLite/PostgreSQL
   database; the top functions are printed.

Results are printed as a table and written to bench/last_scim_results.json; docs/
benchmarks.md ("SCIM provisioning") discusses them.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
ROLLCALL = str(Path(PYTHON).with_name("rollcall"))
SAM = "sam@example.com"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
MEDIA = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WARM = 100
TARGET_RATIO = 2.0
TARGET_PROVISION_S = 60.0


# ---------------------------------------------------------------------------------------
# The floor (loaded by gunicorn in its workers: `bench.scim_bench:floor_app()`)
# ---------------------------------------------------------------------------------------


def floor_app():
    """A bare WSGI app doing what a SCIM create or deactivate must at least do: parse the
    JSON, one INSERT (or UPDATE) of the user row in one transaction, answer JSON."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select, text, update

    from store.db import make_engine
    from store.models import User

    engine = make_engine(os.environ["DATABASE_URL"])
    users = User.__table__
    columns = (users.c.id, users.c.email, users.c.first_name, users.c.last_name,
               users.c.external_id, users.c.status, users.c.created_at)

    def resource(row: Any, base: str) -> dict[str, Any]:
        uid, email, first, last, external, status, created = row
        stamp = created.isoformat()
        return {"schemas": [USER_SCHEMA], "id": str(uid), "externalId": external,
                "userName": email, "name": {"givenName": first, "familyName": last},
                "emails": [{"value": email, "type": "work", "primary": True}],
                "active": status == "active",
                "meta": {"resourceType": "User", "created": stamp, "lastModified": stamp,
                         "location": f"{base}/Users/{uid}", "version": f'W/"{uid}"'}}

    def reply(start, status: str, body: dict[str, Any], extra: list | None = None):
        data = json.dumps(body).encode()
        start(status, [("Content-Type", MEDIA), ("Content-Length", str(len(data))),
                       *(extra or [])])
        return [data]

    def app(environ, start):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        base = f"http://{environ.get('HTTP_HOST', 'localhost')}/scim/v2"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        if path == "/scim/v2/Users" and method == "POST":
            data = json.loads(raw)
            email = data["userName"]
            with engine.begin() as conn:
                row = conn.execute(insert(users).returning(*columns), {
                    "first_name": data["name"]["givenName"],
                    "last_name": data["name"]["familyName"], "email": email,
                    "email_key": email.casefold(),
                    "status": "active" if data.get("active", True) else "pending",
                    "external_id": data.get("externalId"), "password_hash": "x" * 64,
                    "created_at": datetime.now(UTC)}).one()
            body = resource(row, base)
            return reply(start, "201 Created", body, [("Location", body["meta"]["location"])])
        if path.startswith("/scim/v2/Users/") and method == "PATCH":
            data = json.loads(raw)
            active = True
            for op in data["Operations"]:
                if str(op.get("path", "")).lower() == "active":
                    active = str(op["value"]).lower() == "true"
            with engine.begin() as conn:
                row = conn.execute(
                    update(users).where(users.c.id == int(path.rsplit("/", 1)[1]),
                                        users.c.status != "deleted")
                    .values(status="active" if active else "deactivated")
                    .returning(*columns)).one()
            return reply(start, "200 OK", resource(row, base))
        if path == "/healthz":
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return reply(start, "200 OK", {"status": "ok"})
        if path == "/count":  # for the check after a run
            with engine.connect() as conn:
                total = conn.execute(select(users.c.id).where(
                    users.c.status != "deleted")).all()
            return reply(start, "200 OK", {"users": len(total)})
        return reply(start, "404 Not Found", {"detail": "not found"})

    return app


# ---------------------------------------------------------------------------------------
# Databases and seeding
# ---------------------------------------------------------------------------------------


def run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done.stdout


def write_seed_csv(path: Path, size: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["email", "first_name", "last_name"])
        for n in range(size):
            out.writerow([f"seed{n:06d}@example.com", f"Seed{n}", f"Person{n}"])


def _pg_admin(postgres: str, statements: list[str]) -> None:
    from sqlalchemy import create_engine, text

    from store.db import normalize_url

    engine = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


def fresh_database(store: str, label: str, folder: Path, postgres: str) -> str:
    if store == "sqlite":
        for old in folder.glob(f"{label}.db*"):
            old.unlink()
        return f"sqlite:///{folder / f'{label}.db'}"
    from sqlalchemy.engine import make_url

    name = f"scim_bench{'' if label == 'rollcall' else '_' + label}"
    _pg_admin(postgres, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                         f'CREATE DATABASE "{name}"'])
    return make_url(postgres).set(database=name).render_as_string(hide_password=False)


def drop_database(store: str, url: str, postgres: str) -> None:
    if store == "postgres":
        from sqlalchemy.engine import make_url

        _pg_admin(postgres, [f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                             "WITH (FORCE)"])


def seed(url: str, csv_path: Path, size: int, env: dict[str, str], *, token: bool) -> dict:
    env = {**env, "DATABASE_URL": url}
    t0 = time.perf_counter()
    run([ROLLCALL, "init", "--org-name", "Bench", "--admin-email", SAM,
         "--admin-first-name", "Sam", "--admin-last-name", "Stone"], env)
    t1 = time.perf_counter()
    out = run([ROLLCALL, "users", "import", str(csv_path), "--actor", SAM, "--json"], env)
    assert json.loads(out)["created"] == size, out
    t2 = time.perf_counter()
    result = {"init_s": round(t1 - t0, 2), "import_s": round(t2 - t1, 2)}
    if token:
        out = run([ROLLCALL, "scim", "token", "create", "--name", "bench", "--actor", SAM],
                  env)
        result["token"] = out.strip().splitlines()[-1].strip()
    return result


def seeded_ids(url: str, count: int) -> list[int]:
    """Ids of `count` seeded users (none is an admin: the import makes no admin)."""
    from sqlalchemy import select

    from store.db import make_engine
    from store.models import AdminGrant, User

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ids = conn.execute(
                select(User.id).where(User.email.like("seed%"), User.status == "active",
                                      User.id.not_in(select(AdminGrant.user_id)))
                .order_by(User.id).limit(count)).scalars().all()
    finally:
        engine.dispose()
    assert len(ids) == count, (len(ids), count)
    return list(ids)


def count_users(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from store.db import make_engine
    from store.models import User

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(User.status, func.count()).group_by(User.status)).all()
    finally:
        engine.dispose()
    return {status: n for status, n in rows}


# ---------------------------------------------------------------------------------------
# gunicorn
# ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, spec: str, workers: int, threads: int, env: dict[str, str],
                 log: Path) -> None:
        self.port = _free_port()
        self.workers = workers
        self.argv = [PYTHON, "-m", "gunicorn", spec, "--bind", f"127.0.0.1:{self.port}",
                     "--worker-class", "gthread", "--threads", str(threads),
                     "--workers", str(workers)]
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text().count("Booting worker") < self.workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                            timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not healthy:\n{self.log.read_text()}")
            time.sleep(0.1)
        time.sleep(0.5)

    def pids(self) -> list[int]:
        pid = self.proc.pid
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [pid, *map(int, kids)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def _cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


# ---------------------------------------------------------------------------------------
# The load
# ---------------------------------------------------------------------------------------


def new_user(n: int, prefix: str) -> dict[str, Any]:
    email = f"{prefix}{n:06d}@example.org"
    return {"schemas": [USER_SCHEMA], "userName": email, "externalId": f"00u{prefix}{n:06d}",
            "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
            "displayName": f"Given{n} Family{n}",
            "emails": [{"primary": True, "value": email, "type": "work"}], "active": True}


DEACTIVATE = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [
    {"op": "replace", "path": "active", "value": False}]})


def _client(port: int, token: str | None, jobs: list[tuple[str, str, str, int]],
            lock: threading.Lock, cursor: list[int], out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": MEDIA, "Accept": MEDIA}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lat: list[float] = []
    errors = 0
    first_error = None
    while True:
        with lock:
            i = cursor[0]
            cursor[0] += 1
        if i >= len(jobs):
            break
        method, path, body, expected = jobs[i]
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            ok = resp.status == expected
            if not ok and first_error is None:
                first_error = f"HTTP {resp.status}: {data[:300].decode(errors='replace')}"
        except (OSError, http.client.HTTPException) as exc:
            ok = False
            first_error = first_error or repr(exc)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        lat.append(time.perf_counter() - t0)
        errors += not ok
    conn.close()
    with lock:
        out.append({"lat": lat, "errors": errors, "first_error": first_error})


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def load(server: Gunicorn, token: str | None, jobs: list[tuple[str, str, str, int]],
         clients: int) -> dict:
    lock, cursor, out = threading.Lock(), [0], []
    threads = [threading.Thread(target=_client, args=(server.port, token, jobs, lock,
                                                      cursor, out))
               for _ in range(clients)]
    pids = server.pids()
    cpu0, t0 = _cpu_seconds(pids), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds(pids) - cpu0
    lat = sorted(x for o in out for x in o["lat"])
    return {
        "requests": len(lat), "errors": sum(o["errors"] for o in out),
        "first_error": next((o["first_error"] for o in out if o["first_error"]), None),
        "wall_s": round(wall, 2), "rps": round(len(lat) / wall, 1),
        "p50_ms": round(_pct(lat, 0.50) * 1000, 1), "p90_ms": round(_pct(lat, 0.90) * 1000, 1),
        "p99_ms": round(_pct(lat, 0.99) * 1000, 1),
        "max_ms": round((lat[-1] if lat else math.nan) * 1000, 1),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(lat)), 2),
        "server_cores": round(cpu / wall, 2),
    }


def post_jobs(count: int, prefix: str) -> list[tuple[str, str, str, int]]:
    return [("POST", "/scim/v2/Users", json.dumps(new_user(n, prefix)), 201)
            for n in range(count)]


def patch_jobs(ids: list[int]) -> list[tuple[str, str, str, int]]:
    return [("PATCH", f"/scim/v2/Users/{uid}", DEACTIVATE, 200) for uid in ids]


def scim_get(port: int, token: str, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/scim/v2{path}",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Accept": MEDIA})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------------------------------
# One server on one store
# ---------------------------------------------------------------------------------------


def measure(name: str, store: str, args: argparse.Namespace, folder: Path,
            csv_path: Path, fake_api: str) -> dict:
    workers, threads = args.workers, args.threads
    url = fresh_database(store, name, folder, args.postgres)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ROLLCALL_SCHEDULER": "off",
           "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": "bench-signing-secret", "SLACK_API_URL": fake_api}
    seeded = seed(url, csv_path, args.seed, env, token=name == "rollcall")
    token = seeded.pop("token", None)
    print(f"[{store} {name}] seeded {args.seed} users: init {seeded['init_s']} s, import "
          f"{seeded['import_s']} s", flush=True)
    ids = seeded_ids(url, WARM + args.patches)
    spec = "handlers.web:create_app()" if name == "rollcall" else "bench.scim_bench:floor_app()"
    server = Gunicorn(spec, workers, threads, env, folder / f"{store}-{name}.log")
    result: dict[str, Any] = {"seed": seeded, "url": url if store == "sqlite" else
                              url.rsplit("/", 1)[-1]}
    try:
        server.wait_ready()
        warm = load(server, token, post_jobs(WARM, "warm") + patch_jobs(ids[:WARM]),
                    args.clients)
        if warm["errors"]:
            raise SystemExit(f"[{store} {name}] warm-up failed: {warm['first_error']}")
        print(f"[{store} {name}] {' '.join(server.argv[2:])}: {args.users} POSTs, "
              f"{args.patches} PATCHes, {args.clients} clients ...", flush=True)
        result["post"] = load(server, token, post_jobs(args.users, "scim"), args.clients)
        _say(store, name, "POST", result["post"])
        result["patch"] = load(server, token, patch_jobs(ids[WARM:]), args.clients)
        _say(store, name, "PATCH", result["patch"])
        if name == "rollcall":
            quoted = urllib.request.quote('active eq false')
            listed = scim_get(server.port, token, f"/Users?filter={quoted}&count=1")
            result["scim_inactive"] = listed["totalResults"]
        bad = [ln for ln in server.log.read_text().splitlines()
               if "ERROR" in ln or "Traceback" in ln]
        result["log_errors"] = len(bad)
        if bad:
            print(f"[{store} {name}] {len(bad)} error lines in the log, first: {bad[0]}")
    finally:
        server.stop()
    result["statuses"] = count_users(url)
    expected = 1 + args.seed + WARM + args.users
    live = sum(n for s, n in result["statuses"].items() if s != "deleted")
    result["check"] = (live == expected
                       and result["statuses"].get("deactivated", 0) == WARM + args.patches
                       and result.get("scim_inactive", WARM + args.patches)
                       == WARM + args.patches)
    print(f"[{store} {name}] users by status afterwards: {result['statuses']} (expected "
          f"{expected} live, {WARM + args.patches} deactivated): "
          f"{'ok' if result['check'] else 'MISMATCH'}", flush=True)
    result["database_url"] = url
    return result


def _say(store: str, name: str, op: str, r: dict) -> None:
    print(f"[{store} {name}] {op}: p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, p99 "
          f"{r['p99_ms']} ms, max {r['max_ms']} ms; {r['requests']} in {r['wall_s']} s "
          f"({r['rps']}/s); {r['errors']} errors ({r['first_error']}); server "
          f"{r['server_cpu_ms_per_request']} CPU ms/request, {r['server_cores']} cores",
          flush=True)


# ---------------------------------------------------------------------------------------
# Profile: Rollcall's WSGI app in this process
# ---------------------------------------------------------------------------------------


def profile(url: str, token: str, count: int, fake_api: str) -> dict[str, str]:
    """cProfile of `count` POSTs, then `count` PATCHes, through `create_app()`."""
    import cProfile
    import io
    import pstats

    os.environ.update({"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench",
                       "SLACK_SIGNING_SECRET": "bench-signing-secret",
                       "SLACK_API_URL": fake_api, "ROLLCALL_SCHEDULER": "off"})
    from handlers.web import create_app

    app = create_app()
    ids = seeded_ids(url, count)  # still active: the run deactivated the first ones

    def call(method: str, path: str, body: str) -> int:
        raw = body.encode()
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
                   "CONTENT_TYPE": MEDIA, "CONTENT_LENGTH": str(len(raw)),
                   "HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": "127.0.0.1",
                   "wsgi.input": io.BytesIO(raw), "wsgi.url_scheme": "http"}
        status: list[str] = []
        b"".join(app(environ, lambda s, h, *a: status.append(s)))
        return int(status[0].split()[0])

    for n in range(20):  # warm this process
        assert call("POST", "/scim/v2/Users", json.dumps(new_user(n, "pwarm"))) == 201
    out = {}
    for op, jobs in (("POST", [("POST", "/scim/v2/Users", json.dumps(new_user(n, "prof")))
                               for n in range(count)]),
                     ("PATCH", [("PATCH", f"/scim/v2/Users/{uid}", DEACTIVATE)
                                for uid in ids])):
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for job in jobs:
            assert call(*job) in (200, 201)
        prof.disable()
        took = (time.perf_counter() - t0) * 1000 / len(jobs)
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        out[op] = f"{op}: {took:.2f} ms per request under cProfile\n{text.getvalue()}"
    return out


# ---------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import gunicorn
    import sqlalchemy

    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "machine": platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "gunicorn": gunicorn.__version__,
            "sqlalchemy": sqlalchemy.__version__, "date": date}


def table(results: dict[str, dict], users: int) -> str:
    lines = ["| store | operation | Rollcall p50 / p99 ms | floor p50 / p99 ms | "
             "p99 ratio | target p99 <= 2x floor |", "|---|---|---|---|---|---|"]
    for store, r in results.items():
        for op in ("post", "patch"):
            ours, floor = r["rollcall"][op], r["floor"][op]
            ratio = ours["p99_ms"] / floor["p99_ms"]
            ok = ratio <= TARGET_RATIO and not ours["errors"]
            lines.append(f"| {store} | {op.upper()} | {ours['p50_ms']} / {ours['p99_ms']} | "
                         f"{floor['p50_ms']} / {floor['p99_ms']} | {ratio:.2f}x | "
                         f"{'met' if ok else 'MISSED'} |")
    lines += ["", f"| store | {users:,} users provisioned (8 clients POSTing): Rollcall s | "
                  "floor s | Rollcall / floor | target <= 60 s |", "|---|---|---|---|---|"]
    for store, r in results.items():
        ours, floor = r["rollcall"]["post"], r["floor"]["post"]
        ok = ours["wall_s"] <= TARGET_PROVISION_S and not ours["errors"]
        lines.append(f"| {store} | {ours['wall_s']} | {floor['wall_s']} | "
                     f"{ours['wall_s'] / floor['wall_s']:.2f}x | {'met' if ok else 'MISSED'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000,
                        help="users provisioned by POST (default 10000)")
    parser.add_argument("--seed", type=int, default=10_000,
                        help="existing users, imported before (default 10000)")
    parser.add_argument("--patches", type=int, default=4_000,
                        help="PATCH active=false requests on seeded users (default 4000)")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (serve: 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads each (serve: 8)")
    parser.add_argument("--postgres", default=POSTGRES,
                        help="a PostgreSQL URL to create and drop the bench databases from")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, cProfile 200 POSTs and PATCHes in-process")
    parser.add_argument("--keep", help="keep the SQLite files and logs in this folder")
    args = parser.parse_args()
    assert args.patches + 2 * WARM <= args.seed, "--patches must leave seeded users over"
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]

    from bench.slack_bench import Fake

    info = machine()
    print(f"{info['cpu']} ({info['machine']}), {info['cores']} cores, Python "
          f"{info['python']}, gunicorn {info['gunicorn']}, SQLAlchemy {info['sqlalchemy']}; "
          f"{info['date']}", flush=True)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rollcall-scim-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "seed.csv"
    write_seed_csv(csv_path, args.seed)
    fake = Fake()
    results: dict[str, dict] = {}
    profiles: dict[str, dict[str, str]] = {}
    urls: list[tuple[str, str]] = []
    try:
        for store in stores:
            results[store] = {}
            for name in ("rollcall", "floor"):
                r = measure(name, store, args, folder, csv_path, fake.api_url)
                urls.append((store, r.pop("database_url")))
                results[store][name] = r
        if args.profile:
            for store, url in urls:
                if url.endswith("floor.db") or url.endswith("_floor"):
                    continue
                env = {**os.environ, "DATABASE_URL": url}
                token = run([ROLLCALL, "scim", "token", "create", "--name", "profile",
                             "--actor", SAM], env).strip().splitlines()[-1]
                profiles[store] = profile(url, token, 200, fake.api_url)
                for text in profiles[store].values():
                    print(f"\n==== {store} ====\n{text}")
    finally:
        fake.close()
        for store, url in urls:
            drop_database(store, url, args.postgres)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    print()
    print(table(results, args.users))
    doc = {"machine": info, "settings": {
        "users": args.users, "seed": args.seed, "patches": args.patches,
        "clients": args.clients, "gunicorn": f"{args.workers}x{args.threads} gthread",
        "warm_up": f"{WARM} POSTs + {WARM} PATCHes"}, "results": results}
    if profiles:
        doc["profiles"] = {s: {op: t[:6000] for op, t in p.items()} for s, p in profiles.items()}
    (ROOT / "bench" / "last_scim_results.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
