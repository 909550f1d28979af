"""The password policy for passwords a user chooses: length, four classes, not common, not the username (ACC-5)."""

from __future__ import annotations

import re
from functools import cache

from app.errors import N_

# TCVN 14423 as summarised in domain.md §7.2: with no second factor, at least 14 characters of four classes.
CLASS_RULES = (
    (re.compile(r"[a-zà-ỹđ]"), N_("a lower-case letter")),
    (re.compile(r"[A-ZÀ-ỸĐ]"), N_("an upper-case letter")),
    (re.compile(r"\d"), N_("a digit")),
    (re.compile(r"[^\w\s]|_"), N_("a special character")),
)
TOO_SHORT = N_("at least %(min_length)s characters")
COMMON = N_("not a common or breached password (nor one with digits or symbols added)")
HAS_USERNAME = N_("not containing the username")

# Words that zxcvbn's list (English-language breaches) lacks but Vietnamese users pick.
_LOCAL_COMMON = ("anhyeuem", "emyeuanh", "quantri", "quantrivien", "vanthu", "vietnam", "hanoi", "saigon", "conyeu")


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breaches, shipped offline by zxcvbn, plus local ones."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(_LOCAL_COMMON)


def is_common(password: str) -> bool:
    """Common as typed (any case), or once the digits and symbols added around a common word are removed."""
    lowered = password.lower()
    letters = re.sub(r"[\W\d_]+", "", lowered)
    stripped = lowered.strip("0123456789!@#$%^&*()_+-=.,;:?~`'\"[]{}<>/\\| ")
    candidates = {lowered, stripped, letters} - {""}
    return any(candidate in common_passwords() for candidate in candidates if len(candidate) >= 3)


def password_problems(password: str, *, username: str = "", min_length: int = 14) -> list[str]:
    """The rules of the policy that `password` breaks (untranslated; TOO_SHORT takes `min_length`)."""
    problems = [] if len(password) >= min_length else [TOO_SHORT]
    problems += [rule for pattern, rule in CLASS_RULES if not pattern.search(password)]
    if is_common(password):
        problems.append(COMMON)
    name = username.strip().lower()
    if name and (
        name in password.lower()
        or any(len(part) >= 4 and part in password.lower() for part in re.split(r"[._\-@]", name))
    ):
        problems.append(HAS_USERNAME)
    return problems
