"""--jobs: the checklist engine is built once in the parent, before the workers fork; one large file's
notes are checked in the workers and its copy written once, exactly as --jobs 1 makes it."""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from notesplugin import pipeline, pool
from notesplugin.checklists.engine import Engine
from notesplugin.cli import main
from notesplugin.config import Config


def test_engine_built_before_workers_fork(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        (src / f"e{i}.csv").write_text(f"Note ID,Note\nn{i},Client cried; writer moved on.\n", encoding="utf-8")
    seen = []
    real = pool.ProcessPoolExecutor

    class Pool(real):
        def __init__(self, *args, **kwargs):
            seen.append(pipeline._ENGINE is not None)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_ENGINE", None)
    monkeypatch.setattr(pool, "ProcessPoolExecutor", Pool)
    result = pipeline.scan([src], tmp_path / "out", Config(), ledger=False, summary=False, jobs=2)
    assert seen == [True]
    assert not result.failed and len(result.files) == 2


def test_readers_and_writers_imported_before_workers_fork(tmp_path, monkeypatch):
    """Each worker would otherwise import python-docx, lxml and our reader and writer itself (~0.4 s)."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.csv", "b.CSV", "c.docx", "d.txt"):
        (src / name).write_text("Note ID,Note\nn1,Client cried; writer moved on.\n", encoding="utf-8")
    events = []
    real_pool, real_preload = pool.ProcessPoolExecutor, pipeline._preload

    class Pool(real_pool):
        def __init__(self, *args, **kwargs):
            events.append("fork")
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(pool, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(pipeline, "_preload", lambda paths: events.append("preload") or real_preload(paths))
    imported = []
    real_import = pipeline.importlib.import_module
    monkeypatch.setattr(pipeline.importlib, "import_module", lambda name: imported.append(name) or real_import(name))
    pipeline.scan([src / "a.csv", src / "b.CSV", src / "c.docx"], tmp_path / "out", Config(), ledger=False,
                  summary=False, jobs=2)
    assert events == ["preload", "fork"]
    assert [m for m in imported if m.startswith(("notesplugin.readers.", "notesplugin.writers."))] == [
        "notesplugin.readers.csv_reader", "notesplugin.writers.csv_writer",
        "notesplugin.readers.docx_reader", "notesplugin.writers.docx_writer"]


# ---- one file's notes split across the workers (issue 11) ---------------------------------

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
FIXED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        import bench
    finally:
        sys.path.pop(0)
    return bench


@pytest.fixture(scope="module")
def exports(tmp_path_factory, bench):
    """A 400-note workbook, a 150-note one and a 300-note CSV, generated as the benchmark makes them."""
    ms = bench._make_samples()
    base = ms.load_notes()
    folder = tmp_path_factory.mktemp("exports")
    (folder / "small").mkdir()
    ms.write_clinic_a(bench.generate(base, 400, seed=21), folder / "clinic.xlsx")
    ms.write_clinic_a(bench.generate(base, 150, seed=23), folder / "small" / "week.xlsx")
    with open(folder / "telehealth.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Note ID", "Date of Service", "Client", "Clinician", "Progress Note"])
        for n in bench.generate(base, 300, seed=22):
            w.writerow([n["id"], n["date"], n["client"], n["clinician"], n["text"]])
    return folder


class Counting(pool.ProcessPoolExecutor):
    """Records, in the parent, which function each task submitted to a pool runs."""
    submitted: list[str] = []

    def submit(self, fn, *args, **kwargs):
        Counting.submitted.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


def _scan(paths, out: Path, ledger: Path, jobs: int):
    return pipeline.scan(paths, out, Config(), ledger=True, ledger_path=ledger, jobs=jobs, comment_date=FIXED,
                         summary=False)


def _members(path: Path) -> dict[str, bytes]:
    if path.suffix == ".csv":
        return {"": path.read_bytes()}
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _ledger_rows(path: Path) -> dict[str, list]:
    con = sqlite3.connect(path)
    try:
        return {
            "notes": con.execute("SELECT note_key, clinician_key, client_hash, session_date, text_hash, "
                                 "checklist_version FROM notes ORDER BY note_key").fetchall(),
            "findings": con.execute("SELECT note_key, clinician_key, client_hash, session_date, checklist, item, "
                                    "name, status, topic, checklist_version FROM findings ORDER BY id").fetchall(),
            "letters": [(c, t, k, s, Path(p).name) for c, t, k, s, p in con.execute(
                "SELECT clinician_key, topic, kind, sessions, path FROM letters ORDER BY id")],
        }
    finally:
        con.close()


def _same_as_one_job(tmp: Path, paths: list[Path], monkeypatch) -> None:
    one = _scan(paths, tmp / "one", tmp / "one.sqlite3", jobs=1)
    key = tmp / "two.sqlite3.key"
    key.write_bytes((tmp / "one.sqlite3.key").read_bytes())  # the same client hashes
    key.chmod(0o600)
    Counting.submitted = []
    monkeypatch.setattr(pool, "ProcessPoolExecutor", Counting)
    two = _scan(paths, tmp / "two", tmp / "two.sqlite3", jobs=2)
    # each file's notes went to the workers in several chunks; no file went whole
    assert Counting.submitted and set(Counting.submitted) == {"_check_chunk"}
    assert len(Counting.submitted) >= 2 * len(paths)
    assert not one.failed and not two.failed and one.findings
    assert [f.to_dict() for f in two.findings] == [f.to_dict() for f in one.findings]
    assert (tmp / "two" / "findings.jsonl").read_bytes() == (tmp / "one" / "findings.jsonl").read_bytes()
    runs = [json.loads((tmp / d / "run.json").read_text().replace(str(tmp / d), "OUT")) for d in ("one", "two")]
    for run in runs:
        run["history"]["run"].pop("run_id")
    for key in ("counts", "warnings", "history"):
        assert runs[1][key] == runs[0][key], key
    assert runs[0]["history"]["letters"]
    for letter in runs[0]["history"]["letters"]:  # the same letters, word for word
        md = Path(letter["markdown"].replace("OUT", str(tmp / "one"))).read_text()
        assert md == Path(letter["markdown"].replace("OUT", str(tmp / "two"))).read_text()
    for a, b in zip(one.files, two.files):
        assert Path(a.output).name == Path(b.output).name
        assert _members(Path(b.output)) == _members(Path(a.output))  # the copy, part for part
    assert _ledger_rows(tmp / "two.sqlite3") == _ledger_rows(tmp / "one.sqlite3")


def test_one_workbook_split_across_jobs_same_as_one_job(exports, tmp_path, monkeypatch):
    _same_as_one_job(tmp_path, [exports / "clinic.xlsx"], monkeypatch)


def test_large_files_in_a_batch_split_across_jobs_same_as_one_job(exports, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "SPLIT_BYTES", 0)  # as if both were large
    _same_as_one_job(tmp_path, [exports / "clinic.xlsx", exports / "telehealth.csv"], monkeypatch)


def test_small_files_go_whole_to_the_workers(exports, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"s{i}.csv").write_text(f"Note ID,Note\nn{i},Client cried; writer moved on.\n", encoding="utf-8")
    Counting.submitted = []
    monkeypatch.setattr(pool, "ProcessPoolExecutor", Counting)
    result = pipeline.scan([folder], tmp_path / "out", Config(), ledger=False, summary=False, jobs=2)
    assert not result.failed and Counting.submitted == ["_process_batch"] * 3  # too few to batch: one file a task
    Counting.submitted = []
    alone = pipeline.scan([folder / "s0.csv"], tmp_path / "out1", Config(), ledger=False, summary=False, jobs=2)
    assert not alone.failed and alone.files[0].output and Counting.submitted == []  # one chunk: no worker at all


def _batch(exports: Path, tmp: Path, extra: str = "") -> Path:
    """week.xlsx (150 notes, split: three chunks), three small CSVs (whole) and maybe one more file."""
    folder = tmp / "in"
    folder.mkdir()
    (folder / "week.xlsx").write_bytes((exports / "small" / "week.xlsx").read_bytes())
    for i in range(3):
        (folder / f"s{i}.csv").write_text(f"Note ID,Note\nn{i},Client cried; writer moved on.\n", encoding="utf-8")
    if extra:
        (folder / extra).write_bytes(b"PK\x03\x04 not a workbook at all" * 10_000)
    return folder


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_worker_killed_checking_a_split_file_loses_only_that_file(exports, tmp_path, monkeypatch):
    """As the OOM killer does, on one note of a split workbook: that file gets one line, the batch goes on."""
    import multiprocessing
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched engine reaches the workers only when they are forked")
    folder = _batch(exports, tmp_path)
    monkeypatch.setattr(pipeline, "SPLIT_BYTES", 20_000)  # week.xlsx is split, the CSVs go whole
    parent, real = os.getpid(), Engine.check

    def dies_on_one_note(self, note):
        if note.note_id == "bench-000120" and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, note)
    monkeypatch.setattr(Engine, "check", dies_on_one_note)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(folder), "--out", str(out), "--no-ledger", "--jobs", "2"])
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: week.xlsx: the process checking it stopped (killed by the system, often for lack of memory); the file "
        "was skipped: split the export into smaller files or free memory and scan it again"]
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["files"] == 4 and run["counts"]["files_failed"] == 1 and run["counts"]["notes"] == 3
    assert sorted(p.name for p in out.glob("*.annotated.*")) == ["s0.annotated.csv", "s1.annotated.csv",
                                                                "s2.annotated.csv"]


def test_bad_or_failing_split_file_gives_one_line(exports, tmp_path, monkeypatch):
    """A large file that cannot be read, and one whose checking fails in a worker: each its one line,
    as with --jobs 1, and the other files are done."""
    folder = _batch(exports, tmp_path, extra="broken.xlsx")
    monkeypatch.setattr(pipeline, "SPLIT_BYTES", 20_000)
    real = Engine.check

    def fails_on_one_note(self, note):
        if note.note_id == "bench-000120":
            raise RuntimeError("Client cried")  # note text in an exception must not reach the user
        return real(self, note)
    monkeypatch.setattr(Engine, "check", fails_on_one_note)
    lines = {}
    for jobs in ("1", "2"):
        result = CliRunner().invoke(main, ["scan", str(folder), "--out", str(tmp_path / jobs), "--no-ledger",
                                           "--jobs", jobs])
        assert result.exit_code == 3, result.output
        assert "Traceback" not in result.output and "cried" not in result.output
        lines[jobs] = sorted(result.stderr.strip().splitlines())
        run = json.loads((tmp_path / jobs / "run.json").read_text())
        assert run["counts"]["files"] == 5 and run["counts"]["files_failed"] == 2
    assert lines["2"] == lines["1"] and len(lines["2"]) == 2
    assert lines["2"][0].startswith("error: broken.xlsx: ")
    assert lines["2"][1].startswith("error: week.xlsx: internal error")


# ---- small files in batches: one worker task for several files -------------------------------

def _small_folder(tmp: Path, n: int) -> Path:
    """n one-note CSVs, most with findings, one unreadable (its one line must keep its place)."""
    folder = tmp / "in"
    folder.mkdir()
    texts = ["Client cried; I reassured her it would be fine and moved on.",
             "Client said she wants to kill herself tonight; safety plan made.",
             "Reviewed homework; client practised breathing."]
    for i in range(n):
        (folder / f"s{i:02d}.csv").write_text(
            f"Note ID,Clinician,Client,Date of Service,Note\nn{i},Dr Lee,C{i % 4},2024-03-{i % 27 + 1:02d},"
            f"{texts[i % 3]}\n", encoding="utf-8")
    (folder / "s07.csv").write_bytes(b"\xff\xfe\x00garbage")
    return folder


def test_small_files_in_batches_same_as_one_job(tmp_path, monkeypatch):
    folder = _small_folder(tmp_path, 20)
    monkeypatch.setattr(pipeline, "CHUNKS_PER_JOB", 1)  # 20 files, 2 jobs: batches of 8, 8 and 4
    one = _scan([folder], tmp_path / "one", tmp_path / "one.sqlite3", jobs=1)
    key = tmp_path / "two.sqlite3.key"
    key.write_bytes((tmp_path / "one.sqlite3.key").read_bytes())
    key.chmod(0o600)
    Counting.submitted = []
    monkeypatch.setattr(pool, "ProcessPoolExecutor", Counting)
    seen = []
    two = pipeline.scan([folder], tmp_path / "two", Config(), ledger=True, ledger_path=tmp_path / "two.sqlite3",
                        jobs=2, comment_date=FIXED, summary=False, progress=lambda r: seen.append(Path(r.path).name))
    assert Counting.submitted == ["_process_batch"] * 3
    assert seen == [Path(r.path).name for r in one.files] == sorted(p.name for p in folder.iterdir())
    assert [(r.path, r.ok, r.error, r.output) for r in two.files] == [
        (r.path, r.ok, r.error, r.output.replace("/one/", "/two/")) for r in one.files]
    assert [r.ok for r in two.files].count(False) == 1 and not two.files[7].ok
    assert [f.to_dict() for f in two.findings] == [f.to_dict() for f in one.findings] and one.findings
    assert (tmp_path / "two" / "findings.jsonl").read_bytes() == (tmp_path / "one" / "findings.jsonl").read_bytes()
    for a, b in zip(one.files, two.files):
        if a.ok:
            assert Path(b.output).read_bytes() == Path(a.output).read_bytes()
    assert _ledger_rows(tmp_path / "two.sqlite3") == _ledger_rows(tmp_path / "one.sqlite3")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_worker_killed_in_a_batch_loses_only_its_file(tmp_path, monkeypatch):
    """The file that kills its worker is in a batch with others: they are run again alone and kept."""
    import multiprocessing
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched function reaches the workers only when they are forked")
    folder = _small_folder(tmp_path, 20)
    monkeypatch.setattr(pipeline, "CHUNKS_PER_JOB", 1)
    parent, real = os.getpid(), pipeline.process_file

    def dies_on_one(path, *a, **k):
        if Path(path).name == "s10.csv" and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *a, **k)
    monkeypatch.setattr(pipeline, "process_file", dies_on_one)
    result = pipeline.scan([folder], tmp_path / "out", Config(), ledger=False, summary=False, jobs=2)
    failed = {Path(r.path).name: r.error for r in result.files if not r.ok}
    assert sorted(failed) == ["s07.csv", "s10.csv"]
    assert failed["s10.csv"].startswith("s10.csv: the process reading it stopped (killed by the system")
    assert [Path(r.path).name for r in result.files] == sorted(p.name for p in folder.iterdir())
    assert len(list((tmp_path / "out").glob("*.annotated.csv"))) == 18
