"""Labeled sets (the JSON-lines format of shared/spec/checklists.md) as notes,
and the same note-level scores as shared/tools/score_corpus.py."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from notesplugin.model import Note


def load_set(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
    return rows


def as_note(row: dict, file: str = "corpus") -> Note:
    return Note(note_id=str(row["id"]), file=file, text=row["text"], clinician=row.get("clinician", ""),
                client=row.get("client", ""), date=row.get("date"))


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}  # unrounded: floors compare exactly


def score(rows: list[dict], findings_by_note: dict[str, list]) -> dict:
    """Rescuing items (flagged, per note), crisis notes, topic, exempt leaks."""
    c = Counter()
    for row in rows:
        got = findings_by_note.get(str(row["id"]), [])
        flagged = {f.item for f in got if f.checklist == "rescuing" and f.status == "flagged"}
        crisis = {f.item for f in got if f.checklist == "crisis"}
        topics = {f.topic for f in got if f.checklist == "rescuing" and f.status == "flagged"}
        gold_r, gold_c = set(row["rescuing"]), set(row["crisis"])
        c["r_tp"] += len(flagged & gold_r)
        c["r_fp"] += len(flagged - gold_r)
        c["r_fn"] += len(gold_r - flagged)
        c["ci_tp"] += len(crisis & gold_c)
        c["ci_fp"] += len(crisis - gold_c)
        c["ci_fn"] += len(gold_c - crisis)
        nc, gc = bool(crisis), bool(gold_c)
        c["c_tp"] += nc and gc
        c["c_fp"] += nc and not gc
        c["c_fn"] += gc and not nc
        if gold_r and flagged:
            c["topic_n"] += 1
            c["topic_ok"] += bool(topics & set(row["topics"]))
        if row.get("exempt"):
            c["exempt_notes"] += 1
            c["leaks"] += bool(flagged - {"R7"} - gold_r)
    return {"notes": len(rows), "rescuing": prf(c["r_tp"], c["r_fp"], c["r_fn"]),
            "crisis_notes": prf(c["c_tp"], c["c_fp"], c["c_fn"]), "crisis_items": prf(c["ci_tp"], c["ci_fp"], c["ci_fn"]),
            "topic": round(c["topic_ok"] / c["topic_n"], 3) if c["topic_n"] else None,
            "leaks": c["leaks"], "exempt_notes": c["exempt_notes"]}


def run(engine, rows: list[dict]) -> dict[str, list]:
    return {str(r["id"]): engine.check(as_note(r)) for r in rows}
