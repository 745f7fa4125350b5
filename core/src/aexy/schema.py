"""JSON-schema helpers shared by providers: a minimal valid instance (for the offline and fake
providers) and resolution of local ``$ref``s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["example_from_schema", "resolve_ref"]


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``{"$ref": "#/$defs/X"}`` (repeatedly) to its definition."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
        seen += 1
        if seen > 64:
            raise ValueError("$ref cycle")
    return schema


def example_from_schema(
    schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, *, text: str = "n/a"
) -> Any:
    """The smallest instance that satisfies ``schema``: required properties only, lower
    bounds for numbers, the first enum value, ``minItems`` copies of an example item."""
    root = schema if root is None else root
    schema = resolve_ref(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve_ref(s, root) for s in schema[key]]
            non_null = [s for s in options if s.get("type") != "null"]
            return example_from_schema((non_null or options)[0], root, text=text)
    if "allOf" in schema:
        return example_from_schema(schema["allOf"][0], root, text=text)
    typ = schema.get("type", "object")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "object":
        props = schema.get("properties", {})
        return {
            name: example_from_schema(props[name], root, text=text)
            for name in schema.get("required", [])
            if name in props
        }
    if typ == "array":
        count = int(schema.get("minItems", 0))
        item = schema.get("items", {})
        return [example_from_schema(item, root, text=text) for _ in range(count)]
    if typ == "string":
        length = int(schema.get("minLength", 0))
        return text if len(text) >= length else text + "x" * (length - len(text))
    if typ in ("integer", "number"):
        if "minimum" in schema:
            low = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + (1 if typ == "integer" else 0.5)
        else:
            low = 0
        return int(low) if typ == "integer" else float(low)
    if typ == "boolean":
        return False
    return None
