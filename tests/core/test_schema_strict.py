"""``strict_schema``: pydantic schemas made acceptable to OpenAI-style strict structured output."""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from aexy.plugins import PluginHost
from aexy.schema import strict_schema

# Keywords strict mode rejects; none may survive.
FORBIDDEN = {"default", "minLength", "maxLength", "uniqueItems", "oneOf", "not",
             "patternProperties", "minProperties", "maxProperties", "discriminator", "examples"}


class Severity(StrEnum):
    LOW = "low"
    HIGH = "high"


class Issue(BaseModel):
    severity: Severity
    line: int | None = None
    note: str = Field("n/a", min_length=2, max_length=80, description="short note")


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class TreeNode(BaseModel):
    name: str
    children: list[TreeNode] = Field(default_factory=list)
    parent: TreeNode | None = Field(None, description="the parent node")


class Report(BaseModel):
    score: int = Field(ge=1, le=10)
    summary: str
    issues: list[Issue] = Field(default_factory=list)
    main: Issue = Field(description="the worst issue")
    tags: list[str] = Field(default_factory=list, json_schema_extra={"uniqueItems": True})
    extra: dict[str, int] = Field(default_factory=dict)
    homepage: str = Field("https://x", json_schema_extra={"format": "uri"})
    contact: str = Field("a@b.c", json_schema_extra={"format": "email"})
    pet: Cat | Dog = Field(discriminator="kind")
    tree: TreeNode | None = None


def objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append(node)
        for value in node.values():
            found += objects(value)
    elif isinstance(node, list):
        for value in node:
            found += objects(value)
    return found


def keys(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "properties":  # property names are data, not keywords
                out.add(k)
            out |= keys(v) if k != "properties" else set().union(*map(keys, v.values()))
    elif isinstance(node, list):
        for v in node:
            out |= keys(v)
    return out


def assert_strict(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    found = objects(schema)
    assert found
    for obj in found:
        assert obj["additionalProperties"] is False, obj
        assert obj.get("required", []) == list(obj.get("properties", {})), obj
    assert not keys(schema) & FORBIDDEN, keys(schema) & FORBIDDEN
    for node in _all_nodes(schema):
        if "$ref" in node:
            assert set(node) == {"$ref"}, node  # no sibling keywords next to a $ref


def _all_nodes(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            out += _all_nodes(v)
    elif isinstance(node, list):
        for v in node:
            out += _all_nodes(v)
    return out


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return strict_schema(Report.model_json_schema())


def test_every_object_is_closed_and_fully_required(report: dict[str, Any]) -> None:
    assert_strict(report)
    assert report["required"] == list(Report.model_fields)


def test_optional_fields_become_nullable_required_ones_do_not(report: dict[str, Any]) -> None:
    props = report["properties"]
    assert props["score"]["type"] == "integer"  # required: unchanged
    assert props["summary"]["type"] == "string"
    assert props["homepage"]["type"] == ["string", "null"]
    tags = props["tags"]  # an array becomes anyOf [array, null]
    assert tags["anyOf"][1] == {"type": "null"} and tags["anyOf"][0]["type"] == "array"
    validator = jsonschema.Draft202012Validator(report)
    assert validator.is_valid(None) is False
    instance = {"score": 3, "summary": "s", "issues": None, "tags": None, "extra": None,
                "homepage": None, "contact": None, "tree": None, "pet": {"kind": "cat",
                                                                         "lives": None},
                "main": {"severity": "low", "line": None, "note": None}}
    validator.validate(instance)
    assert not validator.is_valid({**instance, "summary": None})  # required stays non-null
    assert not validator.is_valid({**instance, "unknown": 1})


def test_already_nullable_fields_get_no_second_null(report: dict[str, Any]) -> None:
    line = report["$defs"]["Issue"]["properties"]["line"]
    assert line["anyOf"].count({"type": "null"}) == 1
    tree = report["properties"]["tree"]
    assert tree["anyOf"].count({"type": "null"}) == 1


def test_unsupported_keywords_are_dropped_supported_ones_kept(report: dict[str, Any]) -> None:
    props = report["properties"]
    assert (props["score"]["minimum"], props["score"]["maximum"]) == (1, 10)
    assert "format" not in props["homepage"]  # uri: not a strict-mode format
    assert props["contact"]["format"] == "email"
    note = report["$defs"]["Issue"]["properties"]["note"]
    assert note["description"] == "short note"
    assert not {"minLength", "maxLength", "default"} & set(note)


def test_ref_with_siblings_is_inlined_plain_refs_stay(report: dict[str, Any]) -> None:
    main = report["properties"]["main"]
    assert "$ref" not in main
    assert main["description"] == "the worst issue"
    assert main["properties"]["severity"] == {"$ref": "#/$defs/Severity"}
    assert report["$defs"]["Severity"]["enum"] == ["low", "high"]
    assert main["additionalProperties"] is False
    assert report["properties"]["issues"]["anyOf"][0]["items"] == {"$ref": "#/$defs/Issue"}


def test_discriminated_union_becomes_any_of(report: dict[str, Any]) -> None:
    pet = report["properties"]["pet"]
    assert "oneOf" not in pet and "discriminator" not in pet
    assert [o["$ref"] for o in pet["anyOf"]] == ["#/$defs/Cat", "#/$defs/Dog"]


def test_recursive_models_terminate(report: dict[str, Any]) -> None:
    node = report["$defs"]["TreeNode"]
    parent = node["properties"]["parent"]
    # "description" beside a recursive $ref: the reference is kept, not inlined forever.
    assert {"$ref": "#/$defs/TreeNode"} in parent["anyOf"]
    assert parent["description"] == "the parent node"
    jsonschema.validate({"score": 1, "summary": "", "issues": [], "tags": [], "extra": {},
                         "homepage": "h", "contact": "c", "pet": {"kind": "dog", "good": True},
                         "main": {"severity": "high", "line": 3, "note": "n"},
                         "tree": {"name": "a", "children": [
                             {"name": "b", "children": None, "parent": None}],
                             "parent": None}}, report)


def test_dict_fields_are_closed(report: dict[str, Any]) -> None:
    extra = report["properties"]["extra"]["anyOf"][0]
    assert extra["type"] == "object" and extra["additionalProperties"] is False


def test_single_all_of_is_merged() -> None:
    schema = {"type": "object", "properties": {"a": {"allOf": [{"$ref": "#/$defs/A"}],
                                                     "description": "wrapped"}},
              "required": ["a"],
              "$defs": {"A": {"type": "object", "properties": {"x": {"type": "string"}}}}}
    out = strict_schema(schema)
    a = out["properties"]["a"]
    assert "allOf" not in a and a["description"] == "wrapped"
    assert a["required"] == ["x"] and a["additionalProperties"] is False
    assert out["$defs"]["A"]["required"] == ["x"]


def test_the_input_is_not_modified() -> None:
    original = Report.model_json_schema()
    before = copy.deepcopy(original)
    strict_schema(original)
    assert original == before


def test_every_catalogue_schema_is_strict_compatible() -> None:
    specs = PluginHost(entry_points=False).analysis_types()
    names = specs.names()
    assert len(names) >= 15
    for name in names:
        spec = specs.get(name)
        assert spec is not None
        strict = strict_schema(spec.json_schema)
        assert_strict(strict)
        json.dumps(strict)  # plain JSON, ready for the wire
