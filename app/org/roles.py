"""Role names as people and BPMN lanes write them: a lane may name a role by code, Vietnamese or English."""

from __future__ import annotations

import unicodedata

from app.errors import N_
from app.org.models import Role

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.CLERK: ("Văn thư", N_("Clerk")),
    Role.LEADER: ("Lãnh đạo", N_("Agency leader")),
    Role.DEPUTY_LEADER: ("Phó lãnh đạo", N_("Deputy leader")),
    Role.UNIT_LEADER: ("Lãnh đạo đơn vị", N_("Unit leader")),
    Role.SPECIALIST: ("Chuyên viên", N_("Specialist")),
    Role.ADMIN: ("Quản trị hệ thống", N_("Administrator")),
    Role.DESIGNER: ("Thiết kế quy trình", N_("Process designer")),
    Role.AUDITOR: ("Kiểm tra, giám sát", N_("Auditor")),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


_BY_NAME: dict[str, Role] = {}
for _role, (_vi, _en) in ROLE_LABELS.items():
    for _name in (_role.value, _vi, _en):
        _BY_NAME[_fold(_name)] = _role


def role_for_lane(lane: str) -> Role | None:
    """The role a BPMN lane names, or None when the lane names no known role."""
    return _BY_NAME.get(_fold(lane))
