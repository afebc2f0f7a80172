#!/usr/bin/env python
"""Does a labeled corpus score the same laid out as PDF as laid out as DOCX?

Run:  python benchmarks/pdf_layout.py [CORPUS.jsonl] [--json PATH]
      (default corpus: /work/shared/corpus/dev_notes.jsonl; any file in the corpus format)

Lays every note out three ways with sample_notes/make_samples.py's writers: one DOCX per
note (header table, paragraphs), one PDF per note (the printed-note layout) and one chart
PDF holding all notes (page headers and footers, notes running over page breaks). Scans
each folder with notesplugin.pipeline.scan and compares, note by note, the findings
(checklist, item, status) of each PDF layout with the DOCX layout's, and each layout's
flagged rescuing and crisis items with the labels. Prints the figures; no pass/fail.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path("/work/shared/corpus/dev_notes.jsonl")


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "sample_notes" / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def lay_out(notes: list[dict], tmp: Path) -> dict[str, Path]:
    ms = _make_samples()
    folders = {name: tmp / name for name in ("docx", "pdf", "chart")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for n in notes:
        ms.write_single_note([n], folders["docx"] / f"{n['id']}.docx")
        ms.write_single_pdf([n], folders["pdf"] / f"{n['id']}.pdf")
    ms.write_chart_pdf(notes, folders["chart"] / "chart.pdf")
    return folders


def findings_by_note(folder: Path, out: Path) -> tuple[dict, list[str]]:
    from notesplugin.config import Config
    from notesplugin.pipeline import scan
    res = scan([folder], out, Config(), ledger=False, summary=False)
    got: dict[str, set] = defaultdict(set)
    for f in res.findings:
        got[f.note_id].add((f.checklist, f.item, f.status))
    return got, [r.error for r in res.failed] + [w for r in res.files for w in r.warnings]


def label_score(notes: list[dict], got: dict) -> dict:
    tp = fp = fn = exact = 0
    for n in notes:
        have = got.get(n["id"], set())
        flagged = {i for c, i, s in have if c == "rescuing" and s == "flagged"}
        crisis = {i for c, i, _ in have if c == "crisis"}
        want = set(n["rescuing"])
        tp, fp, fn = tp + len(flagged & want), fp + len(flagged - want), fn + len(want - flagged)
        exact += flagged == want and crisis == set(n["crisis"])
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"rescuing_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "notes_exact": exact}


def compare(notes: list[dict], tmp: Path) -> dict:
    folders = lay_out(notes, tmp)
    got, problems = {}, {}
    for name, folder in folders.items():
        got[name], problems[name] = findings_by_note(folder, tmp / f"out_{name}")
    ids = [n["id"] for n in notes]
    fig = {"notes": len(notes), "problems": problems}
    for name in folders:
        fig[name] = label_score(notes, got[name])
        fig[name]["findings"] = sum(len(v) for v in got[name].values())
        if name != "docx":
            same = [i for i in ids if got[name].get(i, set()) == got["docx"].get(i, set())]
            fig[name]["same_as_docx"] = len(same)
            fig[name]["differ"] = {i: {"docx": sorted(got["docx"].get(i, set())), name: sorted(got[name].get(i, set()))}
                                   for i in ids if i not in same}
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    notes = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="notesplugin-pdf-layout-") as tmp:
        fig = compare(notes, Path(tmp))
    print(f"{args.corpus.name}: {fig['notes']} notes")
    for name in ("docx", "pdf", "chart"):
        f = fig[name]
        extra = f"; findings identical to DOCX in {f['same_as_docx']}/{fig['notes']} notes" if name != "docx" else ""
        print(f"  {name:5}: rescuing F1 {f['rescuing_f1']:.3f}, notes exactly as labeled {f['notes_exact']}, "
              f"findings {f['findings']}{extra}")
        for line in fig["problems"][name]:
            print(f"    note: {line}")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
