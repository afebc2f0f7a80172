"""Regression floor on the labeled corpora: the judgement learned from each set
must not silently slip. Scores are computed the way shared/tools/score_corpus.py
computes them, on the engine directly (the readers have their own tests)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from notesplugin.checklists.engine import Engine
from notesplugin.model import Note

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
    tp = fp = fn = ctp = cfp = cfn = leaks = 0
    for line in path.read_text().splitlines():
        n = json.loads(line)
        got = ENGINE.check(Note(note_id=n["id"], file="t", text=n["text"], date=n["date"],
                                clinician=n["clinician"], client=n["client"]))
        flagged = {f.item for f in got if f.checklist == "rescuing" and f.status == "flagged"}
        crisis = bool({f.item for f in got if f.checklist == "crisis"})
        gold = set(n["rescuing"])
        tp, fp, fn = tp + len(flagged & gold), fp + len(flagged - gold), fn + len(gold - flagged)
        gc = bool(n["crisis"])
        ctp, cfp, cfn = ctp + (crisis and gc), cfp + (crisis and not gc), cfn + (gc and not crisis)
        leaks += bool(n["exempt"]) and bool(flagged - {"R7"} - gold)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    cf1 = 2 * ctp / (2 * ctp + cfp + cfn) if ctp else 0.0
    return {"rescuing_f1": f1, "crisis_f1": cf1, "exempt_leaks": leaks}


@pytest.mark.parametrize("name", sorted(SETS))
def test_corpus_floor(name):
    got = _score(SETS[name])
    assert got["exempt_leaks"] == 0, got
    assert got["crisis_f1"] >= 0.95, got
    assert got["rescuing_f1"] >= 0.92, got
