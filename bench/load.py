"""Load over HTTP: clerks register incoming documents, leaders direct, specialists complete, end to end.

    .venv/bin/python bench/load.py [--seconds 60] [--agencies 6] [--specialists 2] [--web-workers 4]
                                   [--rq-workers 2] [--backlog 3] [--database h8_load]
                                   [--redis redis://127.0.0.1:6379/8] [--port 0] [--write PATH]

The script starts everything itself, on 127.0.0.1 only, and stops it when done (or on Ctrl-C):

* the database `--database` on the local PostgreSQL server is emptied (schema dropped), migrated, the
  processes of `processes/` synced, and `--agencies` agencies made, each with one clerk (unit VP), one
  leader and `--specialists` specialists (unit KT); no demo data;
* gunicorn with `--web-workers` sync workers (`wsgi:app`) and `--rq-workers` `python -m worker` processes,
  with random 48-character SECRET_KEY / SIGNING_SECRET / AUDIT_SECRET, DATABASE_URL, REDIS_URL (the Redis
  server, `--redis`), a queue name of their own, and LOGIN_RATE_LIMIT raised (every virtual user logs in once,
  all from 127.0.0.1);
* one thread per virtual user (a bounded pool: agencies × (2 + specialists) threads), each with its own
  cookies, logged in once through the login page with its CSRF token. Then, for `--seconds`:
  - a clerk opens the registration form and registers a document (POST, 302), as long as fewer than
    `--backlog` documents of its agency are unfinished (a clerk does not bury the agency);
  - a leader opens the inbox, opens the first task and directs it to the agency's specialists in turn;
  - a specialist opens the inbox, opens the first task and completes it with a result, which ends the
    instance.
  An empty inbox is opened again after 50 ms (a person looking again), and those opens count as inbox pages.

Printed: task completions/s (the leaders' and specialists' accepted POSTs), documents/s (registered, and
finished end to end), p50/p95/max per page, errors (count and the first few: any answer other than the
expected status, or a failed connection), and the CPU split over the measured window, in CPU seconds and as
a share of the 2 cores: gunicorn (master and workers), the RQ workers, the PostgreSQL backends of the
database, the load generator itself, and what the rest of the machine used meanwhile (other sessions, Redis,
PostgreSQL's own background processes), from /proc.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "Load@Bench-2026"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK = re.compile(r"/inbox/tasks/([0-9a-f-]{36})")
REGISTRATION = {
    "organ_name": "Bộ Nội vụ",
    "number_symbol": "12/BNV-CCVC",
    "issued_date": "2026-11-20",
    "type_name": "Công văn",
    "subject": "Về việc báo cáo số lượng công chức năm 2026",
    "urgency": "0",
    "secrecy": "0",
    "page_amount": "2",
}
PAGES = (
    "login",
    "register form",
    "register",
    "inbox",
    "task page",
    "submit direct",
    "submit complete",
)
TICKS = os.sysconf("SC_CLK_TCK")


# --- set-up -------------------------------------------------------------------------------------------------


def reset_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


@dataclass
class Agency:
    code: str
    clerk: str
    leader: str
    specialists: list[str]
    unfinished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def populate(env: dict[str, str], agencies: int, specialists: int) -> list[Agency]:
    """Migrate, sync the processes and make the agencies and their people, in this process."""
    from flask_migrate import upgrade

    from app import create_app
    from app.db import transaction
    from app.engine import definitions
    from app.extensions import db
    from app.org import services as org
    from app.org.models import Role, Unit
    from config import Config

    keys = ("DATABASE_URL", "REDIS_URL", "INSTANCE_DIR", "RQ_QUEUE", "SECRET_KEY", "SIGNING_SECRET", "AUDIT_SECRET")
    app = create_app(Config, **{key: env[key] for key in keys})
    made = []
    with app.app_context():
        import logging

        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade(directory=str(ROOT / "migrations"))
        from app import clock

        with transaction() as session:
            definitions.sync(
                session,
                processes_dir=str(ROOT / "processes"),
                forms_dir=str(ROOT / "forms"),
                actor="load",
                now=clock.now(),
            )
            for index in range(agencies):
                code = f"000.00.{index + 10:02d}.L99"
                agency = org.create_agency(session, code, f"Cơ quan tải {index + 1}", f"CQT{index + 1}")
                units = {}
                for unit_code in ("VP", "KT"):
                    units[unit_code] = Unit(agency_id=agency.id, code=unit_code, name=f"Phòng {unit_code}")
                    session.add(units[unit_code])
                session.flush()
                people = [
                    (f"a{index}.vanthu", Role.CLERK, units["VP"]),
                    (f"a{index}.lanhdao", Role.LEADER, None),
                    *((f"a{index}.cv{n}", Role.SPECIALIST, units["KT"]) for n in range(specialists)),
                ]
                for username, role, unit in people:
                    user = org.create_user(session, agency, username, f"Người {username}", PASSWORD, [role], unit=unit)
                    user.must_change_password = False
                made.append(
                    Agency(code, people[0][0], people[1][0], [username for username, _role, _unit in people[2:]])
                )
        db.engine.dispose()
    return made


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each started process group (ours only, by id), then SIGKILL what is left after 10 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_up(port: int, processes: list[subprocess.Popen[bytes]], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"a started process exited early (code {process.returncode}); see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/org/login")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


# --- the virtual users ----------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.error_count = 0
        self.recording = False

    def page(self, name: str, seconds: float) -> None:
        if self.recording or name == "login":
            with self.lock:
                self.times[name].append(seconds * 1000)

    def count(self, name: str) -> None:
        if self.recording:
            with self.lock:
                self.counts[name] += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 5:
                self.errors.append(text)


class Browser:
    """One person's cookies and connection (keep-alive when the server offers it)."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port = port
        self.stats = stats
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, page: str, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.stats.error(f"{page} {method} {path}: {type(error).__name__}: {error}")
            return 0, ""
        self.stats.page(page, time.perf_counter() - started)
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response.status, text

    def expect(self, page: str, method: str, path: str, status: int, form: dict[str, str] | None = None) -> str | None:
        code, text = self.call(page, method, path, form)
        if code != status:
            if code:
                snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))[:200]
                self.stats.error(f"{page} {method} {path}: {code} (expected {status}): {snippet}")
            return None
        return text

    def login(self, username: str) -> bool:
        page = self.expect("login", "GET", "/org/login", 200)
        token = TOKEN.search(page or "")
        if token is None:
            return False
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        return self.expect("login", "POST", "/org/login", 302, form) is not None


def clerk(browser: Browser, agency: Agency, backlog: int, stop_at: list[float], stats: Stats) -> None:
    while time.monotonic() < stop_at[0]:
        with agency.lock:
            room = agency.unfinished < backlog
            if room:
                agency.unfinished += 1
        if not room:
            time.sleep(0.02)
            continue
        page = browser.expect("register form", "GET", "/documents/incoming/new", 200)
        token = TOKEN.search(page or "")
        done = token is not None and browser.expect(
            "register", "POST", "/documents/incoming/new", 302, {**REGISTRATION, "csrf_token": token.group(1)}
        )
        if done is not None and done is not False:
            stats.count("registered")
        else:
            with agency.lock:
                agency.unfinished -= 1
            time.sleep(0.1)


def handler(
    browser: Browser, agency: Agency, kind: str, stop_at: list[float], stats: Stats, leads: itertools.cycle[str]
) -> None:
    """A leader (kind "direct") or a specialist (kind "complete"): open the inbox, open a task, submit it."""
    while time.monotonic() < stop_at[0]:
        inbox = browser.expect("inbox", "GET", "/inbox/", 200)
        found = TASK.search(inbox or "")
        if found is None:
            time.sleep(0.05)
            continue
        path = f"/inbox/tasks/{found.group(1)}"
        page = browser.expect("task page", "GET", path, 200)
        token = TOKEN.search(page or "")
        if token is None:
            time.sleep(0.1)
            continue
        if kind == "direct":
            form = {"directive": "Giao phòng Kinh tế xử lý", "lead": next(leads), "deadline_days": "3"}
        else:
            form = {"result": "Đã xử lý, báo cáo lãnh đạo"}
        if browser.expect(f"submit {kind}", "POST", path, 302, {**form, "csrf_token": token.group(1)}) is None:
            time.sleep(0.1)
            continue
        stats.count(f"completed {kind}")
        if kind == "complete":
            with agency.lock:
                agency.unfinished -= 1
            stats.count("finished")


# --- CPU from /proc --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def machine_busy_seconds() -> float:
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


def backends(database: str) -> list[int]:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [pid for (pid,) in rows]


class CpuWindow:
    """CPU seconds of each group between start() and finish()."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        self.groups = groups
        self.database = database

    def snapshot(self) -> dict[str, dict[int, float]]:
        pids = dict(self.groups)
        pids["PostgreSQL backends"] = backends(self.database)
        taken = {name: {pid: cpu_seconds(pid) for pid in group} for name, group in pids.items()}
        taken["load generator"] = {os.getpid(): sum(os.times()[:2])}
        return taken

    def start(self) -> None:
        self.before = self.snapshot()
        self.busy_before = machine_busy_seconds()
        self.wall_before = time.monotonic()

    def finish(self) -> tuple[dict[str, float], float, float]:
        after = self.snapshot()
        used = {
            name: sum(max(0.0, seconds - self.before.get(name, {}).get(pid, 0.0)) for pid, seconds in group.items())
            for name, group in after.items()
        }
        return used, machine_busy_seconds() - self.busy_before, time.monotonic() - self.wall_before


# --- the run --------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(
    args: argparse.Namespace, stats: Stats, cpu: tuple[dict[str, float], float, float], load: tuple[float, ...]
) -> str:
    used, busy, wall = cpu
    seconds = args.seconds
    completions = stats.counts["completed direct"] + stats.counts["completed complete"]
    lines = [
        f"Load: {args.agencies} agencies × (1 clerk, 1 leader, {args.specialists} specialists) = "
        f"{args.agencies * (2 + args.specialists)} virtual users; gunicorn {args.web_workers} sync workers, "
        f"{args.rq_workers} RQ workers; PostgreSQL database {args.database}, Redis {args.redis}; "
        f"{seconds} s measured; backlog {args.backlog} unfinished documents per agency",
        f"Machine: nproc={os.cpu_count()}, load average before {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, "
        f"after {'/'.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        f"task completions/s: {completions / seconds:.1f}  (directed {stats.counts['completed direct']}, "
        f"completed {stats.counts['completed complete']})",
        f"documents/s: registered {stats.counts['registered'] / seconds:.1f}, finished end to end "
        f"{stats.counts['finished'] / seconds:.1f}",
        f"errors: {stats.error_count}",
        *(f"  - {text}" for text in stats.errors),
        "",
        "| page | requests | per s | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for page in PAGES:
        values = stats.times.get(page, [])
        if values:
            per_second = "" if page == "login" else f"{len(values) / seconds:.1f}"
            lines.append(
                f"| {page} | {len(values)} | {per_second} | {statistics.median(values):.1f} | "
                f"{percentile(values, 0.95):.1f} | {max(values):.1f} |"
            )
    ours = sum(used.values())
    lines += [
        "",
        f"CPU over the measured window ({wall:.1f} s wall, {os.cpu_count()} cores = {wall * (os.cpu_count() or 1):.1f} "
        "CPU s available):",
        "",
        "| part | CPU s | share of the machine | CPU ms per task completion |",
        "|---|---:|---:|---:|",
    ]
    capacity = wall * (os.cpu_count() or 1)
    for name, seconds_used in [
        *used.items(),
        ("rest of the machine", max(0.0, busy - ours)),
        ("idle", capacity - busy),
    ]:
        per_completion = f"{seconds_used * 1000 / completions:.1f}" if completions and name != "idle" else ""
        lines.append(f"| {name} | {seconds_used:.1f} | {seconds_used / capacity:.0%} | {per_completion} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="measured duration (default 60)")
    parser.add_argument("--agencies", type=int, default=6)
    parser.add_argument("--specialists", type=int, default=2, help="specialists per agency (default 2)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--backlog", type=int, default=3, help="unfinished documents per agency (default 3)")
    parser.add_argument("--database", default="h8_load", help="PostgreSQL database, emptied first (default h8_load)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--write", metavar="PATH", help="also write the report to PATH")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG_SERVER}/{args.database}",
            "REDIS_URL": args.redis,
            "INSTANCE_DIR": str(workdir / "instance"),
            "RQ_QUEUE": f"load-{secrets.token_hex(4)}",
            "SECRET_KEY": secrets.token_urlsafe(36),
            "SIGNING_SECRET": secrets.token_urlsafe(36),
            "AUDIT_SECRET": secrets.token_urlsafe(36),
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "FROZEN_CLOCK": "",
            "PYTHONPATH": str(ROOT),
        }
        reset_database(args.database)
        agencies = populate(env, args.agencies, args.specialists)
        port = args.port or free_port()
        bin_dir = Path(sys.executable).parent
        web = start(
            [
                str(bin_dir / "gunicorn"),
                "--workers",
                str(args.web_workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "wsgi:app",
            ],
            env,
            workdir / "gunicorn.log",
        )
        workers = [
            start([sys.executable, "-m", "worker"], env, workdir / f"worker{n}.log") for n in range(args.rq_workers)
        ]
        started = [web, *workers]
        try:
            wait_until_up(port, started)
            stats = Stats()
            stop_at = [float("inf")]
            threads = []
            ready = threading.Barrier(args.agencies * (2 + args.specialists) + 1)

            def person(username: str, work: Any, *extra: Any) -> None:
                browser = Browser(port, stats)
                if not browser.login(username):
                    stats.error(f"login {username} failed")
                try:
                    ready.wait()
                except threading.BrokenBarrierError:
                    return
                work(browser, *extra)

            for agency in agencies:
                leads = itertools.cycle(agency.specialists)
                threads.append(
                    threading.Thread(target=person, args=(agency.clerk, clerk, agency, args.backlog, stop_at, stats))
                )
                threads.append(
                    threading.Thread(
                        target=person, args=(agency.leader, handler, agency, "direct", stop_at, stats, leads)
                    )
                )
                for specialist in agency.specialists:
                    threads.append(
                        threading.Thread(
                            target=person,
                            args=(specialist, handler, agency, "complete", stop_at, stats, itertools.cycle([""])),
                        )
                    )
            for thread in threads:
                thread.daemon = True
                thread.start()
            ready.wait(timeout=300)
            groups = {"gunicorn": [web.pid, *children(web.pid)], "RQ workers": [w.pid for w in workers]}
            window = CpuWindow(groups, args.database)
            stats.recording = True
            window.start()
            stop_at[0] = time.monotonic() + args.seconds
            time.sleep(args.seconds)
            stats.recording = False
            cpu = window.finish()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            stop(started)
        for log in sorted(workdir.glob("*.log")):
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {log.name} has tracebacks; its last lines:\n{text[-3000:]}", file=sys.stderr)
    text = report(args, stats, cpu, load)
    print(text)
    if args.write:
        Path(args.write).write_text(text + "\n", encoding="utf-8")
    return 1 if stats.error_count else 0


if __name__ == "__main__":
    raise SystemExit(main())
