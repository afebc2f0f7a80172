"""Run every item's own examples (`flag` must produce the item, `ok` must not),
like semgrep's ruleid:/ok: cases."""
from __future__ import annotations

from dataclasses import dataclass

from notesplugin.checklists import Checklists
from notesplugin.checklists.engine import Engine
from notesplugin.model import Note


@dataclass(frozen=True)
class ExampleResult:
    item: str
    kind: str  # "flag" | "ok"
    text: str
    passed: bool
    got: tuple[str, ...]


def run_examples(checklists: Checklists, only: set[str] | None = None) -> list[ExampleResult]:
    engine = Engine(checklists)
    out = []
    for item in checklists.items:
        if only and item.id not in only:
            continue
        if not item.flag:  # an item nothing shows it can find is untested: a failure, not a pass
            out.append(ExampleResult(item.id, "flag", "", False, ()))
        for kind, examples in (("flag", item.flag), ("ok", item.ok)):
            for k, text in enumerate(examples):
                note = Note(note_id=f"{item.id}-{kind}-{k}", file="<example>", text=text, date="2026-03-02")
                got = tuple(sorted({f.item for f in engine.check(note)}))
                passed = (item.id in got) if kind == "flag" else (item.id not in got)
                out.append(ExampleResult(item.id, kind, text, passed, got))
    return out
