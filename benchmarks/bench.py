#!/usr/bin/env python
"""Benchmark: notesplugin scan against the file libraries' own floor.

Run:  python benchmarks/bench.py [--quick] [--json PATH] [--keep DIR]
      python benchmarks/bench.py --postgres URL [--quick]   (only the practice-ledger load test)
      python benchmarks/bench.py --jobs-only [--repeat N] [--quick]   (only the --jobs figures)
      python benchmarks/bench.py --docx-only [--quick]   (only the DOCX folder figures and phases)

Generates realistic exports in a temp folder (the 38 sample notes, varied: client
names, dates and the admin lines at the end; every checklist item represented):
an XLSX laid out like sample_notes/clinic_a_export.xlsx and a folder of single-note
DOCX files like sample_notes/single_note.docx, and a folder of one-page note PDFs like
sample_notes/progress_note_petra_v_2026-03-04.pdf. Then measures, in the same run:

- floor: openpyxl load + save of the XLSX; python-docx open + save of every DOCX;
  pypdf open + save (PdfWriter(clone_from=...).write) of every PDF;
- scan: notesplugin.pipeline.scan called in-process (library; ledger on, in a temp
  file), and the CLI `notesplugin scan` in a subprocess for the XLSX (peak RSS);
- the checklist engine alone, notes/s on one core, on the generated notes and on held-out corpus notes
  (many authors, few repeated lines: the engine's memos rarely hit there);
- scaling: time per note at several workbook sizes;
- --jobs 2 against --jobs 1 on the DOCX folder and on the one XLSX workbook (its notes split
  across the workers).

--jobs-only [--repeat N]: only the two --jobs figures, N rounds (jobs 1 and 2 alternating), each
ratio and their spread: the parallel figures need a quiet machine, so measure them when it is.

--docx-only: only the DOCX folder: floor, scan --jobs 1 and 2, and the scan's phases (read,
check, annotate/write, per-run rest) summed over the files, each phase also against the floor.

--postgres URL: 20 clinicians' scans of 500 notes each into one PostgreSQL ledger at
once, against the same scans one after another; counts checked (benchmarks/ledger_load.py).

Prints each figure and its ratio to the target; --json writes them all. No figure
fails the run: this is a measurement, not a test.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notes"

FULL = {"xlsx": 10_000, "docx": 500, "pdf": 500, "engine": 5_000, "scaling": [1_000, 5_000, 10_000, 20_000],
        "csv_mb": [1, 200]}
QUICK = {"xlsx": 200, "docx": 16, "pdf": 16, "engine": 200, "scaling": [100, 200, 300], "csv_mb": [1, 8]}

# Names that are not English words the lexicon could read as an emotion or an actor.
FIRST_NAMES = """Adaeze Aurelio Bartek Beatriz Cosmin Dagny Delphine Emeka Esperanza Fenella Florin Gideon
Gwendolyn Halvard Ines Ingrid Jovana Kaveh Ksenia Laszlo Leocadia Marisol Mateus Mirela Nadia Niamh Octavio
Oksana Perpetua Quillon Radomir Rosalba Saoirse Svetlana Tadeo Teodora Ulrich Valentina Wendeline Xiomara
Yannick Yevgenia Zbigniew Zuleika Anouk Bastien Celestine Dario Eluned Fabiola Gaspard Honorata Ignatius
Jolanta Kasimir Liesel Mirko Nerys Orsolya Pascual Quirina Rasmus Sabela Tancredi Urszula Vasco Wilhelmina
Ximena Ysolde Zoltan Amadou Benedetta Cyprian Dorotea Evander Filippa Gunnar Henrike Isidro Jadwiga""".split()
INITIALS = "ABCDEFGHJKLMNPRSTVWZ"

TARGETS = {
    "xlsx_ratio": ("XLSX scan / openpyxl floor", "<=", 1.5),
    "xlsx_write_ratio": ("XLSX annotated copy (write stage) / openpyxl floor", "<=", 0.8),
    "docx_ratio": ("DOCX folder scan / python-docx floor", "<=", 1.0),
    "engine_notes_per_s": ("checklist engine, notes/s on one core", ">=", 2000.0),
    "peak_rss_mb": ("peak RSS of the XLSX scan (CLI), MB", "<=", 400.0),
    "scaling_ratio": ("time/note at largest size / at smallest", "<=", 1.15),
    "jobs_speedup": ("--jobs 2 speedup over --jobs 1 (DOCX folder)", ">=", 1.8),
    "xlsx_jobs_speedup": ("--jobs 2 speedup over --jobs 1 (one XLSX workbook)", ">=", 1.5),
    "pdf_ratio": ("PDF folder scan / pypdf open+save floor", "<=", 2.0),
    "csv_write_mem_growth_mb": ("CSV annotated copy: peak memory, largest file minus 1 MB file, MB", "<=", 50.0),
}

RSS_WRAPPER = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter()\n"
               "rc = subprocess.run(sys.argv[1:]).returncode\n"
               "d = time.perf_counter() - t\n"
               "print(rc, d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


# The CSV writer's own peak memory (tracemalloc, from after the read to the end of the write),
# and the child's peak RSS for read + write: the notes the reader returns are held either way.
CSV_MEM = ("import resource, sys, tracemalloc\n"
           "from pathlib import Path\n"
           "from notesplugin.config import Config\n"
           "from notesplugin.readers.csv_reader import read_csv\n"
           "from notesplugin.writers.csv_writer import write_csv\n"
           "res = read_csv(Path(sys.argv[1]), Config())\n"
           "tracemalloc.start()\n"
           "write_csv(res.source, Path(sys.argv[2]), res.notes, [])\n"
           "peak = tracemalloc.get_traced_memory()[1]\n"
           "print(len(res.notes), peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- generating exports -----------------------------------------------------------

def _rename(client: str, text: str, rng: random.Random) -> tuple[str, str]:
    """New first names (and last initials) for the client(s), also where the text uses them."""
    people = []
    for person in client.split(" & "):
        first, _, rest = person.partition(" ")
        new = rng.choice(FIRST_NAMES)
        text = re.sub(rf"\b{re.escape(first)}\b", new, text)
        people.append(f"{new} {rng.choice(INITIALS)}." if rest else new)
    return " & ".join(people), text


def _admin_line(d: date, rng: random.Random) -> str:
    """A closing admin line, in one of a few word orders, so no two note texts are equal."""
    nxt = d + timedelta(days=7 * rng.randint(1, 3))
    minutes = rng.choice((45, 50, 53, 55, 60))
    return rng.choice((
        f"Session length {minutes} min. Next session {nxt:%m/%d/%Y}.",
        f"Next session {nxt:%m/%d/%Y}; session length {minutes} min.",
        f"Scheduled next appointment for {nxt:%m/%d/%Y} ({minutes} min today).",
    ))


def generate(base: list[dict], n: int, seed: int) -> list[dict]:
    """n varied notes cycling through all base notes (so every item is represented)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        src = base[i % len(base)]
        d = date.fromisoformat(src["date"]) + timedelta(days=rng.randint(-1, 1))
        client, text = _rename(src["client"], src["text"], rng)
        text = text.replace("denies SI/HI", rng.choice(("denies SI/HI", "denies HI/SI")))
        out.append({**src, "id": f"bench-{i + 1:06d}", "date": d.isoformat(), "client": client,
                    "text": f"{text}\n{_admin_line(d, rng)}"})
    return out


def write_xlsx(ms, notes: list[dict], path: Path) -> Path:
    ms.write_clinic_a(notes, path)
    return path


def write_csv(notes: list[dict], path: Path, mb: int) -> Path:
    """A CSV export of about `mb` MB: the generated notes repeated until the size is reached."""
    import csv
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["Note ID", "Date of Service", "Client", "Clinician", "Progress Note"])
        i = 0
        while fh.tell() < mb * 2**20:
            n = notes[i % len(notes)]
            w.writerow([f"n{i}", n["date"], n["client"], n["clinician"], n["text"]])
            i += 1
    return path


def csv_memory(path: Path, out: Path) -> tuple[int, float, float]:
    """(notes, writer peak MB, child peak RSS MB) for reading and annotating one CSV in a child process."""
    proc = subprocess.run([sys.executable, "-c", CSV_MEM, str(path), str(out)], capture_output=True, text=True,
                          check=True)
    notes, peak, maxrss = proc.stdout.split()[-3:]
    kb = int(maxrss) / (1024 if sys.platform == "darwin" else 1)
    return int(notes), int(peak) / 2**20, kb / 1024


def write_docx_folder(ms, notes: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in notes:
        ms.write_single_note([n], folder / f"{n['id']}.docx")
    return folder


def write_pdf_folder(ms, notes: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in notes:
        ms.write_single_pdf([n], folder / f"{n['id']}.pdf")
    return folder


# ---- measuring ----------------------------------------------------------------------

def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t, value


def floor_xlsx(path: Path, out: Path) -> float:
    import openpyxl

    def run():
        wb = openpyxl.load_workbook(path)
        wb.save(out / path.name)
    return timed(run)[0]


def floor_docx(folder: Path, out: Path) -> float:
    from docx import Document
    out.mkdir(parents=True, exist_ok=True)

    def run():
        for p in sorted(folder.glob("*.docx")):
            Document(str(p)).save(str(out / p.name))
    return timed(run)[0]


def floor_pdf(folder: Path, out: Path) -> float:
    from pypdf import PdfWriter
    out.mkdir(parents=True, exist_ok=True)

    def run():
        for p in sorted(folder.glob("*.pdf")):
            with open(out / p.name, "wb") as fh:
                PdfWriter(clone_from=str(p)).write(fh)
    return timed(run)[0]


def scan_lib(paths: list[Path], out: Path, ledger: Path, jobs: int = 1):
    """notesplugin.pipeline.scan in-process: read, check, annotate, write, ledger and letters."""
    from notesplugin.config import Config
    from notesplugin.pipeline import scan
    secs, res = timed(scan, paths, out, Config(), ledger=True, ledger_path=ledger, jobs=jobs)
    if res.failed or res.history_error:
        raise SystemExit(f"bench: scan failed: {[r.error for r in res.failed]} {res.history_error}")
    return secs, res


def scan_cli_rss(path: Path, out: Path, ledger: Path, cwd: Path) -> tuple[float, float]:
    """The CLI in a child process; (seconds, peak RSS MB) read by a wrapper via RUSAGE_CHILDREN,
    so the children this process started before do not count."""
    cfg = cwd / "bench.toml"
    cfg.write_text("", encoding="utf-8")
    env = {**os.environ, "NOTESPLUGIN_CONFIG": str(cfg)}
    cmd = [sys.executable, "-c", RSS_WRAPPER, sys.executable, "-m", "notesplugin.cli", "scan", str(path),
           "--out", str(out), "--ledger", str(ledger), "--quiet"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    rc, secs, maxrss = proc.stdout.split()[-3:]
    if rc != "0":
        raise SystemExit(f"bench: CLI scan exited {rc}: {proc.stderr.strip()[:300]}")
    kb = int(maxrss) / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KB on Linux
    return float(secs), kb / 1024


def engine_rate(notes: list[dict], model: bool = True, lists=None) -> float:
    from notesplugin.checklists.engine import Engine
    from notesplugin.model import Note, Segment
    engine = Engine(lists) if model else Engine(lists, model=False)
    objs = [Note(note_id=n["id"], file="bench.xlsx", text=n["text"], clinician=n["clinician"], client=n["client"],
                 date=n["date"], segments=(Segment(0, len(n["text"]), {"sheet": "Notes", "row": i + 2, "column": "F"}),))
            for i, n in enumerate(notes)]
    secs, _ = timed(lambda: [engine.check(o) for o in objs])
    return len(objs) / secs


def corpus_rate(limit: int) -> tuple[int, float]:
    """The engine (a fresh one) over the held-out corpus notes: written by many authors in
    many settings, so few lines repeat and the engine's per-sentence memos rarely hit, where
    the generated bench notes reuse their sample lines. Its first pass, as a new export gets."""
    from notesplugin.checklists.engine import Engine
    from notesplugin.learned.corpus import as_note, load_set
    from notesplugin.learned.train import manifest  # scikit-learn is imported only when training
    rows = [r for name in manifest()["holdout"] for r in load_set(ROOT / name)]
    rows = random.Random(3).sample(rows, min(limit, len(rows)))
    notes = [as_note(r) for r in rows]
    engine = Engine()
    engine.check(notes[0])  # its lazily built parts, once
    secs, _ = timed(lambda: [engine.check(n) for n in notes])
    return len(notes), len(notes) / secs


# A practice's own checklist file: the README's example (a new item and more cues for R3).
PRACTICE = """checklist = "rescuing"
[[item]]
id = "X1"
name = "homework"
actor = "therapist"
needs_emotion = true
cues = ['''\\bassign\\w*\\s+(?:\\w+\\s+){0,2}homework\\b''']
[[extend]]
id = "R3"
cues = ['''\\btold\\s+(?:her|him|them)\\s+not\\s+to\\s+worry\\b''', '''\\breassur\\w*\\s+(?:her|him|them)\\b''']
"""


def cue_engines(tmp: Path) -> dict[str, object]:
    """Checklists whose cues run on re or on RE2, to weigh the linear-time engine (issue 12, item 12):
    a practice's cues on re (as before) and on RE2 (as shipped), and every shipped cue RE2 can run on RE2."""
    import re

    import re2

    from notesplugin import checklists as ck
    path = tmp / "practice.toml"
    path.write_text(PRACTICE, encoding="utf-8")

    def swap(lists, which, compile_):
        for item in lists.items:
            for key in ("cues", "unless", "also"):
                setattr(item, key, [compile_(p) if which(item, p) else p for p in getattr(item, key)])
        return lists

    def to_re2(p):
        try:
            return re2.compile(p.pattern, ck._re2_options())
        except re2.error:  # lookarounds and the like stay on re
            return p
    practice_re = swap(ck.load([path]), lambda i, p: not isinstance(p, re.Pattern),
                       lambda p: re.compile(p.pattern, ck.FLAGS))
    return {"practice_re": practice_re, "practice_re2": ck.load([path]),
            "all_re2": swap(ck.load(), lambda i, p: True, to_re2)}


def phases_xlsx(path: Path, res, out: Path) -> dict[str, float]:
    """Read and write of the same workbook on their own, to show where the scan's time goes."""
    from notesplugin import readers
    from notesplugin.config import Config
    from notesplugin.writers.xlsx_writer import write_xlsx as annotate
    fr = res.files[0]
    read_s, (_, read) = timed(readers.read, path, Config())
    write_s, _ = timed(annotate, read.source, out / f"phase.{path.name}", fr.notes, fr.findings)
    return {"read_s": read_s, "write_s": write_s}


def phases_docx(folder: Path, out: Path) -> dict[str, float]:
    """Read, check and annotate/write of every file of the DOCX folder, each summed on its own
    (in-process, as the scan runs them with --jobs 1), to show where the scan's time goes."""
    from notesplugin import readers
    from notesplugin.config import Config
    from notesplugin.pipeline import _engine
    from notesplugin.writers.docx_writer import write_docx as annotate
    config = Config()
    engine = _engine(config)
    read_s = check_s = write_s = 0.0
    for k, path in enumerate(sorted(folder.glob("*.docx"))):
        t0 = time.perf_counter()
        _, read = readers.read(path, config)
        t1 = time.perf_counter()
        findings = [f for note in read.notes for f in engine.check(note)]
        t2 = time.perf_counter()
        annotate(read.source, out / f"{k}.docx", read.notes, findings)
        t3 = time.perf_counter()
        read_s, check_s, write_s = read_s + t1 - t0, check_s + t2 - t1, write_s + t3 - t2
    return {"docx_read_s": read_s, "docx_check_s": check_s, "docx_write_s": write_s}


def docx_figures(ms, base, sizes, tmp: Path, fig: dict, say, phases: bool = False) -> None:
    """DOCX folder: floor vs scan, jobs 1 vs 2 (and, with `phases`, where the time goes)."""
    folder = write_docx_folder(ms, generate(base, sizes["docx"], 7), tmp / "docx_in")
    fig["docx_floor_s"] = floor_docx(folder, tmp / "docx_floor")
    (fig["docx_scan_s"], _), busy1 = others_busy(scan_lib, [folder], tmp / "docx_out1", tmp / "docx1.sqlite3", jobs=1)
    (fig["docx_scan_jobs2_s"], _), busy2 = others_busy(scan_lib, [folder], tmp / "docx_out2", tmp / "docx2.sqlite3",
                                                       jobs=2)
    fig["docx_others_cores"] = [busy1, busy2]  # a --jobs ratio means little when these are not near 0
    fig["docx_ratio"] = fig["docx_scan_s"] / fig["docx_floor_s"]
    fig["jobs_speedup"] = fig["docx_scan_s"] / fig["docx_scan_jobs2_s"]
    say(f"DOCX folder {sizes['docx']:,} files: python-docx open+save floor {fig['docx_floor_s']:.2f} s; "
        f"scan --jobs 1 {fig['docx_scan_s']:.2f} s = {fig['docx_ratio']:.2f}x floor; "
        f"--jobs 2 {fig['docx_scan_jobs2_s']:.2f} s")
    say(f"  cores busy with other work meanwhile (jobs 1 / jobs 2): {busy1:.2f} / {busy2:.2f}")
    if phases:
        fig.update(phases_docx(folder, _dir(tmp / "docx_phase")))
        rest = fig["docx_scan_s"] - fig["docx_read_s"] - fig["docx_check_s"] - fig["docx_write_s"]
        fig["docx_rest_s"] = rest
        floor = fig["docx_floor_s"]
        say(f"  phases: read {fig['docx_read_s']:.2f} s ({fig['docx_read_s'] / floor:.2f}x floor), check "
            f"{fig['docx_check_s']:.2f} s ({fig['docx_check_s'] / floor:.2f}x), annotate/write "
            f"{fig['docx_write_s']:.2f} s ({fig['docx_write_s'] / floor:.2f}x), rest of the scan (ledger, "
            f"letters, summary, run files) {rest:.2f} s ({rest / floor:.2f}x)")


def run_docx(quick: bool, tmp: Path) -> dict:
    """Only the DOCX folder figures, with the scan's phases."""
    sizes = QUICK if quick else FULL
    ms = _make_samples()
    base = ms.load_notes()
    fig: dict = {"mode": ("quick" if quick else "full") + "-docx", "cores": os.cpu_count(),
                 "python": platform.python_version(), "sizes": sizes}
    warm = write_docx_folder(ms, generate(base, 8, 0), tmp / "warm_in")
    scan_lib([warm], tmp / "warm-out", tmp / "warm.sqlite3")
    print(f"cores: {fig['cores']}  python {fig['python']}  ({fig['mode']} mode)")
    docx_figures(ms, base, sizes, tmp, fig, print, phases=True)
    for key in ("docx_ratio", "jobs_speedup"):
        print("  " + verdict(key, fig[key], sizes))
    return fig


# ---- report -------------------------------------------------------------------------

# Ratios whose fixed costs (imports, model load, ledger, summary) weigh on a small input: the issue
# sets these targets at the full sizes, so a quick run says which size it measured.
AT_SIZE = {"xlsx_ratio": "xlsx", "xlsx_write_ratio": "xlsx", "docx_ratio": "docx", "pdf_ratio": "pdf",
           "jobs_speedup": "docx", "xlsx_jobs_speedup": "xlsx"}


def verdict(key: str, value: float, sizes: dict | None = None) -> str:
    label, op, target = TARGETS[key]
    ok = value <= target if op == "<=" else value >= target
    out = f"{label}: {value:,.2f} (target {op} {target:g}) {'OK' if ok else 'MISS'}"
    kind = AT_SIZE.get(key)
    if sizes is not None and kind and sizes[kind] != FULL[kind]:
        out += f" at {sizes[kind]:,} {'notes' if kind == 'xlsx' else 'files'} (the target is for {FULL[kind]:,})"
    return out


def run(quick: bool, tmp: Path) -> dict:
    sizes = QUICK if quick else FULL
    ms = _make_samples()
    base = ms.load_notes()
    fig: dict = {"mode": "quick" if quick else "full", "cores": os.cpu_count(),
                 "python": platform.python_version(), "platform": platform.platform(), "sizes": sizes,
                 "scan_mode": "library in-process (notesplugin.pipeline.scan), ledger on; "
                              "CLI in a subprocess for peak RSS"}
    say = print

    # warm up: imports and the compiled checklists, which a long-running scan pays once
    warm = write_xlsx(ms, generate(base, len(base), 0), tmp / "warm.xlsx")
    scan_lib([warm], tmp / "warm-out", tmp / "warm.sqlite3")

    say(f"cores: {fig['cores']}  python {fig['python']}  ({fig['mode']} mode)")

    # engine alone
    engine_notes = generate(base, sizes["engine"], 1)
    fig["engine_notes_per_s"] = engine_rate(engine_notes)
    fig["engine_rules_only_notes_per_s"] = engine_rate(engine_notes, model=False)
    say(f"engine: {sizes['engine']:,} notes -> {fig['engine_notes_per_s']:,.0f} notes/s on one core "
        f"(rules alone, no model: {fig['engine_rules_only_notes_per_s']:,.0f})")
    n_corpus, fig["engine_corpus_notes_per_s"] = corpus_rate(sizes["engine"] if quick else 2_000)
    say(f"engine on {n_corpus:,} held-out corpus notes (few repeated lines): "
        f"{fig['engine_corpus_notes_per_s']:,.0f} notes/s on one core")
    # Which regex engine runs the cues (rules alone, where cues are the larger share of the time)
    for name, lists in cue_engines(tmp).items():
        fig[f"engine_rules_{name}_notes_per_s"] = engine_rate(engine_notes, model=False, lists=lists)
    fig["cues_re2_practice_ratio"] = fig["engine_rules_practice_re2_notes_per_s"] / fig[
        "engine_rules_practice_re_notes_per_s"]
    fig["cues_re2_shipped_ratio"] = fig["engine_rules_all_re2_notes_per_s"] / fig["engine_rules_only_notes_per_s"]
    say(f"cues, rules alone: with a practice file {fig['engine_rules_practice_re_notes_per_s']:,.0f} notes/s "
        f"on re, {fig['engine_rules_practice_re2_notes_per_s']:,.0f} on RE2 (shipped: "
        f"{fig['cues_re2_practice_ratio']:.2f}x); every shipped cue on RE2 "
        f"{fig['engine_rules_all_re2_notes_per_s']:,.0f} ({fig['cues_re2_shipped_ratio']:.2f}x of re: "
        f"{'kept on re' if fig['cues_re2_shipped_ratio'] < 1 else 'RE2 would be faster'})")

    # XLSX: floor vs scan, at every scaling size; the main figure is the size named in sizes['xlsx']
    scaling = {}
    main_n = sizes["xlsx"]
    for n in sorted(set(sizes["scaling"]) | {main_n}):
        path = write_xlsx(ms, generate(base, n, n), tmp / f"export_{n}.xlsx")
        if n == main_n:
            fig["xlsx_floor_s"] = floor_xlsx(path, _dir(tmp / f"floor_{n}"))
        secs, res = scan_lib([path], tmp / f"out_{n}", tmp / f"ledger_{n}.sqlite3")
        if n in sizes["scaling"]:
            scaling[n] = secs / n * 1000
            say(f"scaling: {n:>6,} notes scan {secs:7.2f} s = {scaling[n]:.2f} ms/note")
        if n == main_n:
            fig["xlsx_scan_s"] = secs
            fig["xlsx_items_found"] = sorted({f.item for f in res.findings})
            fig["xlsx_findings"] = len(res.findings)
            fig["xlsx_letters"] = len((res.history or {}).get("letters") or [])
            fig.update(phases_xlsx(path, res, _dir(tmp / f"phase_{n}")))
            fig["xlsx_scan_jobs2_s"], _ = scan_lib([path], tmp / f"out2_{n}", tmp / f"ledger2_{n}.sqlite3",
                                                   jobs=2)
            cli_s, rss = scan_cli_rss(path, tmp / f"cli_{n}", tmp / f"cli_{n}.sqlite3", tmp)
            fig["xlsx_cli_scan_s"], fig["peak_rss_mb"] = cli_s, rss
    fig["scaling_ms_per_note"] = {str(k): v for k, v in scaling.items()}
    lo, hi = min(scaling), max(scaling)
    fig["scaling_ratio"] = scaling[hi] / scaling[lo]
    fig["xlsx_ratio"] = fig["xlsx_scan_s"] / fig["xlsx_floor_s"]
    fig["xlsx_jobs_speedup"] = fig["xlsx_scan_s"] / fig["xlsx_scan_jobs2_s"]
    fig["xlsx_io_ratio"] = (fig["read_s"] + fig["write_s"]) / fig["xlsx_floor_s"]
    fig["xlsx_write_ratio"] = fig["write_s"] / fig["xlsx_floor_s"]
    say(f"XLSX {main_n:,} notes: openpyxl load+save floor {fig['xlsx_floor_s']:.2f} s; "
        f"scan (library) {fig['xlsx_scan_s']:.2f} s, --jobs 2 {fig['xlsx_scan_jobs2_s']:.2f} s; "
        f"scan (CLI subprocess) {fig['xlsx_cli_scan_s']:.2f} s")
    say(f"  of which read {fig['read_s']:.2f} s + annotate/write {fig['write_s']:.2f} s "
        f"= {fig['xlsx_io_ratio']:.2f}x floor (write alone {fig['xlsx_write_ratio']:.2f}x); "
        f"engine ~{main_n / fig['engine_notes_per_s']:.2f} s")
    say(f"  findings {fig['xlsx_findings']:,}, items found: {' '.join(fig['xlsx_items_found'])}, "
        f"letters {fig['xlsx_letters']}")

    # DOCX folder: floor vs scan, jobs 1 vs 2, and where the scan's time goes
    docx_figures(ms, base, sizes, tmp, fig, say, phases=True)

    # PDF folder: one-page notes, pypdf's own open+save as the floor
    folder = write_pdf_folder(ms, generate(base, sizes["pdf"], 11), tmp / "pdf_in")
    fig["pdf_floor_s"] = floor_pdf(folder, tmp / "pdf_floor")
    fig["pdf_scan_s"], res = scan_lib([folder], tmp / "pdf_out", tmp / "pdf.sqlite3")
    fig["pdf_ratio"] = fig["pdf_scan_s"] / fig["pdf_floor_s"]
    fig["pdf_findings"] = len(res.findings)
    say(f"PDF folder {sizes['pdf']:,} one-page notes: pypdf open+save floor {fig['pdf_floor_s']:.2f} s; "
        f"scan (read, check, annotate) {fig['pdf_scan_s']:.2f} s; findings {fig['pdf_findings']:,}")

    # CSV: memory of the annotated copy from a 1 MB to a large file
    csv_base = generate(base, 200, 11)
    mem = {}
    for mb in sizes["csv_mb"]:
        path = write_csv(csv_base, tmp / f"export_{mb}mb.csv", mb)
        mem[mb] = csv_memory(path, tmp / f"export_{mb}mb.annotated.csv")
        path.unlink()
        say(f"CSV {mb:>4} MB ({mem[mb][0]:,} notes): annotated copy peak {mem[mb][1]:.2f} MB; "
            f"read + write peak RSS {mem[mb][2]:.0f} MB")
    small, large = min(mem), max(mem)
    fig["csv_memory"] = {str(k): {"notes": v[0], "write_peak_mb": v[1], "rss_mb": v[2]} for k, v in mem.items()}
    fig["csv_write_mem_growth_mb"] = max(mem[large][1] - mem[small][1], 0.001)

    say(f"RSS: peak {fig['peak_rss_mb']:.0f} MB for the {main_n:,}-note CLI scan")
    say("targets:")
    fig["targets"] = {}
    for key, (label, op, target) in TARGETS.items():
        value = fig[key]
        fig["targets"][key] = {"label": label, "value": value, "op": op, "target": target,
                               "met": value <= target if op == "<=" else value >= target}
        say("  " + verdict(key, value, sizes))
    return fig


def _cpu_busy_s() -> float | None:
    """Seconds of CPU the whole machine spent busy so far (Linux /proc/stat), None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    import resource
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def others_busy(fn, *args, **kwargs):
    """(fn's value, cores other programs kept busy on average while it ran): a parallel figure
    measured while the machine's cores were taken by other work says little, so say how much."""
    busy, own, t = _cpu_busy_s(), _own_cpu_s(), time.perf_counter()
    value = fn(*args, **kwargs)
    wall = time.perf_counter() - t
    after = _cpu_busy_s()
    if busy is None or after is None:
        return value, float("nan")
    return value, max(0.0, (after - busy) - (_own_cpu_s() - own)) / wall


def run_jobs(quick: bool, tmp: Path, repeat: int) -> dict:
    """Only --jobs 2 against --jobs 1, on the one workbook and on the DOCX folder, `repeat` rounds;
    the two runs of a round are back to back, so each ratio has its floor from the same moment."""
    sizes = QUICK if quick else FULL
    ms = _make_samples()
    base = ms.load_notes()
    fig: dict = {"mode": ("quick" if quick else "full") + "-jobs", "cores": os.cpu_count(),
                 "python": platform.python_version(), "sizes": sizes, "rounds": []}
    warm = write_xlsx(ms, generate(base, len(base), 0), tmp / "warm.xlsx")
    scan_lib([warm], tmp / "warm-out", tmp / "warm.sqlite3")
    book = write_xlsx(ms, generate(base, sizes["xlsx"], sizes["xlsx"]), tmp / f"export_{sizes['xlsx']}.xlsx")
    folder = write_docx_folder(ms, generate(base, sizes["docx"], 7), tmp / "docx_in")
    print(f"cores: {fig['cores']}  python {fig['python']}  ({fig['mode']} mode, {repeat} rounds)")
    for r in range(repeat):
        got = {"load_before": os.getloadavg()[0]}
        for name, path in (("xlsx", book), ("docx", folder)):
            (one, _), busy1 = others_busy(scan_lib, [path], tmp / f"{name}_{r}_1", tmp / f"{name}_{r}_1.db", jobs=1)
            (two, _), busy2 = others_busy(scan_lib, [path], tmp / f"{name}_{r}_2", tmp / f"{name}_{r}_2.db", jobs=2)
            got[name] = {"jobs1_s": one, "jobs2_s": two, "speedup": one / two,
                         "others_cores_jobs1": busy1, "others_cores_jobs2": busy2}
        fig["rounds"].append(got)
        print(f"round {r + 1} (load {got['load_before']:.2f}): workbook {got['xlsx']['jobs1_s']:.2f} s -> "
              f"{got['xlsx']['jobs2_s']:.2f} s = {got['xlsx']['speedup']:.2f}x; DOCX folder "
              f"{got['docx']['jobs1_s']:.2f} s -> {got['docx']['jobs2_s']:.2f} s = {got['docx']['speedup']:.2f}x")
        print("  cores busy with other work meanwhile (jobs 1 / jobs 2): " + "; ".join(
            f"{name} {got[name]['others_cores_jobs1']:.2f} / {got[name]['others_cores_jobs2']:.2f}"
            for name in ("xlsx", "docx")))
    for name, key in (("xlsx", "xlsx_jobs_speedup"), ("docx", "jobs_speedup")):
        ratios = sorted(g[name]["speedup"] for g in fig["rounds"])
        fig[key] = statistics.median(ratios)
        fig[f"{key}_spread"] = [ratios[0], ratios[-1]]
        print(f"  {verdict(key, fig[key], sizes)} (median of {len(ratios)}; spread {ratios[0]:.2f}-{ratios[-1]:.2f})")
    return fig


def run_postgres(url: str, quick: bool, tmp: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ledger_load import load_test

    from notesplugin.checklists.engine import Engine
    scans, per_scan, shared = (4, 50, 10) if quick else (20, 500, 100)
    notes = generate(_make_samples().load_notes(), per_scan, 7)
    fig = {"mode": "postgres-quick" if quick else "postgres", "cores": os.cpu_count()}
    print(f"cores: {fig['cores']}; ledger load test, {scans} scans x {per_scan} notes ({shared} shared by all)")
    fig.update(load_test(url, notes, Engine(), tmp, scans, per_scan, shared))
    problems = fig["serial"]["problems"] + fig["concurrent"]["problems"]
    if problems:
        raise SystemExit("bench: the PostgreSQL ledger lost or doubled something: " + "; ".join(problems))
    return fig


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI (< 60 s)")
    ap.add_argument("--json", type=Path, help="write the figures to this JSON file")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep the generated files")
    ap.add_argument("--postgres", metavar="URL",
                    help="only the load test of a PostgreSQL ledger; URL: a login that may create databases")
    ap.add_argument("--jobs-only", action="store_true", help="only the --jobs 2 vs --jobs 1 figures")
    ap.add_argument("--docx-only", action="store_true",
                    help="only the DOCX folder figures (floor, scan --jobs 1 and 2) and the scan's phases")
    ap.add_argument("--repeat", type=int, default=3, help="rounds for --jobs-only (default 3)")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.postgres:
        with tempfile.TemporaryDirectory(prefix="notesplugin-bench-pg-") as tmp:
            fig = run_postgres(args.postgres, args.quick, Path(tmp))
    elif args.jobs_only:
        with tempfile.TemporaryDirectory(prefix="notesplugin-bench-jobs-") as tmp:
            fig = run_jobs(args.quick, Path(tmp), max(1, args.repeat))
    elif args.docx_only:
        with tempfile.TemporaryDirectory(prefix="notesplugin-bench-docx-") as tmp:
            fig = run_docx(args.quick, args.keep and _dir(args.keep) or Path(tmp))
    elif args.keep:
        fig = run(args.quick, _dir(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="notesplugin-bench-") as tmp:
            fig = run(args.quick, Path(tmp))
    fig["bench_total_s"] = time.perf_counter() - started
    print(f"benchmark took {fig['bench_total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
