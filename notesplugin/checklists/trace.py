"""`explain ITEM --trace TEXT`: which rule made a finding, at which stage, and
which cues matched a sentence but were dropped by a later check."""
from __future__ import annotations

from dataclasses import dataclass

from notesplugin.checklists import Checklists
from notesplugin.checklists.engine import Engine
from notesplugin.model import Finding, Note


@dataclass
class Step:
    sentence: int  # 1-based, in the engine's own sentence split
    text: str
    finding: Finding | None = None  # made here
    dropped: tuple[str, ...] = ()  # rules ("R3 cues[2]") whose cue matched but a later check refused


def trace(item_id: str, text: str, checklists: Checklists, date: str | None = None) -> list[Step]:
    """Run the full engine over text as one note; report the item sentence by sentence."""
    engine = Engine(checklists)
    item = checklists.get(item_id)
    note = Note("trace", "trace", text, date=date)
    found = [f for f in engine.check(note) if f.item == item_id]
    sents, _, _ = engine._prepare(note)
    steps = []
    for k, s in enumerate(sents):
        made = next((f for f in found if f.start == s.start), None)
        matched = tuple(f"{item_id} cues[{n}]" for n, cue in enumerate(item.cues if item else ())
                        if cue.search(s.text) or cue.search(s.masked))
        dropped = tuple(r for r in matched if made is None or r != made.rule)
        if made or dropped:
            steps.append(Step(k + 1, s.text.strip(), made, dropped if made is None else ()))
    return steps
