"""What the packaged Gemma 3 270M (a *base* model, Q4_K_M) can and cannot judge, measured.

Runs a few analyses of the repository's examples through the gateway (cache off) and checks
each answer against facts anyone can read off the input: the language, the libraries imported,
the injection and hard-coded key in cart.js, the skills the task names. Prints, per case, whether
a valid result came back (and after how many calls), each fact kept or missed, and how often
the model repeated a list item. Greedy decoding: reruns give the same answers.

Run: ``python benchmarks/llamacpp_quality.py [model.gguf]``; another GGUF (for example a 7B
instruct model) gives the same table for comparison.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aexy import AnalysisType, LLMGateway
from aexy.plugins import PluginHost
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings

ROOT = Path(__file__).resolve().parent.parent
OAUTH = (ROOT / "examples" / "oauth.py").read_text()
CART = (ROOT / "examples" / "cart.js").read_text()
TASK = (ROOT / "examples" / "task.md").read_text()

Check = tuple[str, Callable[[Any], bool]]


def lower(items: list[str]) -> set[str]:
    return {i.strip().lower() for i in items}


def has_any(items: list[str], *words: str) -> bool:
    text = " ".join(lower(items))
    return any(w in text for w in words)


CASES: list[tuple[str, AnalysisType, str, dict[str, Any], list[Check]]] = [
    ("skill_extraction oauth.py", AnalysisType.SKILL_EXTRACTION, OAUTH,
     {"file_path": "oauth.py"}, [
         ("language is Python", lambda r: r.language.lower() == "python"),
         ("names FastAPI", lambda r: "fastapi" in lower(r.frameworks)),
         ("names SQLAlchemy", lambda r: "sqlalchemy" in lower(r.frameworks)),
         ("domain auth/OAuth/JWT", lambda r: has_any(r.domains, "auth", "jwt")),
         ("complexity 4-8", lambda r: 4 <= r.complexity <= 8),
     ]),
    ("skill_extraction cart.js", AnalysisType.SKILL_EXTRACTION, CART,
     {"file_path": "routes/cart.js"}, [
         ("language is JavaScript", lambda r: r.language.lower() in ("javascript", "js")),
         ("names Express", lambda r: has_any(r.frameworks, "express")),
         ("names PostgreSQL/pg", lambda r: has_any(r.frameworks, "pg", "postgres")),
     ]),
    ("code_quality cart.js", AnalysisType.CODE_QUALITY, CART,
     {"file_path": "routes/cart.js"}, [
         ("finds the SQL injection", lambda r: any(
             "inject" in i.description.lower() or "sql" in i.description.lower()
             for i in r.issues)),
         ("finds the hard-coded key", lambda r: any(
             "key" in i.description.lower() or "secret" in i.description.lower()
             for i in r.issues)),
         ("score 2-6", lambda r: 2 <= r.score <= 6),
     ]),
    ("task_signals task.md", AnalysisType.TASK_SIGNALS, TASK, {}, [
        ("requires OAuth", lambda r: has_any(r.required_skills, "oauth")),
        ("requires FastAPI", lambda r: has_any(r.required_skills + r.preferred_skills,
                                               "fastapi")),
        ("names React", lambda r: has_any(r.required_skills + r.preferred_skills, "react")),
    ]),
]


def repeated_items(result: Any) -> int:
    """List items that repeat an earlier item of the same list."""
    count = 0
    for value in result.model_dump().values():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            count += len(value) - len(lower(value))
    return count


async def main() -> None:
    settings = LlamaCppSettings(max_tokens=512)
    if len(sys.argv) > 1:
        settings = LlamaCppSettings(model_path=Path(sys.argv[1]), max_tokens=512)
    provider = LlamaCppProvider(settings)
    await provider.load()
    print(f"model {provider.model}, max_tokens {settings.max_tokens}, "
          f"max_items {settings.max_items}\n")
    kept = total = 0
    async with LLMGateway(provider=provider, plugins=PluginHost(entry_points=False),
                          fallbacks=(), cache=False) as gateway:
        for name, kind, content, context, checks in CASES:
            t0 = time.perf_counter()
            try:
                result = await gateway.analyze(kind, content, context=context, timeout=3600)
            except Exception as exc:  # the honest outcome is part of the measurement
                print(f"{name}: no result after {time.perf_counter() - t0:.0f} s: "
                      f"{type(exc).__name__}: {str(exc)[:200]}\n")
                total += len(checks)
                continue
            p = result.provenance
            print(f"{name}: valid after {p.attempts} call(s), {time.perf_counter() - t0:.0f} s, "
                  f"{p.output_tokens} tokens out, {repeated_items(result)} repeated list items")
            print(f"   {result.model_dump_json()[:400]}")
            for label, check in checks:
                try:
                    ok = bool(check(result))
                except (AttributeError, TypeError, ValueError):
                    ok = False
                kept += ok
                total += 1
                print(f"   [{'x' if ok else ' '}] {label}")
            print()
    print(f"facts kept: {kept} of {total}")


if __name__ == "__main__":
    asyncio.run(main())
