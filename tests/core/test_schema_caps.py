"""``aexy.schema.cap_array_items``: a bound on every unbounded list, for grammar decoders."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from aexy.catalogue.code import SkillExtraction
from aexy.schema import cap_array_items


def test_every_unbounded_array_gets_the_cap_and_bounded_ones_keep_theirs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "few": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "many": {"type": "array", "items": {"type": "string"}, "minItems": 12},
            "maybe": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/Issue"}},
                                {"type": "null"}]},
            "either": {"type": ["array", "null"], "items": {"type": "integer"}},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        },
        "$defs": {"Issue": {"type": "object", "properties": {
            "lines": {"type": "array", "items": {"type": "integer"}}}}},
    }
    original = copy.deepcopy(schema)
    capped = cap_array_items(schema, 5)
    assert schema == original  # the input is never modified
    props = capped["properties"]
    assert props["tags"]["maxItems"] == 5
    assert props["few"]["maxItems"] == 2
    assert props["many"]["maxItems"] == 12  # never below minItems: valid answers stay valid
    assert props["maybe"]["anyOf"][0]["maxItems"] == 5
    assert props["either"]["maxItems"] == 5
    assert "maxItems" not in props["pair"]  # a tuple has its own length
    assert capped["$defs"]["Issue"]["properties"]["lines"]["maxItems"] == 5


def test_names_and_data_are_not_mistaken_for_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {
            # A property named like a keyword is still a schema...
            "enum": {"type": "array", "items": {"type": "string"}},
            # ...while a default value is data, even when it looks like a schema.
            "shape": {"type": "object", "default": {"type": "array"}},
        },
    }
    capped = cap_array_items(schema, 3)
    assert capped["properties"]["enum"]["maxItems"] == 3
    assert capped["properties"]["shape"]["default"] == {"type": "array"}


def test_a_capped_catalogue_schema_still_accepts_what_the_model_accepts() -> None:
    capped = cap_array_items(SkillExtraction.model_json_schema(), 4)
    answer = {"language": "Python", "frameworks": ["FastAPI", "SQLAlchemy"], "complexity": 5}
    jsonschema.validate(answer, capped)
    with pytest.raises(jsonschema.ValidationError, match="is too long"):
        jsonschema.validate({**answer, "patterns": ["a", "b", "c", "d", "e"]}, capped)


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cap_array_items({"type": "array"}, 0)
