"""Score notesplugin.context.assess on the ConText annotated test set (Chapman et al.).

    python benchmarks/context_testset.py /work/shared/benchmarks/negex_context/context_testset.csv [--json]

Columns: line_number, concept, sentence, negation (Affirmed/Negated), temporality
(Recent/Historical/Not particular = hypothetical), experiencer (Patient/other).
The concept is located case-insensitively in its sentence (the set writes the
target in capitals, so an all-capitals occurrence is preferred); a concept that
is not found counts as "nothing detected". The CSV is read in place, never copied.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notesplugin.context import assess  # noqa: E402

MODIFIERS = ("negated", "historical", "hypothetical", "other_experiencer")
MEDSPACY_F1 = {"negated": 0.930, "historical": 0.629, "hypothetical": 0.809, "other_experiencer": 0.571}


def gold(row: dict[str, str]) -> dict[str, bool]:
    return {
        "negated": row["negation"].strip().lower() == "negated",
        "historical": row["temporality"].strip().lower() == "historical",
        "hypothetical": row["temporality"].strip().lower() == "not particular",
        "other_experiencer": row["experiencer"].strip().lower() != "patient",
    }


def find_target(concept: str, sentence: str) -> tuple[int, int] | None:
    words = concept.split()
    if not words:
        return None
    rx = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    hits = list(rx.finditer(sentence))
    if not hits:
        return None
    capital = [m for m in hits if m.group().upper() == m.group() and any(c.isalpha() for c in m.group())]
    m = (capital or hits)[0]
    return m.start(), m.end()


def score(rows: list[dict[str, str]]) -> tuple[dict, list[dict]]:
    counts = {k: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for k in MODIFIERS}
    errors: list[dict] = []
    not_found = 0
    t0 = time.perf_counter()
    for row in rows:
        span = find_target(row["concept"], row["sentence"])
        if span is None:
            not_found += 1
            pred = dict.fromkeys(MODIFIERS, False)
            cues: tuple[str, ...] = ()
        else:
            a = assess(row["sentence"], *span)
            pred = {k: getattr(a, k) for k in MODIFIERS}
            cues = a.cues
        g = gold(row)
        for k in MODIFIERS:
            key = ("t" if pred[k] == g[k] else "f") + ("p" if pred[k] else "n")
            counts[k][key] += 1
            if pred[k] != g[k]:
                errors.append({"modifier": k, "gold": g[k], "line": row["line_number"],
                               "concept": row["concept"], "sentence": row["sentence"], "cues": cues})
    elapsed = time.perf_counter() - t0
    result = {"rows": len(rows), "concept_not_found": not_found, "seconds": round(elapsed, 3)}
    for k, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        result[k] = {**c, "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3),
                     "medspacy_f1": MEDSPACY_F1[k]}
    return result, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--json", action="store_true", help="print the scores as JSON")
    ap.add_argument("--errors", choices=MODIFIERS, help="list the disagreements for one modifier")
    args = ap.parse_args(argv)
    with args.csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result, errors = score(rows)
    if args.errors:
        for e in errors:
            if e["modifier"] == args.errors:
                kind = "FN" if e["gold"] else "FP"
                print(f"{kind} {e['line']:>5} [{e['concept']}] {' '.join(e['sentence'].split())}  {e['cues']}")
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['rows']} sentences, concept not found in {result['concept_not_found']}, "
          f"{result['seconds']} s")
    print(f"{'modifier':<18} {'P':>6} {'R':>6} {'F1':>6} {'medspaCy':>9}   tp   fp   fn     tn")
    for k in MODIFIERS:
        c = result[k]
        print(f"{k:<18} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f} {c['medspacy_f1']:9.3f} "
              f"{c['tp']:4d} {c['fp']:4d} {c['fn']:4d} {c['tn']:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
