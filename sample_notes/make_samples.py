"""Lay the fictional notes in notes.jsonl and pdf_notes.jsonl out as the EHR exports next to this file.

Run:  python sample_notes/make_samples.py [OUT_DIR]   (default: this folder)

Deterministic in content: the same notes.jsonl always gives the same note texts,
cells and paragraphs (zip timestamps inside the Office files still differ; the PDFs
are byte for byte the same). The PDFs need reportlab (in the test extra).
Also writes expected.json, the findings the labels call for, per export file.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

from docx import Document
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
# notes.jsonl is also a training set of the learned model (corpus/manifest.toml): notes added
# later live in their own files so the shipped weights stay reproducible.
NOTES = (HERE / "notes.jsonl", HERE / "pdf_notes.jsonl")
FIXED_TIME = dt.datetime(2026, 3, 16, 9, 0, 0)
PRACTICE = "Riverbend Counseling Collective"  # fictional

# Which export holds which note; every note is in exactly one export.
LAYOUT: dict[str, list[str]] = {
    "clinic_a_export.xlsx": ["sample-001", "sample-005", "sample-006", "sample-008", "sample-011",
                             "sample-012", "sample-015", "sample-018", "sample-019", "sample-026",
                             "sample-027", "sample-036"],
    "clinic_b_export.xlsx": ["sample-003", "sample-004", "sample-009", "sample-010", "sample-013",
                             "sample-014", "sample-016", "sample-021", "sample-024", "sample-035"],
    "soap_split_export.xlsx": ["sample-002", "sample-023", "sample-028", "sample-038"],
    "single_note.docx": ["sample-020"],
    "week_of_2026-03-02.docx": ["sample-030", "sample-031", "sample-032", "sample-033", "sample-034"],
    "telehealth_notes.csv": ["sample-007", "sample-017", "sample-022", "sample-025", "sample-029",
                             "sample-037"],
    "progress_note_petra_v_2026-03-04.pdf": ["sample-039"],
    "chart_export_vantongeren_2026-03.pdf": ["sample-040", "sample-041", "sample-042", "sample-043"],
}
SOAP_KEYS = ("S", "O", "A", "P")


def load_notes(paths: Path | tuple[Path, ...] = NOTES) -> list[dict]:
    out = []
    for path in (paths,) if isinstance(paths, Path) else paths:
        with open(path, encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def check_layout(notes: list[dict]) -> None:
    ids = [n["id"] for n in notes]
    placed = [i for ids_ in LAYOUT.values() for i in ids_]
    if sorted(placed) != sorted(ids) or len(set(placed)) != len(placed):
        raise ValueError("LAYOUT must place every note of notes.jsonl in exactly one export")


def expected_findings(notes: list[dict]) -> dict[str, dict[str, dict[str, list[str]]]]:
    """{file: {note_id: {"rescuing": flagged R items, "crisis": C items}}} from the labels."""
    by_id = {n["id"]: n for n in notes}
    return {name: {i: {"rescuing": sorted(by_id[i]["rescuing"]), "crisis": sorted(by_id[i]["crisis"])}
                   for i in ids}
            for name, ids in LAYOUT.items()}


def dump_expected(exp: dict) -> str:
    """JSON with one line per note, so a reviewer can read the labels at a glance."""
    files = []
    for name, notes in exp.items():
        rows = ",\n".join(f"    {json.dumps(i)}: {json.dumps(v)}" for i, v in notes.items())
        files.append(f"  {json.dumps(name)}: {{\n{rows}\n  }}")
    return "{\n" + ",\n".join(files) + "\n}\n"


def _date(note: dict) -> dt.date:
    return dt.date.fromisoformat(note["date"])


def _us(note: dict) -> str:
    return _date(note).strftime("%m/%d/%Y")


def _service(note: dict) -> str:
    if "&" in note["client"]:
        return "90847 Couples/family psychotherapy w/ patient"
    if note["crisis"]:
        return "90839 Psychotherapy for crisis, first 60 min"
    return "90834 Psychotherapy, 45 min"


def _sheet_basics(ws, widths: list[int]) -> None:
    for col, width in zip("ABCDEFGHIJ", widths):
        ws.column_dimensions[col].width = width


def _wrap(row) -> None:
    for cell in row:
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _workbook() -> Workbook:
    wb = Workbook()
    wb.properties.creator = PRACTICE
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def write_clinic_a(notes: list[dict], path: Path) -> None:
    wb = _workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Note ID", "Date of Service", "Client", "Clinician", "Note Type", "Note"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for n in notes:
        kind = "Crisis Note" if n["crisis"] else "Progress Note - Individual"
        ws.append([n["id"], _date(n), n["client"], n["clinician"], kind, n["text"]])
        ws.cell(ws.max_row, 2).number_format = "mm/dd/yyyy"
        _wrap(ws[ws.max_row])
    ws.freeze_panes = "A2"
    _sheet_basics(ws, [12, 14, 18, 28, 24, 100])
    wb.save(path)


def write_clinic_b(notes: list[dict], path: Path) -> None:
    wb = _workbook()
    ws = wb.active
    ws.title = "Progress Notes"
    ws.append([f"{PRACTICE} - Progress Note Export"])
    ws.append(["Run 03/16/2026 09:00 | Date range 01/01/2026 - 03/31/2026 | All rendering providers"])
    ws.append([])
    ws.append(["DOS", "Patient Name", "Rendering Provider", "Encounter ID", "Service",
               "Progress Note Narrative"])
    ws["A1"].font = Font(bold=True, size=14)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for n in notes:
        ws.append([_us(n), n["client"], n["clinician"], n["id"], _service(n), n["text"]])
        _wrap(ws[ws.max_row])
    _sheet_basics(ws, [12, 18, 28, 14, 30, 100])
    wb.save(path)


def soap_parts(text: str) -> dict[str, str]:
    """The S/O/A/P sections of a four-line SOAP note (each line 'X: ...')."""
    lines = text.split("\n")
    if len(lines) != 4 or any(not ln.startswith(k + ": ") for k, ln in zip(SOAP_KEYS, lines)):
        raise ValueError("a note in soap_split_export must be exactly four lines S:/O:/A:/P:")
    return {k: ln[len(k) + 2:] for k, ln in zip(SOAP_KEYS, lines)}


def join_soap(parts: dict[str, str]) -> str:
    return "\n".join(f"{k}: {parts[k]}" for k in SOAP_KEYS)


def write_soap_split(notes: list[dict], path: Path) -> None:
    wb = _workbook()
    ws = wb.active
    ws.title = "SOAP"
    ws.append(["Visit ID", "Session Date", "Therapist", "Client", *SOAP_KEYS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for n in notes:
        parts = soap_parts(n["text"])
        ws.append([n["id"], _date(n), n["clinician"], n["client"], *(parts[k] for k in SOAP_KEYS)])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
        _wrap(ws[ws.max_row])
    _sheet_basics(ws, [12, 13, 28, 14, 50, 40, 60, 40])
    wb.save(path)


def _document():
    doc = Document()
    cp = doc.core_properties
    cp.author = PRACTICE
    cp.last_modified_by = PRACTICE
    cp.created = FIXED_TIME
    cp.modified = FIXED_TIME
    cp.revision = 1
    doc.styles["Normal"].font.size = Pt(11)
    return doc


def write_single_note(notes: list[dict], path: Path) -> None:
    (n,) = notes
    doc = _document()
    doc.add_heading("Progress Note", level=1)
    rows = [("Client", n["client"]), ("Date of Service", _us(n)), ("Clinician", n["clinician"]),
            ("Note ID", n["id"]), ("Service", "90837 Psychotherapy, 60 min")]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for (label, value), row in zip(rows, table.rows):
        row.cells[0].text = label
        row.cells[1].text = value
        row.cells[0].paragraphs[0].runs[0].bold = True
    for line in n["text"].split("\n"):
        doc.add_paragraph(line)
    doc.save(path)


def write_week(notes: list[dict], path: Path) -> None:
    doc = _document()
    doc.add_heading(f"{PRACTICE}: progress notes, week of 03/02/2026", level=1)
    for k, n in enumerate(notes):
        for label, value in (("Client", n["client"]), ("Session Date", _us(n)),
                             ("Clinician", n["clinician"]), ("Note #", n["id"])):
            p = doc.add_paragraph()
            p.add_run(f"{label}:").bold = True
            p.add_run(f" {value}")
        for line in n["text"].split("\n"):
            doc.add_paragraph(line)
        if k < len(notes) - 1:
            doc.add_page_break()
    doc.save(path)


def write_telehealth_csv(notes: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Session ID", "Session Date", "Client", "Provider", "Modality", "Session Note"])
        for n in notes:
            w.writerow([n["id"], n["date"], n["client"], n["clinician"], "Video", n["text"]])


# ---- PDF exports, drawn the way an EHR prints a note (reportlab: a dev dependency only) ----------

SOAP_HEADINGS = {"S": "Subjective", "O": "Objective", "A": "Assessment", "P": "Plan"}
PRINTED = "Printed 03/20/2026 09:00"
CHART_GAPS = (34, 42)  # points after a header table and after a note: chosen so a sentence runs over a page break


def _pdf_styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=10.5, leading=13.5,
                          spaceAfter=6, allowOrphans=1, allowWidows=1)
    return {"title": ParagraphStyle("title", parent=base["Heading1"], fontName="Helvetica-Bold", fontSize=16),
            "heading": ParagraphStyle("heading", parent=base["Heading3"], fontName="Helvetica-Bold",
                                      fontSize=11, spaceBefore=4, spaceAfter=2),
            "body": body,
            "small": ParagraphStyle("small", parent=body, fontSize=8.5, textColor="#555555")}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _header_table(rows: list[tuple[str, ...]]):
    """A borderless label|value table as EHRs print the note header (2 or 4 columns)."""
    from reportlab.platypus import Table, TableStyle
    t = Table(rows, hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, -1), "Helvetica", 10), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
             ("LINEBELOW", (0, -1), (-1, -1), 0.5, "#999999")]
    style += [("FONT", (c, 0), (c, -1), "Helvetica-Bold", 10) for c in range(0, len(rows[0]), 2)]
    t.setStyle(TableStyle(style))
    return t


def _pdf_doc(path: Path, **kw):
    from reportlab.lib.pagesizes import letter
    from reportlab.platypus import SimpleDocTemplate
    return SimpleDocTemplate(str(path), pagesize=letter, invariant=1, title="Progress notes", author=PRACTICE,
                             creator=PRACTICE, leftMargin=72, rightMargin=72, **kw)


def _signature(n: dict, st: dict) -> list:
    from reportlab.platypus import Paragraph
    return [Paragraph("Signature: ______________________________", st["body"]),
            Paragraph(f"Electronically signed by {_esc(n['clinician'])} on {_us(n)} at 4:50 PM", st["small"])]


def write_single_pdf(notes: list[dict], path: Path) -> None:
    """SimplePractice-style: letterhead, title, a 2-column header table, the note, a signature line."""
    from reportlab.platypus import Paragraph, Spacer
    (n,) = notes
    st = _pdf_styles()
    flow = [Paragraph(PRACTICE, st["small"]), Paragraph("412 Alder Street, Millbrook", st["small"]),
            Spacer(1, 10), Paragraph("Progress Note", st["title"]),
            _header_table([("Client", n["client"]), ("Date of Service", _us(n)), ("Clinician", n["clinician"]),
                           ("Note ID", n["id"]), ("Service", "90834 Psychotherapy, 45 min")]),
            Spacer(1, 10)]
    flow += [Paragraph(_esc(line), st["body"]) for line in n["text"].split("\n")]
    flow += [Spacer(1, 12), *_signature(n, st)]
    _pdf_doc(path).build(flow)


def write_chart_pdf(notes: list[dict], path: Path) -> None:
    """TherapyNotes-style chart: a page header and "Page N of M" footer on every page, each note
    a title, a 4-column header table, SOAP section headings, and a signature; notes run on
    across page breaks, so paragraphs and sentences are split between pages."""
    from reportlab.platypus import Paragraph, Spacer
    st = _pdf_styles()
    flow = []
    for n in notes:
        flow += [Paragraph("Progress Note", st["title"]),
                 _header_table([("Client:", n["client"], "Date of Service:", _us(n)),
                                ("Clinician:", n["clinician"], "Note ID:", n["id"])]),
                 Spacer(1, CHART_GAPS[0])]
        try:
            sections = [(SOAP_HEADINGS[k], text) for k, text in soap_parts(n["text"]).items()]
        except ValueError:  # not a four-line SOAP note: its paragraphs as they are
            sections = [(None, line) for line in n["text"].split("\n")]
        for heading, text in sections:
            flow += [Paragraph(heading, st["heading"])] if heading else []
            flow.append(Paragraph(_esc(text), st["body"]))
        flow += [Spacer(1, 10), *_signature(n, st), Spacer(1, CHART_GAPS[1])]
    total = {"pages": 0}

    def page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.drawString(72, 756, f"{PRACTICE} - Client Chart")
        canvas.drawRightString(540, 756, PRINTED)
        canvas.drawCentredString(306, 40, f"Page {doc.page} of {total['pages'] or 1}")
        canvas.restoreState()
        total["seen"] = doc.page

    import copy
    _pdf_doc(path).build(copy.deepcopy(flow), onFirstPage=page, onLaterPages=page)  # count the pages
    total["pages"] = total["seen"]
    _pdf_doc(path).build(flow, onFirstPage=page, onLaterPages=page)


WRITERS = {
    "clinic_a_export.xlsx": write_clinic_a,
    "clinic_b_export.xlsx": write_clinic_b,
    "soap_split_export.xlsx": write_soap_split,
    "single_note.docx": write_single_note,
    "week_of_2026-03-02.docx": write_week,
    "telehealth_notes.csv": write_telehealth_csv,
    "progress_note_petra_v_2026-03-04.pdf": write_single_pdf,
    "chart_export_vantongeren_2026-03.pdf": write_chart_pdf,
}


def build(out_dir: Path, notes_path: Path | tuple[Path, ...] = NOTES) -> list[Path]:
    """Write the exports and expected.json into out_dir; return their paths."""
    notes = load_notes(notes_path)
    check_layout(notes)
    by_id = {n["id"]: n for n in notes}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ids in LAYOUT.items():
        WRITERS[name]([by_id[i] for i in ids], out_dir / name)
        written.append(out_dir / name)
    exp = out_dir / "expected.json"
    exp.write_text(dump_expected(expected_findings(notes)), encoding="utf-8")
    written.append(exp)
    return written


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
