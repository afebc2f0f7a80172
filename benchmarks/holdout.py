#!/usr/bin/env python
"""The held-out figures of the README in one command: a model (the shipped one unless
--model names a file, or "rules" for the rules alone) scored on every held-out set of
corpus/manifest.toml (or the sets given), per set and pooled, plus MTSamples crisis.

Run:  python benchmarks/holdout.py [SET.jsonl ...] [--model PATH|rules] [--json OUT] [--floors]

--json writes the per-set scores; --floors rewrites the manifest's [floor."..."] tables
from them (a little under each score: what tests/test_learned.py then holds a change to).
Use --floors only for the model that ships, after it was chosen by a rule written before
the scores were seen (corpus/decisions/).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "corpus" / "manifest.toml"
sys.path.insert(0, str(ROOT / "benchmarks"))

from notesplugin.checklists.engine import Engine  # noqa: E402
from notesplugin.learned.corpus import load_set, run, score  # noqa: E402
from notesplugin.learned.model import Model  # noqa: E402
from notesplugin.learned.reader import Reader  # noqa: E402

MARGIN = {"rescuing_f1": 0.02, "crisis_f1": 0.02, "topic": 0.03}


def engine_for(model: str | None) -> Engine:
    if model == "rules":
        return Engine(model=False)
    return Engine(model=Reader(Model.load(Path(model)))) if model else Engine()


def line(name: str, s: dict) -> str:
    r, c = s["rescuing"], s["crisis_notes"]
    topic = f"{s['topic']:.3f}" if s["topic"] is not None else "-"
    return (f"{name:8} n={s['notes']:4d}  R {r['p']:.3f}/{r['r']:.3f}/{r['f1']:.3f}  "
            f"C {c['p']:.3f}/{c['r']:.3f}/{c['f1']:.3f}  topic {topic}  leaks {s['leaks']}/{s['exempt_notes']}")


def floors_text(manifest: str, names: list[str], per: dict) -> str:
    """The manifest with its floor tables rewritten from per-set scores, in holdout order."""
    down = lambda x, m: max(0.0, math.floor(round((x - m) * 100, 6)) / 100)  # noqa: E731
    head = manifest[:manifest.index('[floor."')] if '[floor."' in manifest else manifest.rstrip() + "\n\n"
    out = []
    for name in names:
        s = per[Path(name).stem]
        r, c, t = s["rescuing"]["f1"], s["crisis_notes"]["f1"], s["topic"] or 0.0
        out.append(f'[floor."{name}"]  # shipped model: rescuing {r:.3f}, crisis notes {c:.3f}, topic {t:.2f}\n'
                   f"rescuing_f1 = {down(r, MARGIN['rescuing_f1']):.2f}\ncrisis_f1 = {down(c, MARGIN['crisis_f1']):.2f}\n"
                   f"topic = {down(t, MARGIN['topic']):.2f}\nleaks = {s['leaks']}\n")
    return head + "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", help="labeled sets (default: the manifest's holdout)")
    ap.add_argument("--model", help='a model file, or "rules" (default: the shipped model)')
    ap.add_argument("--json", type=Path, help="write the per-set scores here")
    ap.add_argument("--floors", action="store_true", help="rewrite the manifest's floors from these scores")
    args = ap.parse_args(argv)
    manifest = MANIFEST.read_text(encoding="utf-8")
    names = args.sets or tomllib.loads(manifest)["holdout"]
    engine = engine_for(args.model)
    rows, found, per = [], {}, {}
    for name in names:
        path = Path(name) if Path(name).is_absolute() or Path(name).exists() else ROOT / name
        these = load_set(path)
        got = run(engine, these)
        per[path.stem] = score(these, got)
        print(line(path.stem, per[path.stem]))
        rows += these
        found.update(got)
    pooled = score(rows, found)
    print(line("POOLED", pooled))
    print(f"mean of sets: rescuing {statistics.mean(s['rescuing']['f1'] for s in per.values()):.3f}, "
          f"crisis notes {statistics.mean(s['crisis_notes']['f1'] for s in per.values()):.3f}; lowest rescuing "
          f"{min((s['rescuing']['f1'], k) for k, s in per.items())[1]}")
    if not args.sets:
        import mtsamples_crisis as mts
        if mts.CSV.is_file():
            res, _ = mts.evaluate(engine, mts.load(mts.CSV))
            c = res["crisis_notes"]
            print(f"MTSamples crisis notes P {c['p']:.3f} R {c['r']:.3f} F1 {c['f1']:.3f} ({res['notes']} dictations)")
    if args.json:
        args.json.write_text(json.dumps(per, indent=1, sort_keys=True), encoding="utf-8")
    if args.floors:
        if args.sets:
            print("--floors needs the whole holdout (give no sets)", file=sys.stderr)
            return 2
        MANIFEST.write_text(floors_text(manifest, names, per), encoding="utf-8")
        print(f"rewrote {len(names)} floors in {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
