"""A person's inbox, the filtered incoming list and a diacritics-free search at a million documents.

    .venv/bin/python bench/inbox.py [--documents 1000000] [--agencies 100] [--users 10000] [--runs 60]
                                    [--explain] [--reuse] [--write PATH]

Loads PostgreSQL database `inbox_bench` (created if missing; schema dropped and migrated with
flask_migrate.upgrade as tests/conftest.py does) in SQL, not through the ORM: agencies with units,
10,000 users with their roles, registers, 1,000,000 incoming documents over five years spread unevenly
over the agencies (the largest ~10× the smallest), one process instance per document (most completed,
the recent ones mostly running), and ~200,000 open-task rows for the running ones, assigned to the
agency's people or, for documents not yet directed, to the leader role. Subjects combine a few hundred
Vietnamese templates (prefix × topic × scope); search_text is built from the templates folded once with
app.documents.search.fold, and a sample is checked against search_text() of the same document.
The indexes of the loaded tables are dropped before the load and rebuilt after it, then VACUUM ANALYZE.

Then, warm, with the three cases interleaved and users, agencies, filters and words varied:
  (a) inbox: app.inbox.queries.inbox for a specialist with ~20 open tasks (the User loaded as a request has it);
  (b) list: app.documents.queries.incoming_list of one agency with urgency + an arrival date range,
      page 1 with its count and the steps of the page;
  (c) search: the same with two or three unaccented words ("quyet dinh ke hoach").
--explain prints EXPLAIN (ANALYZE, BUFFERS) of every statement of one (b) and one (c) run.
--reuse skips the load when the database already holds the documents.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "inbox_bench"
FIRST_DAY = date(2022, 1, 1)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam; the last documents arrive just before
DAYS = (NOW.date() - FIRST_DAY).days
SEED = 20261125

PROVINCES = ["Hà Tĩnh", "Nghệ An", "Quảng Bình", "Thanh Hóa", "Đắk Lắk", "Lâm Đồng", "Cần Thơ", "Hải Dương",
             "Bắc Ninh", "Quảng Ngãi", "Đồng Tháp", "Thái Nguyên"]  # fmt: skip
DEPARTMENTS = [
    ("Nội vụ", "SNV"), ("Tài chính", "STC"), ("Kế hoạch và Đầu tư", "SKHĐT"), ("Tư pháp", "STP"),
    ("Y tế", "SYT"), ("Giáo dục và Đào tạo", "SGDĐT"), ("Công Thương", "SCT"),
    ("Nông nghiệp và Phát triển nông thôn", "SNNPTNT"), ("Tài nguyên và Môi trường", "STNMT"),
    ("Xây dựng", "SXD"), ("Giao thông vận tải", "SGTVT"), ("Thông tin và Truyền thông", "STTTT"),
    ("Lao động - Thương binh và Xã hội", "SLĐTBXH"), ("Văn hóa, Thể thao và Du lịch", "SVHTTDL"),
    ("Khoa học và Công nghệ", "SKHCN"),
]  # fmt: skip
MINISTRIES = [
    ("Bộ Nội vụ", "BNV"), ("Bộ Tài chính", "BTC"), ("Bộ Kế hoạch và Đầu tư", "BKHĐT"), ("Bộ Tư pháp", "BTP"),
    ("Bộ Y tế", "BYT"), ("Bộ Giáo dục và Đào tạo", "BGDĐT"), ("Bộ Công an", "BCA"), ("Bộ Công Thương", "BCT"),
    ("Bộ Nông nghiệp và Phát triển nông thôn", "BNNPTNT"), ("Bộ Tài nguyên và Môi trường", "BTNMT"),
    ("Bộ Xây dựng", "BXD"), ("Bộ Giao thông vận tải", "BGTVT"), ("Bộ Thông tin và Truyền thông", "BTTTT"),
    ("Bộ Lao động - Thương binh và Xã hội", "BLĐTBXH"), ("Văn phòng Chính phủ", "VPCP"),
    ("Thanh tra Chính phủ", "TTCP"), ("Ngân hàng Nhà nước Việt Nam", "NHNN"), ("Kiểm toán Nhà nước", "KTNN"),
]  # fmt: skip
DISTRICTS = [
    "Can Lộc", "Đức Thọ", "Hương Sơn", "Kỳ Anh", "Thạch Hà", "Cẩm Xuyên", "Nghi Xuân", "Vũ Quang", "Lộc Hà",
    "Hương Khê", "Diễn Châu", "Quỳnh Lưu", "Yên Thành", "Đô Lương", "Nam Đàn", "Thanh Chương",
]  # fmt: skip
PREFIXES = [
    "Về việc", "V/v", "Quyết định về việc", "Quyết định phê duyệt", "Quyết định ban hành", "Kế hoạch",
    "Kế hoạch triển khai", "Báo cáo", "Báo cáo kết quả", "Báo cáo tổng kết", "Thông báo", "Hướng dẫn",
    "Hướng dẫn thực hiện", "Đề nghị", "Đề nghị góp ý", "Triển khai", "Tăng cường", "Đôn đốc", "Chấn chỉnh",
    "Tổ chức", "Giấy mời dự hội nghị", "Tờ trình", "Chỉ thị về", "Công văn hướng dẫn", "Phê duyệt",
]  # fmt: skip
TOPICS = [
    "cải cách hành chính", "chuyển đổi số", "phòng, chống thiên tai", "phòng, chống tham nhũng",
    "thực hành tiết kiệm, chống lãng phí", "tuyển dụng công chức", "nâng ngạch công chức", "thi đua, khen thưởng",
    "đánh giá, xếp loại cán bộ", "quản lý đất đai", "giải phóng mặt bằng", "xây dựng nông thôn mới",
    "dự toán ngân sách nhà nước", "quyết toán ngân sách", "đầu tư công", "giải ngân vốn đầu tư công",
    "phòng cháy, chữa cháy", "an toàn giao thông", "an toàn vệ sinh thực phẩm", "phòng, chống dịch bệnh",
    "tiêm chủng mở rộng", "bảo hiểm xã hội", "bảo hiểm y tế", "giảm nghèo bền vững", "việc làm cho thanh niên",
    "tuyển sinh đầu cấp", "kỳ thi tốt nghiệp trung học phổ thông", "sáp nhập đơn vị hành chính",
    "sắp xếp tổ chức bộ máy", "tinh giản biên chế", "chế độ, chính sách đối với người có công",
    "bảo vệ môi trường", "xử lý chất thải rắn", "cấp giấy chứng nhận quyền sử dụng đất", "thu hồi đất",
    "quy hoạch sử dụng đất", "kiểm tra, thanh tra công vụ", "tiếp công dân", "giải quyết khiếu nại, tố cáo",
    "công tác văn thư, lưu trữ", "ứng dụng chữ ký số", "dịch vụ công trực tuyến", "cơ sở dữ liệu quốc gia về dân cư",
    "đề án 06", "an toàn thông tin mạng", "phổ biến, giáo dục pháp luật", "hòa giải ở cơ sở",
    "xây dựng văn bản quy phạm pháp luật", "kiểm soát thủ tục hành chính", "phát triển du lịch",
    "bảo tồn di tích", "phòng, chống bạo lực gia đình", "chăm sóc sức khỏe nhân dân", "khám chữa bệnh",
    "mua sắm tài sản công", "quản lý tài sản công", "thu ngân sách", "hỗ trợ doanh nghiệp nhỏ và vừa",
    "xúc tiến đầu tư", "phát triển hợp tác xã", "chương trình OCOP", "phòng, chống hạn hán",
    "phòng, chống cúm gia cầm", "trồng rừng", "bảo vệ rừng", "khai thác khoáng sản", "tài nguyên nước",
    "quản lý trật tự xây dựng", "nhà ở xã hội", "hạ tầng giao thông nông thôn", "đào tạo, bồi dưỡng cán bộ",
    "công tác dân vận", "quốc phòng, an ninh", "tuyển quân", "diễn tập phòng thủ", "công tác dân tộc",
    "tín ngưỡng, tôn giáo", "người cao tuổi", "trẻ em", "bình đẳng giới",
]  # fmt: skip
SCOPES = [
    "năm 2026", "năm 2025", "quý I năm 2026", "quý II năm 2026", "quý III năm 2026", "quý IV năm 2025",
    "6 tháng đầu năm 2026", "giai đoạn 2026 - 2030", "giai đoạn 2021 - 2025", "trên địa bàn tỉnh",
    "trên địa bàn huyện", "tại các xã, phường, thị trấn", "trong các cơ quan nhà nước", "trong dịp Tết Nguyên đán",
    "mùa mưa bão", "đợt 1", "đợt 2", "tháng 11 năm 2026", "tháng 10 năm 2026", "đến năm 2030",
    "theo Nghị định số 30/2020/NĐ-CP", "theo chỉ đạo của Thủ tướng Chính phủ", "của ngành", "của tỉnh",
]  # fmt: skip
TYPE_WEIGHTS = {"Công văn": 40, "Quyết định": 12, "Kế hoạch": 8, "Báo cáo": 8, "Thông báo": 8, "Giấy mời": 8,
                "Hướng dẫn": 4, "Tờ trình": 3, "Chỉ thị": 2, "Nghị quyết": 2, "Công điện": 2, "Chương trình": 1,
                "Đề án": 1, "Biên bản": 1}  # fmt: skip
SEARCHES = [
    "quyet dinh ke hoach", "chuyen doi so", "cai cach hanh chinh", "phong chong thien tai", "bao cao tong ket",
    "tuyen dung cong chuc", "dau tu cong", "ke hoach trien khai", "huong dan thuc hien", "ngan sach nam 2026",
    "giai phong mat bang", "thi dua khen thuong", "dich vu cong truc tuyen", "quy hoach dat", "nong thon moi",
    "an toan giao thong", "bao hiem xa hoi", "chu ky so", "tiep cong dan", "sap xep bo may",
]  # fmt: skip
ROLE_MIX = ["leader", "deputy_leader", "deputy_leader", "clerk", "clerk", "admin", "auditor"]


def ms(seconds: float) -> float:
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class Case:
    name: str
    samples: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- loading


def reset_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    with psycopg.connect(f"{PG_SERVER}/{PG_DATABASE}", autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


def agency_weights(count: int) -> list[float]:
    """Uneven agencies: weight 1/sqrt(rank), so the largest holds ~10× the smallest."""
    return [1 / (rank**0.5) for rank in range(1, count + 1)]


def share(total: int, weights: list[float]) -> list[int]:
    whole = sum(weights)
    counts = [max(1, int(total * weight / whole)) for weight in weights]
    counts[0] += total - sum(counts)
    return counts


def organs() -> list[tuple[str, str]]:
    """(name, abbreviation) of issuing agencies: ministries, provincial departments, districts."""
    names = list(MINISTRIES)
    for province in PROVINCES:
        names.append((f"Ủy ban nhân dân tỉnh {province}", "UBND"))
        names.extend((f"Sở {department} tỉnh {province}", abbreviation) for department, abbreviation in DEPARTMENTS)
    names.extend((f"Ủy ban nhân dân huyện {district}", "UBND") for district in DISTRICTS)
    return names


def load(app: Any, args: argparse.Namespace) -> dict[str, float]:
    """Fill the database; returns seconds per phase."""
    from sqlalchemy import Index

    from app.db import transaction
    from app.documents.models import IncomingDocument
    from app.documents.search import fold
    from app.documents.types import DOCUMENT_TYPES
    from app.engine import definitions
    from app.engine.models import HistoryEvent, OpenTask, ProcessDefinition, ProcessInstance
    from app.extensions import db

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with transaction() as session:
        definitions.sync(
            session, processes_dir=str(ROOT / "processes"), forms_dir=str(ROOT / "forms"), actor="bench", now=NOW
        )
    definition = db.session.query(ProcessDefinition).filter_by(scope="_default", process_key="incoming").one()
    definition_id, spec_hash = definition.id, definition.spec_hash
    db.session.remove()
    abbreviations = dict(DOCUMENT_TYPES)
    weights = agency_weights(args.agencies)
    users_per_agency = share(args.users, weights)
    raw = db.engine.raw_connection()
    connection: Any = raw.driver_connection
    indexes: list[Index] = [
        index
        for model in (IncomingDocument, ProcessInstance, OpenTask, HistoryEvent)
        for index in model.__table__.indexes  # type: ignore[attr-defined]
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no FK triggers during the bulk load
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("SET work_mem = '256MB'")
            cursor.execute("SELECT setseed(0.2026)")
            for index in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{index.name}"')

            # agencies, units, users, roles, registers
            with cursor.copy("COPY agencies (id, code, name, abbreviation, place_name, is_active) FROM STDIN") as copy:
                for number in range(1, args.agencies + 1):
                    province = PROVINCES[number % len(PROVINCES)]
                    department, abbreviation = DEPARTMENTS[number % len(DEPARTMENTS)]
                    name = f"Sở {department} tỉnh {province}" if number % 5 else f"Ủy ban nhân dân tỉnh {province}"
                    code = f"000.{number // 100:02d}.{number % 100:02d}.H{number % 90 + 10:02d}"
                    copy.write_row((number, code, name, abbreviation if number % 5 else "UBND", province, True))
            units = ["VP", "TCCB", "KHTC", "NV1", "NV2", "NV3", "TTra", "PC"]
            with cursor.copy("COPY units (id, agency_id, code, name) FROM STDIN") as copy:
                for agency in range(1, args.agencies + 1):
                    for index, unit in enumerate(units):
                        copy.write_row(((agency - 1) * len(units) + index + 1, agency, unit, f"Phòng {unit}"))
            user_rows: list[tuple[int, int, str]] = []  # (user id, agency id, role)
            user_id = 0
            for agency, count in enumerate(users_per_agency, start=1):
                for index in range(count):
                    user_id += 1
                    role = ROLE_MIX[index] if index < len(ROLE_MIX) else "specialist"
                    if len(ROLE_MIX) <= index < len(ROLE_MIX) + len(units):
                        role = "unit_leader"
                    user_rows.append((user_id, agency, role))
            with cursor.copy(
                "COPY users (id, username, full_name, position, email, agency_id, unit_id, password_hash, "
                "must_change_password, failed_login_count, is_enabled, locale, created_at) FROM STDIN"
            ) as copy:
                family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
                given = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thị Hà", "Văn Hùng", "Thu Hương", "Đức Long"]
                for number, agency, role in user_rows:
                    unit_id = (agency - 1) * len(units) + number % len(units) + 1
                    name = f"{family[number % len(family)]} {given[number % len(given)]}"
                    copy.write_row(
                        (number, f"u{number}.{role}", name, "", "", agency, unit_id, "x", False, 0, True, "vi", NOW)
                    )
            with cursor.copy("COPY role_grants (id, user_id, role) FROM STDIN") as copy:
                for number, _agency, role in user_rows:
                    copy.write_row((number, number, role))
            cursor.execute(
                "INSERT INTO registers (agency_id, kind, year, next_number) "
                "SELECT a, 'incoming', y, 1 FROM generate_series(1, %s) a, generate_series(2022, 2026) y",
                (args.agencies,),
            )
            # picking tables: weighted agencies, weighted types, templates with their folded text
            cursor.execute(
                "CREATE TEMP TABLE pick_agency (slot int PRIMARY KEY, agency_id int);"
                "CREATE TEMP TABLE pick_type (slot int PRIMARY KEY, name text, folded text, abbr text, abbr_f text);"
                "CREATE TEMP TABLE pick_organ (i int PRIMARY KEY, name text, folded text, abbr text, abbr_f text);"
                "CREATE TEMP TABLE pick_prefix (i int PRIMARY KEY, text text, folded text);"
                "CREATE TEMP TABLE pick_topic (i int PRIMARY KEY, text text, folded text);"
                "CREATE TEMP TABLE pick_scope (i int PRIMARY KEY, text text, folded text);"
                "CREATE TEMP TABLE pick_user (agency_id int, idx int, user_id int, username text,"
                " PRIMARY KEY (agency_id, idx));"
                "CREATE TEMP TABLE agency_people (agency_id int PRIMARY KEY, people int, clerk int, clerk_name text,"
                " leader_name text);"
            )
            slots = share(10_000, weights)
            with cursor.copy("COPY pick_agency FROM STDIN") as copy:
                slot = 0
                for agency, count in enumerate(slots, start=1):
                    for _ in range(count):
                        copy.write_row((slot, agency))
                        slot += 1
            with cursor.copy("COPY pick_type FROM STDIN") as copy:
                slot = 0
                for name, weight in TYPE_WEIGHTS.items():
                    abbreviation = abbreviations[name]
                    for _ in range(weight):
                        copy.write_row((slot, name, fold(name), abbreviation, fold(abbreviation)))
                        slot += 1
            type_slots = slot
            organ_list = organs()
            with cursor.copy("COPY pick_organ FROM STDIN") as copy:
                for index, (name, abbreviation) in enumerate(organ_list):
                    copy.write_row((index, name, fold(name), abbreviation, fold(abbreviation)))
            for table_name, texts in (("pick_prefix", PREFIXES), ("pick_topic", TOPICS), ("pick_scope", SCOPES)):
                with cursor.copy(f"COPY {table_name} FROM STDIN") as copy:
                    for index, text in enumerate(texts):
                        copy.write_row((index, text, fold(text)))
            people: dict[int, list[int]] = {}
            for number, agency, role in user_rows:
                if role in ("specialist", "unit_leader"):
                    people.setdefault(agency, []).append(number)
            roles = {number: role for number, _agency, role in user_rows}
            clerks = {agency: number for number, agency, role in reversed(user_rows) if role == "clerk"}
            leaders = {agency: number for number, agency, role in user_rows if role == "leader"}
            with cursor.copy("COPY pick_user FROM STDIN") as copy:
                for agency, numbers in people.items():
                    for index, number in enumerate(numbers):
                        copy.write_row((agency, index, number, f"u{number}.{roles[number]}"))
            with cursor.copy("COPY agency_people FROM STDIN") as copy:
                for agency, numbers in people.items():
                    clerk, leader = clerks.get(agency, numbers[0]), leaders.get(agency, numbers[0])
                    copy.write_row(
                        (agency, len(numbers), clerk, f"u{clerk}.{roles[clerk]}", f"u{leader}.{roles[leader]}")
                    )
            cursor.execute("ANALYZE pick_agency, pick_type, pick_organ, pick_prefix, pick_topic, pick_scope")
            connection.commit()
            timings["org, users, templates"] = time.perf_counter() - started

            # documents: arrival order follows id; a Vietnam-year register each; search_text from folded parts
            started = time.perf_counter()
            cursor.execute(
                f"""
                INSERT INTO incoming_documents (
                    id, agency_id, register_id, arrival_number, arrival_at, organ_name, organ_code, document_code,
                    code_number, code_notation, issued_date, type_name, subject, urgency, page_amount, language,
                    received_via, signer_position, signer_name, due_date, description, search_text, paper_holder,
                    is_paper, extra_json, instance_id, registered_by_id)
                WITH g AS (
                    SELECT n,
                           floor(random() * 10000)::int AS a_slot,
                           floor(random() * {len(organ_list)})::int AS o,
                           floor(random() * {type_slots})::int AS t,
                           floor(random() * {len(PREFIXES)})::int AS p,
                           floor(random() * {len(TOPICS)})::int AS tp,
                           floor(random() * {len(SCOPES)})::int AS s,
                           timestamp '{FIRST_DAY.isoformat()}'
                               + (n - 1) * interval '{DAYS * 86400 / args.documents:.3f} seconds' AS arrival_at,
                           random() AS u, (1 + floor(random() * 3000))::int AS code_number
                    FROM generate_series(1, {args.documents}) n
                ), d AS (
                    SELECT g.*, pa.agency_id, extract(year FROM g.arrival_at + interval '7 hours')::int AS year,
                           row_number() OVER (PARTITION BY pa.agency_id,
                               extract(year FROM g.arrival_at + interval '7 hours') ORDER BY g.n) AS arrival_number
                    FROM g JOIN pick_agency pa ON pa.slot = g.a_slot
                )
                SELECT d.n, d.agency_id, r.id, d.arrival_number, d.arrival_at, o.name, '', '',
                       d.code_number::text, t.abbr || CASE WHEN t.abbr = '' THEN '' ELSE '-' END || o.abbr,
                       (d.arrival_at - interval '3 days')::date, t.name,
                       p.text || ' ' || tp.text || ' ' || s.text,
                       CASE WHEN d.u < 0.80 THEN 0 WHEN d.u < 0.93 THEN 1 WHEN d.u < 0.98 THEN 2 ELSE 3 END,
                       1 + (d.n % 7), 'Tiếng Việt', 'Trục liên thông', '', '',
                       CASE WHEN d.u < 0.3 THEN (d.arrival_at + interval '10 days')::date END, '',
                       o.folded || ' | ' || d.code_number || '/' || t.abbr_f
                           || CASE WHEN t.abbr = '' THEN '' ELSE '-' END || o.abbr_f
                           || ' | ' || t.folded || ' | ' || p.folded || ' ' || tp.folded || ' ' || s.folded || ' | ',
                       '', false, '{{}}', d.n, ap.clerk
                FROM d
                JOIN registers r ON r.agency_id = d.agency_id AND r.kind = 'incoming' AND r.year = d.year
                JOIN pick_organ o ON o.i = d.o
                JOIN pick_type t ON t.slot = d.t
                JOIN pick_prefix p ON p.i = d.p
                JOIN pick_topic tp ON tp.i = d.tp
                JOIN pick_scope s ON s.i = d.s
                JOIN agency_people ap ON ap.agency_id = d.agency_id
                """
            )
            connection.commit()
            timings["documents"] = time.perf_counter() - started

            # one instance per document: recent ones mostly running, old ones almost all completed
            started = time.perf_counter()
            cursor.execute(
                f"""
                INSERT INTO process_instances (
                    id, definition_id, spec_hash, agency_id, business_key, status, state, revision, next_timer_at,
                    incident_message, incident_task, event_count, last_event_hash, started_at, updated_at,
                    completed_at)
                SELECT id, {definition_id}, '{spec_hash}', agency_id, 'incoming:' || id,
                       CASE WHEN recent AND r < 0.7 THEN 'running' WHEN NOT recent AND r < 0.02 THEN 'running'
                            WHEN NOT recent AND r < 0.021 THEN 'incident' ELSE 'completed' END,
                       '{{}}', 3, NULL, '', '', 6, '', arrival_at, arrival_at + interval '2 days',
                       CASE WHEN (recent AND r >= 0.7) OR (NOT recent AND r >= 0.021)
                            THEN arrival_at + interval '5 days' END
                FROM (SELECT id, agency_id, arrival_at, random() AS r,
                             arrival_at > timestamp '{NOW:%Y-%m-%d %H:%M}' - interval '120 days' AS recent
                      FROM incoming_documents) d
                """
            )
            # open tasks: not yet directed (last 2 days) → the leader role; otherwise a lead and 0..4 others
            cursor.execute(
                f"""
                INSERT INTO open_tasks (
                    instance_id, agency_id, task_uuid, bpmn_id, name, form, role, unit_id, assignee_id,
                    claimed_by_id, priority, due_at, opened_at, follow_up_at, title)
                SELECT i.id, i.agency_id, gen_random_uuid()::text, 'direct', 'Cho ý kiến chỉ đạo, giao xử lý',
                       'incoming_direct', 'leader', NULL::int, NULL::int, NULL::int, d.urgency,
                       i.started_at + interval '8 hours', i.started_at, NULL::timestamp, d.subject
                FROM process_instances i JOIN incoming_documents d ON d.id = i.id
                WHERE i.status = 'running' AND i.started_at > timestamp '{NOW:%Y-%m-%d %H:%M}' - interval '2 days'
                UNION ALL
                SELECT x.id, x.agency_id, gen_random_uuid()::text, x.bpmn_id, x.name, x.form, NULL, NULL,
                       pu.user_id, NULL, x.urgency, x.started_at + interval '1 day' * (3 + x.k * 2),
                       x.started_at + interval '1 day', NULL, x.subject
                FROM (
                    SELECT i.id, i.agency_id, i.started_at, d.urgency, d.subject, k.k,
                           CASE WHEN k.k = 0 THEN 'handle' WHEN k.k < 3 THEN 'coordinate' ELSE 'acknowledge' END
                               AS bpmn_id,
                           CASE WHEN k.k = 0 THEN 'Chủ trì xử lý văn bản'
                                WHEN k.k < 3 THEN 'Phối hợp: gửi ý kiến cho người chủ trì'
                                ELSE 'Để biết: xác nhận đã đọc' END AS name,
                           CASE WHEN k.k = 0 THEN 'incoming_handle' WHEN k.k < 3 THEN 'incoming_opinion'
                                ELSE 'incoming_acknowledge' END AS form,
                           floor(random() * ap.people)::int AS idx
                    FROM process_instances i
                    JOIN incoming_documents d ON d.id = i.id
                    JOIN agency_people ap ON ap.agency_id = i.agency_id
                    CROSS JOIN LATERAL generate_series(0, (i.id % 5)) k(k)
                    WHERE i.status = 'running'
                      AND i.started_at <= timestamp '{NOW:%Y-%m-%d %H:%M}' - interval '2 days'
                ) x
                JOIN pick_user pu ON pu.agency_id = x.agency_id AND pu.idx = x.idx
                """
            )
            connection.commit()
            timings["instances, open tasks"] = time.perf_counter() - started

            # history: registered by the clerk, directed by the leader, handled by a specialist (the handler filter)
            started = time.perf_counter()
            cursor.execute(
                f"""
                INSERT INTO history_events (
                    instance_id, seq, at, kind, actor, task_uuid, bpmn_id, task_name, data_before, data_after,
                    detail, journal, prev_hash, hash)
                SELECT x.id, x.seq, x.started_at + x.seq * interval '1 hour', x.kind,
                       CASE x.seq WHEN 1 THEN x.clerk_name WHEN 2 THEN x.leader_name ELSE pu.username END,
                       '', x.bpmn_id, x.task_name, '{{}}', '{{}}', '', '[]', '', ''
                FROM (
                    SELECT i.id, i.agency_id, i.started_at, e.seq, e.kind, e.bpmn_id, e.task_name,
                           ap.clerk_name, ap.leader_name, floor(random() * ap.people)::int AS idx
                    FROM process_instances i
                    JOIN agency_people ap ON ap.agency_id = i.agency_id
                    CROSS JOIN (VALUES (1, 'started', '', ''),
                                       (2, 'task_completed', 'direct', 'Cho ý kiến chỉ đạo, giao xử lý'),
                                       (3, 'task_completed', 'handle', 'Chủ trì xử lý văn bản'))
                        AS e(seq, kind, bpmn_id, task_name)
                    WHERE e.seq = 1
                       OR (e.seq = 2 AND i.started_at <= timestamp '{NOW:%Y-%m-%d %H:%M}' - interval '2 days')
                       OR (e.seq = 3 AND i.status <> 'running')
                ) x
                JOIN pick_user pu ON pu.agency_id = x.agency_id AND pu.idx = x.idx
                """
            )
            connection.commit()
            timings["history"] = time.perf_counter() - started

            started = time.perf_counter()
            for index in indexes:
                cursor.execute(str(_create_index_sql(index, db.engine)))
            for table in ("users", "units", "agencies", "role_grants", "registers"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            for table in ("incoming_documents", "process_instances"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute("SET session_replication_role = origin")
            connection.commit()
            timings["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timings["vacuum analyze"] = time.perf_counter() - started
    finally:
        raw.close()
    return timings


def _create_index_sql(index: Any, engine: Any) -> str:
    from sqlalchemy.schema import CreateIndex

    return str(CreateIndex(index).compile(dialect=engine.dialect))


def check_search_text(app: Any) -> int:
    """search_text built in SQL equals search_text() of the same document, for a sample."""
    from sqlalchemy import func, select

    from app.documents.models import IncomingDocument
    from app.documents.search import search_text
    from app.extensions import db

    with app.app_context():
        documents = db.session.scalars(
            select(IncomingDocument).where(IncomingDocument.id % 997 == 0).order_by(func.random()).limit(300)
        ).all()
        wrong = [d.id for d in documents if d.search_text != search_text(d)]
        db.session.remove()
    if wrong:
        raise SystemExit(f"search_text differs from search_text() for documents {wrong[:10]}")
    return len(documents)


# ---------------------------------------------------------------------------------------------- measuring


@contextmanager
def captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def shorten(text: str, width: int = 400) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def explain(app: Any, run: Callable[[], Any], title: str) -> str:
    from app.extensions import db

    with app.app_context():
        with captured(db.engine) as statements:
            run()
        lines = [f"=== {title}: {len(statements)} statements ==="]
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                lines.append(shorten(" ".join(statement.split())))
                lines.append(shorten(f"    parameters: {parameters}"))
                lines.extend("    " + row[0] for row in cursor.fetchall())
                lines.append("")
        finally:
            raw.close()
        db.session.remove()
    return "\n".join(lines)


def subjects(app: Any, rng: random.Random, count: int) -> dict[str, list[Any]]:
    """Specialists with ~20 open tasks, leaders and agencies the measured runs take turns over."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from app.engine.models import OpenTask
    from app.extensions import db
    from app.org.models import RoleGrant, User

    with app.app_context():
        session = db.session()
        per_user = (
            select(OpenTask.assignee_id, func.count().label("tasks"))
            .where(OpenTask.assignee_id.is_not(None))
            .group_by(OpenTask.assignee_id)
            .subquery()
        )
        candidates = session.scalars(
            select(per_user.c.assignee_id).where(per_user.c.tasks.between(18, 22)).order_by(per_user.c.assignee_id)
        ).all()
        chosen = rng.sample(list(candidates), min(count, len(candidates)))
        leaders = session.scalars(select(RoleGrant.user_id).where(RoleGrant.role == "leader")).all()
        chosen_leaders = rng.sample(list(leaders), min(count, len(leaders)))
        loaded = select(User).options(selectinload(User.role_grants))
        users = session.scalars(loaded.where(User.id.in_(chosen))).all()
        leader_users = session.scalars(loaded.where(User.id.in_(chosen_leaders))).all()
        session.expunge_all()
        agencies = session.scalars(select(func.distinct(User.agency_id))).all()
        db.session.remove()
    return {"users": list(users), "leaders": list(leader_users), "agencies": list(agencies)}


CASES = {
    "inbox": "(a) inbox of a specialist with 18–22 open tasks",
    "inbox_leader": "(a2) inbox of a leader (role tasks of the agency + own)",
    "list": "(b) list, one agency: urgency + 30–91-day arrival range, page 1 + count",
    "list_largest": "(b2) the same in the largest agency",
    "search": "(c) search, one agency: 2–3 unaccented words, page 1 + count",
    "search_largest": "(c2) the same in the largest agency",
    "status": "(d) list, one agency: status in progress, page 1 + count",
    "handler": "(e) list, one agency: handler = a specialist, page 1 + count",
}


def measure(app: Any, runs: int, rng: random.Random) -> tuple[dict[str, Case], dict[str, Any]]:
    from app.documents import queries
    from app.extensions import db
    from app.inbox import queries as inbox_queries

    picked = subjects(app, rng, runs)
    users, leaders, agencies = picked["users"], picked["leaders"], picked["agencies"]
    largest = 1  # agency 1 has the most documents (weights 1/sqrt(rank))

    def by_urgency_and_dates() -> Any:
        start = FIRST_DAY + timedelta(days=rng.randrange(0, DAYS - 92))
        end = start + timedelta(days=rng.choice([30, 60, 91]))
        return queries.IncomingFilters(urgency=rng.choice([0, 1, 1, 2]), date_from=start, date_to=end)

    def listing(agency: int, filters: Any) -> Callable[[], int]:
        return lambda: queries.incoming_list(db.session(), agency, filters=filters, now=NOW).total

    def inbox(user: Any) -> Callable[[], int]:
        return lambda: len(inbox_queries.inbox(db.session(), user))

    def handled_by(user: Any) -> Any:
        return queries.IncomingFilters(handler=user.id)

    in_progress = queries.IncomingFilters(status=queries.ListStatus.IN_PROGRESS)
    cases = {name: Case(name) for name in CASES}
    plans: list[tuple[str, Callable[[], int]]] = []
    for index in range(runs):
        plans += [
            ("inbox", inbox(users[index % len(users)])),
            ("inbox_leader", inbox(leaders[index % len(leaders)])),
            ("list", listing(rng.choice(agencies), by_urgency_and_dates())),
            ("list_largest", listing(largest, by_urgency_and_dates())),
            ("search", listing(rng.choice(agencies), queries.IncomingFilters(q=rng.choice(SEARCHES)))),
            ("search_largest", listing(largest, queries.IncomingFilters(q=rng.choice(SEARCHES)))),
            ("status", listing(rng.choice(agencies), in_progress)),
            ("handler", listing(users[index % len(users)].agency_id, handled_by(users[index % len(users)]))),
        ]
    with app.app_context():
        for _name, run in plans:  # warm: every user, agency and word once, statement caches, the pool
            run()
            db.session.remove()
        for name, run in plans:
            started = time.perf_counter()
            found = run()
            cases[name].samples.append(ms(time.perf_counter() - started))
            cases[name].rows.append(found)
            db.session.remove()
    examples = {
        "list": (largest, queries.IncomingFilters(urgency=1, date_from=date(2025, 3, 1), date_to=date(2025, 5, 31))),
        "search": (largest, queries.IncomingFilters(q="quyet dinh ke hoach")),
        "status": (largest, in_progress),
    }
    return cases, examples


def filters_alone(app: Any, runs: int = 11) -> list[str]:
    """Each filter alone in the largest agency: median and max of `runs` runs after a warm one."""
    from sqlalchemy import select

    from app.documents import queries
    from app.extensions import db
    from app.org.models import RoleGrant, User

    with app.app_context():
        specialist = db.session.scalar(
            select(User.id).join(RoleGrant).where(User.agency_id == 1, RoleGrant.role == "specialist").limit(1)
        )
        db.session.remove()
    status = queries.ListStatus
    last_month = {"date_from": date(2026, 10, 25), "date_to": date(2026, 11, 24)}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("no filter", {}, 1),
        ("no filter, page 100", {}, 100),
        ("arrival: last month", last_month, 1),
        ("number: 123", {"number": "123"}, 1),
        ("number: qd-ubnd", {"number": "qd-ubnd"}, 1),
        ("issuing agency: bo noi vu", {"organ": "bo noi vu"}, 1),
        ("type: Quyết định", {"type_name": "Quyết định"}, 1),
        ("urgency: Hỏa tốc", {"urgency": 3}, 1),
        ("status: in progress", {"status": status.IN_PROGRESS}, 1),
        ("status: done", {"status": status.DONE}, 1),
        ("status: late", {"status": status.LATE}, 1),
        ("status: incident", {"status": status.INCIDENT}, 1),
        ("handler: a specialist", {"handler": specialist}, 1),
        ("search: ocop", {"q": "ocop"}, 1),
        ("search: quyet dinh ke hoach", {"q": "quyet dinh ke hoach"}, 1),
        ("search: a (matches all)", {"q": "a"}, 1),
        ("search + type + last month", {"q": "ke hoach", "type_name": "Kế hoạch", **last_month}, 1),
    ]
    lines = ["| filter (largest agency) | found | median ms | max ms |", "|---|---:|---:|---:|"]
    with app.app_context():
        for name, values, page in cases:
            filters = queries.IncomingFilters(**values)
            samples = []
            for attempt in range(runs + 1):
                started = time.perf_counter()
                result = queries.incoming_list(db.session(), 1, filters=filters, now=NOW, page=page)
                if attempt:
                    samples.append(ms(time.perf_counter() - started))
                db.session.remove()
            lines.append(f"| {name} | {result.total:,} | {statistics.median(samples):.2f} | {max(samples):.2f} |")
    return lines


def machine() -> str:
    return f"nproc={os.cpu_count()}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=60, help="measured runs of each case (default 60)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) of one list and one search")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database if it holds the documents")
    parser.add_argument("--write", metavar="PATH", help="also write the report to PATH")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.documents.models import IncomingDocument
    from app.engine.models import OpenTask, ProcessInstance
    from app.extensions import db
    from config import TestConfig

    total_started = time.perf_counter()
    load_before = os.getloadavg()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp:
        database_url = f"{PG_SERVER}/{PG_DATABASE}"
        reuse = False
        if args.reuse:
            try:
                import psycopg

                with psycopg.connect(database_url) as connection:
                    row = connection.execute("SELECT count(*) FROM incoming_documents").fetchone()
                    reuse = bool(row and row[0] == args.documents)
            except Exception:  # no database or no table yet: load it
                reuse = False
        if not reuse:
            reset_database()
        app = create_app(
            TestConfig,
            INSTANCE_DIR=str(Path(tmp) / "instance"),
            DATABASE_URL=database_url,
            REDIS_URL="",
            RQ_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            FROZEN_CLOCK="",
        )
        with app.app_context():
            if not reuse:
                started = time.perf_counter()
                upgrade(directory=str(ROOT / "migrations"))
                logging.getLogger("alembic").setLevel(logging.WARNING)
                timings["migrate"] = time.perf_counter() - started
                timings.update(load(app, args))
            checked = check_search_text(app)
            session = db.session()
            counts = {
                "documents": session.scalar(select(func.count()).select_from(IncomingDocument)),
                "running instances": session.scalar(
                    select(func.count()).select_from(ProcessInstance).where(ProcessInstance.status == "running")
                ),
                "open-task rows": session.scalar(select(func.count()).select_from(OpenTask)),
                "largest agency": session.scalar(
                    select(func.count()).select_from(IncomingDocument).where(IncomingDocument.agency_id == 1)
                ),
                "smallest agency": session.scalar(
                    select(func.count())
                    .select_from(IncomingDocument)
                    .where(IncomingDocument.agency_id == args.agencies)
                ),
            }
            server = session.execute(select(func.current_setting("server_version"))).scalar()
            buffers = session.execute(select(func.current_setting("shared_buffers"))).scalar()
            db.session.remove()
        rng = random.Random(SEED)
        started = time.perf_counter()
        cases, examples = measure(app, args.runs, rng)
        alone = filters_alone(app)
        measure_seconds = time.perf_counter() - started
        explained = []
        if args.explain:
            from app.documents import queries

            for name, (agency, filters) in examples.items():
                explained.append(
                    explain(
                        app,
                        lambda a=agency, f=filters: queries.incoming_list(db.session(), a, filters=f, now=NOW),
                        f"{name}: agency {agency}, {filters}",
                    )
                )
        with app.app_context():
            db.engine.dispose()
    load_after = os.getloadavg()
    lines = [
        f"Machine: {machine()}; PostgreSQL {server}, shared_buffers {buffers}",
        f"Load average (1/5/15 min) before: {'/'.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {'/'.join(f'{x:.2f}' for x in load_after)}",
        "Data: " + ", ".join(f"{name} {value:,}" for name, value in counts.items()),
        f"search_text checked against search_text() on {checked} sampled documents",
        "Load: "
        + (
            ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
            + f" (total {sum(timings.values()):.1f} s)"
            if timings
            else "reused"
        ),
        f"Measuring: {measure_seconds:.1f} s; whole run {time.perf_counter() - total_started:.1f} s",
        "",
        "| case | runs | median ms | p95 ms | max ms | rows (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, case in cases.items():
        lines.append(
            f"| {CASES[name]} | {len(case.samples)} | {statistics.median(case.samples):.2f} | "
            f"{p95(case.samples):.2f} | {max(case.samples):.2f} | {statistics.median(case.rows):,.0f} |"
        )
    lines += ["", *alone]
    report = "\n".join(lines)
    print(report)
    for text in explained:
        print()
        print(text)
    if args.write:
        Path(args.write).write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
