"""Time of a refused login: an unknown username against a wrong password for a real one (issue 12, hole 6).

    .venv/bin/python bench/login.py [--tries 30] [--database-url URL]

The app runs with TestConfig on SQLite in a temporary instance folder (or --database-url, an empty PostgreSQL
database), the embedded Redis holding the rate limits, and is driven in-process by Flask's test client: POST
/org/login with a CSRF token, each try from its own client address so that the per-address limit never answers
in place of the login. LOGIN_MAX_FAILURES is raised so the real account is not locked while it is measured; the
locked and disabled cases are measured on their own accounts. Prints median and p95 per case.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Sông-Hương-7-Núi-Ngự"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=30, help="timed logins per case after two warm-ups")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary instance folder")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from app import clock, create_app, jobs
    from app.db import transaction
    from app.org import services
    from app.org.models import Role
    from config import TestConfig

    with tempfile.TemporaryDirectory(prefix="bench-login-") as tmp:
        app = create_app(
            TestConfig,
            INSTANCE_DIR=str(Path(tmp) / "instance"),
            DATABASE_URL=args.database_url,
            REDIS_URL="",
            RQ_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            FROZEN_CLOCK="",
            LOGIN_MAX_FAILURES=10**6,
        )
        try:
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
                with transaction() as session:
                    agency = services.create_agency(session, "000.00.77.H99", "Sở Đo thử", "SĐT")
                    for name in ("real", "disabled", "locked"):
                        services.create_user(session, agency, name, name, PASSWORD, [Role.CLERK])
                    disabled = services.holders(session, agency.id, Role.CLERK)
                    for user in disabled:
                        user.must_change_password = False
                        if user.username == "disabled":
                            user.is_enabled = False
                        if user.username == "locked":
                            user.locked_until = clock.now() + timedelta(days=1)
            counter = iter(range(1, 1_000_000))

            def login(username: str, password: str) -> tuple[float, int]:
                client = app.test_client()  # a fresh session and token each time: a success clears the session
                token = TOKEN.search(client.get("/org/login").get_data(as_text=True))
                assert token
                n = next(counter)
                address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
                started = time.perf_counter()
                response = client.post(
                    "/org/login",
                    data={"username": username, "password": password, "csrf_token": token.group(1)},
                    environ_base={"REMOTE_ADDR": address},
                )
                return time.perf_counter() - started, response.status_code

            cases = {
                "unknown username": ("nobody.here", "Wrong@Pass-2026x"),
                "wrong password, real account": ("real", "Wrong@Pass-2026x"),
                "disabled account": ("disabled", PASSWORD),
                "locked account": ("locked", PASSWORD),
                "right password (for scale)": ("real", PASSWORD),
            }
            results = {}
            for name, (username, password) in cases.items():
                for _ in range(2):
                    login(username, password)
                samples, statuses = [], set()
                for _ in range(args.tries):
                    seconds, status = login(username, password)
                    samples.append(seconds * 1000)
                    statuses.add(status)
                results[name] = (samples, statuses)
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
        finally:
            jobs.stop_embedded()

    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'case':32} {'status':>8} {'median ms':>10} {'p95 ms':>8}")
    for name, (samples, statuses) in results.items():
        p95 = statistics.quantiles(samples, n=20)[18]
        status = ",".join(str(s) for s in sorted(statuses))
        print(f"{name:32} {status:>8} {statistics.median(samples):10.1f} {p95:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
