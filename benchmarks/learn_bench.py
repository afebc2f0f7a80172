#!/usr/bin/env python
"""Benchmark for `notesplugin learn` (issue 14's done-when), through the files a
supervisor actually handles:

1. score every held-out set (corpus/manifest.toml) with the shipped model and take
   the style it scores worst on (rescuing F1), unless --style names one;
2. lay 30 of its notes out as an XLSX export and scan it (library, no ledger);
3. write into the annotated copy's Review column what a supervisor would write,
   from the gold labels: `ok`, `not R1`, `missed R3 "first words of the sentence"`;
4. `learn` that folder (library), into a throwaway data folder;
5. score the OTHER notes of that style and every other held-out set with the
   practice model and with the shipped one.

Run:  python benchmarks/learn_bench.py [--style frn] [--json PATH]
      python benchmarks/learn_bench.py --tune asr      (the SGD settings grid, on another style)

Slow (every held-out note scored twice); not part of CI. tests/test_learn.py runs the same
code on a few notes.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import tomllib
from pathlib import Path

import openpyxl

from notesplugin.checklists.engine import Engine
from notesplugin.config import Config
from notesplugin.learn import learn
from notesplugin.learned import adapt
from notesplugin.learned.corpus import load_set, run, score
from notesplugin.learned.reader import Reader
from notesplugin.learned.store import Store
from notesplugin.pipeline import scan

ROOT = Path(__file__).resolve().parents[1]
TEACH = 30
SEED = 14  # which 30 notes teach: a fixed shuffle


def holdout() -> dict[str, list[dict]]:
    man = tomllib.loads((ROOT / "corpus" / "manifest.toml").read_text(encoding="utf-8"))
    return {Path(p).stem: load_set(ROOT / p) for p in man["holdout"]}


def split(rows: list[dict], n: int = TEACH, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    teach = sorted(order[:n])
    return [rows[i] for i in teach], [rows[i] for i in sorted(order[n:])]


def write_export(rows: list[dict], path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Note ID", "Clinician", "Client", "Date of Service", "Note"])
    for r in rows:
        ws.append([r["id"], r.get("clinician", ""), r.get("client", ""), r.get("date"), r["text"]])
    wb.save(path)


def _fragment(row: dict, item: str) -> str | None:
    """The first words of the labeled sentence, as a supervisor would quote it."""
    for sp in row.get("spans", []):
        if sp["item"] == item and sp.get("text"):
            words = sp["text"].replace('"', " ").split()
            return " ".join(words[:6])
    return None


def correction(row: dict, found: set[str]) -> str:
    """What a supervisor who knows the gold labels writes in the Review cell."""
    gold = set(row["rescuing"]) | set(row.get("exempt", [])) | set(row["crisis"])
    out = [f"not {i}" for i in sorted(found - gold)]
    for i in sorted(gold - found):
        frag = _fragment(row, i)
        out.append(f'missed {i} "{frag}"' if frag else f"missed {i}")
    if found & gold or not (found or gold):
        out.insert(0, "ok")
    return "; ".join(out)


def write_corrections(copy: Path, rows: list[dict], findings: list[dict]) -> int:
    by_id: dict[str, set[str]] = {}
    for f in findings:
        by_id.setdefault(str(f["note_id"]), set()).add(f["item"])
    wb = openpyxl.load_workbook(copy)
    ws = wb["Notes"]
    heads = [c.value for c in ws[1]]
    col = heads.index("Review") + 1
    rows_by_id = {r["id"]: r for r in rows}
    n = 0
    for r in range(2, ws.max_row + 1):
        row = rows_by_id.get(str(ws.cell(r, 1).value))
        if row is not None:
            ws.cell(r, col).value = correction(row, by_id.get(row["id"], set()))
            n += 1
    wb.save(copy)
    return n


def teach(rows: list[dict], work: Path) -> tuple[Config, dict]:
    """Export, scan, correct and learn; returns the config whose data folder holds the practice model."""
    (work / "exports").mkdir(parents=True)
    write_export(rows, work / "exports" / "notes.xlsx")
    cfg = Config(ledger=work / "data" / "ledger.sqlite3")
    res = scan([work / "exports"], work / "reviewed", cfg, ledger=False, summary=False)
    copy = Path(res.files[0].output)
    write_corrections(copy, rows, [f.to_dict() for f in res.findings])
    result = learn(work / "reviewed", cfg)
    rep = result.files[0]
    return cfg, {"confirmed": rep.confirmed, "false_flags": rep.false_flags, "missed": rep.missed,
                 "unparsed": len(rep.unparsed), "examples": result.new}


def figures(s: dict) -> dict:
    return {"rescuing_f1": round(s["rescuing"]["f1"], 3), "crisis_f1": round(s["crisis_notes"]["f1"], 3),
            "topic": s["topic"]}


def compare(sets: dict[str, list[dict]], shipped: Engine, practice: Engine) -> dict:
    return {name: {"shipped": figures(score(rows, run(shipped, rows))),
                   "practice": figures(score(rows, run(practice, rows)))} for name, rows in sets.items()}


def bench(style: str | None, sets: dict[str, list[dict]] | None = None, n: int = TEACH, seed: int = SEED) -> dict:
    sets = sets or holdout()
    shipped = Engine()
    base = {name: figures(score(rows, run(shipped, rows))) for name, rows in sets.items()}
    style = style or min(base, key=lambda k: (base[k]["rescuing_f1"], k))
    teach_rows, rest = split(sets[style], n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, taught = teach(teach_rows, Path(tmp))
        model, _ = Store.for_config(cfg).practice_model(shipped.model.model.fingerprint)
    practice = Engine(model=Reader(model))
    others = {k: v for k, v in sets.items() if k != style}
    scored = compare({f"{style} (other {len(rest)} notes)": rest, **others}, shipped, practice)
    return {"style": style, "seed": seed, "shipped_on_all_sets": base, "taught": taught, "scores": scored,
            "settings": model.meta["practice"]["settings"]}


def tune(style: str, sets: dict[str, list[dict]]) -> list[dict]:
    """The SGD grid on one style: in-style gain and the worst fall elsewhere, per setting."""
    shipped = Engine()
    teach_rows, rest = split(sets[style])
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg, _ = teach(teach_rows, Path(tmp))
        store = Store.for_config(cfg)
        examples = list(store.effective().values())
        text = adapt.shipped_text()
        base_fp = shipped.model.model.fingerprint
        others = {k: v for k, v in sets.items() if k != style}
        before = {k: figures(score(v, run(shipped, v))) for k, v in {"rest": rest, **others}.items()}
        for epochs, rate, pull, pos in [(10, 1.0, 0.1, 1.0), (10, 3.0, 0.1, 1.0), (10, 1.0, 0.1, 3.0),
                                        (5, 0.5, 0.1, 1.0), (10, 0.5, 0.1, 1.0)]:
            from notesplugin.learned.model import Model
            m = Model.from_dict(adapt.build(json.loads(text), examples, base_fingerprint=base_fp, epochs=epochs,
                                            rate=rate, pull=pull, pos_weight=pos))
            m.fingerprint = "tune"
            eng = Engine(model=Reader(m))
            after = {k: figures(score(v, run(eng, v))) for k, v in {"rest": rest, **others}.items()}
            gain = after["rest"]["rescuing_f1"] - before["rest"]["rescuing_f1"]
            worst = min(after[k][f] - before[k][f] for k in others for f in ("rescuing_f1", "crisis_f1"))
            row = {"epochs": epochs, "rate": rate, "pull": pull, "pos_weight": pos, "gain": round(gain, 3),
                   "worst_other": round(worst, 3)}
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", help="held-out set to teach (default: the one the shipped model scores worst on)")
    ap.add_argument("--tune", metavar="STYLE", help="try the SGD settings grid on this style instead")
    ap.add_argument("--seed", type=int, default=SEED, help="which 30 notes teach (a shuffle's seed)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sets = holdout()
    if args.tune:
        tune(args.tune, sets)
        return 0
    out = bench(args.style, sets, seed=args.seed)
    print(f"shipped model, every held-out set (rescuing F1): "
          + ", ".join(f"{k} {v['rescuing_f1']:.3f}" for k, v in sorted(out["shipped_on_all_sets"].items())))
    print(f"taught style: {out['style']} (seed {out['seed']}); {TEACH} notes corrected: {out['taught']}")
    print(f"{'set':28} {'rescuing F1 shipped -> practice':>32} {'crisis F1 shipped -> practice':>31}")
    for name, s in out["scores"].items():
        a, b = s["shipped"], s["practice"]
        print(f"{name:28} {a['rescuing_f1']:>13.3f} -> {b['rescuing_f1']:.3f} ({b['rescuing_f1'] - a['rescuing_f1']:+.3f})"
              f" {a['crisis_f1']:>12.3f} -> {b['crisis_f1']:.3f} ({b['crisis_f1'] - a['crisis_f1']:+.3f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
