"""The offline heuristics read code, not text: comments and strings never count, every
supported language's imports, functions, tests, evaluation constructs and secrets."""

from __future__ import annotations

import pytest

from aexy.eval import load_cases
from aexy.providers.offline.code import analyze_code, detect_language
from aexy.providers.offline.syntax import lex

DECODE_C = """#include <stdio.h>
#include <zlib.h>
#include "local.h"

/* int not_a_function(void) { if (x) { } } */
static int decode(const char *s, int n) {
    int total = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] == '{') {
            while (total < 10 && s[i]) {
                total++;
            }
        } else if (s[i] == '"') {
            total--;
        }
    }
    return total;
}

int main(int argc, char **argv) {
    return decode(argv[0], argc) > 0 ? 0 : 1;
}
"""


def test_c_functions_branches_and_nesting_are_counted() -> None:
    facts = analyze_code(DECODE_C, "decode.c")
    assert [f.name for f in facts.functions] == ["decode", "main"]
    decode = facts.functions[0]
    assert decode.depth == 3  # for > if > while
    assert decode.decisions == 5  # for, if, while, &&, else if
    assert [i.library for i in facts.libraries] == ["zlib"]  # stdio is the system's


@pytest.mark.parametrize(("code", "path", "names", "depth"), [
    ("#!/bin/sh\nusage() {\n  echo hi\n}\nfunction run {\n  for f in *; do\n"
     "    if [ -f \"$f\" ]; then\n      echo \"$f\"\n    fi\n  done\n}\n", "run.sh",
     ["usage", "run"], 2),
    ("CREATE OR REPLACE FUNCTION total(a int) RETURNS int AS $$\nBEGIN\n"
     "  IF a > 0 THEN\n    RETURN a;\n  END IF;\n  RETURN 0;\nEND;\n$$ LANGUAGE plpgsql;\n"
     "DROP TABLE IF EXISTS t;\n", "f.sql", ["total"], 1),
    ("class A\n  def run(x)\n    items.each do |i|\n      if i > x\n        puts i\n      end\n"
     "    end\n  end\nend\n", "a.rb", ["run"], 1),
    ("impl Foo {\n    pub fn get<'a>(&'a self, k: &str) -> Option<&'a str> {\n"
     "        match self.map.get(k) {\n            Some(v) => { if v.is_empty() { None }"
     " else { Some(v) } }\n            None => None,\n        }\n    }\n}\n", "a.rs",
     ["get"], 3),
])
def test_functions_in_keyword_and_brace_languages(code: str, path: str, names: list[str],
                                                  depth: int) -> None:
    facts = analyze_code(code, path)
    assert [f.name for f in facts.functions] == names
    assert max(f.depth for f in facts.functions) == depth


@pytest.mark.parametrize(("code", "path"), [
    ("package x\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n}\n", "x_test.go"),
    ("RSpec.describe Cart do\n  it \"adds\" do\n    expect(1).to eq 1\n  end\nend\n",
     "cart_spec.rb"),
    ("#include <gtest/gtest.h>\nTEST(Cart, Adds) {\n  EXPECT_EQ(1, 1);\n}\n", "cart_test.cc"),
    ("#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {}\n}\n", "lib.rs"),
    ("describe('cart', () => { it('adds', () => {}); });\n", "cart.test.js"),
])
def test_tests_are_recognised_in_every_language(code: str, path: str) -> None:
    assert analyze_code(code, path).is_test


@pytest.mark.parametrize(("code", "path", "found"), [
    ('eval "$cmd"\n', "a.sh", True),
    ("x=1 # eval $y\necho 'eval $z'\n", "a.sh", False),
    ("const f = Function('return 1');\n", "a.js", True),
    ("const f = new Function('a', 'return a');\n", "a.js", True),
    ("// eval(x)\nconst s = 'eval(x)';\nmodel.eval();\n", "a.js", False),
    ("model.eval()\ndef eval(x):\n    return x\n", "a.py", False),
    ("instance_eval <<~RUBY\n  def x; end\nRUBY\n", "a.rb", True),
    ("EXECUTE format('SELECT %I', t);\n", "a.sql", True),
])
def test_constructs_that_evaluate_code(code: str, path: str, found: bool) -> None:
    assert bool(analyze_code(code, path).evaluates) is found


def test_secrets_in_key_value_literals_and_not_in_comments() -> None:
    code = ('creds = {"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}\n'
            '# password = "hunter2Hunter2"\n'
            'token_type = "Bearer"\nAPI_KEY = os.environ["API_KEY"]\n')
    assert analyze_code(code, "a.py").secrets == [1]
    go = 'var cfg = Config{Password: "s3cr3t-Passw0rd"}\n'
    assert analyze_code(go, "a.go").secrets == [1]


@pytest.mark.parametrize(("code", "path", "libraries"), [
    ("import { createStore } from 'redux';\nimport fs from 'node:fs';\n"
     "const x = require('./local');\nimport('@scope/pkg/sub');\n", "a.js",
     ["redux", "@scope/pkg"]),
    ('import (\n\t"fmt"\n\tlog "github.com/sirupsen/logrus"\n\t"golang.org/x/net/context"\n)\n',
     "a.go", ["github.com/sirupsen/logrus", "golang.org/x/net"]),
    ("use std::fmt;\nuse serde::{Deserialize, Serialize};\nmod util;\nuse util::x;\n"
     "fn f() { let v = serde_json::to_string(&1); fmt::Debug; }\n", "a.rs",
     ["serde", "serde_json"]),
    ("require 'json'\nrequire \"faraday/retry\"\nrequire_relative 'x'\n", "a.rb", ["faraday"]),
    ("package com.acme.app;\nimport java.util.List;\nimport com.acme.app.util.X;\n"
     "import org.springframework.web.bind.annotation.GetMapping;\n", "A.java",
     ["org.springframework.web"]),
    ("#include <vector>\n#include <boost/asio.hpp>\n#include <sys/types.h>\n", "a.cc",
     ["boost"]),
])
def test_every_external_import_is_a_library(code: str, path: str, libraries: list[str]
                                            ) -> None:
    assert [i.library for i in analyze_code(code, path).libraries] == libraries


def test_an_import_in_a_comment_or_string_is_no_library() -> None:
    js = "/** import x from 'redux' */\n// require('express')\nconst s = \"import 'vue'\";\n"
    facts = analyze_code(js, "a.js")
    assert facts.libraries == [] and facts.frameworks == []


@pytest.mark.parametrize(("code", "language"), [
    ("interface User { name: string }\nexport type Id = number;\n", "TypeScript"),
    ("function add(a: number, b: number): number {\n  return a + b;\n}\n", "TypeScript"),
    ("const cfg = { timeout: 30, retries: 2 };\nmodule.exports = cfg;\n", "JavaScript"),
    ("export function f(a, b) {\n  return { a: b };\n}\nconsole.log(f(1, 2));\n", "JavaScript"),
    ("#!/usr/bin/env bash\nset -e\n", "Shell"),
    ("#!/usr/bin/env python3\nprint(1)\n", "Python"),
])
def test_language_without_a_file_name_comes_from_the_content(code: str, language: str) -> None:
    assert detect_language(code, None) == language


def test_the_lexer_keeps_offsets_and_lines() -> None:
    text = 'a = "x # y"  # z\nb = 1\n'
    src = lex(text, "Python")
    assert len(src.code) == len(text) and src.code.count("\n") == text.count("\n")
    assert "#" not in src.code and src.literal(*src.strings[0]) == "x # y"


def test_a_comment_or_string_never_raises_a_score_or_adds_a_claim() -> None:
    """Every injection case of the labelled set (both splits): comment-only additions that
    imitate imports, tests, a credential and instructions change nothing that is claimed."""
    cases = {c.id: c for c in load_cases("all", kinds=("code", "injection"))}
    checked = 0
    for case in cases.values():
        if case.kind != "injection":
            continue
        original = cases[case.original_id]
        before = analyze_code(original.content, original.path)
        after = analyze_code(case.content, case.path)
        assert after.score <= before.score, case.path
        assert [i.library for i in after.libraries] == [i.library for i in before.libraries]
        assert after.frameworks == before.frameworks and after.is_test == before.is_test
        assert bool(after.secrets) == bool(before.secrets)
        assert bool(after.evaluates) == bool(before.evaluates)
        checked += 1
    assert checked >= 80
