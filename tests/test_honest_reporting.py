"""Item 18 and 19 of issue 12: run.json counts what was skipped; a letter or
history failure says what really happened and a history failure has its own exit code."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from notesplugin import pipeline
from notesplugin.cli import main
from notesplugin.config import Config

FLAG = "Client cried about her mother's death. I told her it would all be fine and moved on."


def write_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["Note ID,Clinician,Date,Note"] + [",".join(f'"{c}"' for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_run_json_counts_skipped_notes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_csv(src / "a.csv", [("1", "Dr A", "2026-01-05", FLAG), ("2", "Dr A", "2026-01-06", ""),
                              ("3", "Dr A", "2026-01-07", "x" * 300)])
    cfg = Config(max_note_chars=200)
    res = pipeline.scan([src], tmp_path / "out", cfg, ledger=False, summary=False)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["counts"]["notes"] == 1
    assert run["counts"]["notes_skipped"] == 2  # one empty row, one note over the limit
    assert res.counts()["notes_skipped"] == 2


def test_run_json_counts_skipped_docx_notes(tmp_path):
    from docx import Document

    src = tmp_path / "in"
    src.mkdir()
    doc = Document()
    for p in ["Note ID: a1", "Clinician: Dr A", "Date: 2026-01-05", FLAG,
              "Note ID: a2", "Clinician: Dr A", "Date: 2026-01-06", "y " * 150]:
        doc.add_paragraph(p)
    doc.save(src / "d.docx")
    pipeline.scan([src], tmp_path / "out", Config(max_note_chars=200), ledger=False, summary=False)
    counts = json.loads((tmp_path / "out" / "run.json").read_text())["counts"]
    assert (counts["notes"], counts["notes_skipped"]) == (1, 1)


# -- item 19 --------------------------------------------------------------------
def gap_folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    write_csv(src / "a.csv", [(str(i), "Dr A", f"2026-01-{5 + 7 * i:02d}", FLAG) for i in range(3)])
    return src


def test_letter_failure_says_history_was_recorded_and_exits_5(tmp_path):
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "consultation-request.md.j2").write_text("Dear {{ clinician }},\n{{ no_such_value }}\n")
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text(f'[practice]\ntemplates = "{tdir}"\n')
    ledger = tmp_path / "l.db"
    r = CliRunner().invoke(main, ["scan", str(gap_folder(tmp_path)), "--out", str(tmp_path / "out"),
                                  "--config", str(cfg), "--ledger", str(ledger)])
    assert r.exit_code == 5, r.output
    assert "history not recorded" not in r.output
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "letter for Dr A / grief not written" in err[0] and "line 2" in err[0]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["history_error"] is None and run["history"]["run"] and len(run["letter_errors"]) == 1
    from notesplugin.ledger import Ledger
    with Ledger(ledger, create=False) as led:
        assert led.count("runs") == 1 and led.findings()  # the findings were recorded


def test_history_failure_has_its_own_exit_code(tmp_path):
    bad = tmp_path / "ledger.db"
    bad.write_bytes(b"this is not a sqlite database at all" * 100)
    r = CliRunner().invoke(main, ["scan", str(gap_folder(tmp_path)), "--out", str(tmp_path / "out"),
                                  "--ledger", str(bad)])
    assert r.exit_code == 4, r.output
    assert "Traceback" not in r.output
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "history not recorded" in err[0]
    assert (tmp_path / "out" / "a.annotated.csv").is_file() and (tmp_path / "out" / "run.json").is_file()
