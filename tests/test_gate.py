"""The literal gate must never hide a match: wherever a cue matches, the gate
must have opened that cue for that sentence."""
from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from notesplugin import context
from notesplugin.checklists import load
from notesplugin.checklists.engine import Engine
from notesplugin.checklists.gate import LiteralIndex, literals

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


def _check_sound(text: str) -> None:
    plain = text
    spans = context.split_sentences(plain)
    # Rebuild what the engine opens for each sentence and compare with real matches.
    hits = ENGINE._index.find(plain.lower())
    starts = [a for a, _ in spans]
    present: list[set[str]] = [set() for _ in spans]
    from bisect import bisect_right
    for pos, words in hits:
        k = bisect_right(starts, pos) - 1
        if k >= 0:
            present[k] |= words
    for (a, b), found in zip(spans, present):
        sentence = plain[a:b]
        for item in ENGINE.checklists.items:
            for cue, gate in ENGINE._cue_gates[item.id]:
                if cue.search(sentence) or cue.search(sentence.lower()):
                    assert gate.open(frozenset(found)), (item.id, cue.pattern[:60])


def test_gate_is_sound_on_sample_notes():
    for text in _texts():
        _check_sound(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(re.findall(r"[\w']+|[.,;:!?\"]", " ".join(_texts()))), min_size=3, max_size=60))
def test_gate_is_sound_on_shuffled_words(words):
    _check_sound(" ".join(words))
