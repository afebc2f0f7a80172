"""Messy real-world exports: each variant must yield the right notes, IDs, people,
ISO dates and the full note text (header lines left out) exactly once."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from openpyxl.styles import Font

from notesplugin.config import Config
from notesplugin.readers import read
from notesplugin.docx_text import body_paragraphs, paragraph_text

CFG = Config()
B1 = "Client reported panic attacks at work twice this week."
B2 = "Writer reassured her that everything would be fine."
B3 = "Client denied SI/HI; safety plan reviewed."
B4 = "Client said, \"I can't keep doing this\", and cried."
SIGN = "Electronically signed by A. Smith, LPC on 03/02/2026 14:05"


def _read(path: Path):
    return read(path, CFG)[1].notes


def _check_docx_segments(path: Path, notes) -> None:
    """Every segment maps back onto its source paragraph's text (the writer relies on it)."""
    doc = Document(str(path))
    paras = body_paragraphs(doc.element.body)
    for n in notes:
        for seg in n.segments:
            ptext = paragraph_text(paras[seg.location["paragraph"]])[0]
            assert n.text[seg.start:seg.end] == ptext[seg.offset:seg.offset + seg.end - seg.start]


def _expect(notes, rows) -> None:
    """rows: (note_id, client, clinician, iso date, text) per note, in order."""
    got = [(n.note_id, n.client, n.clinician, n.date, n.text) for n in notes]
    assert got == rows


# ---------------------------------------------------------------- DOCX builders

def _hr(doc) -> None:
    p = doc.add_paragraph()
    p._p.get_or_add_pPr().append(parse_xml(
        f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="1" w:color="auto"/></w:pBdr>'))


def _page_break(doc) -> None:
    doc.add_page_break()


def _body(doc, paras, sign=True) -> None:
    for t in paras:
        doc.add_paragraph(t)
    if sign:
        doc.add_paragraph(SIGN)


def test_docx_several_fields_on_one_line(tmp_path):
    doc = Document()
    for i, (nid, body) in enumerate([("1001", [B1, B2]), ("1002", [B3])]):
        if i:
            _page_break(doc)
        doc.add_heading("Progress Note", level=1)
        doc.add_paragraph(f"Client: Jane D.    DOS: 03/0{2 + i}/2026    Provider: A. Smith, LPC")
        doc.add_paragraph(f"Note ID: {nid}    Service: 90834    Location: Office")
        _body(doc, body)
    path = tmp_path / "oneline.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("1001", "Jane D.", "A. Smith, LPC", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("1002", "Jane D.", "A. Smith, LPC", "2026-03-03", f"{B3}\n{SIGN}"),
    ])
    assert notes[0].fields.get("Service") == "90834"
    _check_docx_segments(path, notes)


def test_docx_tab_separated_fields(tmp_path):
    doc = Document()
    doc.add_paragraph("Client:\tJane D.\tDate of Service:\tMarch 2, 2026")
    doc.add_paragraph("Clinician:\tA. Smith\tNote #:\tN-7")
    _body(doc, [B1, B2])
    doc.add_paragraph("Client: Bo K.\tDate of Service: 3/9/2026\tClinician: A. Smith\tNote #: N-8")
    _body(doc, [B3])
    path = tmp_path / "tabs.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("N-7", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("N-8", "Bo K.", "A. Smith", "2026-03-09", f"{B3}\n{SIGN}"),
    ])
    _check_docx_segments(path, notes)


def test_docx_bold_labels_in_separate_runs(tmp_path):
    doc = Document()
    for nid, body in [("E-1", [B1]), ("E-2", [B2, B3])]:
        doc.add_heading("Progress Note", level=2)
        for label, value in [("Client:", "Jane D."), ("Session Date:", "03/02/2026"),
                             ("Therapist:", "A. Smith"), ("Encounter #:", nid)]:
            p = doc.add_paragraph()
            p.add_run(label).bold = True
            p.add_run(" " + value)
        _body(doc, body)
    # Markdown-ish asterisks from a text export pasted into Word.
    doc.add_paragraph("**Client:** Bo K.")
    doc.add_paragraph("**Date:** 03/09/2026")
    doc.add_paragraph("**Therapist:** A. Smith")
    doc.add_paragraph("**Encounter #:** E-3")
    _body(doc, [B4])
    path = tmp_path / "bold.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("E-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}"),
        ("E-2", "Jane D.", "A. Smith", "2026-03-02", f"{B2}\n{B3}\n{SIGN}"),
        ("E-3", "Bo K.", "A. Smith", "2026-03-09", f"{B4}\n{SIGN}"),
    ])
    _check_docx_segments(path, notes)


def test_docx_four_column_header_table(tmp_path):
    doc = Document()
    for i, (nid, body) in enumerate([("T-1", [B1, B2]), ("T-2", [B3])]):
        if i:
            _page_break(doc)
        t = doc.add_table(rows=2, cols=4)
        vals = [["Note ID", nid, "Client", "Jane D."], ["Date of Service", "2026-03-02", "Clinician", "A. Smith"]]
        for r, row in enumerate(vals):
            for c, v in enumerate(row):
                t.cell(r, c).text = v
        _body(doc, body)
    path = tmp_path / "four.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("T-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("T-2", "Jane D.", "A. Smith", "2026-03-02", f"{B3}\n{SIGN}"),
    ])


def _merged_title_note(doc, nid: str, client: str, date: str, body: list[str]) -> None:
    t = doc.add_table(rows=5, cols=2)
    t.style = "Table Grid"
    title = t.cell(0, 0).merge(t.cell(0, 1))
    title.text = "INDIVIDUAL PSYCHOTHERAPY PROGRESS NOTE"
    for r, (label, value) in enumerate([("Patient Name", client), ("Date of Visit", date),
                                        ("Rendering Clinician", "A. Smith, LPC"), ("Visit ID", nid)], start=1):
        t.cell(r, 0).text, t.cell(r, 1).text = label, value
    _body(doc, body)


def test_docx_header_table_with_merged_title_row(tmp_path):
    doc = Document()
    _merged_title_note(doc, "V-1", "Jane D.", "2-Mar-2026", [B1, B2])
    _page_break(doc)
    _merged_title_note(doc, "V-2", "Bo K.", "03/09/26", [B3])
    path = tmp_path / "merged.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("V-1", "Jane D.", "A. Smith, LPC", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("V-2", "Bo K.", "A. Smith, LPC", "2026-03-09", f"{B3}\n{SIGN}"),
    ])
    _check_docx_segments(path, notes)


def test_docx_notes_separated_only_by_repeated_heading_with_headers(tmp_path):
    doc = Document()
    for nid, date, body in [("H-1", "2026/03/02", [B1]), ("H-2", "March 9, 2026", [B2, B3])]:
        doc.add_heading("Progress Note", level=1)
        doc.add_paragraph(f"Note ID: {nid}")
        doc.add_paragraph("Client: Jane D.")
        doc.add_paragraph(f"Service Date: {date}")
        doc.add_paragraph("Provider: A. Smith")
        _body(doc, body)
    path = tmp_path / "heading_hdr.docx"
    doc.save(path)
    _expect(_read(path), [
        ("H-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}"),
        ("H-2", "Jane D.", "A. Smith", "2026-03-09", f"{B2}\n{B3}\n{SIGN}"),
    ])


def test_docx_notes_separated_only_by_repeated_heading_no_headers(tmp_path):
    doc = Document()
    for body in ([B1, B2], [B3], [B4]):
        doc.add_heading("Progress Note", level=1)
        _body(doc, body)
    path = tmp_path / "heading_only.docx"
    doc.save(path)
    notes = _read(path)
    assert [n.text for n in notes] == [f"{B1}\n{B2}\n{SIGN}", f"{B3}\n{SIGN}", f"{B4}\n{SIGN}"]
    assert [n.note_id for n in notes] == ["heading_only#1", "heading_only#2", "heading_only#3"]
    _check_docx_segments(path, notes)


def test_docx_notes_separated_by_rules_and_blank_paragraphs(tmp_path):
    doc = Document()
    for i, (nid, body) in enumerate([("R-1", [B1, "", B2]), ("R-2", [B3]), ("R-3", [B4])]):
        if i == 1:
            _hr(doc)
            doc.add_paragraph("")
            doc.add_paragraph("")
        elif i == 2:
            doc.add_paragraph("_" * 40)
        doc.add_paragraph(f"Note ID: {nid}\tClient: Jane D.\tDOS: 03/02/2026\tClinician: A. Smith")
        _body(doc, body)
    path = tmp_path / "rules.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("R-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("R-2", "Jane D.", "A. Smith", "2026-03-02", f"{B3}\n{SIGN}"),
        ("R-3", "Jane D.", "A. Smith", "2026-03-02", f"{B4}\n{SIGN}"),
    ])


def test_docx_rules_split_notes_without_headers(tmp_path):
    doc = Document()
    doc.add_paragraph(B1)
    doc.add_paragraph(B2)
    _hr(doc)
    doc.add_paragraph(B3)
    doc.add_paragraph("* * *")
    doc.add_paragraph(B4)
    path = tmp_path / "rules_plain.docx"
    doc.save(path)
    assert [n.text for n in _read(path)] == [f"{B1}\n{B2}", B3, B4]


def test_docx_body_inside_one_cell_table(tmp_path):
    doc = Document()
    for nid, body in [("C-1", [B1, B2]), ("C-2", [B3])]:
        doc.add_heading("Progress Note", level=1)
        head = doc.add_table(rows=4, cols=2)
        for r, (label, value) in enumerate([("Note ID", nid), ("Client", "Jane D."),
                                            ("Date of Service", "03/02/2026"), ("Clinician", "A. Smith")]):
            head.cell(r, 0).text, head.cell(r, 1).text = label, value
        doc.add_paragraph("")
        box = doc.add_table(rows=1, cols=1).cell(0, 0)
        box.text = body[0]
        for t in body[1:]:
            box.add_paragraph(t)
        doc.add_paragraph(SIGN)
    path = tmp_path / "cellbody.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("C-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}\n{SIGN}"),
        ("C-2", "Jane D.", "A. Smith", "2026-03-02", f"{B3}\n{SIGN}"),
    ])
    _check_docx_segments(path, notes)


def test_docx_header_in_one_paragraph_with_line_breaks_and_dob(tmp_path):
    doc = Document()
    for nid, body in [("L-1", [B1]), ("L-2", [B2])]:
        p = doc.add_paragraph()
        run = p.add_run("Patient Name: Jane D.    DOB: 01/05/1980")
        run.add_break()
        p.add_run("Date of Service: 03/02/2026")
        p.runs[-1].add_break()
        p.add_run(f"Therapist: A. Smith | Encounter #: {nid}")
        _body(doc, body)
    path = tmp_path / "breaks.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("L-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}"),
        ("L-2", "Jane D.", "A. Smith", "2026-03-02", f"{B2}\n{SIGN}"),
    ])
    assert notes[0].fields.get("DOB") == "01/05/1980"


@pytest.mark.parametrize("raw", ["March 2, 2026", "2-Mar-2026", "03/02/26", "2026/03/02", "Mar 2nd, 2026",
                                 "02-MAR-2026", "3/2/2026 10:00 AM", "Monday, March 2, 2026"])
def test_docx_date_spellings(tmp_path, raw):
    doc = Document()
    doc.add_paragraph(f"Note ID: D-1    Client: Jane D.    Date: {raw}    Clinician: A. Smith")
    _body(doc, [B1])
    path = tmp_path / "dates.docx"
    doc.save(path)
    _expect(_read(path), [("D-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}")])


def test_docx_libreoffice_copy_reads_the_same(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice not installed")
    doc = Document()
    _merged_title_note(doc, "V-1", "Jane D.", "2-Mar-2026", [B1, B2])
    _page_break(doc)
    doc.add_paragraph("Client: Bo K.    DOS: 03/09/2026    Provider: A. Smith, LPC    Note ID: V-2")
    _body(doc, [B3, B4])
    src = tmp_path / "lo.docx"
    doc.save(src)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "docx", "--outdir", str(out), str(src)],
                   check=True, capture_output=True, timeout=180)
    a, b = _read(src), _read(out / "lo.docx")
    assert len(a) == 2
    assert [(n.note_id, n.client, n.clinician, n.date, n.text) for n in b] == \
        [(n.note_id, n.client, n.clinician, n.date, n.text) for n in a]
    _check_docx_segments(out / "lo.docx", b)


# ---------------------------------------------------------------- XLSX

def test_xlsx_header_on_row_5_with_numbers_serials_totals_hidden(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Export"
    ws["B1"] = "Harbor Counseling — Progress Notes"
    ws["B1"].font = Font(size=18, bold=True)
    ws.merge_cells("B1:G2")
    ws.merge_cells("A3:A4")  # where the logo sits
    headers = ["", "Encounter #", "Date of Service", "Patient", "Provider", "Internal", "Narrative Note"]
    for c, h in enumerate(headers, start=1):
        ws.cell(5, c, h or None)
    rows = [(12345, "46083", "Jane D.", "A. Smith", "x", f"{B1}\n{B2}"),
            (12346.0, "46090", "Bo K.", "A. Smith", "y", B3)]
    for r, row in enumerate(rows, start=6):
        for c, v in enumerate(row, start=2):
            cell = ws.cell(r, c, v)
            if c == 3:
                cell.number_format = "@"  # a text-formatted date column holding serials
    ws.cell(8, 2, "Total")
    ws.cell(8, 3, 2)
    ws.column_dimensions["F"].hidden = True
    for r in range(9, 40):  # formatted but empty trailing rows/columns
        ws.cell(r, 9).font = Font(bold=True)
        ws.cell(r, 2, "   " if r == 20 else None)
    path = tmp_path / "row5.xlsx"
    wb.save(path)
    notes = _read(path)
    _expect(notes, [
        ("12345", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}"),
        ("12346", "Bo K.", "A. Smith", "2026-03-09", B3),
    ])


def test_xlsx_only_second_sheet_has_notes(tmp_path):
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover.append(["Report", "Progress Notes"])
    cover.append(["Notes", "Exported from the EHR; do not edit."])
    cover.append(["Run by", "admin"])
    data = wb.create_sheet("Data")
    data.append(["Note ID", "Client", "Clinician", "Session Date", "Clinical Note Text"])
    data.append(["N-1", "Jane D.", "A. Smith", "2-Mar-2026", B1])
    data.append(["N-2", "Bo K.", "A. Smith", "March 9, 2026", B2])
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    _expect(_read(path), [
        ("N-1", "Jane D.", "A. Smith", "2026-03-02", B1),
        ("N-2", "Bo K.", "A. Smith", "2026-03-09", B2),
    ])


def test_xlsx_notes_and_addendum_columns(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Note ID", "DOS", "Client", "Clinician", "Notes", "Addendum"])
    ws.append(["A-1", "03/02/2026", "Jane D.", "A. Smith", B1, B3])
    ws.append(["A-2", "03/09/26", "Bo K.", "A. Smith", B2, None])
    path = tmp_path / "addendum.xlsx"
    wb.save(path)
    _expect(_read(path), [
        ("A-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B3}"),
        ("A-2", "Bo K.", "A. Smith", "2026-03-09", B2),
    ])


@pytest.mark.parametrize("name", ["Narrative Note", "Clinical Note Text", "Progress Note (Narrative)",
                                  "Note Narrative", "Session Narrative"])
def test_xlsx_note_column_names(tmp_path, name):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Visit ID", "Service Date", "Client Name", "Rendering Clinician", "Client ID", name])
    ws.append([501, "2026-03-02", "Jane D.", "A. Smith", 9001, B4])
    path = tmp_path / "names.xlsx"
    wb.save(path)
    notes = _read(path)
    _expect(notes, [("501", "Jane D.", "A. Smith", "2026-03-02", B4)])


# ---------------------------------------------------------------- CSV

def test_csv_semicolon_with_bom(tmp_path):
    text = ("Note ID;Date of Service;Client;Clinician;Note\r\n"
            f"S-1;02.03.2026;Jane D.;A. Smith;{B1}\r\n"
            f"S-2;2026-03-09;Bo K.;A. Smith;\"{B2}; then {B3}\"\r\n")
    path = tmp_path / "semi.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    notes = _read(path)
    assert [n.note_id for n in notes] == ["S-1", "S-2"]
    assert notes[1].text == f"{B2}; then {B3}" and notes[0].text == B1
    assert notes[1].date == "2026-03-09"


def test_csv_cp1252(tmp_path):
    text = ("Note ID,Session Date,Patient Name,Therapist,Progress Note\r\n"
            "P-1,3/2/2026,Renée Côté,Dr. Léa Martin,Client felt “numb” — writer said café visits help.\r\n")
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode("cp1252"))
    _expect(_read(path), [("P-1", "Renée Côté", "Dr. Léa Martin", "2026-03-02",
                           "Client felt “numb” — writer said café visits help.")])


def test_csv_multiline_quoted_with_embedded_quotes_and_title(tmp_path):
    body = f"{B1}\n\n{B4}\nPlan: \"continue\" weekly."
    quoted = '"' + body.replace('"', '""') + '"'
    text = ("Progress Notes Export — Harbor Counseling,,,,\n"
            "Run 2026-07-01,,,,\n"
            ",,,,\n"
            "Encounter #,Date of Visit,Client,Provider,Session Note\n"
            f"77,\"Mar 2, 2026\",Jane D.,\"Smith, A.\",{quoted}\n"
            f"78,2026/03/09,Bo K.,\"Smith, A.\",{B2}\n"
            ",,,,\n")
    path = tmp_path / "multi.csv"
    path.write_text(text, encoding="utf-8")
    _expect(_read(path), [
        ("77", "Jane D.", "Smith, A.", "2026-03-02", body),
        ("78", "Bo K.", "Smith, A.", "2026-03-09", B2),
    ])


# ---------------------------------------------------------------- harder DOCX cases

def test_docx_dialogue_lines_in_body_do_not_start_a_note(tmp_path):
    doc = Document()
    doc.add_paragraph("Note ID: Q-1    Client: Jane D.    DOS: 03/02/2026    Clinician: A. Smith")
    doc.add_heading("Progress Note", level=2)  # a title between header and body
    doc.add_paragraph(B1)
    doc.add_paragraph("Client: I just can't sleep.")
    doc.add_paragraph("Therapist: What keeps you up?  Client: Work.")
    doc.add_paragraph(B3)
    path = tmp_path / "dialogue.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [("Q-1", "Jane D.", "A. Smith", "2026-03-02",
                     f"{B1}\nClient: I just can't sleep.\nTherapist: What keeps you up?  Client: Work.\n{B3}")])
    _check_docx_segments(path, notes)


def test_docx_header_table_holding_the_note_text(tmp_path):
    doc = Document()
    for nid, body in [("W-1", [B1, B2]), ("W-2", [B3])]:
        t = doc.add_table(rows=6, cols=2)
        t.cell(0, 0).merge(t.cell(0, 1)).text = "PROGRESS NOTE"
        for r, (label, value) in enumerate([("Note ID", nid), ("Client", "Jane D."), ("DOS", "03/02/2026"),
                                            ("Clinician", "A. Smith")], start=1):
            t.cell(r, 0).text, t.cell(r, 1).text = label, value
        cell = t.cell(5, 1)
        t.cell(5, 0).text = "Progress Note"
        cell.text = body[0]
        for para in body[1:]:
            cell.add_paragraph(para)
        _page_break(doc)
    path = tmp_path / "intable.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [
        ("W-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}"),
        ("W-2", "Jane D.", "A. Smith", "2026-03-02", B3),
    ])
    _check_docx_segments(path, notes)


def test_docx_header_cells_holding_label_and_value(tmp_path):
    doc = Document()
    for nid, body in [("K-1", [B1]), ("K-2", [B2])]:
        t = doc.add_table(rows=2, cols=3)
        for k, v in enumerate(["Client: Jane D.", "Date of Service: 03/02/2026", "Provider: A. Smith"]):
            t.cell(0, k).text = v
        t.cell(1, 0).text = f"Note #: {nid}"
        _body(doc, body)
    path = tmp_path / "cells.docx"
    doc.save(path)
    _expect(_read(path), [
        ("K-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}"),
        ("K-2", "Jane D.", "A. Smith", "2026-03-02", f"{B2}\n{SIGN}"),
    ])


def test_docx_fields_in_the_page_header_of_a_one_note_file(tmp_path):
    doc = Document()
    head = doc.sections[0].header
    head.paragraphs[0].text = "Harbor Counseling Group"
    head.add_paragraph("Client: Jane D.    DOB: 01/05/1980")
    head.add_paragraph("Date of Service: 03/02/2026    Clinician: A. Smith    Note ID: PH-1")
    _body(doc, [B1, B2])
    path = tmp_path / "pagehead.docx"
    doc.save(path)
    notes = _read(path)
    _expect(notes, [("PH-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}\n{SIGN}")])


def test_csv_utf16_tab_export(tmp_path):
    text = "Note ID\tClient\tDOS\tClinician\tNote\r\n" f"U-1\tRenée\t03/02/2026\tA. Smith\t{B1}\r\n"
    path = tmp_path / "unicode.csv"
    path.write_bytes(text.encode("utf-16"))
    _expect(_read(path), [("U-1", "Renée", "A. Smith", "2026-03-02", B1)])


def test_docx_signature_block_right_before_the_next_header(tmp_path):
    doc = Document()
    for nid, date, body in [("G-1", "03/02/2026", [B1, B2]), ("G-2", "03/09/2026", [B3])]:
        doc.add_paragraph(f"Note ID: {nid}")
        doc.add_paragraph("Client: Jane D.")
        doc.add_paragraph(f"DOS: {date}")
        doc.add_paragraph("Clinician: A. Smith")
        _body(doc, body, sign=False)
        doc.add_paragraph("Clinician: A. Smith, LPC")  # signature block, no title after it
        doc.add_paragraph(f"Date: {date}")
    path = tmp_path / "sigblock.docx"
    doc.save(path)
    result = read(path, CFG)[1]
    _expect(result.notes, [
        ("G-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{B2}"),
        ("G-2", "Jane D.", "A. Smith", "2026-03-09", B3),
    ])
    assert result.warnings == []  # the last signature block is not reported as a lost note


def test_docx_header_split_over_two_tables(tmp_path):
    doc = Document()
    for nid, body in [("Z-1", [B1]), ("Z-2", [B2])]:
        demo = doc.add_table(rows=2, cols=2)
        demo.cell(0, 0).text, demo.cell(0, 1).text = "Client Name", "Jane D."
        demo.cell(1, 0).text, demo.cell(1, 1).text = "Rendering Provider", "A. Smith"
        doc.add_paragraph("")
        sess = doc.add_table(rows=2, cols=2)
        sess.cell(0, 0).text, sess.cell(0, 1).text = "Session Date", "03/02/2026"
        sess.cell(1, 0).text, sess.cell(1, 1).text = "Encounter ID", nid
        _body(doc, body)
    path = tmp_path / "twotables.docx"
    doc.save(path)
    _expect(_read(path), [
        ("Z-1", "Jane D.", "A. Smith", "2026-03-02", f"{B1}\n{SIGN}"),
        ("Z-2", "Jane D.", "A. Smith", "2026-03-02", f"{B2}\n{SIGN}"),
    ])


def test_docx_trailing_header_with_an_id_but_no_text_is_reported(tmp_path):
    doc = Document()
    doc.add_paragraph("Note ID: Y-1    Client: Jane D.    DOS: 03/02/2026")
    _body(doc, [B1], sign=False)
    doc.add_page_break()
    doc.add_paragraph("Note ID: Y-2    Client: Jane D.    DOS: 03/09/2026")
    path = tmp_path / "empty_last.docx"
    doc.save(path)
    result = read(path, CFG)[1]
    assert [n.note_id for n in result.notes] == ["Y-1"]
    empty = [w for w in result.warnings if "no note text" in w]
    assert empty == ["empty_last.docx: a note header with no note text was skipped (note 2)"]
