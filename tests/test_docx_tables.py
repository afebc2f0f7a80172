"""Word exports whose notes sit in tables: one row per note (as a sheet would hold them), and
one note written as a label|value table whose section rows are prose (a third hostile battery:
both used to read as header fields, the note text unchecked, exit 0)."""
from __future__ import annotations

import json
import zipfile

from click.testing import CliRunner
from docx import Document
from lxml import etree

from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.readers import read

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CLIN = "Dana Whitfield, LPC"
R1 = "Client cried about her mother's death. I quickly changed the subject to her work schedule."
R3 = "Client was tearful about losing his job. I reassured him it would all work out."
CLEAN = "Client discussed plans for the weekend. We reviewed her sleep log."


def _table(doc, rows):
    t = doc.add_table(rows=len(rows), cols=len(rows[0]))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            t.cell(i, j).text = v
    return t


def _findings(out):
    return [json.loads(line) for line in (out / "findings.jsonl").read_text().splitlines()]


def test_a_table_with_one_note_per_row_gives_one_note_per_row(tmp_path):
    doc = Document()
    doc.add_heading("Progress notes, week of 2026-03-02", 1)
    _table(doc, [["Note ID", "Date of Service", "Client", "Clinician", "Note"]]
           + [[f"T-{i}", f"03/0{i + 2}/2026", f"Client {i}", CLIN, text] for i, text in enumerate([R1, R3, CLEAN])])
    doc.save(tmp_path / "week.docx")
    _, got = read(tmp_path / "week.docx", Config())
    assert [(n.note_id, n.client, n.clinician, n.date) for n in got.notes] == [
        ("T-0", "Client 0", CLIN, "2026-03-02"), ("T-1", "Client 1", CLIN, "2026-03-03"),
        ("T-2", "Client 2", CLIN, "2026-03-04")]
    assert [n.text for n in got.notes] == [R1, R3, CLEAN] and not got.warnings

    res = CliRunner().invoke(main, ["scan", str(tmp_path / "week.docx"), "--out", str(tmp_path / "out"),
                                    "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 0, res.output
    found = {(f["note_id"], f["item"]) for f in _findings(tmp_path / "out")}
    assert ("T-0", "R1") in found and ("T-1", "R3") in found and not any(nid == "T-2" for nid, _ in found)
    with zipfile.ZipFile(tmp_path / "out" / "week.annotated.docx") as z:
        root = etree.fromstring(z.read("word/document.xml"))
    # each highlight sits in a note's cell, on the sentence that was flagged
    lit = ["".join(r.itertext()) for r in root.iter(W + "r") if r.find(f"{W}rPr/{W}highlight") is not None]
    assert "".join(lit) == "I quickly changed the subject to her work schedule.I reassured him it would all work out."
    cells = [tc for tc in root.iter(W + "tc") if tc.find(f".//{W}commentRangeStart") is not None]
    assert ["".join(tc.itertext()) for tc in cells] == [R1, R3]


def test_title_and_signature_lines_beside_a_notes_table_are_not_notes(tmp_path):
    doc = Document()
    doc.add_paragraph("Riverbend Counseling Collective - notes for week of 03/02/2026")
    _table(doc, [["Date of Service", "Client", "Clinician", "Note"]]
           + [[f"2026-03-0{2 + i}", f"Client {i}", CLIN, text] for i, text in enumerate([R1, R3])]
           + [["Date of Service", "Client", "Clinician", "Note"]]  # the header row repeated at a page break
           + [["2026-03-05", "Client 9", CLIN, CLEAN], ["2026-03-06", "Client 8", CLIN, ""]])
    doc.add_paragraph("Electronically signed by Dana Whitfield, LPC.")
    doc.save(tmp_path / "table4.docx")
    _, got = read(tmp_path / "table4.docx", Config())
    assert [n.client for n in got.notes] == ["Client 0", "Client 1", "Client 9"]
    assert got.skipped == 1
    assert any("2 short lines outside the notes table" in w for w in got.warnings)
    assert any("1 table row with no note text" in w for w in got.warnings)


def test_label_value_header_tables_are_not_taken_for_notes_tables(tmp_path):
    doc = Document()
    _table(doc, [["Client", "Jane D.", "Date", "03/02/2026"], ["Clinician", CLIN, "Note ID", "H-1"]])
    doc.add_paragraph(R1)
    doc.save(tmp_path / "head.docx")
    _, got = read(tmp_path / "head.docx", Config())
    assert [(n.note_id, n.client, n.text) for n in got.notes] == [("H-1", "Jane D.", R1)]


def test_prose_rows_of_a_label_value_note_are_checked_and_short_fields_stay_fields(tmp_path):
    doc = Document()
    doc.add_heading("Progress Note", 1)
    _table(doc, [["Client", "Jane D."], ["Date of Service", "03/02/2026"], ["Clinician", CLIN], ["Note ID", "D25"],
                 ["Service", "Individual, 53 min"],
                 ["Subjective", "Client cried about her mother's death and said she still sets a place for her."],
                 ["Intervention", "I quickly changed the subject to her work schedule."],
                 ["Plan", "Meet next week."]])
    doc.add_paragraph("Electronically signed by Dana Whitfield, LPC on 03/02/2026.")
    doc.save(tmp_path / "soap.docx")
    _, got = read(tmp_path / "soap.docx", Config())
    [note] = got.notes
    assert note.fields.get("Service") == "Individual, 53 min"
    assert "I quickly changed the subject to her work schedule." in note.text and "Meet next week." in note.text
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "soap.docx"), "--out", str(tmp_path / "out"),
                                    "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 0, res.output
    assert [(f["note_id"], f["item"]) for f in _findings(tmp_path / "out")] == [("D25", "R1")]


def test_a_clinician_cell_merged_down_over_several_notes_names_each_of_them(tmp_path):
    doc = Document()
    t = _table(doc, [["Week of 2026-03-02", "", "", "", ""],
                     ["Client", "Clinician", "Note ID", "Date of Service", "Note"],
                     ["Ann Lee", CLIN, "M-1", "2026-03-02", R1], ["", "", "M-2", "2026-03-03", R3],
                     ["Cy Dee", "", "M-3", "2026-03-04", CLEAN]])
    t.cell(0, 0).merge(t.cell(0, 4))  # a title row spanning the table (gridSpan)
    t.cell(2, 0).merge(t.cell(3, 0))  # Ann Lee's two sessions (vMerge)
    t.cell(2, 1).merge(t.cell(4, 1))  # one clinician's block
    doc.save(tmp_path / "merged.docx")
    _, got = read(tmp_path / "merged.docx", Config())
    assert [(n.note_id, n.client, n.clinician) for n in got.notes] == [
        ("M-1", "Ann Lee", CLIN), ("M-2", "Ann Lee", CLIN), ("M-3", "Cy Dee", CLIN)]
    assert [n.text for n in got.notes] == [R1, R3, CLEAN]
