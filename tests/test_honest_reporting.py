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
