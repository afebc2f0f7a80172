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

One draw (a style and a seed choosing its 30 notes) says little: the rest of a
style is 10-20 notes, each worth ~0.03 of F1. So it runs many draws on several
styles and reports each, their mean and spread, and the share meeting the bar:
the rest of the style rises (rescuing F1) and no other held-out set falls by more
than 0.02 (rescuing F1 or crisis-notes F1). The shipped model's findings on every
held-out note are worked out once per run (they do not change).

Run:  python benchmarks/learn_bench.py [--styles hos,spt,voc | --worst 3] [--seeds 1-8] [--json PATH]
      python benchmarks/learn_bench.py --tune hos,ryt   (the settings grid, on styles NOT reported)

Not part of CI (a few minutes). tests/test_learn.py runs the same code on a few notes.
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
from notesplugin.learned.corpus import as_note, load_set, run, score
from notesplugin.learned.features import tokens, topic_features
from notesplugin.learned.model import Model
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


BAR = 0.02  # how far another style may fall


def figures(s: dict) -> dict:
    return {"rescuing_f1": round(s["rescuing"]["f1"], 3), "crisis_f1": round(s["crisis_notes"]["f1"], 3),
            "topic": s["topic"]}


class Shipped:
    """The shipped model's findings on every held-out note, worked out once, and per note every
    feature string its sentences (and its topic) read: a practice model changes the findings
    only of notes that hold a feature whose weight it changed, so a draw re-scores only those."""

    def __init__(self, sets: dict[str, list[dict]]):
        self.engine = Engine()
        self.model = json.loads(adapt.shipped_text())
        self.found = {name: run(self.engine, rows) for name, rows in sets.items()}
        self.all = {name: figures(score(rows, self.found[name])) for name, rows in sets.items()}
        self.touch = {str(r["id"]): self._touch(r) for rows in sets.values() for r in rows}

    def _touch(self, row: dict) -> frozenset[str]:
        note = as_note(row)
        sents, _, ndate = self.engine._prepare(note)
        words = sorted(set(tokens(note.text)))
        out: set[str] = set()
        reading = self.engine.model.read(self.engine, note, sents, ndate)
        for k, feats in enumerate(reading.feats):
            out.update(topic_features(feats, words, reading.rule_topics(k)))  # the sentence's own features and the topic's
        return frozenset(out)

    def figures(self, name: str, rows: list[dict]) -> dict:
        return figures(score(rows, self.found[name]))

    def changed(self, practice: dict) -> set[str] | None:
        """The features whose weights the practice model changed; None when it changed more
        than weights (a bias, threshold or veto: every note may change)."""
        base = self.model
        if any(practice.get(k) != base.get(k) for k in ("bias", "topic_bias", "thresholds", "vetoes")):
            return None
        out = set()
        for table in ("weights", "topic_weights"):
            a, b = base[table], practice[table]
            out.update(f for f in set(a) | set(b) if a.get(f) != b.get(f))
        # the practice's names for its writer change who acted wherever they are written
        out.update("w:" + t for t in practice["meta"].get("practice", {}).get("writers", ()))
        return out

    def run(self, name: str, rows: list[dict], practice: Engine, changed: set[str] | None) -> dict[str, list]:
        """The practice model's findings: re-scored where a changed weight can reach, else the shipped ones."""
        redo = [r for r in rows if changed is None or self.touch[str(r["id"])] & changed]
        out = {str(r["id"]): self.found[name][str(r["id"])] for r in rows}
        out.update(run(practice, redo))
        return out


def taught_examples(rows: list[dict]) -> tuple[list[dict], dict]:
    """The stored examples (and the correction counts) of 30 notes taught through the files."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg, taught = teach(rows, Path(tmp))
        return list(Store.for_config(cfg).effective().values()), taught


def practice_model(examples: list[dict], settings: dict | None = None) -> dict:
    """The practice model as `learn` builds it (adapt.build, these settings over its defaults)."""
    return adapt.build(json.loads(adapt.shipped_text()), examples, base_fingerprint="bench", **(settings or {}))


def practice_engine(data: dict) -> Engine:
    m = Model.from_dict(data)
    m.fingerprint = "bench"
    return Engine(model=Reader(m))


def draw(style: str, seed: int, sets: dict[str, list[dict]], shipped: Shipped, settings: dict | None = None,
         examples: dict | None = None, n: int = TEACH) -> dict:
    """One draw: teach `n` notes of `style` chosen by `seed`, score its other notes and every other set."""
    teach_rows, rest = split(sets[style], n, seed)
    cache = examples if examples is not None else {}
    if (style, seed) not in cache:
        cache[(style, seed)] = taught_examples(teach_rows)
    exs, taught = cache[(style, seed)]
    data = practice_model(exs, settings)
    practice, changed = practice_engine(data), shipped.changed(data)
    # the 30 corrected notes themselves: what a re-scan of them would now say
    taught_before = shipped.figures(style, teach_rows)["rescuing_f1"]
    taught_after = figures(score(teach_rows, shipped.run(style, teach_rows, practice, changed)))["rescuing_f1"]
    rest_before = shipped.figures(style, rest)
    rest_after = figures(score(rest, shipped.run(style, rest, practice, changed)))
    others = {}
    for name, rows in sets.items():
        if name != style:
            after = figures(score(rows, shipped.run(name, rows, practice, changed)))
            others[name] = {f: round(after[f] - shipped.all[name][f], 3) for f in ("rescuing_f1", "crisis_f1")}
    worst_name, worst = min(((k, min(v.values())) for k, v in others.items()), key=lambda x: (x[1], x[0]))
    gain = round(rest_after["rescuing_f1"] - rest_before["rescuing_f1"], 3)
    return {"style": style, "seed": seed, "taught": taught, "rest_notes": len(rest),
            "writers": data["meta"]["practice"].get("writers", []), "corrected_notes": [taught_before, taught_after],
            "rest": {"shipped": rest_before, "practice": rest_after}, "gain": gain,
            "crisis_gain": round(rest_after["crisis_f1"] - rest_before["crisis_f1"], 3),
            "others": others, "worst_other": worst, "worst_set": worst_name,
            "better": sum(v["rescuing_f1"] > 0 for v in others.values()),
            "worse": sum(v["rescuing_f1"] < 0 for v in others.values()),
            "met": gain > 0 and worst >= -BAR}


def summary(draws: list[dict]) -> dict:
    g = [d["gain"] for d in draws]
    w = [d["worst_other"] for d in draws]
    mean = sum(g) / len(g)
    sd = (sum((x - mean) ** 2 for x in g) / max(1, len(g) - 1)) ** 0.5
    return {"draws": len(draws), "met": sum(d["met"] for d in draws), "rose": sum(x > 0 for x in g),
            "corrected_notes": [round(sum(d["corrected_notes"][j] for d in draws) / len(draws), 3) for j in (0, 1)],
            "fell": sum(x < 0 for x in g), "mean_gain": round(mean, 3), "sd_gain": round(sd, 3),
            "min_gain": min(g), "max_gain": max(g), "mean_worst_other": round(sum(w) / len(w), 3),
            "worst_other": min(w), "others_within_bar": sum(x >= -BAR for x in w)}


def bench(styles: list[str], seeds: list[int], sets: dict[str, list[dict]], settings: dict | None = None,
          shipped: Shipped | None = None, examples: dict | None = None, echo=None) -> dict:
    shipped = shipped or Shipped(sets)
    out = {"styles": styles, "seeds": seeds, "shipped_on_all_sets": shipped.all, "settings": settings or {},
           "draws": [], "by_style": {}}
    for style in styles:
        mine = []
        for seed in seeds:
            d = draw(style, seed, sets, shipped, settings, examples)
            mine.append(d)
            if echo:
                echo(line(d))
        out["draws"] += mine
        out["by_style"][style] = summary(mine)
    out["all"] = summary(out["draws"])
    return out


def line(d: dict) -> str:
    a, b = d["rest"]["shipped"]["rescuing_f1"], d["rest"]["practice"]["rescuing_f1"]
    t = d["taught"]
    return (f"{d['style']:4} seed {d['seed']:2}  {t['confirmed']:3}/{t['false_flags']:2}/{t['missed']:2}  "
            f"rest ({d['rest_notes']}) {a:.3f} -> {b:.3f} ({d['gain']:+.3f})  crisis {d['crisis_gain']:+.3f}  "
            f"others +{d['better']}/-{d['worse']} worst {d['worst_other']:+.3f} ({d['worst_set']})  "
            f"{'MEETS' if d['met'] else 'no'}" + (f"  writer: {', '.join(d['writers'])}" if d["writers"] else ""))


def seeds_arg(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


# The grid --tune tries: adapt.build's settings over its defaults (the defaults first).
GRID: list[dict] = [{}, {"spread": 1.0}, {"spread": 1.0, "center": True}, {"spread": 0.05}, {"spread": 0.1},
                    {"spread": 0.2}, {"spread": 0.05, "center": True}, {"spread": 0.05, "folds": 5},
                    {"spread": 1.0, "folds": 5}, {"prune": 0.0}, {"prune": 0.0, "spread": 1.0}]


def tune(styles: list[str], seeds: list[int], sets: dict[str, list[dict]], grid: list[dict] | None = None) -> list[dict]:
    """Each setting over every draw of the tuning styles: share meeting the bar, mean gain, worst fall elsewhere."""
    shipped, examples, out = Shipped(sets), {}, []
    for settings in grid or GRID:
        res = bench(styles, seeds, sets, settings, shipped, examples)
        row = {"settings": settings, **res["all"]}
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", help="held-out sets to teach, comma-separated (default: --worst)")
    ap.add_argument("--worst", type=int, default=3, help="teach the N styles the shipped model scores worst on")
    ap.add_argument("--seeds", type=seeds_arg, default=seeds_arg("1-8"), help="which draws of 30 notes, e.g. 1-8 or 1,2,14")
    ap.add_argument("--tune", metavar="STYLES", help="try the settings grid on these styles instead")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sets = holdout()
    if args.tune:
        tune(args.tune.split(","), args.seeds, sets)
        return 0
    shipped = Shipped(sets)
    styles = args.styles.split(",") if args.styles else \
        sorted(shipped.all, key=lambda k: (shipped.all[k]["rescuing_f1"], k))[:args.worst]
    print("shipped model, every held-out set (rescuing F1): "
          + ", ".join(f"{k} {v['rescuing_f1']:.3f}" for k, v in sorted(shipped.all.items())))
    print(f"settings: {adapt.settings()}")
    print("style seed  confirmed/false flags/missed  rest of the style shipped -> practice  other sets")
    out = bench(styles, args.seeds, sets, shipped=shipped, echo=lambda s: print(s, flush=True))
    for name, s in [*out["by_style"].items(), ("all", out["all"])]:
        print(f"{name:4}: bar met {s['met']}/{s['draws']}; rest rose {s['rose']}, fell {s['fell']}; gain mean "
              f"{s['mean_gain']:+.3f} (sd {s['sd_gain']:.3f}, {s['min_gain']:+.3f} .. {s['max_gain']:+.3f}); "
              f"others within {BAR}: {s['others_within_bar']}/{s['draws']}, worst {s['worst_other']:+.3f}; "
              f"the corrected notes themselves {s['corrected_notes'][0]:.3f} -> {s['corrected_notes'][1]:.3f}")
    if args.json:
        args.json.write_text(json.dumps({**out, "settings": adapt.settings()}, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
