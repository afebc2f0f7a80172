"""The literal gate must never hide a match: wherever a cue matches, the gate
must have opened that cue for that sentence."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notesplugin.checklists import load
from notesplugin.checklists.engine import Engine
from notesplugin.checklists.gate import LiteralIndex, literals
from notesplugin.model import Note

ROOT = Path(__file__).resolve().parent.parent
ENGINE = Engine(load())


def _texts() -> list[str]:
    lines = (ROOT / "sample_notes" / "notes.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def test_literals_are_necessary_for_simple_patterns():
    assert literals(r"\b(?:changed|shifted)\s+the\s+subject\b") in ({"changed", "shifted"}, {"the"}, {"subject"})
    assert literals(r"\bx?\d+\b") is None
    assert literals(r"\b(?:ab|cd)\b") is None  # literals under 3 characters promise nothing


def test_index_finds_every_literal_occurrence():
    idx = LiteralIndex({"redirect", "direct", "assur", "reassur"})
    found = set().union(*[w for _, w in idx.find("she was reassured; writer redirected")])
    assert found == {"redirect", "direct", "assur", "reassur"}


def _check_sound(text: str, engine: Engine = ENGINE) -> None:
    """Run the engine's own _prepare (the path check() uses): every cue that matches
    a sentence, as the engine will try it (text or masked), must be opened there."""
    sents, opened, _ = engine._prepare(Note("n", "f", text))
    got = {(iid, k, cue.pattern) for iid, runs in opened.items() for k, cues in runs for cue in cues}
    for k, s in enumerate(sents):
        for item in engine.checklists.items:
            for cue in item.cues:
                if cue.search(s.text) or cue.search(s.masked):
                    assert (item.id, k, cue.pattern) in got, (item.id, cue.pattern[:60], s.text[:80])


def test_soundness_check_catches_a_broken_engine_path(monkeypatch):
    """Breaking the engine's real opening step must make the check fail."""
    engine = Engine(load())
    monkeypatch.setattr(engine, "_opens", {})
    monkeypatch.setattr(engine, "_always", frozenset())
    with pytest.raises(AssertionError):
        _check_sound("She was crying about her mother; I changed the subject to her job.", engine)


def test_gate_is_sound_on_sample_notes():
    for text in _texts():
        _check_sound(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(re.findall(r"[\w']+|[.,;:!?\"]", " ".join(_texts()))), min_size=3, max_size=60))
def test_gate_is_sound_on_shuffled_words(words):
    _check_sound(" ".join(words))
