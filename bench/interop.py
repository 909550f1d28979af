"""Packages written and read per second: an edXML document package with one 1 MB attachment (app/interop).

    .venv/bin/python bench/interop.py [--rounds 50] [--size 1048576]

The attachment is random bytes behind a %PDF- header (so the PDF check runs and base64 cannot compress it); the
package has two recipients and a Vietnamese header. Each figure is the median rate of --rounds timed calls after
one warm-up call; the reader runs with the default 50 MB limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.interop.edxml import VIETNAM, read_package, write_package  # noqa: E402
from app.interop.messages import Attachment, Header, Message  # noqa: E402


def sample(size: int) -> Message:
    content = b"%PDF-1.7\n" + os.urandom(size - 9)
    return Message(
        header=Header(
            organ_code="000.00.00.H49",
            organ_name="Ủy ban nhân dân tỉnh Quảng Ninh",
            number_symbol="12/UBND-VP",
            issued_date=date(2024, 3, 5),
            type_name="Công văn",
            subject="V/v triển khai kế hoạch chuyển đổi số năm 2024",
            urgency=1,
            signer_position="Phó Chủ tịch",
            signer_name="Nguyễn Văn Thắng",
        ),
        recipients=[("000.00.12.H49", "Sở Tài chính"), ("000.00.13.H49", "Sở Kế hoạch và Đầu tư")],
        message_id="bench",
        attachments=[Attachment("Công văn số 12.pdf", "application/pdf", content, "Văn bản chính")],
        sent_at=datetime(2024, 3, 5, 9, 30, tzinfo=VIETNAM),
    )


def per_second(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return 1 / median, median * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    options = parser.parse_args()
    message = sample(options.size)
    package = write_package(message)
    assert read_package(package) == message
    written, write_ms = per_second(lambda: write_package(message), options.rounds)
    parsed, read_ms = per_second(lambda: read_package(package), options.rounds)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; rounds {options.rounds}")
    print(f"attachment {options.size:,} bytes; package {len(package):,} bytes")
    print(f"write_package: {written:,.0f} packages/s (median {write_ms:.2f} ms)")
    print(f"read_package:  {parsed:,.0f} packages/s (median {read_ms:.2f} ms)")


if __name__ == "__main__":
    main()
