"""``aexy eval``: the shipped labelled set, per-field scores, record and replay, the command."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from aexy.eval import Contender, load_cases, run_eval, score_cases
from aexy.eval.dataset import SPLITS, load_licences
from aexy.eval.runner import Recording
from aexy.eval.scoring import library_matches
from aexy.plugins import PluginHost
from aexy.testing import FakeProvider


def test_the_set_is_real_licensed_and_split_by_package() -> None:
    cases = load_cases("all")
    code = [c for c in cases if c.kind == "code"]
    assert len(code) >= 250
    assert len({c.language for c in code}) >= 10
    licences = load_licences()
    for case in cases:
        assert case.split in SPLITS and case.origin["package"] and case.licence
    for case in code:
        key = f"{case.origin['registry']}:{case.origin['package']}"
        assert licences[key]["text"], key  # the licence text ships with the files
        assert any(word in case.licence for word in ("MIT", "BSD", "Apache", "ISC", "Expat",
                                                     "PostgreSQL", "Boost"))
    dev = {c.origin["package"] for c in code if c.split == "dev"}
    test = {c.origin["package"] for c in code if c.split == "test"}
    assert dev and test and not dev & test  # the test split's packages are unseen


def test_library_matching_by_name_or_path_prefix() -> None:
    assert library_matches("github.com/a/b", "github.com/a/b/sub")
    assert library_matches("org.springframework.web", "org.springframework.web.bind.X")
    assert library_matches("tokio-util", "tokio_util")
    assert not library_matches("react", "react-dom")
    assert not library_matches("re", "requests")


def _answer(libraries: list[str], frameworks: list[str], indicators: list[str],
            confidence: float = 0.8) -> dict[str, Any]:
    return {"language": "Python", "libraries": [{"name": n, "evidence": n}
                                                for n in libraries],
            "frameworks": frameworks,
            "quality_indicators": [{"name": n} for n in indicators],
            "confidence": confidence}


def test_scores_per_field_against_the_labels() -> None:
    a, b = load_cases("dev", kinds=("code",))[:2]
    a_labels = {**a.labels, "imports": ["requests", "flask"], "tests": True}
    b_labels = {**b.labels, "imports": [], "tests": False}
    cases = [dataclasses.replace(a, labels=a_labels, language="Python"),
             dataclasses.replace(b, labels=b_labels, language="Python")]
    answers = {
        cases[0].id: {"skill_extraction": _answer(["requests", "numpy"], ["Requests"],
                                                  ["tests"]),
                      "code_quality": {"score": 7, "issues": []}},
        cases[1].id: {"skill_extraction": _answer([], ["Django"], ["tests"]),
                      "code_quality": "unsupported"},
    }
    report = score_cases("x", "dev", cases, answers)
    libraries = report.get("libraries")
    assert (libraries.precision, libraries.recall) == (0.5, 0.5)
    assert report.get("frameworks").precision == 0.5  # Django is backed by no import
    tests = report.get("tests")
    assert (tests.precision, tests.recall, tests.accuracy) == (0.5, 1.0, 0.5)
    assert report.errors == {"code_quality: unsupported": 1}


async def test_record_then_replay_scores_the_same_without_the_model(tmp_path: Path) -> None:
    host = PluginHost(entry_points=False)
    from aexy.testing import install_fake_provider

    install_fake_provider(host)
    from aexy.plugins import reset_plugin_host

    reset_plugin_host(host)
    cases = load_cases("dev", kinds=("code",))[:3]
    reply = json.dumps(_answer(["requests"], ["Requests"], ["tests"]))
    FakeProvider.script = [reply] * 6 + [reply] * 0
    path = tmp_path / "answers.json"
    live = await run_eval(Contender("fake"), cases, record=Recording(path))
    assert json.loads(path.read_text())["answers"]
    FakeProvider.script = []  # the model is gone: replay must not need it
    replayed = await run_eval(Contender("fake"), cases, replay=Recording(path))
    assert replayed.as_dict()["fields"] == live.as_dict()["fields"]
    assert replayed.errors == live.errors


async def test_a_prompt_that_was_not_recorded_is_reported_not_answered(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"model": "m", "answers": {}}))
    cases = load_cases("dev", kinds=("code",))[:1]
    report = await run_eval(Contender("fake"), cases, replay=Recording(path))
    assert report.errors == {"skill_extraction: not_found": 1, "code_quality: not_found": 1}


def test_the_command_prints_a_table_and_writes_json(cli: Any, runner: CliRunner,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(cli, ["eval", "--split", "dev", "--kind", "code", "--limit", "5",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "libraries" in result.output and "offline" in result.output
    data = json.loads(out.read_text())
    assert data[0]["contender"] == "offline" and data[0]["cases"] == 5
    fields = {f["field"]: f for f in data[0]["fields"]}
    assert fields["language"]["accuracy"] == 1.0


RECORDED = Path(__file__).parent / "data"
PROMPTS_V1 = str(Path(__file__).resolve().parents[3] / "examples" / "prompts-v1")


def _small_dev_cases() -> list[Any]:
    """The cases of ``aexy eval --split dev --kind code --kind injection --max-chars 1500
    --limit 4``: what the recordings below answered."""
    cases = [c for c in load_cases("dev", ("code", "injection")) if len(c.content) <= 1500]
    keep = set(sorted(c.id for c in cases if "-" not in c.id)[:4])
    return [c for c in cases if c.original_id in keep]


async def test_qwen_coder_answers_are_rescored_from_their_recording() -> None:
    """Qwen2.5-Coder-1.5B-Instruct's answers, recorded once (about 90 s an answer on two cores),
    re-scored in every run without the model. A prompt change makes its answers stale: the
    replay then reports them as not_found, and they must be recorded again (docs/evaluation.md).
    """
    path = RECORDED / "qwen2.5-coder-1.5b-instruct-q4_k_m.dev4.json"
    report = await run_eval(Contender("llamacpp"), _small_dev_cases(),
                            replay=Recording(path))
    # One code_quality answer ran past the deadline when it was recorded: nothing to replay.
    assert report.errors == {"code_quality: not_found": 1}
    fields = {f.field: f for f in report.fields}
    assert fields["language"].accuracy == 0.75  # a .js file called TypeScript
    assert fields["libraries"].precision is None  # it named no library: none was invented
    assert report.ungrounded_dropped == 0


async def test_smollm2_answers_never_fit_the_answer_budget() -> None:
    path = RECORDED / "smollm2-135m-instruct-q4_1.dev4.json"
    report = await run_eval(Contender("llamacpp"), _small_dev_cases(),
                            replay=Recording(path))
    # Every answer ran out of its 384 tokens when recorded, and replays as cut: a typed
    # refusal (output_truncated), never a partial result; nothing to score.
    assert report.errors == {"skill_extraction: output_truncated": 4,
                             "code_quality: output_truncated": 4}
    assert all(f.n == 0 for f in report.fields)


async def test_the_prompt_before_grounding_made_the_same_model_invent_claims() -> None:
    """The same model and files with the skill_extraction brief of version 1 (sample answers
    in it; examples/prompts-v1), replayed: it names libraries and a framework no import backs,
    and claims tests in files that have none."""
    prompts = PROMPTS_V1
    path = RECORDED / "qwen2.5-coder-1.5b-instruct-q4_k_m.prompts-v1.dev4.json"
    old = await run_eval(Contender("llamacpp", prompts=prompts), _small_dev_cases(),
                         replay=Recording(path))
    new = await run_eval(Contender("llamacpp"), _small_dev_cases(), replay=Recording(
        RECORDED / "qwen2.5-coder-1.5b-instruct-q4_k_m.dev4.json"))
    before, after = ({f.field: f for f in r.fields} for r in (old, new))
    assert before["libraries"].precision == 0.0 and after["libraries"].precision is None
    assert before["frameworks"].precision == 0.0 and after["frameworks"].n == 0
    assert before["tests"].accuracy is not None and after["tests"].accuracy is not None
    assert before["tests"].accuracy < after["tests"].accuracy == 1.0
    assert old.ungrounded_dropped == 2 and new.ungrounded_dropped == 0
