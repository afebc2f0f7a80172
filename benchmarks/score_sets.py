#!/usr/bin/env python
"""Score labeled sets in-process, the rules alone and rules + model side by side.

Run:  python benchmarks/score_sets.py SET.jsonl [SET.jsonl ...] [--by format] [--json]

The figures are those of shared/tools/score_corpus.py (which runs the CLI on
exports): rescuing items P/R/F1 (flagged, per note), crisis notes P/R/F1, topic
accuracy, exempt leaks. --by groups the notes by a field (e.g. format, style).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from notesplugin.checklists.engine import Engine
from notesplugin.learned.corpus import load_set, run, score


def line(name: str, s: dict) -> str:
    r, c = s["rescuing"], s["crisis_notes"]
    return (f"{name:38.38} n={s['notes']:4d}  R {r['p']:.2f}/{r['r']:.2f}/{r['f1']:.3f}  "
            f"C {c['p']:.2f}/{c['r']:.2f}/{c['f1']:.3f}  topic {s['topic'] if s['topic'] is not None else '-'}  "
            f"leaks {s['leaks']}/{s['exempt_notes']}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--by")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model-only", action="store_true", help="also score the model with the rules' cues switched off")
    args = ap.parse_args()
    engines = {"rules": Engine(model=False), "rules+model": Engine()}
    if args.model_only:
        engines["model"] = Engine(cues=False)
    out = {}
    for path in args.sets:
        rows = load_set(path)
        groups = {path.stem: rows}
        if args.by:
            for r in rows:
                groups.setdefault(f"{path.stem}:{r.get(args.by, '?')}", []).append(r)
        for kind, eng in engines.items():
            found = run(eng, rows)
            for g, rs in groups.items():
                s = score(rs, found)
                out.setdefault(g, {})[kind] = s
                if not args.json:
                    print(f"{kind:12} {line(g, s)}")
    if args.json:
        json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
