from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidation

from notesplugin.config import Config
from notesplugin.model import Finding, InputError, Note
from notesplugin.readers.columns import norm_header, parse_date
from notesplugin.readers.xlsx_reader import read_xlsx
from notesplugin.writers import xlsx_writer
from notesplugin.writers.xlsx_writer import ADDED, summary, write_xlsx

# The two EHR layouts of /work/shared/tools/score_corpus.py, copied so the tests stand alone.
LAYOUTS = {
    "a": {"title": None,
          "columns": ["Note ID", "Date of Service", "Client", "Clinician", "Note Type", "Note"]},
    "b": {"title": ["Harbor Counseling Group — Progress Notes Export", "Generated 2026-07-01 08:00"],
          "columns": ["DOS", "Patient Name", "Rendering Provider", "Note #", "Service",
                      "Progress Note Narrative", "Signed"]},
}
NOTES = [
    {"id": "dev-001", "date": "2026-03-02", "client": "Ann", "clinician": "Dr Lee",
     "text": "Client cried about her father.\nWriter told her it would all be fine."},
    {"id": "dev-002", "date": "2026-03-09", "client": "Bo", "clinician": "Dr Lee",
     "text": "Client angry at boss. Writer changed the subject."},
]


def field_values(note: dict) -> dict:
    return {"Note ID": note["id"], "Note #": note["id"], "Date of Service": note["date"], "DOS": note["date"],
            "Client": note["client"], "Patient Name": note["client"], "Clinician": note["clinician"],
            "Rendering Provider": note["clinician"], "Note Type": "SOAP", "Service": "90834",
            "Note": note["text"], "Progress Note Narrative": note["text"], "Signed": "Yes"}


def layout_book(path: Path, layout: dict, notes=NOTES) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    for line in layout["title"] or []:
        ws.append([line])
    if layout["title"]:
        ws.append([])
    ws.append(layout["columns"])
    for note in notes:
        values = field_values(note)
        ws.append([values[c] for c in layout["columns"]])
    wb.save(path)
    return path


def finding(note: Note, item: str, status: str = "flagged", checklist: str = "rescuing", topic="grief",
            evidence="Writer told her it would all be fine.", name="reassure", reason="reassured early") -> Finding:
    return Finding(note.note_id, note.file, checklist, item, name, status, topic, evidence, 0, 5,
                   note.location_of(0, 5), reason)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("key", ["a", "b"])
def test_layouts_read(tmp_path, key):
    path = layout_book(tmp_path / "export.xlsx", LAYOUTS[key])
    res = read_xlsx(path, Config())
    assert [n.note_id for n in res.notes] == ["dev-001", "dev-002"]
    first = res.notes[0]
    assert first.text == NOTES[0]["text"]
    assert (first.client, first.clinician, first.date) == ("Ann", "Dr Lee", "2026-03-02")
    assert first.position == 0 and res.notes[1].position == 1
    header_row = 1 if key == "a" else 4
    loc = first.segments[0].location
    assert loc["sheet"] == "Notes" and loc["row"] == header_row + 1
    assert loc["header"] == ("Note" if key == "a" else "Progress Note Narrative")
    assert first.segments[0].start == 0 and first.segments[0].end == len(first.text)
    assert res.warnings == []


def test_header_names_compare_loosely():
    assert norm_header("Note #") == norm_header("note no.") == norm_header("NOTE  NUMBER")
    assert norm_header("Note #") != norm_header("Note")


def test_soap_split_columns_and_stable_ids(tmp_path):
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover["A1"] = "Weekly export"
    ws = wb.create_sheet("SOAP")
    ws.append(["Session Date", "Provider", "S", "O", "A", "P"])
    ws.append(["03/02/2026", "Dr Kim", "Client tearful.", "Affect flat.", None, "Continue weekly."])
    ws.append(["3/9/26", "Dr Kim", None, None, None, None])  # no note text: skipped
    path = tmp_path / "soap.xlsx"
    wb.save(path)
    res = read_xlsx(path, Config())
    assert len(res.notes) == 1
    note = res.notes[0]
    assert note.text == "Client tearful.\nAffect flat.\nContinue weekly."
    assert [s.location["column"] for s in note.segments] == ["C", "D", "F"]
    assert [s.location["header"] for s in note.segments] == ["S", "O", "P"]
    assert note.text[note.segments[2].start:note.segments[2].end] == "Continue weekly."
    assert note.note_id == "soap:SOAP:2" and note.date == "2026-03-02"
    assert res.warnings == ["soap.xlsx: 1 rows without note text skipped"]


def test_extra_text_columns_from_config(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Note", "Goals Addressed"])
    wb.active.append(["Main text.", "Goal 2."])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    assert read_xlsx(path, Config()).notes[0].text == "Main text."
    cfg = Config(text_columns=["Goals addressed"])
    assert read_xlsx(path, cfg).notes[0].text == "Main text.\nGoal 2."


def test_dates_real_and_strings(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Date", "Note"])
    rows = [dt.datetime(2026, 3, 2, 14, 30), dt.date(2026, 3, 3), "2026-03-04", "03/05/2026", "3/6/26", "soon"]
    for value in rows:
        ws.append([value, "text"])
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    notes = read_xlsx(path, Config()).notes
    assert [n.date for n in notes] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", None]
    assert notes[-1].fields["date"] == "soon"
    assert parse_date("13/45/2026") is None


def test_no_note_column_error(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Client", "Date", "Amount"])
    wb.active.append(["Ann", "2026-03-02", 5])
    path = tmp_path / "billing.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as err:
        read_xlsx(path, Config())
    assert str(err.value) == ("billing.xlsx: no note column found; columns seen: Client, Date, Amount; "
                              "map one in notesplugin.toml under [columns] note = [\"Your Column\"]")


def test_not_a_workbook(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError, match="old.xlsx: password-protected or legacy"):
        read_xlsx(path, Config())


def test_summary_lines():
    note = Note("n1", "f.xlsx", "text", ())
    assert summary([]) == ["", "", "", "", "no findings"]
    two = [finding(note, "R3", topic="anger"), finding(note, "R1", name="redirect", topic="anger")]
    assert summary(two) == ["R1 redirect; R3 reassure", "", "", "anger", "2 rescuing flags (anger) — review"]
    crisis = [finding(note, "C1", "present", "crisis", None, name="suicide"), finding(note, "R3", "exempt")]
    assert summary(crisis) == ["", "R3 reassure", "C1 suicide", "grief", "crisis C1 present — rescuing exempt"]


@pytest.mark.parametrize("key", ["a", "b"])
def test_write_annotated_copy(tmp_path, key):
    src = layout_book(tmp_path / "export.xlsx", LAYOUTS[key])
    wb = openpyxl.load_workbook(src)
    ws = wb["Notes"]
    header_row = ws.max_row - 2
    note_col = LAYOUTS[key]["columns"].index("Note" if key == "a" else "Progress Note Narrative") + 1
    ws.cell(header_row, note_col).font = openpyxl.styles.Font(italic=True)
    ws.cell(header_row + 1, note_col).comment = Comment("signed late", "Admin")
    extra = wb.create_sheet("Totals")
    extra["A1"], extra["B1"] = 2, "=SUM(A1:A1)"
    extra["A1"].comment = Comment("keep me", "Admin")
    wb.create_sheet("Findings")  # the name is taken: ours must get another
    wb.save(src)
    before = digest(src)
    res = read_xlsx(src, Config())
    n1, n2 = res.notes
    findings = [finding(n1, "R3"), finding(n1, "R1", name="redirect", evidence="=evil() and -1")]
    dest = tmp_path / "out" / "export.annotated.xlsx"
    dest.parent.mkdir()
    assert write_xlsx(res.source, dest, res.notes, findings) == []
    assert digest(src) == before
    assert (dest.stat().st_mode & 0o777) == 0o600

    out = openpyxl.load_workbook(dest)
    ws = out["Notes"]
    first_new = len(LAYOUTS[key]["columns"]) + 1
    heads = [ws.cell(header_row, first_new + i) for i in range(len(ADDED))]
    assert [c.value for c in heads] == list(ADDED)
    assert all(c.font.b for c in heads) and heads[0].font.i  # bold copy of the header style
    row1 = [ws.cell(header_row + 1, first_new + i).value for i in range(len(ADDED))]
    assert row1 == ["R1 redirect; R3 reassure", None, None, "grief", "2 rescuing flags (grief) — review", None]
    # the last column is the supervisor's, empty, its header comment giving the grammar
    assert heads[-1].value == "Review" and "not R1" in heads[-1].comment.text and "missed R3" in heads[-1].comment.text
    assert ws.cell(header_row + 2, first_new + 4).value == "no findings"
    comment = ws.cell(header_row + 1, note_col).comment.text
    assert comment.startswith("signed late\n\nnotesplugin findings:")
    assert "R3 reassure: flagged (grief) — reassured early" in comment
    assert "Writer told her it would all be fine." in comment
    assert out["Totals"]["B1"].value == "=SUM(A1:A1)" and out["Totals"]["A1"].comment.text == "keep me"
    assert "Findings 2" in out.sheetnames
    fs = out["Findings 2"]
    assert [c.value for c in fs[1]] == list(xlsx_writer.FINDINGS_HEADERS)
    rows = [[c.value for c in r] for r in fs.iter_rows(min_row=2)]
    assert [r[5] for r in rows] == ["R1", "R3"]
    assert rows[0][0] == "dev-001" and rows[0][3] == "2026-03-02" and rows[0][11:] == ["Notes", header_row + 1,
                                                                                     openpyxl.utils.get_column_letter(note_col)]
    evil = fs.cell(2, 10)
    assert evil.value == "=evil() and -1" and evil.data_type == "s" and evil.quotePrefix


def test_note_starting_with_equals_stays_literal(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Note ID", "Note"])
    ws.append(["n1", "=client said hi"])
    ws["B2"].data_type = "s"
    src = tmp_path / "eq.xlsx"
    wb.save(src)
    res = read_xlsx(src, Config())
    assert res.notes[0].text == "=client said hi"
    dest = tmp_path / "eq.out.xlsx"
    write_xlsx(res.source, dest, res.notes, [finding(res.notes[0], "R3", evidence="=client said hi")])
    out = openpyxl.load_workbook(dest)
    cell = out.active["B2"]
    assert cell.value == "=client said hi" and cell.data_type == "s"
    with zipfile.ZipFile(dest) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")


def _with_vba(path: Path, vba: bytes) -> None:
    """Turn an openpyxl-saved workbook into a macro-enabled one with a (fake) vbaProject.bin."""
    wb = openpyxl.Workbook()
    wb.active.append(["Note ID", "Note"])
    wb.active.append(["m1", "Client was tearful."])
    wb.save(buf := io.BytesIO())
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>", b'<Override PartName="/xl/vbaProject.bin" '
                                 b'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.'
                                    b'microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                                    b"</Relationships>")
            zout.writestr(item, data)
        zout.writestr("xl/vbaProject.bin", vba)


def test_xlsm_keeps_macros_and_extension(tmp_path):
    src = tmp_path / "macro.xlsm"
    vba = bytes(range(256)) * 8
    _with_vba(src, vba)
    res = read_xlsx(src, Config())
    assert [n.note_id for n in res.notes] == ["m1"]
    with pytest.raises(ValueError):
        write_xlsx(res.source, tmp_path / "macro.xlsx", res.notes, [])
    dest = tmp_path / "macro.out.xlsm"
    write_xlsx(res.source, dest, res.notes, [finding(res.notes[0], "R3")])
    with zipfile.ZipFile(dest) as zf:
        assert zf.read("xl/vbaProject.bin") == vba
        assert b"macroEnabled" in zf.read("[Content_Types].xml")
    assert openpyxl.load_workbook(dest).active["C1"].value == "Rescuing items"


def test_excel_extensions_kept_without_warnings(tmp_path):
    """openpyxl would drop an x14 data validation (with a warning); the patched copy keeps it."""
    src = layout_book(tmp_path / "dv.xlsx", LAYOUTS["a"])
    wb = openpyxl.load_workbook(src)
    dv = DataValidation(type="list", formula1='"Yes,No"')
    wb.active.add_data_validation(dv)
    dv.add("E2:E3")
    wb.save(src)
    ext = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           b"<x14:dataValidations count=\"0\"/></ext></extLst>")
    with zipfile.ZipFile(src) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(src, "w") as zout:
        for item, data in items:
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", ext + b"</worksheet>")
            zout.writestr(item, data)
    res = read_xlsx(src, Config())
    assert not any("will be removed" in w for w in res.warnings)  # openpyxl's notice would be untrue here
    dest = tmp_path / "dv.out.xlsx"
    assert write_xlsx(res.source, dest, res.notes, []) == []
    with zipfile.ZipFile(dest) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert ext in sheet and b"<dataValidations" in sheet


def test_changed_original_cell_aborts(tmp_path, monkeypatch):
    src = layout_book(tmp_path / "export.xlsx", LAYOUTS["a"])
    res = read_xlsx(src, Config())
    real = xlsx_writer.Sheet.patch

    def clobber(self, *args):  # a bug that changes an original cell
        return re.sub(rb'(<c r="A2"[^>]*><is><t>)[^<]*', rb"\1changed", real(self, *args), count=1)

    monkeypatch.setattr(xlsx_writer.Sheet, "patch", clobber)
    dest = tmp_path / "out.xlsx"
    with pytest.raises(InputError, match=r"export.xlsx: the annotated copy changed an original cell \(Notes!A2\)"):
        write_xlsx(res.source, dest, res.notes, [])
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_check_accepts_every_value_kind(tmp_path):
    from openpyxl.worksheet.formula import ArrayFormula

    src = layout_book(tmp_path / "kinds.xlsx", LAYOUTS["a"])
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("Kinds")
    ws.append([dt.datetime(2026, 3, 2, 9, 15), dt.date(2026, 3, 3), dt.time(10, 30), dt.timedelta(hours=50),
               True, False, 3.25, 7, "-1 looks like a number", "+also text", "@handle"])
    ws["A2"] = "=SUM(G1:H1)"
    ws["B2"] = ArrayFormula("B2:B3", "=G1:G2*2")
    ws["C2"] = "#N/A"
    ws["C2"].data_type = "e"
    ws["D2"] = ""
    wb.save(src)
    res = read_xlsx(src, Config())
    dest = tmp_path / "kinds.out.xlsx"
    write_xlsx(res.source, dest, res.notes, [])
    out = openpyxl.load_workbook(dest)["Kinds"]
    assert out["A1"].value == dt.datetime(2026, 3, 2, 9, 15) and out["G1"].value == 3.25
    assert out["A2"].value == "=SUM(G1:H1)" and out["B2"].value.text == "=G1:G2*2"


def test_lost_original_cell_aborts(tmp_path, monkeypatch):
    src = layout_book(tmp_path / "export.xlsx", LAYOUTS["a"])
    res = read_xlsx(src, Config())
    real = xlsx_writer.Sheet.patch

    def drop(self, *args):  # a bug that loses an original cell
        return re.sub(rb'<c r="B3".*?</c>', b"", real(self, *args))

    monkeypatch.setattr(xlsx_writer.Sheet, "patch", drop)
    with pytest.raises(InputError, match=r"lost an original cell \(Notes!B3\)"):
        write_xlsx(res.source, tmp_path / "out.xlsx", res.notes, [])
    assert not (tmp_path / "out.xlsx").exists()


# ---- the copy is the original package, patched (issue 11) ------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"
# Parts an annotated copy may rewrite; every other member must come out byte for byte.
MAY_CHANGE = re.compile(r"^(\[Content_Types\]\.xml|xl/workbook\.xml|xl/_rels/workbook\.xml\.rels|xl/styles\.xml|"
                        r"xl/worksheets/sheet\d+\.xml|xl/worksheets/_rels/sheet\d+\.xml\.rels|xl/comments\d*\.xml|"
                        r"xl/drawings/vmlDrawing\d+\.vml)$")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _every_note_flagged(notes):
    return [finding(n, "R3") for n in notes] + [finding(notes[0], "C1", "present", "crisis", None, name="suicide")]


@pytest.mark.parametrize("name", ["clinic_a_export.xlsx", "clinic_b_export.xlsx", "soap_split_export.xlsx"])
def test_sample_copy_patches_only_what_it_must(tmp_path, name):
    src = SAMPLES / name
    res = read_xlsx(src, Config())
    dest = tmp_path / name
    assert write_xlsx(res.source, dest, res.notes, _every_note_flagged(res.notes)) == []
    before, after = _members(src), _members(dest)
    assert set(before) <= set(after)
    changed = {n for n in before if before[n] != after[n]} | (set(after) - set(before))
    assert changed and all(MAY_CHANGE.match(n) for n in changed), changed
    # what openpyxl sees: every original cell unchanged, our columns and comments added
    old, new = openpyxl.load_workbook(src), openpyxl.load_workbook(dest)
    for ws in old.worksheets:
        for key, cell in ws._cells.items():
            assert new[ws.title]._cells[key].value == cell.value
    note = res.notes[0]
    loc = note.segments[0].location
    out = new[loc["sheet"]]
    assert out[f"{loc['column']}{loc['row']}"].comment.text.startswith("notesplugin findings:\nC1 suicide: present")
    first_new = max(c for (_, c), cell in old[loc["sheet"]]._cells.items() if cell.value is not None) + 1
    assert out.cell(loc["row"], first_new + 2).value == "C1 suicide"
    assert out.cell(res.source.header_rows[loc["sheet"]], first_new).font.b
    findings = new[new.sheetnames[-1]]
    assert findings.title.startswith("Findings") and findings.max_row == len(res.notes) + 2
    assert findings.freeze_panes == "A2"


THREADED = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<ThreadedComments xmlns="http://schemas.'
            b'microsoft.com/office/spreadsheetml/2018/threadedcomments"><threadedComment ref="A3" '
            b'dT="2026-03-01T10:00:00.00" personId="{11111111-1111-1111-1111-111111111111}" '
            b'id="{22222222-2222-2222-2222-222222222222}"><text>Check the ID</text></threadedComment>'
            b"</ThreadedComments>")
PERSONS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<personList xmlns="http://schemas.microsoft'
           b'.com/office/spreadsheetml/2018/threadedcomments"><person displayName="Admin" '
           b'id="{11111111-1111-1111-1111-111111111111}" userId="admin" providerId="None"/></personList>')
SPARKLINES = (b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" xmlns:x14="http://schemas.microsoft.com/'
              b'office/spreadsheetml/2009/9/main"><x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/'
              b'excel/2006/main"><x14:sparklineGroup><x14:sparklines><x14:sparkline><xm:f>Notes!B2:B3</xm:f>'
              b"<xm:sqref>H2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups>"
              b"</ext></extLst>")
TC_REL = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
PERSON_REL = "http://schemas.microsoft.com/office/2017/10/relationships/person"


def _rich_book(path: Path) -> Path:
    """A notes workbook with what openpyxl's load + save would lose or disturb: threaded comments and
    persons, a customXml part, sparklines; and legacy comments on a note cell and on another cell."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    for row in [["Note ID", "Date", "Note"], ["t1", "2026-03-02", "Client cried. Writer said it would be fine."],
                ["t2", "2026-03-09", "Client was angry."]]:
        ws.append(row)
    ws["C2"].comment = Comment("signed late", "Admin")
    ws["A3"].comment = Comment("[Threaded comment]\nCheck the ID", "tc={22222222-2222-2222-2222-222222222222}")
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", SPARKLINES + b"</worksheet>")
            elif item.filename == "xl/worksheets/_rels/sheet1.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rIdTc" Type="{TC_REL}" Target="../'
                                    f'threadedComments/threadedComment1.xml"/></Relationships>'.encode())
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rIdP" Type="{PERSON_REL}" '
                                    f'Target="persons/person.xml"/></Relationships>'.encode())
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/threadedComments/threadedComment1.xml" '
                                    b'ContentType="application/vnd.ms-excel.threadedcomments+xml"/><Override '
                                    b'PartName="/xl/persons/person.xml" ContentType="application/vnd.ms-excel.'
                                    b'person+xml"/></Types>')
            zout.writestr(item, data)
        zout.writestr("xl/threadedComments/threadedComment1.xml", THREADED)
        zout.writestr("xl/persons/person.xml", PERSONS)
        zout.writestr("customXml/item1.xml", b"<practice>kept</practice>")
    return path


def test_rich_workbook_keeps_what_openpyxl_drops(tmp_path):
    src = _rich_book(tmp_path / "rich.xlsx")
    res = read_xlsx(src, Config())
    t1, t2 = res.notes
    dest = tmp_path / "rich.out.xlsx"
    write_xlsx(res.source, dest, res.notes, [finding(t1, "R3"), finding(t2, "R1", name="redirect")])
    before, after = _members(src), _members(dest)
    for kept in ("xl/threadedComments/threadedComment1.xml", "xl/persons/person.xml", "customXml/item1.xml"):
        assert after[kept] == before[kept]
    sheet = after["xl/worksheets/sheet1.xml"]
    assert SPARKLINES in sheet and sheet.count(b"<legacyDrawing") == 1
    assert TC_REL.encode() in after["xl/worksheets/_rels/sheet1.xml.rels"]
    assert PERSON_REL.encode() in after["xl/_rels/workbook.xml.rels"]
    vml = next(v for k, v in after.items() if k.endswith(".vml"))
    assert vml.count(b'ObjectType="Note"') == 4  # the two comments there were, ours on C3, the Review header's
    out = openpyxl.load_workbook(dest)["Notes"]
    assert out["C2"].comment.text.startswith("signed late\n\nnotesplugin findings:\nR3 reassure")
    assert out["C2"].comment.author == "Admin"
    assert out["C3"].comment.text.startswith("notesplugin findings:\nR1 redirect")
    assert out["A3"].comment.text.startswith("[Threaded comment]")
    assert [c.value for c in out[1]][3:] == list(ADDED)


def test_styles_appended_not_renumbered(tmp_path):
    src = layout_book(tmp_path / "s.xlsx", LAYOUTS["a"])
    res = read_xlsx(src, Config())
    dest = tmp_path / "s.out.xlsx"
    write_xlsx(res.source, dest, res.notes, [])
    from lxml import etree
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    old = etree.fromstring(_members(src)["xl/styles.xml"])
    new = etree.fromstring(_members(dest)["xl/styles.xml"])
    for tag in ("fonts", "cellXfs"):
        a, b = old.find(ns + tag), new.find(ns + tag)
        assert [etree.tostring(e) for e in b[:len(a)]] == [etree.tostring(e) for e in a]
        assert int(b.get("count")) == len(b) > len(a)


def test_rows_missing_from_the_sheet_are_created_in_order():
    from notesplugin.writers.xlsx_sheet import Sheet
    xml = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B4"/>'
           b'<sheetData><row r="2"><c r="A2"><v>1</v></c></row><row r="4"/></sheetData></worksheet>')
    out = Sheet.parse(xml).patch({1: b"<c/>", 3: b"<x/>", 4: b"<y/>", 6: b"<z/>"}, {3: 20.0}, None)
    rows = re.findall(rb'<row r="(\d)"', out)
    assert rows == [b"1", b"2", b"3", b"4", b"6"]
    assert b'<row r="4"><y/></row>' in out and b'<dimension ref="A1:C6"/>' in out
    assert out.index(b"<cols>") < out.index(b"<sheetData>")


def _with_saved_values(path, values: dict[str, tuple[str, str]]):
    """Give formula cells the value Excel saves beside them ({ref: (type, value)}), as Excel does;
    openpyxl writes formulas with an empty value."""
    import zipfile
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, (kind, value) in values.items():
        at = xml.index(f'<c r="{ref}"')
        end = xml.index("</c>", at)
        cell = xml[at:end].replace(f'<c r="{ref}"', f'<c r="{ref}"' + (f' t="{kind}"' if kind else ""), 1)
        xml = xml[:at] + cell.replace("<v></v>", f"<v>{value}</v>") + xml[end:]
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_identity_cells_filled_by_formulas_read_as_excel_shows_them(tmp_path):
    # =VLOOKUP(...) for the clinician, =B2+1 for the next date: the value saved with the formula,
    # not the formula's text, goes into findings and the ledger.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Note ID", "Date", "Client", "Clinician", "Note"])
    ws.append(["F-1", "2026-03-02", "Ann Lee", '="Dana "&"Whitfield"', "Client wept. I changed the subject."])
    ws.append(["F-2", "=B2+1", "Bob Ray", '="Dana "&"Whitfield"', "Client reviewed his week."])
    wb.save(tmp_path / "f.xlsx")
    _with_saved_values(tmp_path / "f.xlsx", {"D2": ("str", "Dana Whitfield"), "D3": ("str", "Dana Whitfield"),
                                             "B3": ("", "46084")})
    res = read_xlsx(tmp_path / "f.xlsx", Config())
    assert [(n.clinician, n.date) for n in res.notes] == [("Dana Whitfield", "2026-03-02"),
                                                         ("Dana Whitfield", "2026-03-03")]
    assert not any("fix the cells" in w or "has no" in w for w in res.warnings), res.warnings


def test_a_clinician_and_date_merged_down_their_group_of_notes_reach_every_note(tmp_path):
    # a report-style export merges the clinician's and the date's cells down each group of rows;
    # only the top cell holds the value (hostile battery 6: the rest had no clinician or date)
    from datetime import datetime

    import openpyxl

    from notesplugin.config import Config
    from notesplugin.readers.xlsx_reader import read_xlsx
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "Weekly notes report"  # a title and a blank row above the header
    ws.append([])
    ws.append(["Clinician", "Date", "Client", "Note", "Clinic"])
    rows = [("Dr. Ann Lee", datetime(2026, 4, 6), "A.", "Cl tearful about her father."),
            (None, None, "B.", "Cl angry at work."), (None, None, "C.", "Cl calm."),
            ("Bob Ray", datetime(2026, 4, 7), "D.", "Cl flat."), (None, None, "E.", "Cl anxious.")]
    for r in rows:
        ws.append(list(r) + [None])
    ws["E4"] = "North"  # a merge across columns is left alone, and so is a column no role reads
    ws.merge_cells("A4:A6")
    ws.merge_cells("B4:B6")
    ws.merge_cells("A7:A8")
    ws.merge_cells("B7:B8")
    ws.merge_cells("E4:E8")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    res = read_xlsx(path, Config())
    got = [(n.clinician, n.date, n.client, n.segments[0].location["row"]) for n in res.notes]
    assert got == [("Dr. Ann Lee", "2026-04-06", "A.", 4), ("Dr. Ann Lee", "2026-04-06", "B.", 5),
                   ("Dr. Ann Lee", "2026-04-06", "C.", 6), ("Bob Ray", "2026-04-07", "D.", 7),
                   ("Bob Ray", "2026-04-07", "E.", 8)]
    assert [n.fields.get("Clinic") for n in res.notes] == ["North", None, None, None, None]
    assert not any("no clinician" in w or "no date" in w for w in res.warnings)
