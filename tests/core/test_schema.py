"""aexy.schema.PerSchema: what providers derive from a spec's schema, once per schema object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aexy.schema import PerSchema


def test_per_schema_derives_once_per_schema_object() -> None:
    seen: list[object] = []

    def derive(schema: Mapping[str, Any]) -> str:
        seen.append(schema)
        return f"derived {len(seen)}"

    texts = PerSchema(derive, maxsize=2)
    a, b = {"type": "object"}, {"type": "object"}  # equal, but two objects
    assert [texts(a), texts(a), texts(b), texts(a)] == [
        "derived 1", "derived 1", "derived 2", "derived 1"]
    assert seen == [a, b] and seen[0] is a and seen[1] is b
    texts({"type": "string"})  # a third schema past maxsize: the cache starts afresh
    assert texts(a) == "derived 4"


def test_per_schema_checks_identity_not_just_the_id() -> None:
    texts = PerSchema(lambda schema: str(schema["n"]))
    first = {"n": 1}
    assert texts(first) == "1"
    texts._known[id(first)] = ({"n": 1}, "stale")  # what a recycled id would leave behind
    assert texts(first) == "1"
