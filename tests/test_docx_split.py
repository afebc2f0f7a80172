"""Multi-note DOCX whose note bodies hold their own `Label: value` lines (issue 16).

The export: per note a bold title line, `Client Name:`/`Session Date:`/`Provider:`/
`Encounter ID:` lines, then the note text; notes separated by page breaks, section
breaks or nothing. Bodies hold peer-support contact logs, pasted forms, checklists
and lone `Date:` lines. The same notes in an XLSX must give the same findings.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.enum.section import WD_SECTION
from docx.oxml.ns import qn

from notesplugin.config import Config
from notesplugin.model import InputError
from notesplugin.pipeline import scan
from notesplugin.readers import read
from notesplugin.docx_text import body_paragraphs, paragraph_text

CFG = Config()
TITLE = "Peer Support Progress Note"
PAGE = object()  # a page break inside a note's body


def _log(n: int, date: str, member: str, reason: str, summary: str) -> list[str]:
    """A peer-support contact log: its own Date and Member (a client label) lines."""
    return [f"Date: {date} | Contact #: {n} | Type: phone | Duration: 15 min",
            f"Member: {member}", f"Reason: {reason}", f"Summary: {summary}"]


def _form(client: str) -> list[str]:
    """A referral form pasted into the note: Client Name and Date again."""
    return ["Referral form", f"Client Name: {client}", "DOB: 04/12/1990", "Date: 12/20/2026",
            "Referral Source: PCP", "Reason for Referral: low mood, poor sleep"]


CHECKLIST = ["Safety checklist:", "[x] SI/HI screened: denied", "[x] Safety plan reviewed: yes",
             "[ ] Crisis line given: n/a"]
MEDS = ["Provider: Dr. Lee (psychiatry)", "Date: 12/18/2026", "Medication: sertraline 50 mg daily"]

# (encounter id, client, provider, session date, body, break after, label blocks in the body)
NOTES = [
    ("E-1001", "Jordan Reyes", "Sam Ortiz", "12/21/2026",
     ["Met with member by phone for a weekly check-in.",
      *_log(1, "12/19", "Jordan Reyes", "missed group", "Member said he overslept."),
      "Client became tearful talking about her brother's death; writer quickly changed the subject "
      "to her work schedule."], "page", 1),
    ("E-1002", "Ana Lima", "Sam Ortiz", "12/21/2026",
     ["Session focused on housing.", *_form("Ana Lima"),
      "Client cried about the divorce and writer told him it was not a big deal."], None, 1),
    ("E-1003", "Mei Chen", "Rae Park", "12/22/2026",
     ["Member called the warmline after a hard night.",
      *_log(3, "12/22", "Mei Chen", "crisis call",
            "Member said she took a handful of pills two nights ago because she wanted to die."),
      "Writer told her it would all be fine and moved on to scheduling.",
      "Mobile crisis team was contacted."], "page", 1),
    ("E-1004", "Luis Vega", "Rae Park", "12/22/2026",
     ["Client denied SI/HI.", *CHECKLIST, "Date: 12/22",
      "Client was angry at her boss; writer suggested a breathing exercise instead of exploring the anger."],
     "section", 0),
    ("E-1005", "Jordan Reyes", "Sam Ortiz", "12/23/2026",
     ["Long session; the member brought paperwork.", "Client denied SI/HI.", PAGE, *_form("Jordan Reyes"),
      "Client began to talk about the assault and writer said we would revisit it another time.",
      PAGE, "Plan: continue weekly check-ins."], "page", 1),
    ("E-1006", "Ana Lima", "Kim Doe", "12/23/2026",
     ["Reviewed medications with the member.", *MEDS], None, 1),
    ("E-1007", "Mei Chen", "Kim Doe", "12/24/2026",
     ["Client was shaking after the apartment fire last night and displaced from her home; "
      "writer grounded her first.",
      *_log(2, "12/24", "Mei Chen", "shelter", "Member is staying with her sister."),
      "I felt out of my depth when she described the assault."], "page", 1),
    ("E-1008", "Luis Vega", "Sam Ortiz", "12/26/2026",
     ["Brief call.", "Date: 12/25"], None, 0),
    ("E-1009", "Jordan Reyes", "Rae Park", "12/27/2026",
     ["Two contacts this week.",
      *_log(4, "12/26", "Jordan Reyes", "follow-up", "Member asked about the food bank."),
      *_log(5, "12/27", "Jordan Reyes", "follow-up", "Member got the voucher."),
      "Client became tearful talking about her brother's death; writer quickly changed the subject "
      "to her work schedule."], "section", 2),
    ("E-1010", "Ana Lima", "Rae Park", "12/28/2026",
     ["Member discussed job interviews.", *CHECKLIST, "Member plans to apply to two jobs."], "page", 0),
    ("E-1011", "Mei Chen", "Sam Ortiz", "12/29/2026",  # a form right under the header
     [*_form("Mei Chen")[1:], "Client was angry at her boss; writer suggested a breathing exercise instead "
      "of exploring the anger.", PAGE, "Date: 12/29", "Client denied SI/HI."], None, 1),
    ("E-1012", "Luis Vega", "Kim Doe", "12/30/2026",
     ["Closing note for the month.", *_log(6, "12/30", "Luis Vega", "closing", "Member is doing well.")],
     None, 1),
]


def _text(body: list) -> str:
    return "\n".join(p for p in body if p is not PAGE)


def _iso(d: str) -> str:
    m, day, y = d.split("/")
    return f"{y}-{int(m):02d}-{int(day):02d}"


def _field(doc, label: str, value: str) -> None:
    p = doc.add_paragraph()
    p.add_run(f"{label}:").bold = True
    p.add_run(f" {value}")


def build_docx(path: Path, header: str = "lines") -> Path:
    """header: "lines" (`Label: value` paragraphs) or "table" (a label|value table)."""
    doc = Document()
    for nid, client, provider, date, body, after, _ in NOTES:
        doc.add_paragraph().add_run(TITLE).bold = True
        fields = [("Client Name", client), ("Session Date", date), ("Provider", provider), ("Encounter ID", nid)]
        if header == "table":
            table = doc.add_table(rows=0, cols=2)
            for label, value in fields:
                row = table.add_row().cells
                row[0].text, row[1].text = label, value
        for label, value in fields if header == "lines" else []:
            _field(doc, label, value)
        for para in body:
            if para is PAGE:
                doc.add_page_break()
            else:
                doc.add_paragraph(para)
        if after == "page":
            doc.add_page_break()
        elif after == "section":
            doc.add_section(WD_SECTION.NEW_PAGE)
    doc.save(path)
    return path


def build_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Encounter ID", "Client Name", "Session Date", "Provider", "Note"])
    for nid, client, provider, date, body, _, _ in NOTES:
        ws.append([nid, client, date, provider, _text(body)])
    wb.save(path)
    return path


@pytest.mark.parametrize("header", ["lines", "table"])
def test_notes_with_label_lines_in_their_bodies_are_read_whole(tmp_path, header):
    path = build_docx(tmp_path / "notes_week.docx", header)
    result = read(path, CFG)[1]
    got = [(n.note_id, n.client, n.clinician, n.date, n.text) for n in result.notes]
    assert got == [(nid, client, provider, _iso(date), _text(body))
                   for nid, client, provider, date, body, _, _ in NOTES]
    kept = sum(blocks for *_, blocks in NOTES)
    assert f"notes_week.docx: {kept} label blocks inside notes were kept as note text" in result.warnings
    plist = body_paragraphs(Document(str(path)).element.body)
    for n in result.notes:  # every span maps back onto its paragraph (the writer relies on it)
        for seg in n.segments:
            ptext = paragraph_text(plist[seg.location["paragraph"]])[0]
            assert n.text[seg.start:seg.end] == ptext[seg.offset:seg.offset + seg.end - seg.start]


def _by_note(findings) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for f in findings:
        out.setdefault(f.note_id, []).append((f.checklist, f.item, f.status, f.topic, f.evidence, f.start, f.end,
                                              f.exempt_by, f.client, f.clinician, f.date))
    return {k: sorted(v) for k, v in out.items()}


def test_docx_and_xlsx_layouts_give_the_same_findings(tmp_path):
    docx = build_docx(tmp_path / "notes_week.docx")
    xlsx = build_xlsx(tmp_path / "notes_week.xlsx")
    res = scan([docx, xlsx], tmp_path / "out", CFG, ledger=False, summary=False)
    by_file = {Path(r.path).suffix: r for r in res.files}
    assert all(r.ok for r in res.files), [r.error for r in res.files]
    d, x = _by_note(by_file[".docx"].findings), _by_note(by_file[".xlsx"].findings)
    ids = [n[0] for n in NOTES]
    assert [n.note_id for n in by_file[".docx"].notes] == ids == [n.note_id for n in by_file[".xlsx"].notes]
    assert set(d) <= set(ids)
    for nid in ids:
        assert d.get(nid) == x.get(nid), nid
    # The findings that phantom notes used to take stay with their notes.
    items = {nid: {(f[1], f[2]) for f in fs} for nid, fs in d.items()}
    assert ("C1", "present") in items["E-1003"] and ("R3", "exempt") in items["E-1003"]
    assert ("R1", "flagged") in items["E-1009"] and ("R5", "flagged") in items["E-1005"]


@pytest.mark.parametrize("with_provider", [False, True])
def test_note_without_client_clinician_or_date_is_a_warning(tmp_path, with_provider):
    """A note the header cannot attribute is reported by file and position."""
    doc = Document()
    doc.add_paragraph("Client Name: Jo B.")
    doc.add_paragraph("Session Date: 12/21/2026")
    if with_provider:
        doc.add_paragraph("Provider: Sam Ortiz")
    doc.add_paragraph("Encounter ID: E-1")
    doc.add_paragraph("Client denied SI/HI.")
    path = tmp_path / "lonely.docx"
    doc.save(path)
    warnings = read(path, CFG)[1].warnings
    missing = [w for w in warnings if "has no" in w]
    if with_provider:
        assert missing == []
    else:
        assert missing == ["lonely.docx: note 1 (E-1) has no clinician; check its header lines"]


def _short_note(doc, nid: str, provider: bool, text: str) -> None:
    doc.add_paragraph("Client Name: Jo B.")
    doc.add_paragraph("Session Date: 12/21/2026")
    if provider:
        doc.add_paragraph("Provider: Sam Ortiz")
    doc.add_paragraph(f"Encounter ID: {nid}")
    doc.add_paragraph(text)


@pytest.mark.parametrize("mark", ["page", "title", None])
def test_header_lacking_one_field_starts_a_note_only_after_a_break_or_title(tmp_path, mark):
    doc = Document()
    _short_note(doc, "E-1", True, "Client denied SI/HI.")
    if mark == "page":
        doc.add_page_break()
    elif mark == "title":
        doc.add_paragraph().add_run(TITLE).bold = True
    _short_note(doc, "E-2", False, "Member plans to apply to two jobs.")
    path = tmp_path / "partial.docx"
    doc.save(path)
    result = read(path, CFG)[1]
    if mark:
        assert [n.note_id for n in result.notes] == ["E-1", "E-2"]
        assert not any("kept as note text" in w for w in result.warnings)
    else:  # unsure: one longer note, and the file says so
        assert [n.note_id for n in result.notes] == ["E-1"]
        assert "Encounter ID: E-2" in result.notes[0].text
        assert "partial.docx: 1 label block inside notes was kept as note text" in result.warnings


def test_signature_block_before_a_header_over_a_dap_body(tmp_path):
    """Each note ends with a signature block; bodies are `D:`/`A:`/`P:` lines, one with a contact
    log. The signature is not note text, the next header's own date wins, the log stays text."""
    doc = Document()
    rows = []
    for nid, date, log in [("G-1", "03/02/2026", False), ("G-2", "03/09/2026", True), ("G-3", "03/16/2026", False)]:
        for line in (f"Note ID: {nid}", "Client: Jane D.", f"DOS: {date}", "Clinician: A. Smith"):
            doc.add_paragraph(line)
        body = ["D: Client denied SI/HI."]
        if log:
            body += ["Peer contacts this week:", *_log(1, "03/05", "Jane D.", "check-in", "Member is stable.")]
        body += ["A: Mood stable.", "P: Continue weekly."]
        for line in body:
            doc.add_paragraph(line)
        doc.add_paragraph("Clinician: A. Smith, LPC")
        doc.add_paragraph(f"Date: {date}")
        rows.append((nid, "Jane D.", "A. Smith", _iso(date), "\n".join(body)))
    path = tmp_path / "dap.docx"
    doc.save(path)
    result = read(path, CFG)[1]
    assert [(n.note_id, n.client, n.clinician, n.date, n.text) for n in result.notes] == rows
    assert result.warnings == ["dap.docx: 1 label block inside notes was kept as note text"]


def test_a_second_note_id_always_starts_a_new_header(tmp_path):
    """Signature blocks, headers and a form under a header, all label lines with nothing
    between them: no note may vanish into a merged header."""
    doc = Document()
    for nid, date, form in [("G-1", "03/02/2026", False), ("G-2", "03/09/2026", True), ("G-3", "03/16/2026", False)]:
        for line in (f"Note ID: {nid}", "Client: Jane D.", f"DOS: {date}", "Clinician: A. Smith"):
            doc.add_paragraph(line)
        for line in (["Client Name: Jane D.", "Date: 02/01/2026", "Referral Source: PCP"] if form else []):
            doc.add_paragraph(line)
        for line in ("D: Client denied SI/HI.", "A: Mood stable.", "P: Continue weekly."):
            doc.add_paragraph(line)
        doc.add_paragraph("Clinician: A. Smith, LPC")
        doc.add_paragraph(f"Date: {date}")
    path = tmp_path / "formsig.docx"
    doc.save(path)
    result = read(path, CFG)[1]
    assert [(n.note_id, n.date, n.clinician) for n in result.notes] == [
        ("G-1", "2026-03-02", "A. Smith"), ("G-2", "2026-03-09", "A. Smith"), ("G-3", "2026-03-16", "A. Smith")]
    assert "Date: 02/01/2026\nReferral Source: PCP\nD: Client denied SI/HI." in result.notes[1].text
    assert any("kept as note text" in w for w in result.warnings)


# One paragraph a note, its lines ended by soft breaks (Shift+Enter): (clinician, client, date, text).
SOFT = [
    ("Dr. Ann Lee", "Client A", "03/14/2026", "Client arrived on time and reported a difficult week. When he broke "
     "down crying about his dog dying, I quickly changed the subject to his new apartment. We agreed to meet again."),
    ("Bob Ray, LCSW", "Client B", "03/15/2026", "Client reviewed coping skills and practiced paced breathing. "
     "Plan: continue weekly sessions."),
    ("Maria Gomez, PsyD", "Client C", "03/16/2026", "Session focused on sleep hygiene; client reports an "
     "improved routine.\nHomework: sleep diary."),
]
REDIRECT = "When he broke down crying about his dog dying, I quickly changed the subject to his new apartment."


def _soft_paragraph(doc, lines: list[str]) -> None:
    """One paragraph, its lines ended by soft breaks (`<w:br/>`)."""
    p = doc.add_paragraph()
    for k, line in enumerate(lines):
        run = p.add_run(line)
        if k < len(lines) - 1:
            run.add_break()


def _soft_break_docx(path: Path) -> Path:
    """The export: "Clinician: X<br/>Client: Y<br/>Date of service: Z<br/>note text", a blank paragraph between."""
    doc = Document()
    for clinician, client, date, text in SOFT:
        _soft_paragraph(doc, [f"Clinician: {clinician}", f"Client: {client}", f"Date of service: {date}",
                              *text.split("\n")])
        doc.add_paragraph()
    doc.save(path)
    return path


def test_notes_written_as_one_paragraph_with_soft_line_breaks_are_read(tmp_path):
    path = _soft_break_docx(tmp_path / "soft.docx")
    result = read(path, CFG)[1]
    assert [(n.clinician, n.client, n.date, n.text) for n in result.notes] == [
        (clinician, client, _iso(date), text) for clinician, client, date, text in SOFT]
    assert result.warnings == []
    plist = body_paragraphs(Document(str(path)).element.body)
    for n in result.notes:  # the note text is the paragraph's tail, one segment
        (seg,) = n.segments
        ptext = paragraph_text(plist[seg.location["paragraph"]])[0]
        assert ptext[seg.offset:] == n.text


def test_soft_break_note_is_annotated_on_the_flagged_sentence(tmp_path):
    path = _soft_break_docx(tmp_path / "soft.docx")
    res = scan([path], tmp_path / "out", CFG, ledger=False, summary=False)
    (file,) = res.files
    assert file.ok, file.error
    (flagged,) = [f for f in file.findings if f.status == "flagged"]
    assert (flagged.evidence, flagged.clinician, flagged.date) == (REDIRECT, "Dr. Ann Lee", "2026-03-14")
    body = Document(file.output).element.body
    (start,) = body.iter(qn("w:commentRangeStart"))
    anchored, on = [], False
    for el in body.iter(qn("w:commentRangeStart"), qn("w:commentRangeEnd"), qn("w:r")):
        if el.tag != qn("w:r"):
            on = el is start
        elif on:
            anchored.append(el)
    assert "".join(t.text for r in anchored for t in r.iter(qn("w:t"))) == REDIRECT
    assert all(r.find(f"{qn('w:rPr')}/{qn('w:highlight')}") is not None for r in anchored)


def test_a_value_on_the_line_after_its_label_stays_the_field(tmp_path):
    doc = Document()
    _soft_paragraph(doc, ["Clinician:", "Dr. Ann Lee", "Date:", "03/14/2026", "Client met with writer."])
    doc.save(tmp_path / "bare.docx")
    (note,) = read(tmp_path / "bare.docx", CFG)[1].notes
    assert (note.clinician, note.date, note.text) == ("Dr. Ann Lee", "2026-03-14", "Client met with writer.")


def test_a_body_of_headers_without_note_text_is_not_called_empty(tmp_path):
    doc = Document()
    for line in ("Clinician: Dr. Ann Lee", "Client: Client A", "Date: 03/14/2026"):
        doc.add_paragraph(line)
    doc.save(tmp_path / "headers.docx")
    with pytest.raises(InputError, match="headers.docx: no note text found") as err:
        read(tmp_path / "headers.docx", CFG)
    assert "empty" not in str(err.value) and "header lines" in str(err.value)
