"""benchmarks/holdout.py writes the floors tests/test_learned.py holds: a little under each
held-out set's score, rounded down, in the manifest's holdout order, the rest untouched."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("holdout_tool", ROOT / "benchmarks" / "holdout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_floors_sit_a_little_under_each_score_and_keep_the_rest():
    tool = _tool()
    manifest = 'train = []\nholdout = ["corpus/holdout/b.jsonl", "corpus/holdout/a.jsonl"]\n\n[floor."old"]\nleaks = 9\n'
    per = {"a": {"rescuing": {"f1": 0.9149}, "crisis_notes": {"f1": 1.0}, "topic": 0.861, "leaks": 1},
           "b": {"rescuing": {"f1": 0.80}, "crisis_notes": {"f1": 0.01}, "topic": None, "leaks": 0}}
    text = tool.floors_text(manifest, ["corpus/holdout/b.jsonl", "corpus/holdout/a.jsonl"], per)
    assert text.startswith('train = []\nholdout = ["corpus/holdout/b.jsonl", "corpus/holdout/a.jsonl"]\n\n[floor."corpus/holdout/b.jsonl"]')
    assert '[floor."old"]' not in text
    a = text[text.index('[floor."corpus/holdout/a.jsonl"]'):]
    assert "rescuing_f1 = 0.89\ncrisis_f1 = 0.98\ntopic = 0.83\nleaks = 1\n" in a
    b = text[:text.index('[floor."corpus/holdout/a.jsonl"]')]
    assert "rescuing_f1 = 0.78\ncrisis_f1 = 0.00\ntopic = 0.00\nleaks = 0\n" in b
