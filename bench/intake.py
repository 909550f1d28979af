"""Packages taken in per second: QCVN 102 edXML document packages with a real ~1 MB PDF through take_in (app/interop).

    .venv/bin/python bench/intake.py [--packages 50] [--size 1048576] [--database-url URL] [--reset] [--lz4]

The app runs with TestConfig on SQLite in a temporary instance folder, or on --database-url (PostgreSQL: the
database is created if missing and migrated with flask_migrate.upgrade; one that already has tables is refused
unless --reset, which drops its public schema). Redis is the embedded one in the instance folder, as in the other
benches. The trust store holds a throw-away test PKI's root, intermediate and CRLs, so every PDF check loads real
trust material. The attachment is the specimen document (app/documents/specimen.py) with an embedded file of
random bytes added in an incremental update (pyHanko) to reach --size, so it is a valid, incompressible PDF.

Cases, each --packages times after one warm-up, every package in its own committed transaction:
  1. take_in of a new document package (new message id and number each), then commit; the receiver's clerk is
     told and the "arrived" status (01) for the sender is stored for the worker;
  1s. the same with the attachment signed and sealed (PAdES, two signatures) by the test PKI;
  2. the package of case 1 again: the duplicate path, one document;
  3. the package cut in half: quarantine (kept byte for byte, answered with 02);
  4. over HTTP: the app served by werkzeug in a thread; exchange.send of a document to an agency whose directory
     entry says http (its package stored), services.push of that package as the worker does (POST to
     /interop/packages and the receiver's take_in), then push of the status package 01 that came back.
Also, without the database: read_package, the PDF check (signing.verify_document) and SHA-256 of the attachment.
--lz4 (PostgreSQL, a what-if on the bench database only): every bytea column gets TOAST compression lz4 after the
migration, instead of the default pglz.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "bench-intake-token"
SENDER = "000.00.00.H49"  # outside the installation: answers to it are stored for the folder gateway
RECEIVER = "000.00.12.H97"
HTTP_SENDER, HTTP_RECEIVER = "000.00.01.H98", "000.00.02.H98"  # ours, but reached through HTTP (directory)
PASSWORD = "bench"


@dataclass
class Case:
    name: str
    samples: list[float] = field(default_factory=list)  # seconds
    commits: list[float] = field(default_factory=list)  # seconds of the commit within each sample, where timed
    wall: float = 0.0  # seconds for all samples, loop included

    def row(self) -> str:
        rate = len(self.samples) / self.wall if self.wall else 0.0
        median = statistics.median(self.samples) * 1000
        commit = f"{statistics.median(self.commits) * 1000:.2f}" if self.commits else "—"
        return (
            f"| {self.name} | {len(self.samples)} | {rate:,.1f} | {median:.2f} | {commit} | "
            f"{max(self.samples) * 1000:.2f} |"
        )


# ---------------------------------------------------------------------------------------------- packages


def padded_pdf(size: int) -> bytes:
    """The specimen document with an embedded file ("Phụ lục") of random bytes, together `size` bytes or so."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from app.documents.specimen import document_pdf

    base = document_pdf(
        agency_name="Ủy ban nhân dân tỉnh Quảng Ninh",
        type_name="Công văn",
        subject="V/v triển khai kế hoạch chuyển đổi số năm 2026",
        body="Ủy ban nhân dân tỉnh đề nghị các sở, ban, ngành triển khai kế hoạch (kèm phụ lục).",
        signer_position="Phó Chủ tịch",
        signer_name="Nguyễn Văn Thắng",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(base))
    payload = os.urandom(max(0, size - len(base) - 1200))  # ~1.2 KB: the update's objects, xref and trailer
    data = embed.EmbeddedFileObject.from_file_data(writer, payload, compress=False, mime_type="application/pdf")
    spec = embed.FileSpec(
        file_spec_string="phu-luc.pdf", file_name="Phụ lục.pdf", embedded_data=data, description="Phụ lục"
    )
    embed.embed_file(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def message(pdf: bytes, number: int, sent_at: datetime) -> Any:
    from app.interop.messages import Attachment, Header, Message

    return Message(
        header=Header(
            organ_code=SENDER,
            organ_name="Ủy ban nhân dân tỉnh Quảng Ninh",
            number_symbol=f"{number}/UBND-VP",
            issued_date=date(2026, 11, 20),
            type_name="Công văn",
            subject="V/v triển khai kế hoạch chuyển đổi số năm 2026",
            urgency=1,
            signer_position="Phó Chủ tịch",
            signer_name="Nguyễn Văn Thắng",
        ),
        recipients=[(RECEIVER, "Sở Thử nghiệm")],
        message_id=str(uuid.uuid4()),
        attachments=[Attachment(f"{number}_UBND-VP.pdf", "application/pdf", pdf, "Văn bản chính")],
        sent_at=sent_at,
    )


def signed(pdf: bytes, workdir: Path) -> tuple[bytes, Any]:
    """The attachment signed by a leader and sealed by the agency, and the test PKI that did it."""
    from app.signing import keys
    from app.signing import pdf as signing_pdf
    from app.signing.pki import AgencySpec, PersonSpec, generate_test_pki

    now = datetime.now(UTC)
    agency = "ỦY BAN NHÂN DÂN TỈNH QUẢNG NINH"
    pki = generate_test_pki(
        workdir / "pki",
        people=[PersonSpec("thang", "Nguyễn Văn Thắng", agency)],
        agencies=[AgencySpec("UBND", agency)],
        password=PASSWORD,
        now=now,
    )
    leader = keys.load_pkcs12(pki.person_p12["thang"].read_bytes(), PASSWORD)
    seal = keys.load_pkcs12(pki.agency_p12["UBND"].read_bytes(), PASSWORD)
    document = signing_pdf.sign_personal(
        signing_pdf.prepare_draft(pdf),
        leader,
        full_name="Nguyễn Văn Thắng",
        position="PHÓ CHỦ TỊCH",
        agency_name=agency,
        signed_at=now,
        image_png=None,
    )
    document = signing_pdf.seal_agency(
        document,
        seal,
        number="12/UBND-VP",
        date_line="Quảng Ninh, ngày 20 tháng 11 năm 2026",
        seal_png=None,
        signed_at=now,
    )
    return document, pki


# ---------------------------------------------------------------------------------------------- the app


def prepare_postgres(url: str, reset: bool) -> str:
    """Create the database if missing; refuse one with tables unless `reset` (then drop its public schema)."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database or ""
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
    own = target.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(own, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        if tables and tables[0] and not reset:
            raise SystemExit(f"database {name!r} already has {tables[0]} tables; give --reset to drop them")
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")
        version = connection.execute("SHOW server_version").fetchone()
        synchronous = connection.execute("SHOW synchronous_commit").fetchone()
    return f"PostgreSQL {version[0] if version else '?'} (synchronous_commit={synchronous[0] if synchronous else '?'})"


def lz4(db: Any) -> str:
    """The what-if: lz4 instead of pglz for every bytea column (only values stored from now on)."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        raise SystemExit("--lz4 is for PostgreSQL")
    with db.engine.begin() as connection:
        columns = connection.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = 'bytea' ORDER BY 1, 2"
            )
        ).all()
        for table, column in columns:
            connection.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4'))
    return f"TOAST compression lz4 on {len(columns)} bytea columns"


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, served by a threaded werkzeug server (tests/e2e/conftest.py)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-intake-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def setup(session: Any, now: datetime, pki: Any) -> None:
    """The receiving agency with its clerk, the sender outside (answers go to the folder gateway), and the test
    PKI as the installation's trust anchors."""
    from app.interop.models import DirectoryEntry
    from app.org import services as org
    from app.org.models import Role, Unit
    from app.signing import services as signing
    from app.signing.models import AnchorKind

    for code, name in (
        (RECEIVER, "Sở Thử nghiệm"),
        (HTTP_SENDER, "Văn phòng UBND tỉnh Thử nghiệm"),
        (HTTP_RECEIVER, "Sở Thử nghiệm liên thông"),
    ):
        agency = org.create_agency(session, code, name, "STN")
        unit = Unit(agency_id=agency.id, code="VP", name="Văn phòng")
        session.add(unit)
        session.flush()
        clerk = org.create_user(session, agency, f"clerk.{code}", "Văn thư", "Secret@123", [Role.CLERK], unit=unit)
        clerk.must_change_password = False
    session.add(DirectoryEntry(code=SENDER, name="UBND tỉnh Quảng Ninh", transport="directory", updated_at=now))
    signing.store_trust_anchor(session, AnchorKind.ROOT, "root", pki.root_pem.read_bytes(), now=now)
    signing.store_trust_anchor(session, AnchorKind.INTERMEDIATE, "sub", pki.intermediate_pem.read_bytes(), now=now)
    for crl in pki.crls:
        signing.store_trust_anchor(session, AnchorKind.CRL, crl.name, crl.read_bytes(), now=now)


# ---------------------------------------------------------------------------------------------- cases


def timed(case: Case, rounds: int, step: Callable[[int], None]) -> Case:
    """One warm-up call (index -1), then `rounds` timed calls."""
    step(-1)
    started = time.perf_counter()
    for index in range(rounds):
        begun = time.perf_counter()
        step(index)
        case.samples.append(time.perf_counter() - begun)
    case.wall = time.perf_counter() - started
    return case


def intake_cases(db: Any, pdf: bytes, signed_pdf: bytes, rounds: int) -> tuple[list[Case], bytes]:
    from app import clock
    from app.interop import services
    from app.interop.edxml import write_package

    session = db.session()
    numbers = iter(range(1000, 10**6))
    cases: list[Case] = []

    def take(case: Case, index: int, data: bytes, expected: str) -> Any:
        intake = services.take_in(session, data, transport="http", source="bench", now=clock.now())
        begun = time.perf_counter()
        session.commit()
        if index >= 0:  # not the warm-up
            case.commits.append(time.perf_counter() - begun)
        assert intake.kind == expected, (intake.kind, intake.quarantined and services.reason_of(intake.quarantined))
        return intake

    def fresh(attachment: bytes) -> list[bytes]:
        return [write_package(message(attachment, next(numbers), clock.now())) for _ in range(rounds + 1)]

    def run(name: str, packages: list[bytes], expected: str) -> None:
        case = Case(name)
        cases.append(timed(case, rounds, lambda index: take(case, index, packages[index], expected)))

    packages = fresh(pdf)
    run("1. new document, 1 MB PDF", packages, "document")
    first = packages[0]
    run("1s. the same, PDF signed and sealed", fresh(signed_pdf), "document")
    [received] = take(Case(""), -1, first, "document").received
    run("2. the package of 1 again (duplicate)", [first] * (rounds + 1), "document")
    assert all(item.id == received.id for item in take(Case(""), -1, first, "document").received)
    run("3. truncated package → quarantine", [data[: len(data) // 2] for data in fresh(pdf)], "quarantined")
    return cases, first


def http_cases(db: Any, base_url: str, pdf: bytes, rounds: int) -> tuple[list[Case], Case]:
    """Send, push the document, push the answer: three phases per document; the total is a case of its own."""
    from sqlalchemy import select

    from app import clock
    from app.documents import exchange
    from app.documents.models import Delivery, ExchangeStatus, ReceivedDocument
    from app.documents.services import Upload
    from app.interop import services
    from app.interop.models import DirectoryEntry, OutboundPackage, PackageState
    from app.org.models import Agency

    session = db.session()
    for code, name in ((HTTP_SENDER, "Văn phòng UBND tỉnh Thử nghiệm"), (HTTP_RECEIVER, "Sở Thử nghiệm liên thông")):
        session.add(
            DirectoryEntry(
                code=code, name=name, transport="http", endpoint=f"{base_url}/interop/packages", updated_at=clock.now()
            )
        )
    session.commit()
    sender_id = session.scalar(select(Agency.id).where(Agency.code == HTTP_SENDER))
    session.close()
    phases = [
        Case("4a. exchange.send + commit (package stored)"),
        Case("4b. push document: POST + receiver's intake"),
        Case("4c. push status 01 back: POST + sender's update"),
    ]
    total = Case("4. one document end to end over HTTP (4a+4b+4c)")
    numbers = iter(range(1, 10**6))

    def push(package_id: int) -> None:
        assert services.push(session, package_id, now=clock.now(), commit=session.commit) == "sent"
        session.commit()

    def one(_: int) -> None:
        header = exchange.Header(
            organ_code=HTTP_SENDER,
            organ_name="Văn phòng UBND tỉnh Thử nghiệm",
            number_symbol=f"{next(numbers)}/VP-TH",
            issued_date=date(2026, 11, 24),
            type_name="Công văn",
            subject="V/v báo cáo tình hình tiếp nhận hồ sơ",
            signer_position="Chánh Văn phòng",
            signer_name="Trần Văn Bình",
        )
        files = [Upload(f"{header.number_symbol.replace('/', '_')}.pdf", "application/pdf", pdf)]
        begun = time.perf_counter()
        sender = session.get(Agency, sender_id)
        [delivery] = exchange.send(session, sender, header, files, [HTTP_RECEIVER], actor="bench", now=clock.now())
        delivery_id, message_id = delivery.id, delivery.message_id
        package_id = session.scalar(select(OutboundPackage.id).where(OutboundPackage.delivery_id == delivery_id))
        session.commit()
        sent = time.perf_counter()
        push(package_id)
        pushed = time.perf_counter()
        answer_id = session.scalar(
            select(OutboundPackage.id)
            .where(
                OutboundPackage.kind == "status",
                OutboundPackage.recipient_code == HTTP_SENDER,
                OutboundPackage.state == PackageState.PENDING,
            )
            .order_by(OutboundPackage.id.desc())
            .limit(1)
        )
        assert answer_id is not None, "no status package came back"
        push(answer_id)
        answered = time.perf_counter()
        for case, seconds in zip(phases, (sent - begun, pushed - sent, answered - pushed), strict=True):
            case.samples.append(seconds)
        # Not timed: the receiver has the document and the sender's delivery says "arrived".
        arrived = session.scalar(select(ReceivedDocument.id).where(ReceivedDocument.message_id == message_id))
        status = session.scalar(select(Delivery.status).where(Delivery.id == delivery_id))
        session.commit()
        assert arrived is not None and status == ExchangeStatus.ARRIVED, (arrived, status)

    timed(total, rounds, one)
    for case in phases:
        case.samples = case.samples[1:]  # drop the warm-up
        case.wall = sum(case.samples)  # its rate: that phase alone
    session.close()
    return phases, total


def parts_outside(db: Any, package: bytes, pdf: bytes, signed_pdf: bytes, rounds: int) -> dict[str, float]:
    """Median ms of what take_in does before it writes: read the package, check the PDF, hash the file."""
    import hashlib

    from app import clock
    from app.interop.edxml import read_package, write_package
    from app.signing import services as signing

    session = db.session()
    message_ = read_package(package)

    def median_ms(call: Callable[[], object]) -> float:
        call()
        samples = []
        for _ in range(rounds):
            begun = time.perf_counter()
            call()
            samples.append(time.perf_counter() - begun)
        return statistics.median(samples) * 1000

    result = {
        "read_package (XML parse, checks, base64 decode)": median_ms(lambda: read_package(package)),
        "verify_document, unsigned PDF (trust anchors + pyHanko)": median_ms(
            lambda: signing.verify_document(session, pdf, now=clock.now())
        ),
        "verify_document, signed and sealed PDF": median_ms(
            lambda: signing.verify_document(session, signed_pdf, now=clock.now())
        ),
        "sha256 of the attachment": median_ms(lambda: hashlib.sha256(pdf).hexdigest()),
        "write_package (sender side, for scale)": median_ms(lambda: write_package(message_)),
    }
    session.rollback()
    session.close()
    return result


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=50, help="timed packages per case (default 50)")
    parser.add_argument("--size", type=int, default=1024 * 1024, help="PDF attachment size in bytes (default 1 MB)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary instance folder")
    parser.add_argument("--reset", action="store_true", help="drop the tables of a PostgreSQL database that has them")
    parser.add_argument("--lz4", action="store_true", help="PostgreSQL: TOAST compression lz4 on every bytea column")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import clock, create_app, jobs
    from app.db import transaction
    from app.extensions import db
    from app.interop import services
    from app.signing import verify
    from config import TestConfig

    verify.quiet_logs()
    started, load_before = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        workdir = Path(tmp)
        if args.database_url:
            description = prepare_postgres(args.database_url, args.reset)
        else:
            import sqlite3

            description = f"SQLite {sqlite3.sqlite_version} (WAL, file in a temp dir)"
        app = create_app(
            TestConfig,
            INSTANCE_DIR=str(workdir / "instance"),
            DATABASE_URL=args.database_url,
            REDIS_URL="",
            RQ_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            FROZEN_CLOCK="",
            INTEROP_INBOUND_TOKEN=TOKEN,
        )
        saved = services.settings
        services.settings = replace(saved, http_token=TOKEN, http_timeout=30)
        pdf = padded_pdf(args.size)
        signed_pdf, pki = signed(pdf, workdir)
        try:
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
                logging.getLogger("alembic").setLevel(logging.WARNING)
                if args.lz4:
                    description += ", " + lz4(db)
                with transaction() as session:
                    setup(session, clock.now(), pki)
                cases, package = intake_cases(db, pdf, signed_pdf, args.packages)
                db.session.remove()
                with served(app) as base_url:
                    phases, total = http_cases(db, base_url, pdf, args.packages)
                db.session.remove()
                parts = parts_outside(db, package, pdf, signed_pdf, args.packages)
                from app.interop.models import OutboundPackage, QuarantinedPackage

                session = db.session()
                stored = {
                    "outbound packages": session.scalar(select(func.count()).select_from(OutboundPackage)),
                    "quarantined": session.scalar(select(func.count()).select_from(QuarantinedPackage)),
                }
                db.session.remove()
                db.engine.dispose()
        finally:
            services.settings = saved
            jobs.stop_embedded()

    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; {description}")
    print(
        f"attachment {len(pdf):,} bytes (signed and sealed {len(signed_pdf):,}); package {len(package):,} bytes; "
        f"{args.packages} packages per case after one warm-up; whole run {time.perf_counter() - started:.1f} s"
    )
    print(
        "load average (1/5/15 min) before: "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after: "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"rows at the end: {', '.join(f'{name} {count:,}' for name, count in stored.items())}")
    print()
    print("| case | packages | per second | median ms | of which commit | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in [*cases, total, *phases]:
        print(case.row())
    print()
    print("| without the database | median ms |")
    print("|---|---:|")
    for name, value in parts.items():
        print(f"| {name} | {value:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
