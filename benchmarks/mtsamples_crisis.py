#!/usr/bin/env python
"""Crisis checklist on real psychiatric dictations (MTSamples), rules alone and rules + model.

Run:  python benchmarks/mtsamples_crisis.py [--csv PATH] [--errors]

The text stays in shared/benchmarks (referenced by path, never copied); the
labels are ours, by offsets: corpus/mtsamples/crisis_labels.jsonl (how they
were made: corpus/mtsamples/README.md). Rows that repeat a transcription are
scored once. --errors lists each miss or false alarm with its note id and item
(no text).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from notesplugin.checklists.engine import Engine
from notesplugin.learned.corpus import prf
from notesplugin.model import Note

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT.parent / "shared" / "benchmarks" / "mtsamples_psych" / "mtsamples_psych_and_suicid_homicid.csv"
LABELS = ROOT / "corpus" / "mtsamples" / "crisis_labels.jsonl"


def load(csv_path: Path) -> list[tuple[Note, set[str]]]:
    labels = {x["note_id"]: set(x["crisis"]) for x in map(json.loads, LABELS.read_text().splitlines())}
    seen, out = set(), []
    for row in csv.DictReader(csv_path.open(encoding="utf-8")):
        text = row["transcription"]
        if text in seen or row["note_id"] not in labels:
            continue
        seen.add(text)
        out.append((Note(note_id=row["note_id"], file="mtsamples", text=text), labels[row["note_id"]]))
    return out


def evaluate(engine: Engine, notes: list[tuple[Note, set[str]]]) -> tuple[dict, list[str]]:
    n = dict(tp=0, fp=0, fn=0)
    i = dict(tp=0, fp=0, fn=0)
    errors = []
    for note, gold in notes:
        got = {f.item for f in engine.check(note) if f.checklist == "crisis"}
        n["tp"] += bool(got) and bool(gold)
        n["fp"] += bool(got) and not gold
        n["fn"] += bool(gold) and not got
        i["tp"] += len(got & gold)
        i["fp"] += len(got - gold)
        i["fn"] += len(gold - got)
        errors += [f"{note.note_id} false alarm {x}" for x in sorted(got - gold)]
        errors += [f"{note.note_id} missed {x}" for x in sorted(gold - got)]
    return {"notes": len(notes), "crisis_notes": prf(**n), "crisis_items": prf(**i)}, errors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", type=Path, default=CSV)
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args()
    if not args.csv.is_file():
        print(f"{args.csv}: not found (the MTSamples extract lives in shared/benchmarks)")
        return 2
    notes = load(args.csv)
    for kind, engine in (("rules", Engine(model=False)), ("rules+model", Engine())):
        s, errors = evaluate(engine, notes)
        cn, ci = s["crisis_notes"], s["crisis_items"]
        print(f"{kind:12} {s['notes']} dictations  crisis notes P {cn['p']:.2f} R {cn['r']:.2f} F1 {cn['f1']:.3f}  "
              f"items P {ci['p']:.2f} R {ci['r']:.2f} F1 {ci['f1']:.3f}")
        if args.errors:
            print("  " + "\n  ".join(errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
