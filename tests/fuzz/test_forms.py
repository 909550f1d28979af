"""User-task forms: any JSON is either refused by the definition check with its problems named, or renders and
validates every submission — typed values, or InvalidInput whose field errors are the form's own messages."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.engine import forms
from app.errors import InvalidInput

KNOWN_ERRORS = {
    "This field is required.",
    "Choose one of the offered values.",
    "Too long.",
    "Enter a whole number.",
    "Out of the allowed range.",
    "Enter a date.",
}
PEOPLE = [forms.Choice("1", "Nguyễn Văn A"), forms.Choice("2", "Trần Thị B")]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
NAMES = st.sampled_from(["subject", "due", "lead", "note", "count", "x", "a_b", "Bad-Name", ""])
KINDS = st.sampled_from(sorted(forms.FIELD_TYPES)) | JSON
OPTIONAL = {
    "label": st.text(max_size=10) | st.dictionaries(st.sampled_from(["vi", "en"]), st.text(max_size=10)) | JSON,
    "help": JSON,
    "required": st.booleans() | JSON,
    "multiple": st.booleans() | JSON,
    "max_length": st.integers(-5, 600) | JSON,
    "min": st.integers(-100, 100) | JSON,
    "max": st.integers(-100, 100) | JSON,
    "default": JSON,
    "roles": st.lists(st.text(max_size=8), max_size=3) | JSON,
    "choices": st.lists(
        st.fixed_dictionaries({"value": st.integers(0, 5) | st.text(max_size=5)}, optional={"label": JSON}) | JSON,
        max_size=4,
    )
    | JSON,
}
FIELDS = st.fixed_dictionaries({"name": NAMES | JSON, "type": KINDS}, optional=OPTIONAL)
DEFINITIONS = st.fixed_dictionaries(
    {"fields": st.lists(FIELDS, max_size=5) | JSON}, optional={"title": st.text(max_size=10) | JSON}
)
LABELS = st.text(max_size=10) | st.dictionaries(st.sampled_from(["vi", "en"]), st.text(max_size=10), min_size=1)
CHOICES = st.lists(
    st.fixed_dictionaries({"value": st.integers(0, 5) | st.text(max_size=5)}, optional={"label": LABELS}),
    min_size=1,
    max_size=4,
)
WELL_FORMED_FIELDS = st.fixed_dictionaries(
    {"name": st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), "type": st.sampled_from(sorted(forms.FIELD_TYPES))},
    optional={
        "label": LABELS,
        "help": LABELS,
        "required": st.booleans(),
        "multiple": st.booleans(),
        "max_length": st.integers(1, 40),
        "min": st.integers(-10, 10),
        "max": st.integers(-10, 10),
        "default": JSON,
        "roles": st.lists(st.sampled_from(["clerk", "leader"]), max_size=2),
    },
).flatmap(lambda field: CHOICES.map(lambda c: {**field, "choices": c}) if field["type"] == "select" else st.just(field))
WELL_FORMED = st.fixed_dictionaries(
    {"title": LABELS, "fields": st.lists(WELL_FORMED_FIELDS, min_size=1, max_size=5, unique_by=lambda f: f["name"])}
)
VALUES = st.text(max_size=12) | st.sampled_from(["1", "0", "-3", "2026-02-29", "2026-13-01", "on", "١٢", "1_0"])


def options_for(field):
    if field["type"] == "select":
        return forms.static_choices(field, "vi")
    return PEOPLE if field["type"] in ("user", "unit", "agency") else []


@given(JSON | DEFINITIONS)
def test_any_json_is_checked_without_error(definition):
    problems = forms.definition_problems(definition, reserved={"now"})
    assert all(isinstance(problem, str) and problem for problem in problems)


@given(WELL_FORMED | DEFINITIONS, st.data())
def test_a_definition_without_problems_renders_and_validates_any_submission(definition, data):
    if forms.definition_problems(definition, reserved=set()):
        return
    json.dumps(definition)
    for locale in ("vi", "en"):
        assert len(forms.localized_fields(definition, locale)) == len(definition["fields"])
    for field in definition["fields"]:
        forms.sample_value(field)
        options_for(field)
    names = [field["name"] for field in definition["fields"]] + ["other"]
    raw = MultiDict(data.draw(st.lists(st.tuples(st.sampled_from(names), VALUES), max_size=8)))
    try:
        values = forms.clean_submission(definition, raw, options_for, "vi")
    except InvalidInput as error:
        assert set(error.field_errors.values()) <= KNOWN_ERRORS, error.field_errors
    else:
        json.dumps(values)  # process data is JSON
