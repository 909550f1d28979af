"""User-task forms as data: resolving forms/<agency>/ over _default/, checking definitions, cleaning input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from app.engine.models import DEFAULT_SCOPE
from app.errors import N_, InvalidInput

FIELD_TYPES = {
    *("text", "textarea", "integer", "date", "select", "checkbox"),
    *("user", "unit", "agency"),  # people, units of the agency; other agencies of the installation
    *("file", "password"),
}
# Read by the task's action from the request and never kept: no process data, history or log holds them.
UNKEPT_TYPES = {"file", "password"}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def form_path(forms_dir: str, scope: str, name: str) -> Path | None:
    """The agency's own form file if it has one, else the default; None when neither exists."""
    if not NAME.match(name):
        return None
    for folder in (scope, DEFAULT_SCOPE):
        path = Path(forms_dir) / folder / f"{name}.json"
        if path.is_file():
            return path
    return None


def load_form(forms_dir: str, scope: str, name: str) -> dict[str, Any]:
    path = form_path(forms_dir, scope, name)
    if path is None:
        raise InvalidInput(N_("The form %(name)s does not exist."), name=name)
    definition: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return definition


def definition_problems(definition: Any, reserved: set[str]) -> list[str]:
    """What is wrong with a form definition (empty when it can be rendered and validated)."""
    if not isinstance(definition, dict):
        return ["the form must be a JSON object"]
    problems = []
    if not isinstance(definition.get("title"), dict | str):
        problems.append("missing title")
    fields = definition.get("fields")
    if not isinstance(fields, list):
        return [*problems, "missing list of fields"]
    seen: set[str] = set()
    for index, field in enumerate(fields):
        where = f"field {index + 1}"
        if not isinstance(field, dict):
            problems.append(f"{where}: not an object")
            continue
        name = field.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{where}: name must be lower_snake_case ASCII")
            continue
        where = f"field {name}"
        if name in seen:
            problems.append(f"{where}: defined twice")
        if name in reserved:
            problems.append(f"{where}: the name is a helper's name")
        seen.add(name)
        kind = field.get("type")
        if not isinstance(kind, str) or kind not in FIELD_TYPES:
            problems.append(f"{where}: unknown type {kind!r}")
            continue
        problems.extend(f"{where}: {problem}" for problem in _attribute_problems(field, kind))
    return problems


def _is_label(value: Any) -> bool:
    """Text, or {"vi": text, "en": text}."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and isinstance(text, str) for key, text in value.items())
    return isinstance(value, str)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _attribute_problems(field: dict[str, Any], kind: str) -> list[str]:
    """What in a field's attributes would break rendering or validating it."""
    problems = [f"{key} must be text or {{vi, en}}" for key in ("label", "help") if not _is_label(field.get(key, ""))]
    problems += [
        f"{key} must be true or false"
        for key in ("required", "multiple")
        if key in field and not isinstance(field[key], bool)
    ]
    if "max_length" in field and not (_is_whole(field["max_length"]) and field["max_length"] > 0):
        problems.append("max_length must be a positive whole number")
    problems += [
        f"{key} must be a whole number" for key in ("min", "max") if key in field and not _is_whole(field[key])
    ]
    if kind == "select":
        choices = field.get("choices")
        if not (isinstance(choices, list) and choices):
            problems.append("a select needs choices")
        elif not all(
            isinstance(choice, dict)
            and (isinstance(choice.get("value"), str) or _is_whole(choice.get("value")))
            and _is_label(choice.get("label", ""))
            for choice in choices
        ):
            problems.append("each choice needs a value (text or a whole number) and a label")
    roles = field.get("roles", [])
    if not (isinstance(roles, list) and all(isinstance(role, str) for role in roles)):
        problems.append("roles must be a list of role names")
    return problems


def text(value: Any, locale: str) -> str:
    """A label in the user's language: {"vi": …, "en": …} or a plain string."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("vi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


OptionsFor = Callable[[dict[str, Any]], list[Choice]]
# More agencies an `agency` field offers after those of the installation: provider(session, agency_id), given by
# higher domains (app/interop's directory of agency codes) so the engine imports none of them.
AgencyChoices = Callable[[Any, int], list[Choice]]
_agency_choices: dict[str, AgencyChoices] = {}


def register_agency_choices(name: str, provider: AgencyChoices) -> None:
    """Offer the provider's agencies in `agency` fields too; a second registration under `name` replaces it."""
    _agency_choices[name] = provider


def clean_submission(
    definition: dict[str, Any], raw: Mapping[str, Any], options_for: OptionsFor, locale: str = "vi"
) -> dict[str, Any]:
    """Typed values for every non-file field, or InvalidInput naming each bad field in the user's words."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in definition["fields"]:
        name, kind = field["name"], field["type"]
        if kind in UNKEPT_TYPES:
            continue
        if field.get("multiple"):
            chosen = _many(raw, name)
            if not chosen and field.get("required"):
                errors[name] = N_("This field is required.")
            allowed = {choice.value for choice in options_for(field)}
            if any(item not in allowed for item in chosen):
                errors[name] = N_("Choose one of the offered values.")
            values[name] = chosen
            continue
        given = raw.get(name)
        given = given.strip() if isinstance(given, str) else given
        if kind == "checkbox":
            values[name] = given in ("on", "true", "1", True)
            continue
        if given in (None, ""):
            if field.get("required"):
                errors[name] = N_("This field is required.")
            values[name] = field.get("default") if field.get("default") is not None else None
            continue
        try:
            values[name] = _typed(field, given, options_for)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidInput(N_("Some fields need correcting."), errors)
    return values


def _many(raw: Mapping[str, Any], name: str) -> list[str]:
    """Every value posted for a multiple-choice field, without blanks or repeats, in the order given."""
    getlist = getattr(raw, "getlist", None)
    given = getlist(name) if getlist is not None else raw.get(name) or []
    items = [given] if isinstance(given, str) else list(given)
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def _typed(field: dict[str, Any], given: Any, options_for: OptionsFor) -> Any:
    kind = field["type"]
    if kind in ("text", "textarea"):
        limit = int(field.get("max_length", 2000 if kind == "textarea" else 500))
        if len(given) > limit:
            raise ValueError(N_("Too long."))
        return str(given)
    if kind == "integer":
        try:
            number = int(given)
        except (TypeError, ValueError):
            raise ValueError(N_("Enter a whole number.")) from None
        if ("min" in field and number < int(field["min"])) or ("max" in field and number > int(field["max"])):
            raise ValueError(N_("Out of the allowed range."))
        return number
    if kind == "date":
        try:
            return date.fromisoformat(str(given)).isoformat()
        except ValueError:
            raise ValueError(N_("Enter a date.")) from None
    allowed = {choice.value for choice in options_for(field)}
    if str(given) not in allowed:
        raise ValueError(N_("Choose one of the offered values."))
    if kind == "select" and all(isinstance(c.get("value"), int) for c in field["choices"]):
        return int(given)
    return str(given)


def static_choices(field: dict[str, Any], locale: str) -> list[Choice]:
    return [Choice(str(c["value"]), text(c.get("label", c["value"]), locale)) for c in field.get("choices", [])]


def sample_value(field: dict[str, Any]) -> Any:
    """A plausible value of the field's type, for linting expressions that use it."""
    kind = field.get("type")
    if kind == "integer":
        return int(field.get("min", 1))
    if kind == "date":
        return "2026-01-05"
    if kind == "checkbox":
        return False
    if kind == "select" and field.get("choices"):
        return field["choices"][0]["value"]
    return "x"


def options_for(session: Any, agency_id: int, locale: str) -> OptionsFor:
    """Choices of select, user, unit and agency fields, scoped to the agency (people by role, optionally by unit)."""
    from sqlalchemy import select

    from app.org.models import Agency, RoleGrant, Unit, User

    def options(field: dict[str, Any]) -> list[Choice]:
        kind = field["type"]
        if kind == "select":
            return static_choices(field, locale)
        if kind == "unit":
            units = session.scalars(select(Unit).where(Unit.agency_id == agency_id).order_by(Unit.name))
            return [Choice(unit.code, unit.name) for unit in units]
        if kind == "agency":  # the other agencies of the installation, by mã định danh, then registered ones
            agencies = session.scalars(
                select(Agency).where(Agency.id != agency_id, Agency.is_active.is_(True)).order_by(Agency.name)
            )
            choices = [Choice(agency.code, agency.name) for agency in agencies]
            seen = {choice.value for choice in choices}
            for provider in _agency_choices.values():
                for choice in provider(session, agency_id):
                    if choice.value not in seen:
                        seen.add(choice.value)
                        choices.append(choice)
            return choices
        key = (tuple(field.get("roles") or ()), str(field.get("unit") or ""))
        if key not in people:  # a form's user fields often share their scope (lead and coordinators)
            people[key] = _people(key)
        return people[key]

    def _people(key: tuple[tuple[str, ...], str]) -> list[Choice]:
        roles, unit = key
        query = (  # names only: whole users would also load their role grants
            select(User.username, User.full_name, User.position)
            .where(User.agency_id == agency_id, User.is_enabled.is_(True))
            .order_by(User.full_name)
        )
        if roles:
            query = query.where(User.id.in_(select(RoleGrant.user_id).where(RoleGrant.role.in_(roles))))
        if unit:
            query = query.join(Unit, Unit.id == User.unit_id).where(Unit.code == unit)
        return [
            Choice(username, f"{full_name}" + (f" — {position}" if position else ""))
            for username, full_name, position in session.execute(query)
        ]

    people: dict[tuple[tuple[str, ...], str], list[Choice]] = {}
    return options


def localized_fields(definition: dict[str, Any], locale: str) -> list[dict[str, Any]]:
    """Fields with their label and help text in the user's language, for rendering."""
    return [
        {
            **field,
            "label_text": text(field.get("label", field["name"]), locale),
            "help_text": text(field.get("help"), locale),
        }
        for field in definition["fields"]
    ]
