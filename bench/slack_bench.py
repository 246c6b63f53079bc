"""Slack benchmark: `/users list` ack latency through the real HTTP server, against a bare
Bolt app served the same way.

Run by hand, not by pytest:

    .venv/bin/python bench/slack_bench.py [--seconds 20] [--warmup 3] [--clients 16]
                                          [--configs 2x8] [--keep DIR]

One run:

1. Builds a SQLite file in a temporary directory: the schema through Alembic, the
   organization through `init_organization` (sam@example.com, SUPER, mapped to Slack user
   U0SAM; argon2's CHEAPEST profile), then 9,999 more active users and one `user.create`
   audit event each bulk-inserted with SQLAlchemy Core: 10,000 users in all.
2. Starts a fake Slack in a subprocess (this script with `--fake`): a ThreadingHTTPServer
   that answers `auth.test` (Bolt calls it at start), any other Web API method with
   `{"ok": true}`, and accepts response_url POSTs, counting them per label and checking
   each is the expected page ("Total Active Users: 10000").
3. For each gunicorn configuration (`WORKERSxTHREADS`, production is 2x8), serves
   Rollcall exactly as production does, `gunicorn 'handlers.web:create_app()' --worker-class
   gthread ...` with DATABASE_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL in
   the environment, then the bare app (`bench.slack_bench:bare_app()`: a Bolt `App` with
   one `/users` command that only calls `ack()`, behind the same /healthz routing) with the
   same options, one after the other. Readiness: "Booting worker" once per worker in
   gunicorn's log, then GET /healthz until 200.
4. Load: `--clients` threads, each with its own keep-alive `http.client` connection,
   send signed (v0 HMAC-SHA256) form-encoded `/users list` slash commands back to back for
   `--warmup` + `--seconds` seconds. Latency is from sending a request to reading its whole
   response (the ack). Only requests sent after the warm-up count; errors are non-200
   answers and exceptions. At the end the lag is the number of acked requests whose page
   had not yet reached the fake's response_url; the script then waits for the drain.

Results are printed, with a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
SLACK_USER = "U0SAM"
ADMIN = "sam@example.com"
USERS = 10_000
PAGE_MARKER = f"Total Active Users: {USERS}"
TARGET_P99_MS = 300.0
TARGET_RATIO = 2.0


# ---------------------------------------------------------------------------------------
# The bare app (loaded by gunicorn in its workers: `bench.slack_bench:bare_app()`)
# ---------------------------------------------------------------------------------------


def bare_app():
    """A Bolt app with one ack-only `/users` command, Rollcall's WSGI routing around it."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    base = os.environ["SLACK_API_URL"]
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"],
                       base_url=base if base.endswith("/") else base + "/")
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
              process_before_response=False, raise_error_for_unhandled_request=False)

    @app.command("/users")
    def users(ack) -> None:
        ack()

    slack = SlackRequestHandler(app)
    ok = b'{"status": "ok"}'

    def wsgi(environ, start):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack(environ, start)
        start("200 OK", [("Content-Type", "application/json"),
                         ("Content-Length", str(len(ok)))])
        return [ok]

    return wsgi


# ---------------------------------------------------------------------------------------
# The fake Slack (a subprocess: `slack_bench.py --fake`)
# ---------------------------------------------------------------------------------------


def run_fake() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()
    stats: dict[str, dict] = {}
    auth = json.dumps({"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1",
                       "url": "https://example.slack.com/"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/response/"):
                label = self.path.split("/")[2]
                good = PAGE_MARKER.encode() in body
                with lock:
                    s = stats.setdefault(label, {"posts": 0, "pages": 0, "other": []})
                    s["posts"] += 1
                    if good:
                        s["pages"] += 1
                    elif len(s["other"]) < 5:
                        s["other"].append(body.decode(errors="replace")[:300])
                return self._send(b"ok")
            if self.path == "/api/auth.test":
                return self._send(auth)
            return self._send(b'{"ok": true}')

        def do_GET(self) -> None:
            with lock:
                data = json.dumps(stats).encode()
            self._send(data)

        def _send(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 512
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.05)


class Fake:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--fake"], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True)
        port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{port}"
        self.api_url = self.url + "/api/"

    def stats(self, label: str) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.loads(r.read()).get(label, {"posts": 0, "pages": 0, "other": []})

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# ---------------------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------------------


def build_db(path: Path) -> dict:
    from sqlalchemy import func, insert, select

    from bot.bootstrap import bootstrap, upgrade_schema
    from bot.services.org import init_organization
    from bot.settings import Settings
    from store.models import AuditEvent, User

    t0 = time.perf_counter()
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    upgrade_schema(ctx)
    init_organization(ctx, org_name="Bench Org", admin_email=ADMIN, admin_first_name="Sam",
                      admin_last_name="Super", admin_slack_user_id=SLACK_USER)
    now = datetime.now(UTC)
    with ctx.uow.engine.begin() as conn:
        sam = conn.execute(select(User.id).where(User.email == ADMIN)).scalar_one()
        first = conn.execute(select(func.max(User.id))).scalar_one() + 1
        ids = range(first, first + USERS - 1)
        conn.execute(insert(User.__table__), [
            {"id": i, "first_name": f"First{i}", "last_name": f"Last{i}",
             "email": f"user{i:05d}@example.com", "email_key": f"user{i:05d}@example.com",
             "status": "active", "slack_user_id": None, "password_hash": "bench$0",
             "created_at": now, "first_login_at": None} for i in ids])
        conn.execute(insert(AuditEvent.__table__), [
            {"at": now, "via": "cli", "action": "user.create", "outcome": "ok",
             "actor_user_id": sam, "actor": ADMIN, "subject_user_id": i,
             "subject": f"user{i:05d}@example.com", "reason": None, "before": None,
             "after": None, "status_after": "active", "level_after": 0,
             "effective_after": 0} for i in ids])
    with ctx.uow.engine.connect() as conn:
        users = conn.execute(select(func.count()).select_from(User)).scalar_one()
        active = conn.execute(select(func.count()).select_from(User)
                              .where(User.status == "active")).scalar_one()
    raw = ctx.uow.engine.raw_connection()
    try:
        raw.cursor().execute("ANALYZE")
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    ctx.uow.engine.dispose()
    assert users == active == USERS, (users, active)
    return {"users": users, "build_s": time.perf_counter() - t0}


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
        self.argv = [sys.executable, "-m", "gunicorn", spec, "--bind",
                     f"127.0.0.1:{self.port}", "--worker-class", "gthread",
                     "--threads", str(threads), "--workers", str(workers)]
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env={**os.environ, **env},
                                     stdout=self._out, stderr=subprocess.STDOUT)

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
        # one request per connection until every worker has answered (Bolt's start-up)
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


def sign(body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def _client(n: int, port: int, fake_url: str, label: str, warm_end: float, end: float,
            out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat: list[float] = []
    warm = errors = acked = 0
    first_error = None
    i = 0
    while True:
        i += 1
        ts = int(time.time())
        body = urlencode({"command": "/users", "text": "list", "user_id": SLACK_USER,
                          "team_id": "T1", "channel_id": "C1",
                          "response_url": f"{fake_url}/response/{label}/{n}-{i}",
                          "trigger_id": f"trigger-{n}-{i}", "token": "legacy"})
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts)}
        t0 = time.perf_counter()
        if t0 >= end:
            break
        try:
            conn.request("POST", "/slack/events", body, headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
            if not ok and first_error is None:
                first_error = f"HTTP {resp.status}"
        except (OSError, http.client.HTTPException) as exc:
            ok = False
            first_error = first_error or repr(exc)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t1 = time.perf_counter()
        acked += ok
        if t0 < warm_end:
            warm += 1
        else:
            lat.append(t1 - t0)  # an error's time to its answer (or failure) counts too
            errors += not ok
    conn.close()
    out.append({"lat": lat, "warm": warm, "errors": errors, "acked": acked,
                "first_error": first_error})


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def load(server: Gunicorn, fake: Fake, label: str, clients: int, warmup: float,
         seconds: float) -> dict:
    start = time.perf_counter()
    warm_end, end = start + warmup, start + warmup + seconds
    out: list[dict] = []
    threads = [threading.Thread(target=_client, args=(n, server.port, fake.url, label,
                                                      warm_end, end, out))
               for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, warm_end - time.perf_counter()))
    pids = server.pids()
    posted0, cpu0 = fake.stats(label)["posts"], _cpu_seconds(pids)
    me0 = sum(os.times()[:2])
    time.sleep(max(0.0, end - time.perf_counter()))
    cpu1 = _cpu_seconds(pids)
    me1 = sum(os.times()[:2])
    for t in threads:
        t.join()
    finished = time.perf_counter()
    acked = sum(o["acked"] for o in out)
    posted_at_end = fake.stats(label)["posts"]
    drain_s = None
    if label.startswith("rollcall"):
        while time.perf_counter() - finished < 120:
            if fake.stats(label)["posts"] >= acked:
                drain_s = time.perf_counter() - finished
                break
            time.sleep(0.05)
    final = fake.stats(label)
    lat = sorted(x for o in out for x in o["lat"])
    errors = sum(o["errors"] for o in out)
    return {
        "requests": len(lat), "errors": errors,
        "first_error": next((o["first_error"] for o in out if o["first_error"]), None),
        "p50_ms": _pct(lat, 0.50) * 1000, "p90_ms": _pct(lat, 0.90) * 1000,
        "p99_ms": _pct(lat, 0.99) * 1000, "max_ms": (lat[-1] if lat else math.nan) * 1000,
        "rps": len(lat) / seconds, "acked_total": acked,
        "posted_during": posted_at_end - posted0 if label.startswith("rollcall") else None,
        "posted_at_end": posted_at_end, "lag_at_end": acked - posted_at_end,
        "drain_s": drain_s, "posts_final": final["posts"], "pages_ok": final["pages"],
        "other_samples": final["other"],
        "server_cores": (cpu1 - cpu0) / seconds, "client_cores": (me1 - me0) / seconds,
    }


# ---------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    import gunicorn
    import slack_bolt

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "os": platform.platform(), "date": date, "gunicorn": gunicorn.__version__,
            "slack_bolt": slack_bolt.version.__version__}


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[tuple[str, dict]]) -> str:
    head = ("| server | gunicorn | p50 ms | p90 ms | p99 ms | max ms | req/s | errors | "
            "pages posted during / lag at end / drain s | server CPU cores |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, r in rows:
        posts = (f"{r['posted_during']} / {r['lag_at_end']} / {_fmt(r['drain_s'])}"
                 if r["posted_during"] is not None else "-")
        lines.append(f"| {name} | {r['config']} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['rps']:.1f} | "
                     f"{r['errors']} | {posts} | {r['server_cores']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--configs", default="2x8",
                        help="comma-separated WORKERSxTHREADS gunicorn settings (2x8 is "
                             "production); each serves Rollcall, then the bare app")
    parser.add_argument("--keep", help="build the database in this directory and keep it")
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_fake()
        return

    configs = []
    for c in args.configs.split(","):
        w, t = c.strip().lower().split("x")
        configs.append((int(w), int(t)))
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, gunicorn "
          f"{info['gunicorn']}, slack_bolt {info['slack_bolt']}; {info['date']}", flush=True)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rollcall-slack-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "slack.db"
    for leftover in workdir.glob("slack.db*"):
        leftover.unlink()
    built = build_db(db)
    print(f"database: {built['users']} users in {built['build_s']:.1f} s ({db})", flush=True)
    fake = Fake()
    env = {"DATABASE_URL": f"sqlite:///{db}", "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url}
    rows: list[tuple[str, dict]] = []
    try:
        for workers, threads in configs:
            servers = [("rollcall", "handlers.web:create_app()"),
                       ("bare", "bench.slack_bench:bare_app()")]
            for name, spec in servers:
                label = f"{name}-{workers}x{threads}"
                server = Gunicorn(spec, workers, threads, env, workdir / f"{label}.log")
                try:
                    server.wait_ready()
                    print(f"[{label}] {' '.join(server.argv[2:])}: {args.clients} clients, "
                          f"{args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
                    r = load(server, fake, label, args.clients, args.warmup, args.seconds)
                finally:
                    server.stop()
                r["config"] = f"{workers}x{threads}"
                rows.append((name, r))
                print(f"[{label}] p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max "
                      f"{r['max_ms']:.1f} ms, {r['rps']:.1f} req/s, {r['errors']} errors "
                      f"({r['first_error']}); server CPU {r['server_cores']:.2f} cores, "
                      f"client CPU {r['client_cores']:.2f} cores", flush=True)
                if name.startswith("rollcall"):
                    print(f"[{label}] response_url: {r['posted_during']} pages posted during "
                          f"the measured {args.seconds:g} s; at the end {r['acked_total']} "
                          f"acked, {r['posted_at_end']} posted (lag {r['lag_at_end']}); "
                          f"drained in {_fmt(r['drain_s'], '.2f')} s; {r['posts_final']} "
                          f"posts of which {r['pages_ok']} carry '{PAGE_MARKER}'", flush=True)
                    for sample in r["other_samples"]:
                        print(f"    other post: {sample}")
                errors_in_log = [ln for ln in server.log.read_text().splitlines()
                                 if "ERROR" in ln or "Traceback" in ln]
                if errors_in_log:
                    print(f"[{label}] {len(errors_in_log)} error lines in {server.log}, "
                          f"first: {errors_in_log[0]}", flush=True)
    finally:
        fake.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(table(rows))
    print()
    by = {(n, r["config"]): r for n, r in rows}
    for workers, threads in configs:
        cfg = f"{workers}x{threads}"
        bare = by[("bare", cfg)]
        for name in [n for n, _ in rows if n.startswith("rollcall")][:2]:
            ours = by[(name, cfg)]
            ratio = ours["p99_ms"] / bare["p99_ms"]
            ok_abs = ours["p99_ms"] < TARGET_P99_MS and ours["errors"] == 0
            ok_rel = ratio <= TARGET_RATIO and ours["errors"] == 0
            print(f"[{name} {cfg}] {'MET   ' if ok_abs else 'MISSED'} p99 < "
                  f"{TARGET_P99_MS:.0f} ms with no errors: {ours['p99_ms']:.1f} ms "
                  f"({ours['errors']} errors)")
            print(f"[{name} {cfg}] {'MET   ' if ok_rel else 'MISSED'} p99 within "
                  f"{TARGET_RATIO:g}x of bare: {ours['p99_ms']:.1f} / {bare['p99_ms']:.1f} ms "
                  f"= {ratio:.2f}x")

if __name__ == "__main__":
    main()
