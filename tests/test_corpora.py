"""Regression floor on the labeled corpora: the judgement learned from each set
must not silently slip. Scores are computed the way shared/tools/score_corpus.py
computes them, on the engine directly (the readers have their own tests)."""
from __future__ import annotations

from pathlib import Path

import pytest

from notesplugin.checklists.engine import Engine
from notesplugin.learned.corpus import load_set, run, score

ROOT = Path(__file__).resolve().parent
SETS = {
    "sample_notes": ROOT.parent / "sample_notes" / "notes.jsonl",
    "validation_1": ROOT / "corpora" / "validation_1.jsonl",
    "validation_2": ROOT / "corpora" / "validation_2.jsonl",
    "validation_3": ROOT / "corpora" / "validation_3.jsonl",
    "validation_4": ROOT / "corpora" / "validation_4.jsonl",
    "validation_5": ROOT / "corpora" / "validation_5.jsonl",
    "validation_6": ROOT / "corpora" / "validation_6.jsonl",
    "validation_7": ROOT / "corpora" / "validation_7.jsonl",
    "validation_8": ROOT / "corpora" / "validation_8.jsonl",
    "validation_9": ROOT / "corpora" / "validation_9.jsonl",
    "validation_10": ROOT / "corpora" / "validation_10.jsonl",
    "validation_11": ROOT / "corpora" / "validation_11.jsonl",
    "validation_12": ROOT / "corpora" / "validation_12.jsonl",
    "validation_13": ROOT / "corpora" / "validation_13.jsonl",
    "validation_14": ROOT / "corpora" / "validation_14.jsonl",
}
ENGINE = Engine()


def _score(path: Path) -> dict[str, float]:
    got = score(load_set(path), run(ENGINE, load_set(path)))
    return {"rescuing_f1": got["rescuing"]["f1"], "crisis_f1": got["crisis_notes"]["f1"], "exempt_leaks": got["leaks"]}


@pytest.mark.parametrize("name", sorted(SETS))
def test_corpus_floor(name):
    got = _score(SETS[name])
    assert got["exempt_leaks"] == 0, got
    assert got["crisis_f1"] >= 0.95, got
    assert got["rescuing_f1"] >= 0.92, got
