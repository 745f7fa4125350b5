"""The one home of JSON-schema walking in aexy.

- :func:`resolve_ref`: the one local ``$ref`` resolver (sibling keywords kept);
- :func:`numeric_bounds` and :func:`bounds_text`: the one reading of ``minimum``/``maximum``;
- :func:`sketch`: the commented answer shape that goes into prompts;
- :func:`example_from_schema`: a minimal valid instance (fake providers, tests);
- :func:`strict_schema` and its inverse :func:`drop_strict_nulls`: the subset OpenAI-style
  strict structured output accepts, and the undoing of what it did to optional fields;
- :func:`cap_array_items`: a length bound on every unbounded list, for grammar decoders.

The catalogue, the docs generator, the CLI's rendering, the offline provider and aexy-openai all
walk schemas through these functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

__all__ = [
    "PerSchema",
    "accepts_null",
    "bounds_text",
    "cap_array_items",
    "drop_strict_nulls",
    "example_from_schema",
    "numeric_bounds",
    "ref_name",
    "resolve_ref",
    "sketch",
    "strict_schema",
]

T = TypeVar("T")


class PerSchema(Generic[T]):
    """``derive(schema)``, computed once per schema object. The gateway sends a type's spec
    schema, the same object, on every call of that type, so what a provider derives from it (an
    API's dialect of the schema, its JSON text) is worth computing once. Entries are keyed by
    identity, and the identity is checked, so a recycled ``id`` never returns another schema's
    value; past ``maxsize`` schemas the cache starts afresh.

    :param derive: the conversion; it must not depend on anything but the schema.
    """

    __slots__ = ("_derive", "_known", "_maxsize")

    def __init__(self, derive: Callable[[Mapping[str, Any]], T], maxsize: int = 128) -> None:
        self._derive = derive
        self._maxsize = maxsize
        self._known: dict[int, tuple[Mapping[str, Any], T]] = {}

    def __call__(self, schema: Mapping[str, Any]) -> T:
        known = self._known.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        value = self._derive(schema)
        if len(self._known) >= self._maxsize:
            self._known.clear()
        self._known[id(schema)] = (schema, value)
        return value


def ref_name(schema: Mapping[str, Any]) -> str | None:
    """The definition name of a local ``$ref`` (``"#/$defs/Issue"`` gives ``"Issue"``)."""
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``{"$ref": "#/$defs/X"}`` (repeatedly) to its definition. Keywords beside
    the ``$ref`` (pydantic puts a ``description`` there) are kept and win over the target's."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **siblings} if siblings else node
        seen += 1
        if seen > 64:
            raise ValueError("$ref cycle")
    return schema


def numeric_bounds(schema: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(minimum, maximum)`` of a number schema, looking inside ``X | None`` unions; either is
    ``None`` when unbounded."""
    for option in (*schema.get("anyOf", ()), schema):
        if isinstance(option, Mapping) and ("minimum" in option or "maximum" in option):
            return option.get("minimum"), option.get("maximum")
    return None, None


def bounds_text(schema: Mapping[str, Any]) -> str:
    """The bounds as prompts and docs write them: ``" 1-10"``, ``" >= 0"``, ``" <= 5"``, or
    ``""`` when unbounded."""
    lo, hi = numeric_bounds(schema)
    if lo is not None and hi is not None:
        return f" {lo}-{hi}"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


# Descriptions that only restate the bounds the sketch already prints.
_BOUND_NOTES = ("0.0 to", "1 (", "0 (")


def sketch(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None,
           indent: int = 0) -> str:
    """A compact, commented sketch of the JSON ``schema`` describes: keys, enum values, bounds
    and field descriptions, for models whose provider cannot enforce a schema."""
    root = schema if root is None else root
    node = resolve_ref(schema, root)
    pad = "  " * indent
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(sketch(opt, root, indent) for opt in node[key])
    typ = node.get("type")
    if typ == "object" or "properties" in node:
        props: Mapping[str, Any] = node.get("properties", {})
        if not props:
            return "{}"
        lines = []
        for i, (name, sub) in enumerate(props.items()):
            comma = "," if i < len(props) - 1 else ""
            desc = sub.get("description")  # of the field itself, not of a referenced model
            note = f"  // {desc}" if desc and not str(desc).startswith(_BOUND_NOTES) else ""
            lines.append(f"{pad}  {json.dumps(name)}: {sketch(sub, root, indent + 1)}{comma}"
                         f"{note}")
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if typ == "array":
        return f"[{sketch(node.get('items', {}), root, indent)}, ...]"
    if typ == "null":
        return "null"
    if typ in ("integer", "number", "string", "boolean"):
        return f"<{typ}{bounds_text(node)}>"
    return "<any JSON value>"


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


# Keywords that OpenAI's strict structured output rejects (or that mean nothing to a decoder).
# Dropping a validation keyword is safe: the core still validates every answer against the
# original pydantic model, so a violated bound becomes a repair request, never a wrong result.
_STRICT_DROPPED = frozenset({
    "default", "examples", "minLength", "maxLength", "uniqueItems", "contains", "minContains",
    "maxContains", "unevaluatedItems", "unevaluatedProperties", "patternProperties",
    "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas",
    "dependencies", "if", "then", "else", "not", "discriminator", "readOnly", "writeOnly",
    "deprecated", "$schema", "$id", "$comment", "contentEncoding", "contentMediaType",
})
# String formats strict mode accepts; others (``uri``, ``path``...) are dropped.
_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_PRIMITIVES = frozenset({"string", "number", "integer", "boolean"})


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` (typically pydantic's ``model_json_schema()``) that OpenAI's
    ``response_format={"type": "json_schema", ..., "strict": true}`` accepts.

    - every object gets ``additionalProperties: false`` (a ``dict[str, X]`` field can therefore
      only be ``{}``: strict mode has no way to express free-form keys);
    - every property is listed in ``required``; properties that were optional and did not
      already accept ``null`` become nullable, so the model can say "absent" with ``null``;
    - ``$defs`` are processed too; a ``$ref`` with sibling keywords (pydantic adds a
      ``description`` beside it) is inlined, since strict mode rejects such siblings;
    - ``oneOf`` becomes ``anyOf``, a single-entry ``allOf`` is merged into its parent;
    - unsupported keywords (``default``, ``minLength``, unknown ``format``...) are dropped.

    The input is never modified.
    """
    root = copy.deepcopy(dict(schema))
    result: dict[str, Any] = _strict(root, root, frozenset())
    return result


def _strict(node: Any, root: dict[str, Any], inlining: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_strict(item, root, inlining) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if ref in inlining:  # recursive model: keep the reference, lose the annotations
            return {"$ref": ref}
        target = copy.deepcopy(dict(resolve_ref({"$ref": ref}, root)))
        return _strict({**target, **siblings}, root, inlining | {ref})
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        rest = {k: v for k, v in node.items() if k != "allOf"}
        inner = all_of[0]
        inner_ref = inner.get("$ref")
        if isinstance(inner_ref, str):
            if inner_ref in inlining:
                return {"$ref": inner_ref, **{k: v for k, v in rest.items() if k == "$defs"}}
            inner = copy.deepcopy(dict(resolve_ref(inner, root)))
            inlining = inlining | {inner_ref}
        return _strict({**inner, **rest}, root, inlining)

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _STRICT_DROPPED:
            continue
        if key == "format" and value not in _STRICT_FORMATS:
            continue
        if key in ("$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: _strict(d, root, inlining) for name, d in value.items()}
        elif key == "properties" and isinstance(value, dict):
            required = set(node.get("required") or ())
            props: dict[str, Any] = {}
            for name, prop in value.items():
                sub = _strict(prop, root, inlining)
                if name not in required and not accepts_null(sub, root):
                    sub = _nullable(sub)
                props[name] = sub
            out[key] = props
        elif key in ("items", "prefixItems", "anyOf", "allOf"):
            out[key] = _strict(value, root, inlining)
        elif key == "oneOf":
            # Strict mode knows anyOf only; for disjoint variants the two agree.
            out["anyOf"] = _strict(value, root, inlining)
        else:
            out[key] = value
    if "properties" in out:
        out["required"] = list(out["properties"])
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    return out


def accepts_null(schema: Any, root: Mapping[str, Any], depth: int = 0) -> bool:
    """Whether ``schema`` (local ``$ref``s resolved against ``root``) admits ``null``."""
    if not isinstance(schema, Mapping) or depth > 32:
        return False
    try:
        schema = resolve_ref(schema, root)
    except (KeyError, TypeError, ValueError):
        return False
    typ = schema.get("type")
    if typ == "null" or (isinstance(typ, list) and "null" in typ):
        return "enum" not in schema or None in schema["enum"]
    if "const" in schema and schema["const"] is None:
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(
        accepts_null(option, root, depth + 1)
        for key in ("anyOf", "oneOf")
        for option in schema.get(key) or ()
    )


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` widened to accept ``null``, in the simplest form strict mode takes."""
    if isinstance(schema.get("anyOf"), list):
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    typ = schema.get("type")
    if typ in _PRIMITIVES and "enum" not in schema and "const" not in schema:
        return {**schema, "type": [typ, "null"]}
    inner = dict(schema)
    outer: dict[str, Any] = {}
    for key in ("title", "description"):
        if key in inner:
            outer[key] = inner.pop(key)
    return {**outer, "anyOf": [inner, {"type": "null"}]}


def drop_strict_nulls(value: Any, schema: Mapping[str, Any]) -> bool:
    """Undo what :func:`strict_schema` had to do to optional fields, in place.

    Strict mode makes every property required, so an optional field that does not accept
    ``null`` in ``schema`` (``tags: list[str] = []``) was made nullable on the wire. A ``null``
    there means "absent": its key is dropped so the model's default applies, instead of failing
    validation. Returns whether anything was dropped.
    """
    return _drop_nulls(value, schema, schema, 0)


def _drop_nulls(value: Any, schema: Any, root: Mapping[str, Any], depth: int) -> bool:
    if depth > 32 or not isinstance(schema, Mapping):
        return False
    try:
        schema = resolve_ref(schema, root)
    except (KeyError, TypeError, ValueError):
        return False
    changed = False
    options = [o for k in ("anyOf", "oneOf") for o in schema.get(k) or ()
               if not (isinstance(o, Mapping) and o.get("type") == "null")]
    if len(options) == 1:  # ``X | None``: look inside X
        return _drop_nulls(value, options[0], root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return _drop_nulls(value, all_of[0], root, depth + 1)
    if isinstance(value, dict):
        props = schema.get("properties")
        if not isinstance(props, Mapping):
            return False
        required = set(schema.get("required") or ())
        for key in list(value):
            sub = props.get(key)
            if sub is None:
                continue
            if value[key] is None and key not in required and not accepts_null(sub, root):
                del value[key]
                changed = True
            else:
                changed |= _drop_nulls(value[key], sub, root, depth + 1)
    elif isinstance(value, list):
        items = schema.get("items")
        for item in value:
            changed |= _drop_nulls(item, items, root, depth + 1)
    return changed


# Keywords whose values are data, not schemas: never walked.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose values map names to schemas.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def cap_array_items(schema: Mapping[str, Any], max_items: int) -> dict[str, Any]:
    """A copy of ``schema`` in which every array without ``maxItems`` gets ``maxItems:
    max_items`` (never below its own ``minItems``); bounded arrays keep their bound.

    For decoders that compile a schema into a grammar (llama.cpp): a grammar has no notion of
    "enough", and a small model repeats one list item until its token limit. The answer is still
    validated against the original schema. The input is never modified.
    """
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    result: dict[str, Any] = _cap(copy.deepcopy(dict(schema)), max_items)
    return result


def _cap(node: Any, max_items: int) -> Any:
    if isinstance(node, list):
        return [_cap(item, max_items) for item in node]
    if not isinstance(node, dict):
        return node
    for key, value in node.items():
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            # Names here are property or definition names: a property may be called "enum".
            node[key] = {name: _cap(sub, max_items) for name, sub in value.items()}
        elif key not in _DATA_KEYWORDS:
            node[key] = _cap(value, max_items)
    typ = node.get("type")
    is_array = typ == "array" or (isinstance(typ, list) and "array" in typ)
    if is_array and "maxItems" not in node and "prefixItems" not in node:
        node["maxItems"] = max(max_items, int(node.get("minItems", 0)))
    return node
