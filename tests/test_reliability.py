"""Nothing lost, crash-safe, repeatable, and no note text where it should not be."""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from notesplugin import pipeline, safety
from notesplugin.cli import main
from notesplugin.config import Config

FLAG = "Client cried about her mother's death. I told her it would all be fine and moved on."
MARKER = "Zebraquux"  # a word no message, log or summary may ever contain
PHI = f"Client cried about losing her job. I told {MARKER} it would all be fine and moved on."
FIXED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def make_docx(path: Path, paragraphs) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(path)
    return path


def make_xlsx(path: Path, rows, literal: bool = True) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    for row in rows:
        ws.append(list(row))
    if literal:  # exports hold text, never formulas
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    wb.save(path)
    return path


def inputs(folder: Path, n: int = 2, text: str = FLAG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        make_docx(folder / f"d{i}.docx", [f"Note ID: a{i}", "Clinician: Dr A", "Client: Ann Lee",
                                         f"Date: 2024-04-0{i % 9 + 1}", text,
                                         f"Note ID: b{i}", "Clinician: Dr B", "Client was tearful."])
        make_xlsx(folder / f"x{i}.xlsx", [("Note ID", "Clinician", "Client", "Date of Service", "Note")]
                  + [(f"x{i}-{k}", "Dr C", f"Client {k}", f"2024-04-{k + 1:02d}", text) for k in range(5)])
    (folder / "c.csv").write_text(f'Note ID,Clinician,Note\nc1,Dr D,"{text}"\nc2,Dr D,Client was tearful.\n',
                                  encoding="utf-8")
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def scan_cli(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTESPLUGIN")}
    env.update(XDG_CONFIG_HOME=str(tmp / "xdg-config"), XDG_DATA_HOME=str(tmp / "xdg-data"), HOME=str(tmp))
    return env


def ledger_ok(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    from notesplugin.ledger import Ledger
    with Ledger(path, create=False) as led:
        assert led.schema_version() >= 1


# ---- nothing lost --------------------------------------------------------------

def test_inputs_never_modified(tmp_path):
    src = inputs(tmp_path / "in")
    before = digests(src)
    result = scan_cli(str(src), "--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "l" / "ledger.sqlite3"))
    assert result.exit_code == 0, result.output
    assert digests(src) == before
    assert len(list((tmp_path / "out").glob("*.annotated.*"))) == len(before)


def _garble_docx(monkeypatch) -> None:
    """Every zip written from now on gets a changed word in its Word body (the writer's output)."""
    real = zipfile.ZipFile.writestr

    def writestr(self, info, data, *a, **k):
        name = getattr(info, "filename", info)
        if name == "word/document.xml":
            data = (data.encode() if isinstance(data, str) else data).replace(b"tearful", b"cheerful")
        return real(self, info, data, *a, **k)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


@pytest.mark.parametrize("kind", ["docx", "xlsx", "csv"])
def test_writer_refusal_leaves_no_copy(tmp_path, monkeypatch, kind):
    from notesplugin.writers import csv_writer, xlsx_writer
    src = inputs(tmp_path / "in", n=1)
    if kind == "docx":
        _garble_docx(monkeypatch)
    elif kind == "xlsx":
        real = xlsx_writer.Sheet.patch

        def patch(self, *args):  # a bug that garbles an original cell
            return re.sub(rb'(<c r="A2"[^>]*>).*?(</c>)', rb"\1<v>999</v>\2", real(self, *args), count=1)
        monkeypatch.setattr(xlsx_writer.Sheet, "patch", patch)
    else:  # the input changes between reading and copying
        real = csv_writer.write_csv

        def write_csv(source, *args, **kwargs):
            with open(source.path, "a", encoding="utf-8") as fh:
                fh.write("c9,Client was cheerful.\n")
            return real(source, *args, **kwargs)
        monkeypatch.setattr(csv_writer, "write_csv", write_csv)
    out = tmp_path / "out"
    result = scan_cli(str(src), "--out", str(out), "--no-ledger")
    assert result.exit_code == 3, result.output
    bad = src / f"{'d0' if kind == 'docx' else 'x0' if kind == 'xlsx' else 'c'}.{kind}"
    assert f"error: {bad.name}: " in result.stderr and "no" in result.stderr and "written" in result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["files"][str(bad)] != "ok" and str(bad) not in run["outputs"]
    assert not list(out.glob(f"{bad.stem}.annotated*"))
    assert not list(out.glob(".*.part"))  # the temp was removed too
    assert sum(v == "ok" for v in run["files"].values()) == 2  # the other files were written


def test_tool_written_text_stays_literal(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    note = "Client cried about her mother's death.\n= I told her it would all be fine and moved on."
    make_xlsx(src / "f.xlsx", [("Note ID", "Note", "Comment"), ("f1", note, "=SUM(1,2)"), ("f2", "+cleared", "@x")])
    out = tmp_path / "out"
    result = scan_cli(str(src), "--out", str(out), "--no-ledger")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out / "f.annotated.xlsx") as zf:
        sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    assert all(b"<f>" not in s and b"<f " not in s for s in sheets)  # no formula anywhere
    wb = openpyxl.load_workbook(out / "f.annotated.xlsx")
    notes, found = wb["Notes"], wb["Findings"]
    assert notes["B2"].value == note and notes["C2"].value == "=SUM(1,2)" and notes["C3"].value == "@x"
    evidence = [c.value for c in found["J"][1:]]
    assert "= I told her it would all be fine and moved on." in evidence
    for row in found.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                assert cell.data_type == "s"


# ---- crash-safe ------------------------------------------------------------------

def _outputs_whole(out: Path) -> None:
    """Whatever a killed scan left under its final names is complete."""
    for p in (out.rglob("*") if out.exists() else []):
        if p.name.startswith(".") or p.is_dir():
            continue  # hidden: a temp a killed scan left (cleared by the next scan) or the lock
        if p.suffix == ".docx":
            doc = Document(p)
            if ".annotated." in p.name:
                assert any("Clinician" in para.text for para in doc.paragraphs)
        elif p.suffix == ".xlsx":
            book = openpyxl.load_workbook(p, read_only=True)
            if ".annotated." in p.name:
                assert book.sheetnames[-1] == "Findings"
        elif p.suffix == ".csv":
            assert p.read_text(encoding="utf-8").count("\n") == 3
        elif p.suffix == ".jsonl":
            for line in p.read_text().splitlines():
                json.loads(line)
        elif p.suffix == ".json":
            json.loads(p.read_text())


def test_killed_scan_leaves_no_partial_output(tmp_path):
    src = inputs(tmp_path / "in", n=5)
    ledger = tmp_path / "ledger" / "ledger.sqlite3"
    env = child_env(tmp_path)

    def run(out: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "notesplugin.cli", "scan", str(src), "--out", str(out),
                                 "--ledger", str(ledger), "-q"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    start = time.monotonic()
    ref = run(tmp_path / "ref")
    assert ref.wait(120) == 0, ref.stderr.read().decode()
    full = time.monotonic() - start  # kill points are spread over one whole run on this machine
    killed = tmp_path / "killed"
    for frac in (0.25, 0.45, 0.65, 0.85, 0.95):
        proc = run(killed)
        time.sleep(full * frac)
        proc.kill()
        proc.wait(30)
        _outputs_whole(killed)
        ledger_ok(ledger)
    # a stale temp from a crash, as atomic_path names them, is cleared by the next scan
    stale = killed / ".d0.annotated.docx.k1ll3d_x.part"
    stale.write_bytes(b"half a file")
    again = run(killed)
    assert again.wait(120) == 0, again.stderr.read().decode()
    assert not stale.exists() and not list(killed.glob(".*.part"))
    assert (killed / "findings.jsonl").read_text() == (tmp_path / "ref" / "findings.jsonl").read_text()
    assert json.loads((killed / "run.json").read_text())["counts"] == json.loads(
        (tmp_path / "ref" / "run.json").read_text())["counts"]
    ledger_ok(ledger)


def test_live_scan_temps_are_not_cleared(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    temp = out / ".x.annotated.docx.abcd1234.part"
    other = out / ".hidden.part"  # not a name atomic_path makes
    temp.write_bytes(b"")
    other.write_bytes(b"")
    with safety.claim_out_dir(out) as removed:  # a scan is running here
        assert removed == [temp]
        temp.write_bytes(b"")
        with safety.claim_out_dir(out) as removed2:  # a second scan must not touch the first's temps
            assert removed2 == [] and temp.exists()
    assert other.exists()


def test_two_scans_share_a_ledger(tmp_path):
    src = inputs(tmp_path / "in", n=2)
    ledger = tmp_path / "same.sqlite3"
    env = child_env(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "notesplugin.cli", "scan", str(src), "--out",
                               str(tmp_path / f"out{i}"), "--ledger", str(ledger), "--format", "json"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (stdout, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr.decode()
        assert b"warning" not in stderr  # history was recorded by both
    ledger_ok(ledger)
    for i in range(2):
        assert json.loads((tmp_path / f"out{i}" / "run.json").read_text())["history_error"] is None


# ---- repeatable ------------------------------------------------------------------

def test_rerun_gives_same_findings_and_bytes(tmp_path):
    src = inputs(tmp_path / "in", n=1)
    a = pipeline.scan([src], tmp_path / "a", Config(), ledger=False, comment_date=FIXED)
    b = pipeline.scan([src], tmp_path / "b", Config(), ledger=False, comment_date=FIXED)
    assert a.run_id != b.run_id
    fa, fb = ((tmp_path / d / "findings.jsonl").read_text() for d in "ab")
    assert fa == fb and fa.count("\n") >= 7
    for name in ("d0.annotated.docx", "c.annotated.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    wa, wb = (openpyxl.load_workbook(tmp_path / d / "x0.annotated.xlsx") for d in "ab")
    for title in wa.sheetnames:
        assert [[c.value for c in r] for r in wa[title].iter_rows()] == \
               [[c.value for c in r] for r in wb[title].iter_rows()]


# ---- PHI ----------------------------------------------------------------------------

def test_full_scan_without_network(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network use")
    for name in ("socket", "create_connection", "getaddrinfo", "socketpair"):
        monkeypatch.setattr(socket, name, refuse)
    src = inputs(tmp_path / "in", n=2)
    result = pipeline.scan([src], tmp_path / "out", Config(), ledger_path=tmp_path / "l.sqlite3", comment_date=FIXED)
    assert not result.failed and result.history_error == ""
    assert result.counts()["rescuing_flagged"] >= 10


def _phi_inputs(tmp_path: Path) -> Path:
    src = inputs(tmp_path / "in", n=1, text=PHI)
    # a failing file whose cells hold the marker: the error lists columns, never note text
    make_xlsx(src / "nocol.xlsx", [("Alpha", "Beta"), (PHI, PHI + " and more words to be long")])
    return src


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_note_text_in_output_without_show_evidence(tmp_path, fmt):
    src = _phi_inputs(tmp_path)
    out = tmp_path / "out"
    result = scan_cli(str(src), "--out", str(out), "--ledger", str(tmp_path / "l.sqlite3"), "--format", fmt)
    assert result.exit_code == 3
    assert MARKER not in result.stdout + result.stderr
    run = (out / "run.json").read_text()
    assert "nocol.xlsx: no note column" in run and MARKER not in run
    # the marker does reach the terminal when asked for, so the check above can fail
    shown = scan_cli(str(src), "--out", str(tmp_path / "out2"), "--no-ledger", "--show-evidence")
    assert MARKER in shown.stdout


def test_internal_error_reports_no_note_text(tmp_path, monkeypatch, caplog):
    src = inputs(tmp_path / "in", n=1, text=PHI)

    class Boom:
        def check(self, note):
            raise RuntimeError(f"failed on {note.text}")
    monkeypatch.setattr(pipeline, "_engine", lambda config: Boom())
    caplog.set_level("DEBUG", logger="notesplugin")
    result = scan_cli(str(src), "--out", str(tmp_path / "out"), "--no-ledger")
    assert result.exit_code == 3
    assert "internal error (RuntimeError)" in result.stderr
    assert MARKER not in result.stdout + result.stderr + caplog.text
    assert MARKER not in (tmp_path / "out" / "run.json").read_text()


def test_outputs_readable_by_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        src = inputs(tmp_path / "in", n=3, text=PHI)
        out = tmp_path / "new" / "out"
        ledger = tmp_path / "state" / "ledger.sqlite3"
        result = scan_cli(str(src), "--out", str(out), "--ledger", str(ledger))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(out) == 0o700 and mode(ledger.parent) == 0o700
    files = [p for p in out.rglob("*") if p.is_file()] + [p for p in ledger.parent.iterdir() if p.is_file()]
    assert len(files) >= 10
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert all(mode(d) == 0o700 for d in out.rglob("*") if d.is_dir())


# ---- the output folder (#12 items 7, 8) ---------------------------------------------

def _unwritable(monkeypatch, folder: Path) -> None:
    """folder refuses new entries, as a read-only folder does for a non-root user.
    Root ignores permission bits, so the OS answer is given here for every mkdir/open inside it."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return
    real_open, real_mkdir = os.open, os.mkdir

    def refuse(path) -> bool:
        return Path(path).resolve().parent == folder.resolve()

    def fake_open(path, flags, *a, **k):
        if refuse(path) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *a, **k)

    def fake_mkdir(path, *a, **k):
        if refuse(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *a, **k)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


@pytest.mark.parametrize("below", [False, True])  # --out is the read-only folder, or a new folder inside it
def test_read_only_out_folder_is_a_usage_error(tmp_path, monkeypatch, below):
    src = inputs(tmp_path / "in", n=1)
    ro = tmp_path / "ro"
    ro.mkdir()
    out = ro / "new" if below else ro
    _unwritable(monkeypatch, ro)
    try:
        result = scan_cli(str(src), "--out", str(out), "--no-ledger")
    finally:
        ro.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert f"{out}: cannot write the output folder (Permission denied); choose another --out" in result.stderr


def test_out_below_a_regular_file_is_a_usage_error(tmp_path):
    src = inputs(tmp_path / "in", n=1)
    (tmp_path / "afile").write_text("x")
    result = scan_cli(str(src), "--out", str(tmp_path / "afile" / "sub"), "--no-ledger")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "afile/sub: cannot write the output folder (a part of the path is a file, not a folder)" in result.stderr


@pytest.mark.parametrize("key,mode,ok", [
    ("file_mode", "0", False), ("file_mode", "0200", False), ("file_mode", "0666", False),
    ("file_mode", "0604", False), ("file_mode", "04600", False), ("file_mode", "0600", True),
    ("file_mode", "0640", True), ("dir_mode", "0600", False), ("dir_mode", "0755", False),
    ("dir_mode", "0700", True), ("dir_mode", "0750", True)])
def test_output_modes_validated(tmp_path, key, mode, ok):
    from notesplugin.config import ConfigError, load_config
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text(f'[output]\n{key} = "{mode}"\n')
    if ok:
        assert getattr(load_config(cfg), key) == int(mode, 8)
    else:
        with pytest.raises(ConfigError, match=f"'output.{key}' = \"{mode}\" .*owner"):
            load_config(cfg)
        result = scan_cli(str(inputs(tmp_path / "in", n=1)), "--out", str(tmp_path / "out"), "--no-ledger",
                          "--config", str(cfg))
        assert result.exit_code == 2 and f"output.{key}" in result.stderr
        assert not (tmp_path / "out").exists()


def test_write_failure_mid_batch_names_the_reason(tmp_path, monkeypatch):
    """An OS error writing one copy (a full disk) is that file's one line, not an internal error."""
    from notesplugin import fileio
    src = inputs(tmp_path / "in", n=1)
    real = fileio.os.replace

    def full(a, b):
        if str(b).endswith(".annotated.csv"):
            raise OSError(28, "No space left on device")
        return real(a, b)
    monkeypatch.setattr(fileio.os, "replace", full)
    result = scan_cli(str(src), "--out", str(tmp_path / "out"), "--no-ledger")
    assert result.exit_code == 3
    line = [x for x in result.stderr.splitlines() if x.startswith("error: c.csv: ")]
    assert len(line) == 1 and "(No space left on device)" in line[0] and "internal error" not in line[0]


# ---- a broken practice checklist (#12 item 13) ----------------------------------------

@pytest.mark.parametrize("command", [["explain", "R3"], ["checklist", "show"], ["scan", "IN", "--out", "OUT",
                                                                               "--no-ledger"]])
def test_broken_practice_checklist_is_a_usage_error_everywhere(tmp_path, command):
    bad = tmp_path / "mine.toml"
    bad.write_text('checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "x"\ncues = [\'\'\'(unclosed\'\'\']\n')
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text('[checklists]\nfiles = ["mine.toml"]\n')
    src = inputs(tmp_path / "in", n=1)
    args = [str(src) if a == "IN" else str(tmp_path / "out") if a == "OUT" else a for a in command]
    result = CliRunner().invoke(main, [*args, "--config", str(cfg)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert 'mine.toml: item #1 (X1) cues[0]: pattern "(unclosed" does not compile' in result.stderr


# ---- a worker killed under --jobs (#12 item 10) ----------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_worker_loses_only_its_file(tmp_path, monkeypatch):
    """As the OOM killer does: the worker reading one file dies. The other files' results are kept,
    the lost file is named, and findings.jsonl and run.json are written."""
    import multiprocessing
    import signal
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched reader reaches the workers only when they are forked")
    src = inputs(tmp_path / "in", n=3)
    make_docx(src / "huge.docx", ["Note ID: h1", FLAG])
    parent, real = os.getpid(), pipeline.process_file

    def dies_on_huge(path, *a, **k):
        if Path(path).name == "huge.docx" and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *a, **k)
    monkeypatch.setattr(pipeline, "process_file", dies_on_huge)
    out = tmp_path / "out"
    result = scan_cli(str(src), "--out", str(out), "--no-ledger", "--jobs", "2")
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [line for line in lines if "huge.docx: the process reading it stopped" in line] and len(lines) == 1
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["files"] == 8 and run["counts"]["files_failed"] == 1
    assert all(v == "ok" for k, v in run["files"].items() if not k.endswith("huge.docx"))
    ref = pipeline.scan([src], tmp_path / "ref", Config(), ledger=False)  # the same files in one process
    findings = (out / "findings.jsonl").read_text().splitlines()
    assert len(findings) == len(ref.findings) - sum(f.file.endswith("huge.docx") for f in ref.findings) > 0
    # the pool stops the other worker too, perhaps mid-write: its file is read again and written whole;
    # a hidden temp it left is cleared by the next scan, as after a killed scan
    assert len([p for p in out.glob("*.annotated.*") if not p.name.startswith(".")]) == 7
    _outputs_whole(out)


# ---- a practice's cues run in linear time (#12 item 12) -----------------------------------

def _practice(tmp: Path, cue: str, item: str = "X1") -> Path:
    (tmp / "mine.toml").write_text(
        f'checklist = "rescuing"\n[[item]]\nid = "{item}"\nname = "practice"\nactor = "any"\n'
        f"cues = ['''{cue}''']\n")
    cfg = tmp / "notesplugin.toml"
    cfg.write_text('[checklists]\nfiles = ["mine.toml"]\n')
    return cfg


def test_catastrophic_practice_cue_does_not_hang_the_scan(tmp_path):
    cfg = _practice(tmp_path, "(a+)+$")
    src = tmp_path / "in"
    src.mkdir()
    (src / "n.csv").write_text("Note ID,Note\nn1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\nn2,aaaa\n", encoding="utf-8")
    env = child_env(tmp_path)
    try:  # python's re takes ~2^40 steps on the first note; a deadline turns a hang into a failure
        proc = subprocess.run([sys.executable, "-m", "notesplugin.cli", "scan", str(src), "--out",
                               str(tmp_path / "out"), "--no-ledger", "--config", str(cfg), "-q"],
                              capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("the scan hung on a practice cue that backtracks")
    assert proc.returncode == 0, proc.stderr
    found = [json.loads(x) for x in (tmp_path / "out" / "findings.jsonl").read_text().splitlines()]
    assert [(f["note_id"], f["item"]) for f in found] == [("n2", "X1")]  # the cue still works where it matches


def test_practice_cues_keep_their_meaning_on_re2(tmp_path):
    from notesplugin.checklists import load
    from notesplugin.checklists.engine import Engine
    from notesplugin.model import Note
    _practice(tmp_path, r"\b(?P<act>TOLD)\s+(?:her|him)\s+(?-i:it)\s+would\b")
    lists = load([tmp_path / "mine.toml"])
    x1 = lists.get("X1")
    assert type(x1.cues[0]).__module__.startswith("re2")  # a practice's cue runs on RE2 ...
    assert all(isinstance(c, __import__("re").Pattern) for c in lists.get("R3").cues)  # ... the shipped ones on re
    assert x1.cues[0].search("I told her it would be fine")  # case-insensitive
    assert not x1.cues[0].search("I told her IT would be fine")  # (?-i:...) honoured
    engine = Engine(lists, model=False)
    note = Note(note_id="n1", file="f.csv", text="Client was calm. I told her it would all work out.")
    assert "X1" in {f.item for f in engine.check(note)}  # the act group is read on an RE2 match


@pytest.mark.parametrize("cue", [r"(?<!not )told her", r"(told) \1", r"told(?= her)"])
def test_practice_cue_needing_backtracking_refused_at_load(tmp_path, cue):
    from notesplugin.checklists import ChecklistError, load
    _practice(tmp_path, cue)
    with pytest.raises(ChecklistError, match=r"mine.toml: item #1 \(X1\) cues\[0\]: pattern .* needs a "
                                             r"backtracking feature .*linear time"):
        load([tmp_path / "mine.toml"])
    result = CliRunner().invoke(main, ["checklist", "test", str(tmp_path / "mine.toml")])
    assert result.exit_code == 2 and "linear time" in result.stderr
    assert f'pattern "{cue}"' in result.stderr and "b'" not in result.stderr  # as typed, no Python reprs
