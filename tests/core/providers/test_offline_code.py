"""The offline code heuristics: language, libraries, block depth, consistent strengths and
issues, and regressions on real files of this repository."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from aexy import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.offline.code import DEEP_NESTING, analyze_code, detect_language

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
#: Files whose content this work owns (stable while other branches change the rest).
OWN_FILES = [*sorted((ROOT / "core/src/aexy/providers/offline").glob("*.py")),
             ROOT / "core/src/aexy/catalogue/activity.py"]
ALL_CORE_FILES = sorted((ROOT / "core/src/aexy").rglob("*.py"))

FLAT = "def add(a, b):\n    return a + b\n"

TANGLED = """def route(event, user, retries):
    for item in event.items:
        if item.kind == "a" and user.admin:
            for sub in item.children:
                if sub.ok or retries > 3:
                    while sub.pending:
                        if sub.retry():
                            break
                        elif sub.failed:
                            continue
        elif item.kind == "b":
            if user.banned:
                return None
    return event
"""

# The shape that made the old measure report "__init__ nests 9 levels deep": one for and one
# if, and continuation lines aligned far to the right.
ALIGNED_INIT = '''class Gateway:
    """A gateway."""

    def __init__(self, settings, providers, fallbacks):
        """Build the chain."""
        self.retry_policy = RetryPolicy(max_attempts=settings.max_attempts,
                                        base=settings.backoff_base,
                                        cap=settings.backoff_cap)
        chain = [self.provider]
        for fb in fallbacks:
            built = self._build_provider(fb, None,
                                         env_var="LLM_FALLBACK_PROVIDERS")
            if all(_label(built) != _label(p)
                   for p in chain):
                chain.append(built)
        self._prompt_sources = sorted(
            self.plugins.prompt_sources().items.values(),
            key=lambda s: (s.priority,
                           s.name),
        )
'''


def test_a_loop_with_one_if_is_two_blocks_deep_whatever_the_continuation_lines():
    facts = analyze_code(ALIGNED_INIT, "gateway.py")
    init = next(f for f in facts.functions if f.name == "Gateway.__init__")
    assert init.depth == 2
    assert facts.max_depth == 2
    assert not [i for i in facts.issues if "nests" in i.description]


def test_elif_and_else_if_stay_at_their_ifs_depth():
    chain = "def f(x):\n" + "".join(
        f"    {'if' if i == 0 else 'elif'} x == {i}:\n        return {i}\n" for i in range(8))
    assert analyze_code(chain, "a.py").functions[0].depth == 1
    js = ("function f(x) {\n  if (x === 1) {\n    return 1;\n  } else if (x === 2) {\n"
          "    return 2;\n  } else {\n    return 3;\n  }\n}\n")
    assert analyze_code(js, "a.js").functions[0].depth == 1


def test_python_blocks_count_as_they_are_indented():
    code = ("def f(x, path):\n    with open(path) as fh:\n        try:\n            match x:\n"
            "                case 1:\n                    return fh.read()\n"
            "        except OSError:\n            return None\n")
    assert analyze_code(code, "f.py").functions[0].depth == 4  # with > try > match > case
    lines = _indent_depths(code)
    assert max(lines.values()) - lines[2] == 4  # the tokenizer agrees


def test_object_literals_are_not_blocks():
    js = ("function config(env) {\n  const options = {\n    db: {\n      pool: {\n"
          "        size: 5,\n      },\n    },\n  };\n  if (env) {\n    return options;\n  }\n}\n")
    facts = analyze_code(js, "config.js")
    assert facts.functions[0].depth == 1


@pytest.mark.parametrize(("code", "path", "depth"), [
    ("func main() {\n\tfor i := 0; i < 3; i++ {\n\t\tif i > 1 {\n\t\t\tprintln(i)\n\t\t}\n"
     "\t}\n}\n", "main.go", 2),
    ("fn main() {\n    let p = Point {\n        x: 1,\n    };\n    match p.x {\n"
     "        1 => {\n            println!(\"one\");\n        }\n        _ => {}\n    }\n}\n",
     "main.rs", 2),
    ("public class A\n{\n    public void Run(int x)\n    {\n        if (x > 0)\n        {\n"
     "            Log(x);\n        }\n    }\n}\n", "A.cs", 1),
])
def test_brace_languages_count_blocks(code, path, depth):
    facts = analyze_code(code, path)
    assert max(f.depth for f in facts.functions) == depth


def test_python_that_does_not_parse_is_read_by_indentation():
    snippet = ("def f(items):\n    for x in items:\n        if x:\n            print(x,\n"
               "                  'far right continuation')\n    return\n  oops\n")
    facts = analyze_code(snippet, "snippet.py")
    assert not facts.parsed
    assert facts.functions[0].depth == 2


# -- strengths and issues never contradict each other -------------------------------------------

def _docs(documented: int, total: int) -> str:
    return "".join(
        f"def f{i}(x: int) -> int:\n" + ('    """Doc."""\n' if i < documented else "")
        + "    return x\n\n\n" for i in range(total))


def test_docstring_coverage_is_either_a_strength_or_an_issue():
    few = analyze_code(_docs(1, 4), "few.py")
    assert "docstrings" not in few.quality_indicators
    assert [i.description for i in few.issues if i.category == "documentation"] == [
        "only 1 of 4 public functions and classes have a docstring"]
    most = analyze_code(_docs(3, 4), "most.py")
    assert "docstrings" in most.quality_indicators
    assert not [i for i in most.issues if i.category == "documentation"]
    assert any(s.text == "docstrings on 3 of 4 public functions and classes"
               for s in most.strengths)
    none = analyze_code(_docs(0, 3), "none.py")
    assert [i.description for i in none.issues if i.category == "documentation"] == [
        "none of the 3 public functions and classes has a docstring"]


def _docstring_indicator(code: str, path: str) -> tuple[int | None, str | None]:
    import json

    from aexy.analysis import AnalysisRequest
    from aexy.providers.offline.code import skill_extraction

    context = {"file_path": path}
    result = skill_extraction(AnalysisRequest("skill_extraction", code, context,
                                              json.dumps(context)))
    [found] = [q for q in result.quality_indicators if q.name == "docstrings"]
    return found.line, found.evidence


def test_the_docstring_indicator_shows_the_docstring_not_the_definition():
    one_line = ('def load(path: str) -> str:\n    """Read the file at path."""\n'
                '    return open(path).read()\n')
    assert _docstring_indicator(one_line, "io.py") == (2, '"""Read the file at path."""')
    # An opening line of quotes alone proves nothing as a quote: its line number stands alone.
    opened = 'def load(path: str) -> str:\n    """\n    Read the file.\n    """\n    return path\n'
    assert _docstring_indicator(opened, "io.py") == (2, None)
    js = "/**\n * Sum two numbers.\n */\nfunction add(a, b) {\n  return a + b;\n}\n"
    assert _docstring_indicator(js, "add.js") == (3, None)  # the doc comment's "*/" line


def test_a_strength_is_dropped_when_an_issue_speaks_against_it():
    code = ("import logging\nlog = logging.getLogger(__name__)\n\n\n"
            "def run(cmd: str) -> None:\n    \"\"\"Run.\"\"\"\n    log.info(cmd)\n"
            "    print(cmd)\n")
    facts = analyze_code(code, "run.py")
    assert any("print" in i.description for i in facts.issues)
    assert "logging" not in facts.quality_indicators


@pytest.mark.parametrize("path", [*OWN_FILES, EXAMPLES / "oauth.py", EXAMPLES / "cart.js"],
                         ids=lambda p: p.name)
def test_real_files_have_consistent_strengths_and_issues(path):
    facts = analyze_code(path.read_text(), str(path))
    strong = {s.aspect for s in facts.strengths}
    weak = {i.aspect for i in facts.issues}
    assert not strong & weak, (strong & weak)
    labels = facts.quality_indicators
    assert len(labels) == len(set(labels))


def _indent_depths(source: str) -> dict[int, int]:
    """Line -> INDENT depth from the tokenizer, which never counts continuation lines."""
    depth = 0
    out: dict[int, int] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            out.setdefault(tok.start[0], depth)
    return out


@pytest.mark.parametrize("path", ALL_CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_block_depth_agrees_with_the_tokenizer_on_every_core_module(path):
    """Independent check: for a function without inner functions or classes, its block depth
    is the deepest INDENT inside it, less its body's own level."""
    source = path.read_text()
    lines = _indent_depths(source)
    facts = analyze_code(source, str(path))
    assert facts.parsed
    by_line = {f.line: f for f in facts.functions}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
               for n in ast.walk(node) if n is not node):
            continue
        body_level = lines[node.body[0].lineno]
        inner = [lines[n] for n in range(node.body[0].lineno, (node.end_lineno or 0) + 1)
                 if n in lines]
        expected = max(inner) - body_level
        if node.body[0].lineno == node.lineno:  # def f(): return x  (one line)
            expected = 0
        assert by_line[node.lineno].depth == expected, (path.name, node.name)


def test_the_quality_of_this_repositorys_examples():
    oauth = analyze_code((EXAMPLES / "oauth.py").read_text(), "examples/oauth.py")
    assert oauth.issues == []
    assert oauth.score >= 8
    assert {"type hints", "docstrings", "small functions"} <= set(oauth.quality_indicators)
    assert [f.depth for f in oauth.functions] == [1, 0, 1, 1, 0]
    cart = analyze_code((EXAMPLES / "cart.js").read_text(), "examples/cart.js")
    assert cart.max_depth == 3  # for > if > if/else inside the route handler
    assert cart.score <= 4


# -- language, libraries, issues -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "path", "language"),
    [
        ("x = 1\n", "app/models.py", "Python"),
        ("x = 1\n", "web/App.tsx", "TypeScript"),
        ("fn main() {}\n", "src/main.rs", "Rust"),
        ("def f(x):\n    return x\n\nclass A:\n    pass\n", None, "Python"),
        ("const f = (a) => a + 1;\nconsole.log(f(2));\n", None, "JavaScript"),
        ("interface User { name: string }\nexport type Id = number;\n", None, "TypeScript"),
        ("package main\n\nfunc main() {\n  x := 1\n}\n", None, "Go"),
        ("fn main() {\n    let mut x = 1;\n}\n", None, "Rust"),
        ("public class A {\n  public static void main(String[] a) {}\n}\n", None, "Java"),
        ("just some words\n", None, "unknown"),
    ],
)
def test_language_from_extension_or_syntax(code, path, language):
    assert detect_language(code, path) == language


def test_a_language_hint_is_used_only_when_the_code_gives_none():
    assert analyze_code("MOVE 1 TO X.\n", None, "COBOL").language == "COBOL"
    assert analyze_code(FLAT, None, "COBOL").language == "Python"


def test_frameworks_domains_and_patterns_of_the_oauth_example():
    facts = analyze_code((EXAMPLES / "oauth.py").read_text(), "examples/oauth.py")
    assert facts.language == "Python"
    assert {"FastAPI", "PyJWT", "SQLAlchemy", "Pydantic", "Passlib"} <= set(facts.frameworks)
    assert {"authentication", "web APIs", "databases"} <= set(facts.domains)
    assert {"dependency injection", "async/await", "OAuth2 flow", "password hashing",
            "token-based authentication"} <= set(facts.patterns)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import React, { useState } from 'react';\nconst A = () => useState(0);\n", "React"),
        ("const express = require('express');\n", "Express"),
        ('import (\n\t"github.com/gin-gonic/gin"\n)\n', "Gin"),
        ("import org.springframework.web.bind.annotation.RestController;\n", "Spring"),
        ("use actix_web::{web, App};\n", "Actix Web"),
        ("from django.db import models\n", "Django"),
        ("import numpy as np, pandas as pd\n", "pandas"),
    ],
)
def test_frameworks_from_imports(code, expected):
    assert expected in analyze_code(code).frameworks


def test_complexity_grows_with_branching_and_nesting_and_stays_in_bounds():
    flat, tangled = analyze_code(FLAT, "a.py"), analyze_code(TANGLED, "b.py")
    assert flat.complexity == 1
    assert tangled.complexity > flat.complexity + 2
    assert tangled.max_depth == 6  # for > if > for > if > while > if (elif at its if's level)
    assert any(i.description == "function route nests control blocks 6 deep"
               for i in tangled.issues)
    huge = analyze_code(TANGLED * 40, "c.py")
    assert 1 <= huge.complexity <= 10
    assert DEEP_NESTING <= 6


def test_quality_issues_are_located_and_most_severe_first():
    code = (
        "# TODO: tidy\n"
        "import os\n"
        'API_KEY = "sk-live-1234567890"\n'
        "def run(cmd):\n"
        "    try:\n"
        "        return eval(cmd)\n"
        "    except:\n"
        "        return None\n"
    )
    facts = analyze_code(code, "tool.py")
    by_description = {i.description: i for i in facts.issues}
    secret = next(i for d, i in by_description.items() if "credential" in d)
    assert (secret.severity, secret.category, secret.line) == ("high", "security", 3)
    assert any("eval" in d and i.line == 6 for d, i in by_description.items())
    assert any("bare except" in d and i.line == 7 for d, i in by_description.items())
    assert any("TODO" in d and i.line == 1 for d, i in by_description.items())
    severities = [i.severity for i in facts.issues]
    assert severities == sorted(severities, key=["critical", "high", "moderate", "low"].index)
    clean = analyze_code((EXAMPLES / "oauth.py").read_text(), "oauth.py")
    assert facts.score < clean.score


def test_per_function_findings_cost_at_most_three_points():
    long_body = "".join(f"    x{i} = {i}\n" for i in range(70))
    many = "".join(f"def f{i}(x: int) -> int:\n    \"\"\"Doc.\"\"\"\n{long_body}    return x\n\n"
                   for i in range(6))
    facts = analyze_code(many, "long.py")
    assert sum(1 for i in facts.issues if "is long" in i.description) == 6
    assert facts.score == 6 + round(0.75 * 2) - 3  # type hints + docstrings, capped penalty


def test_tests_are_recognised_as_a_quality_indicator():
    facts = analyze_code("def test_add():\n    assert 1 + 1 == 2\n", "test_math.py")
    assert "tests" in facts.quality_indicators


async def test_code_results_through_the_gateway():
    host = PluginHost(entry_points=False)
    code = (EXAMPLES / "cart.js").read_text()
    async with LLMGateway("offline", plugins=host, cache=False) as gateway:
        skills = await gateway.analyze("skill_extraction", code, {"file_path": "cart.js"})
        quality = await gateway.analyze("code_quality", code, {"file_path": "cart.js"})
        complexity = await gateway.analyze("code_complexity", code, {"file_path": "cart.js"})
    assert skills.language == "JavaScript"
    assert "Express" in skills.frameworks
    assert quality.score <= 4
    assert {i.category for i in quality.issues} >= {"security"}
    assert any(i.line == 10 and "SQL" in i.description for i in quality.issues)
    assert "not reviewed by a model" in quality.summary
    assert complexity.hotspots[0].name == "POST /cart/:id/checkout"
    assert "block nesting 3" in complexity.hotspots[0].reason
    assert complexity.cognitive_load in ("low", "moderate", "high", "critical")
