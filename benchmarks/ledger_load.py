"""Load test of a practice's PostgreSQL ledger: many clinicians' scans at once into one database.

Used by `bench.py --postgres URL`. The URL is a login that may create databases;
two throwaway databases are made (one for the scans run one after another, one
for the same scans run at once), set up with `ledger init`, and dropped at the end.

Each scan records what `notesplugin scan` records after checking (the ledger, the
gaps, the letters): its own clinician's notes plus a slice of practice-wide notes
that every scan carries, so every scan crosses the same gaps' thresholds at the
same moment. Checked, not just timed: the counts of notes, findings and runs are
what they must be, the gaps are those an SQLite ledger finds for the same scans,
and every gap has exactly one letter.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import replace
from pathlib import Path

SHARED_FILE = "practice-week.xlsx"


def build_scans(base_notes, engine, scans: int, per_scan: int, shared: int):
    """[(notes, findings)] per scan; findings from the real checklist engine, run once."""
    from notesplugin.model import Note

    template = [Note(note_id=n["id"], file=SHARED_FILE, text=n["text"], clinician=n["clinician"],
                     client=n["client"], date=n["date"]) for n in base_notes[:per_scan]]
    checked = [(n, engine.check(n)) for n in template]
    out = []
    for k in range(scans):
        notes, findings = [], []
        for i, (n, fs) in enumerate(checked):
            if i < per_scan - shared:  # this clinician's own export
                who, file = f"Bench Clinician {k:02d}", f"week-{k:02d}.xlsx"
            else:  # the practice-wide part every scan carries
                who, file = n.clinician, SHARED_FILE
            notes.append(replace(n, file=file, clinician=who))
            findings += [replace(f, file=file, clinician=who) for f in fs]
        out.append((notes, findings))
    return out


def _scan(args) -> int:
    notes, findings, cfg, out = args
    from notesplugin.history import after_scan
    return len(after_scan(notes, findings, cfg, Path(out)).letters)


def _run_all(scans, cfg, out: Path, at_once: bool) -> tuple[float, int]:
    jobs = [(n, f, cfg, str(out / f"scan{k:02d}")) for k, (n, f) in enumerate(scans)]
    t = time.perf_counter()
    if at_once:
        with mp.get_context("fork").Pool(len(jobs)) as pool:
            letters = sum(pool.map(_scan, jobs, chunksize=1))
    else:
        letters = sum(_scan(j) for j in jobs)
    return time.perf_counter() - t, letters


def _admin(url: str):
    import pg8000.native

    from notesplugin.ledger_pg import connect_params
    return pg8000.native.Connection(**connect_params(url))


def _db_url(url: str, name: str) -> str:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


def _check(led, expected: dict) -> dict:
    from notesplugin.gaps import current_gaps
    from notesplugin.config import Config
    got = {t: led.count(t) for t in ("notes", "findings", "runs", "letters")}
    gaps = {(g.clinician_key, g.topic) for g in current_gaps(led, Config())}
    per_gap = led.db.rows("SELECT clinician_key, topic, COUNT(*) FROM letters GROUP BY clinician_key, topic")
    twice = [r for r in per_gap if r[2] != 1]
    problems = [f"{t}: {got[t]} (expected {expected[t]})" for t in ("notes", "findings", "runs") if got[t] != expected[t]]
    if gaps != expected["gaps"]:
        problems.append(f"gaps differ from SQLite's: {len(gaps)} vs {len(expected['gaps'])}")
    if twice or got["letters"] != len(gaps):
        problems.append(f"letters {got['letters']} for {len(gaps)} gaps ({len(twice)} gap(s) with more than one)")
    return {**got, "gaps": len(gaps), "problems": problems}


def load_test(url: str, base_notes, engine, tmp: Path, scans: int = 20, per_scan: int = 500,
              shared: int = 100, say=print) -> dict:
    from notesplugin.config import Config
    from notesplugin.ledger import Ledger
    from notesplugin.ledger_admin import init_postgres

    work = build_scans(base_notes, engine, scans, per_scan, shared)
    # The reference: the same scans, one after another, into an SQLite ledger.
    ref_cfg = replace(Config(), ledger=tmp / "reference.sqlite3")
    _run_all(work, ref_cfg, tmp / "ref-out", at_once=False)
    with Ledger(ref_cfg.ledger) as led:
        expected = {t: led.count(t) for t in ("notes", "findings", "runs")}
        from notesplugin.gaps import current_gaps
        expected["gaps"] = {(g.clinician_key, g.topic) for g in current_gaps(led, Config())}
    fig: dict = {"scans": scans, "notes_per_scan": per_scan, "shared_notes": shared, **{
        f"expected_{k}": (len(v) if k == "gaps" else v) for k, v in expected.items()}}
    admin = _admin(url)
    try:
        for mode in ("serial", "concurrent"):
            name = f"notesplugin_bench_{os.getpid()}_{mode}"
            admin.run(f"DROP DATABASE IF EXISTS {name}")
            admin.run(f"CREATE DATABASE {name}")
            try:
                db_url = _db_url(url, name)
                key = tmp / f"{mode}.key"
                init_postgres(db_url, key)
                cfg = replace(Config(), ledger_url=db_url, ledger_key=key)
                secs, letters = _run_all(work, cfg, tmp / f"{mode}-out", at_once=mode == "concurrent")
                with Ledger(db_url, key_path=key) as led:
                    fig[mode] = {"seconds": secs, "letters_reported": letters, **_check(led, expected)}
            finally:
                admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()
    fig["concurrent_vs_serial"] = fig["concurrent"]["seconds"] / fig["serial"]["seconds"]
    for mode in ("serial", "concurrent"):
        r = fig[mode]
        say(f"postgres {mode:>10}: {scans} scans x {per_scan} notes in {r['seconds']:.2f} s; notes {r['notes']:,}, "
            f"findings {r['findings']:,}, runs {r['runs']}, gaps {r['gaps']}, letters {r['letters']} "
            f"-> {'counts OK' if not r['problems'] else 'PROBLEMS: ' + '; '.join(r['problems'])}")
    say(f"postgres: {scans} scans at once took {fig['concurrent_vs_serial']:.2f}x the time of the same scans "
        f"one after another")
    return fig
