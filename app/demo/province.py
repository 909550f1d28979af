"""Kon Tum demo data. Agency codes follow the 13-character mã định danh pattern; the H34 letters are
illustrative, not taken from a published code list."""

from __future__ import annotations

from typing import Any

from app.org.models import Role

PASSWORD = "Demo@2026"  # initial password of every demo account; changed at first login (ACC-5)

AGENCIES: list[dict[str, Any]] = [
    {
        "code": "000.00.01.H34",
        "name": "Văn phòng Ủy ban nhân dân tỉnh Kon Tum",
        "abbreviation": "VPUBND",
        "place_name": "Kon Tum",
        "prefix": "vp",
        "units": [("HCTC", "Phòng Hành chính - Tổ chức"), ("TH", "Phòng Tổng hợp"), ("KT", "Phòng Kinh tế")],
        "people": [
            ("vanthu", "Nguyễn Thị Hoa", "Văn thư", [Role.CLERK], "HCTC"),
            ("chanhvanphong", "Trần Văn Hùng", "Chánh Văn phòng", [Role.LEADER], None),
            ("phochanhvanphong", "Lê Thị Mai", "Phó Chánh Văn phòng", [Role.DEPUTY_LEADER], None),
            ("tp.th", "Phạm Quốc Bảo", "Trưởng phòng Tổng hợp", [Role.UNIT_LEADER], "TH"),
            ("tp.kt", "Võ Minh Châu", "Trưởng phòng Kinh tế", [Role.UNIT_LEADER], "KT"),
            ("cv.th", "Đặng Thu Trang", "Chuyên viên", [Role.SPECIALIST], "TH"),
            ("cv.kt", "Huỳnh Đức Anh", "Chuyên viên", [Role.SPECIALIST], "KT"),
            ("quantri", "Bùi Văn Tâm", "Quản trị hệ thống", [Role.ADMIN], "HCTC"),
            ("thietke", "Ngô Thị Lan", "Chuyên viên CNTT", [Role.DESIGNER], "HCTC"),
            ("kiemtra", "Đỗ Văn Kiên", "Thanh tra viên", [Role.AUDITOR], None),
        ],
    },
    {
        "code": "000.00.12.H34",
        "name": "Sở Nội vụ tỉnh Kon Tum",
        "abbreviation": "SNV",
        "place_name": "Kon Tum",
        "prefix": "snv",
        "units": [
            ("HCTH", "Phòng Hành chính - Tổng hợp"),
            ("TCBC", "Phòng Tổ chức, biên chế và tổ chức phi chính phủ"),
            ("CCVC", "Phòng Công chức, viên chức"),
            ("XDCQ", "Phòng Xây dựng chính quyền và công tác thanh niên"),
        ],
        "people": [
            ("vanthu", "Y Blin", "Văn thư", [Role.CLERK], "HCTH"),
            ("giamdoc", "Nguyễn Văn Quang", "Giám đốc", [Role.LEADER], None),
            ("phogiamdoc", "A Thái", "Phó Giám đốc", [Role.DEPUTY_LEADER], None),
            ("tp.hcth", "Lê Thị Thu Hà", "Trưởng phòng Hành chính - Tổng hợp", [Role.UNIT_LEADER], "HCTH"),
            ("tp.tcbc", "Trần Đình Nghĩa", "Trưởng phòng Tổ chức, biên chế", [Role.UNIT_LEADER], "TCBC"),
            ("tp.ccvc", "Nguyễn Thị Xuân", "Trưởng phòng Công chức, viên chức", [Role.UNIT_LEADER], "CCVC"),
            ("tp.xdcq", "Phan Văn Lực", "Trưởng phòng Xây dựng chính quyền", [Role.UNIT_LEADER], "XDCQ"),
            ("cv.tcbc", "Y Nhi", "Chuyên viên", [Role.SPECIALIST], "TCBC"),
            ("cv.ccvc", "Hoàng Minh Tuấn", "Chuyên viên", [Role.SPECIALIST], "CCVC"),
            ("cv.xdcq", "Lý Thị Ngọc", "Chuyên viên", [Role.SPECIALIST], "XDCQ"),
            ("quantri", "Trịnh Công Sơn", "Quản trị hệ thống", [Role.ADMIN], "HCTH"),
            ("thietke", "Vũ Thị Hằng", "Chuyên viên CNTT", [Role.DESIGNER], "HCTH"),
            ("kiemtra", "Mai Văn Đức", "Thanh tra viên", [Role.AUDITOR], None),
        ],
    },
    {
        "code": "000.31.40.H34",
        "name": "Ủy ban nhân dân xã Ngọk Bay",
        "abbreviation": "UBND",
        "place_name": "Ngọk Bay",
        "prefix": "ngokbay",
        "units": [("VP", "Văn phòng HĐND và UBND"), ("KT", "Phòng Kinh tế"), ("VHXH", "Phòng Văn hóa - Xã hội")],
        "people": [
            ("vanthu", "A Lưu", "Văn thư", [Role.CLERK], "VP"),
            ("chutich", "Trần Văn Thành", "Chủ tịch UBND xã", [Role.LEADER], None),
            ("phochutich", "Y Hương", "Phó Chủ tịch UBND xã", [Role.DEPUTY_LEADER], None),
            ("tp.kt", "Nguyễn Văn Hải", "Trưởng phòng Kinh tế", [Role.UNIT_LEADER], "KT"),
            ("tp.vhxh", "Lê Thị Bích", "Trưởng phòng Văn hóa - Xã hội", [Role.UNIT_LEADER], "VHXH"),
            ("cv.kt", "A Đam", "Chuyên viên", [Role.SPECIALIST], "KT"),
            ("cv.vhxh", "Y Phương", "Chuyên viên", [Role.SPECIALIST], "VHXH"),
            ("quantri", "Đinh Văn Long", "Công chức Văn phòng - Thống kê", [Role.ADMIN, Role.DESIGNER], "VP"),
            ("kiemtra", "Phạm Thị Yến", "Thanh tra nhân dân", [Role.AUDITOR], None),
        ],
    },
]

# Incoming documents registered by each agency's clerk at load time (organ, number, type, subject, urgency).
DOCUMENTS: list[tuple[str, str, str, str, int]] = [
    ("Bộ Nội vụ", "4120/BNV-CCVC", "Công văn", "Về việc báo cáo số lượng công chức, viên chức năm 2026", 0),
    (
        "Ủy ban nhân dân tỉnh Kon Tum",
        "812/QĐ-UBND",
        "Quyết định",
        "Về việc phê duyệt kế hoạch chuyển đổi số năm 2027",
        1,
    ),
    ("Văn phòng Chính phủ", "95/CĐ-TTg", "Công điện", "Về việc ứng phó với bão số 13", 3),
]

# Documents the provincial office sends to its agencies through the exchange; they wait for each clerk to
# accept or return them (issued by `flask demo mail`, after the test PKI gave the office its seal).
MAIL: list[tuple[str, str, str, str, str, int]] = [
    ("000.00.01.H34", "000.00.12.H34", "215/VPUBND-TH", "Công văn", "V/v rà soát vị trí việc làm năm 2027", 0),
    ("000.00.01.H34", "000.00.12.H34", "216/VPUBND-KT", "Thông báo", "Thông báo kết luận họp giao ban tháng 11", 3),
    ("000.00.01.H34", "000.31.40.H34", "217/VPUBND-TH", "Công văn", "V/v báo cáo tình hình thiên tai", 1),
]


# The directory of agency codes (INT-3): the province's own agencies and some outside it. Outside agencies are
# reached through the file-based gateway (instance/exchange/outbox) so that a demo can send to them. The G
# codes are the ministries' published ones (QĐ 09/2025); H49 is Quảng Ninh's provincial committee.
DIRECTORY: list[tuple[str, str, str]] = [
    ("000.00.00.G09", "Bộ Nội vụ", "directory"),
    ("000.00.00.G22", "Văn phòng Chính phủ", "directory"),
    ("000.00.00.H49", "Ủy ban nhân dân tỉnh Quảng Ninh", "directory"),
]
