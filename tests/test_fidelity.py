"""Fidelity of annotated copies on files carrying what practices' files carry: every part
the tool has no reason to touch comes out byte for byte, and the copy still opens
(openpyxl / python-docx; LibreOffice converts it to PDF when it is installed)."""
from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from lxml import etree
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from PIL import Image as PILImage

from notesplugin.config import Config
from notesplugin.model import Finding
from notesplugin.readers.docx_reader import read_docx
from notesplugin.readers.xlsx_reader import read_xlsx
from notesplugin.writers.docx_writer import write_docx
from notesplugin.writers.xlsx_writer import ADDED, write_xlsx

EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
TEXT = "Client cried about her father. Writer told her it would all be fine and moved on."


def _png() -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _changed(src: Path, dest: Path) -> set[str]:
    before, after = _members(src), _members(dest)
    assert set(before) <= set(after)
    return {n for n in after if before.get(n) != after[n]}


def _finding(note, evidence: str, item="R3", name="reassure") -> Finding:
    start = note.text.index(evidence)
    return Finding(note.note_id, note.file, "rescuing", item, name, "flagged", "grief", evidence, start,
                   start + len(evidence), note.location_of(start, start + len(evidence)), "reassured early")


def _to_pdf(path: Path, tmp: Path) -> Path:
    profile = f"-env:UserInstallation=file://{tmp / 'lo-profile'}"  # its own profile: no lock shared with others
    proc = subprocess.run([SOFFICE, profile, "--headless", "--convert-to", "pdf", "--outdir", str(tmp), str(path)],
                          capture_output=True, text=True, timeout=300)
    pdf = tmp / f"{path.stem}.pdf"
    assert proc.returncode == 0 and pdf.exists() and pdf.stat().st_size > 1000, proc.stderr[-500:]
    return pdf


# ---- workbook ----------------------------------------------------------------------------

SPARKLINES = (b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" xmlns:x14="http://schemas.microsoft.com/'
              b'office/spreadsheetml/2009/9/main"><x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/'
              b'excel/2006/main"><x14:sparklineGroup><x14:sparklines><x14:sparkline><xm:f>Stats!B2:B4</xm:f>'
              b"<xm:sqref>Stats!C2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup>"
              b"</x14:sparklineGroups></ext></extLst>")
X14_DV = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="http://schemas.microsoft.com/office/'
          b'spreadsheetml/2009/9/main"><x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/'
          b'excel/2006/main"><x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Stats!$A$2:$A$4'
          b"</xm:f></x14:formula1><xm:sqref>E2:E4</xm:sqref></x14:dataValidation></x14:dataValidations></ext>"
          b"</extLst>")
TEXT_BOX = (b'<xdr:twoCellAnchor><xdr:from><xdr:col>8</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row>'
            b'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>11</xdr:col><xdr:colOff>0</xdr:colOff>'
            b'<xdr:row>12</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink=""><xdr:nvSpPr>'
            b'<xdr:cNvPr id="90" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:xfrm>'
            b'<a:off x="0" y="0"/><a:ext cx="1800000" cy="700000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
            b'</a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>Reviewed weekly</a:t>'
            b'</a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>')
THREADED = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<ThreadedComments xmlns="http://schemas.'
            b'microsoft.com/office/spreadsheetml/2018/threadedcomments"><threadedComment ref="A3" '
            b'dT="2026-03-01T10:00:00.00" personId="{11111111-1111-1111-1111-111111111111}" '
            b'id="{22222222-2222-2222-2222-222222222222}"><text>Check the ID</text></threadedComment>'
            b"</ThreadedComments>")
# docProps/app.xml as Excel writes it: the worksheets' titles under a counted heading, then the names
APP = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
       b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
       b'<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>'
       b'<HeadingPairs><vt:vector size="4" baseType="variant"><vt:variant><vt:lpstr>%s</vt:lpstr>'
       b'</vt:variant><vt:variant><vt:i4>2</vt:i4></vt:variant><vt:variant><vt:lpstr>Named Ranges</vt:lpstr>'
       b'</vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts>'
       b'<vt:vector size="3" baseType="lpstr"><vt:lpstr>Notes</vt:lpstr><vt:lpstr>Stats</vt:lpstr>'
       b'<vt:lpstr>FlagCounts</vt:lpstr></vt:vector></TitlesOfParts><AppVersion>16.0300</AppVersion></Properties>')
PERSONS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<personList xmlns="http://schemas.microsoft'
           b'.com/office/spreadsheetml/2018/threadedcomments"><person displayName="Admin" '
           b'id="{11111111-1111-1111-1111-111111111111}" userId="admin" providerId="None"/></personList>')


def _workbook(path: Path, heading: bytes = b"Worksheets", macros: bool = False) -> Path:
    """Notes + a Stats sheet with an image, a chart, a text box, sparklines, conditional formatting,
    a data validation and an x14 one, a defined name, legacy and threaded comments, customXml,
    and Excel's document properties (app.xml, its worksheets heading in `heading`). With macros
    (an .xlsm): a signed VBA project and a form control (a check box) on the Notes sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Note ID", "Date", "Client", "Clinician", "Status", "Note"])
    for i in range(3):
        ws.append([f"f{i}", f"2026-03-0{i + 2}", "Ann", "Dr Lee", "Open", f"{TEXT} ({i})"])
    ws["F2"].comment = Comment("signed late", "Admin")
    ws["A3"].comment = Comment("[Threaded comment]\nCheck the ID", "tc={22222222-2222-2222-2222-222222222222}")
    dv = DataValidation(type="list", formula1='"Open,Closed"')
    ws.add_data_validation(dv)
    dv.add("E2:E4")
    stats = wb.create_sheet("Stats")
    for row in [["Week", "Flags"], ["W1", 3], ["W2", 5], ["W3", 2]]:
        stats.append(row)
    stats.conditional_formatting.add("B2:B4", CellIsRule(operator="greaterThan", formula=["4"],
                                                         fill=PatternFill("solid", start_color="FFC7CE")))
    chart = BarChart()
    chart.add_data(Reference(stats, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    stats.add_chart(chart, "E2")
    img = openpyxl.drawing.image.Image(io.BytesIO(_png()))
    stats.add_image(img, "E20")
    wb.defined_names["FlagCounts"] = DefinedName("FlagCounts", attr_text="Stats!$B$2:$B$4")
    buf = io.BytesIO()
    wb.save(buf)
    tc_rel = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
    person_rel = "http://schemas.microsoft.com/office/2017/10/relationships/person"
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", X14_DV + b"</worksheet>")
                if macros:
                    data = re.sub(rb"(<legacyDrawing [^>]*/>)", lambda m: m.group(1) + CONTROLS, data)
            elif item.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b"</worksheet>", SPARKLINES + b"</worksheet>")
            elif item.filename == "xl/drawings/drawing1.xml":
                data = data.replace(b"</xdr:wsDr>", TEXT_BOX + b"</xdr:wsDr>")
            elif item.filename == "xl/worksheets/_rels/sheet1.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rIdTc" Type="{tc_rel}" Target="../'
                                    f'threadedComments/threadedComment1.xml"/></Relationships>'.encode())
            elif item.filename == "docProps/app.xml":
                data = APP % heading
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rIdP" Type="{person_rel}" '
                                    f'Target="persons/person.xml"/></Relationships>'.encode())
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/threadedComments/threadedComment1.xml" '
                                    b'ContentType="application/vnd.ms-excel.threadedcomments+xml"/><Override '
                                    b'PartName="/xl/persons/person.xml" ContentType="application/vnd.ms-excel.'
                                    b'person+xml"/></Types>')
            if macros:
                data = _with_macros(item.filename, data)
            zout.writestr(item, data)
        zout.writestr("xl/threadedComments/threadedComment1.xml", THREADED)
        zout.writestr("xl/persons/person.xml", PERSONS)
        zout.writestr("customXml/item1.xml", b"<practice>kept</practice>")
        if macros:
            for name, data in MACRO_PARTS.items():
                zout.writestr(name, data)
    return path


# ---- a signed VBA project and a form control, as Excel writes them into an .xlsm ---------------

def _empty_cfb() -> bytes:
    """A valid OLE compound file (version 3) holding only its root storage: what vbaProject.bin is
    made of, without a VBA project in it (no macro code in the test suite)."""
    free, end, fat_sector, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + bytes(6) + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * 126
    name = "Root Entry".encode("utf-16-le") + bytes(2)
    root = (name.ljust(64, b"\0") + struct.pack("<HBB", len(name), 5, 1) + struct.pack("<III", nostream, nostream,
            nostream) + bytes(16 + 4 + 16) + struct.pack("<IQ", end, 0))
    empty = bytes(64) + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", nostream, nostream, nostream) + bytes(44)
    return header + fat + root + empty * 3


SIGNATURE = bytes(range(256)) * 6  # a signature blob: only its bytes and its link matter here
CONTROL_SHAPE = (b'<v:shape xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                 b'xmlns:x="urn:schemas-microsoft-com:office:excel" id="_x0000_s1028" type="#_x0000_t201" '
                 b'style="position:absolute;margin-left:460pt;margin-top:16pt;width:80pt;height:18pt;z-index:3" '
                 b'filled="f" stroked="f" o:insetmode="auto"><v:textbox style="mso-direction-alt:auto" '
                 b'o:singleclick="f"><div style="text-align:left">Reviewed</div></v:textbox>'
                 b'<x:ClientData ObjectType="Checkbox"><x:SizeWithCells/><x:Anchor>7, 0, 1, 0, 8, 40, 2, 0</x:Anchor>'
                 b"<x:AutoFill>False</x:AutoFill><x:AutoLine>False</x:AutoLine><x:TextVAlign>Center</x:TextVAlign>"
                 b"<x:Checked>1</x:Checked><x:NoThreeD/></x:ClientData></v:shape>")
CONTROLS = (b'<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
            b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><mc:Choice Requires="x14">'
            b'<controls><mc:AlternateContent><mc:Choice Requires="x14"><control xmlns:r="http://schemas.openxmlformats'
            b'.org/officeDocument/2006/relationships" shapeId="1028" r:id="rIdCtrl1" name="Check Box 1"><controlPr '
            b'defaultSize="0" autoFill="0" autoLine="0" autoPict="0"><anchor moveWithCells="1"><from><xdr:col '
            b'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">7</xdr:col><xdr:colOff '
            b'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">0</xdr:colOff><xdr:row '
            b'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">1</xdr:row><xdr:rowOff '
            b'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">0</xdr:rowOff></from>'
            b'<to><xdr:col xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">8</xdr:col>'
            b'<xdr:colOff xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">381000'
            b'</xdr:colOff><xdr:row xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">2'
            b'</xdr:row><xdr:rowOff xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">0'
            b"</xdr:rowOff></to></anchor></controlPr></control></mc:Choice></mc:AlternateContent></controls>"
            b"</mc:Choice></mc:AlternateContent>")
CTRL_PROP = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<formControlPr xmlns="http://schemas.'
             b'microsoft.com/office/spreadsheetml/2009/9/main" objectType="CheckBox" checked="Checked" '
             b'lockText="1" noThreeD="1"/>')
VBA_RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft'
            b'.com/office/2006/relationships/vbaProjectSignature" Target="vbaProjectSignature.bin"/></Relationships>')
MACRO_PARTS = {"xl/vbaProject.bin": _empty_cfb(), "xl/vbaProjectSignature.bin": SIGNATURE,
               "xl/_rels/vbaProject.bin.rels": VBA_RELS, "xl/ctrlProps/ctrlProp1.xml": CTRL_PROP}
MACRO_KEPT = (*MACRO_PARTS, "xl/worksheets/_rels/sheet1.xml.rels")


def _with_macros(name: str, data: bytes) -> bytes:
    """The parts a signed macro workbook with a check box changes, as Excel writes them."""
    if name == "[Content_Types].xml":
        return data.replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
            b"</Types>", b'<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                         b'<Override PartName="/xl/vbaProjectSignature.bin" ContentType="application/vnd.ms-office.'
                         b'vbaProjectSignature"/><Override PartName="/xl/ctrlProps/ctrlProp1.xml" ContentType='
                         b'"application/vnd.ms-excel.controlproperties+xml"/></Types>')
    if name == "xl/_rels/workbook.xml.rels":
        return data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                            b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    if name == "xl/worksheets/_rels/sheet1.xml.rels":
        return data.replace(b"</Relationships>", b'<Relationship Id="rIdCtrl1" Type="http://schemas.openxmlformats'
                            b'.org/officeDocument/2006/relationships/ctrlProp" Target="../ctrlProps/ctrlProp1.xml"/>'
                            b"</Relationships>")
    if name == "xl/drawings/commentsDrawing1.vml":  # the sheet's one VML drawing holds the control's shape too
        return data.replace(b"</xml>", CONTROL_SHAPE + b"</xml>")
    return data


def test_signed_macro_workbook_with_a_form_control_keeps_every_other_part(tmp_path):
    src = _workbook(tmp_path / "practice.xlsm", macros=True)
    res = read_xlsx(src, Config())
    assert [n.note_id for n in res.notes] == ["f0", "f1", "f2"]
    dest = tmp_path / "out" / "practice.annotated.xlsm"
    dest.parent.mkdir()
    write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    before, after = _members(src), _members(dest)
    changed = _changed(src, dest)
    assert changed <= XLSX_MAY_CHANGE | {"xl/comments/comment1.xml", "xl/drawings/commentsDrawing1.vml"}, changed
    for kept in MACRO_KEPT:  # the project, its signature and the link to it, the control and its link
        assert kept not in changed and after[kept] == before[kept], kept
    types = after["[Content_Types].xml"]
    for part, ctype in (("/xl/vbaProject.bin", b"vbaProject"), ("/xl/vbaProjectSignature.bin", b"vbaProjectSignature"),
                        ("/xl/ctrlProps/ctrlProp1.xml", b"controlproperties")):
        assert re.search(rb'PartName="%s" ContentType="[^"]*%s' % (part.encode(), ctype), types), part
    assert b"macroEnabled.main+xml" in types
    # the sheet keeps its control where it was; our comment boxes join the VML without taking its shape id
    assert CONTROLS in after["xl/worksheets/sheet1.xml"]
    vml = after["xl/drawings/commentsDrawing1.vml"]
    assert CONTROL_SHAPE in vml and vml.count(b'"_x0000_s1028"') == 1
    # F2's and A3's boxes, and new ones for F3, F4 and the Review column's header
    assert len(re.findall(rb'ObjectType="Note"', vml)) == 5
    out = openpyxl.load_workbook(dest, keep_vba=True)
    assert [c.value for c in out["Notes"][1]][6:] == list(ADDED)
    assert out["Notes"]["F4"].comment.text.startswith("notesplugin findings:")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_converts_the_signed_macro_copy(tmp_path):
    src = _workbook(tmp_path / "practice.xlsm", macros=True)
    _to_pdf(src, tmp_path / "before")  # the fixture itself converts: a failure below is the copy's
    res = read_xlsx(src, Config())
    dest = tmp_path / "practice.annotated.xlsm"
    write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    _to_pdf(dest, tmp_path / "after")


XLSX_MAY_CHANGE = {"[Content_Types].xml", "docProps/app.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                   "xl/styles.xml",
                   "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml", "xl/comments/comment1.xml",
                   "xl/drawings/commentsDrawing1.vml"}


def test_workbook_fixture_keeps_every_other_part(tmp_path):
    src = _workbook(tmp_path / "practice.xlsx")
    with zipfile.ZipFile(src) as zf:
        names = set(zf.namelist())
    assert {"xl/charts/chart1.xml", "xl/media/image1.png", "xl/drawings/drawing1.xml"} <= names
    res = read_xlsx(src, Config())
    dest = tmp_path / "out" / "practice.xlsx"
    dest.parent.mkdir()
    write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    changed = _changed(src, dest)
    legacy = {n for n in _members(src) if re.search(r"comment|vml", n, re.I)
              and not n.startswith("xl/threadedComments")}
    assert changed <= XLSX_MAY_CHANGE | legacy, changed - XLSX_MAY_CHANGE
    for kept in ("xl/charts/chart1.xml", "xl/media/image1.png", "xl/drawings/drawing1.xml",
                 "xl/worksheets/sheet2.xml", "xl/threadedComments/threadedComment1.xml", "xl/persons/person.xml",
                 "customXml/item1.xml"):
        assert kept not in changed
    sheet = _members(dest)["xl/worksheets/sheet1.xml"]
    assert X14_DV in sheet and b"<dataValidations" in sheet
    assert b'definedName name="FlagCounts"' in _members(dest)["xl/workbook.xml"]
    out = openpyxl.load_workbook(dest)
    assert [c.value for c in out["Notes"][1]][6:] == list(ADDED)
    assert out["Notes"]["F2"].comment.text.startswith("signed late\n\nnotesplugin findings:")
    assert out["Notes"]["F3"].comment.text.startswith("notesplugin findings:")
    if SOFFICE:
        _to_pdf(dest, tmp_path / "pdf")


def _app_parts(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(heading, count) pairs and the titles docProps/app.xml lists."""
    root = etree.fromstring(_members(path)["docProps/app.xml"])
    pairs = [v[0].text for v in root.iterfind(f"{{{EP}}}HeadingPairs/{{{VT}}}vector/{{{VT}}}variant")]
    vector = root.find(f"{{{EP}}}TitlesOfParts/{{{VT}}}vector")
    titles = [t.text for t in vector]
    assert int(vector.get("size")) == len(titles)
    assert int(root.find(f"{{{EP}}}HeadingPairs/{{{VT}}}vector").get("size")) == len(pairs)
    return list(zip(pairs[::2], pairs[1::2])), titles


@pytest.mark.parametrize("heading", ["Worksheets", "Arbeitsblätter"])
def test_app_xml_counts_the_findings_sheet(tmp_path, heading):
    """Excel's document properties (File > Info, Explorer) list the worksheets: the copy's list holds
    the Findings sheet too, whatever language the heading is in; the named ranges stay as they were."""
    src = _workbook(tmp_path / "practice.xlsx", heading.encode("utf-8"))
    assert _app_parts(src) == ([(heading, "2"), ("Named Ranges", "1")], ["Notes", "Stats", "FlagCounts"])
    res = read_xlsx(src, Config())
    dest = tmp_path / "practice.annotated.xlsx"
    write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    assert _app_parts(dest) == ([(heading, "3"), ("Named Ranges", "1")],
                                ["Notes", "Stats", "Findings", "FlagCounts"])
    assert openpyxl.load_workbook(dest).sheetnames == ["Notes", "Stats", "Findings"]


def test_app_xml_without_a_sheet_list_is_kept(tmp_path):
    """openpyxl's app.xml lists no sheets: nothing to agree with, so it is copied byte for byte."""
    wb = openpyxl.Workbook()
    wb.active.append(["Note ID", "Note"])
    wb.active.append(["n1", TEXT])
    src = tmp_path / "plain.xlsx"
    wb.save(src)
    res = read_xlsx(src, Config())
    dest = tmp_path / "plain.annotated.xlsx"
    write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    assert "docProps/app.xml" not in _changed(src, dest)


# ---- Word --------------------------------------------------------------------------------

FOOTNOTES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes '
             b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
             b'<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
             b'<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r>'
             b'</w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>Per the intake form.</w:t></w:r></w:p>'
             b"</w:footnote></w:footnotes>")
MODERN = {
    "word/commentsExtended.xml": ("http://schemas.microsoft.com/office/2011/relationships/commentsExtended",
                                  "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml",
                                  b'<w15:commentsEx xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
                                  b'<w15:commentEx w15:paraId="00000001" w15:done="0"/></w15:commentsEx>'),
    "word/people.xml": ("http://schemas.microsoft.com/office/2011/relationships/people",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
                        b'<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
                        b'<w15:person w15:author="Dr Lee"><w15:presenceInfo w15:providerId="None" '
                        b'w15:userId="Dr Lee"/></w15:person></w15:people>'),
    "word/footnotes.xml": ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes",
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml", FOOTNOTES),
}


def _document(path: Path) -> Path:
    """A note with an image, a tracked insertion, an inline content control, a footnote, a text box,
    an existing comment and Word's modern-comment parts."""
    doc = Document()
    for line in ("Note ID: w-1", "Client: Ann", "Date of Service: 03/02/2026", "Clinician: Dr Lee"):
        doc.add_paragraph(line)
    body = doc.add_paragraph(TEXT)
    doc.add_comment(body.runs, text="Please co-sign", author="Dr Lee")
    p = doc.add_paragraph("Plan: weekly sessions")
    p._p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="91" w:author="Dr Lee" w:date="2026-03-02T10:00:00Z">'
                          f"<w:r><w:t xml:space=\"preserve\"> and a safety check</w:t></w:r></w:ins>"))
    p._p.append(parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtPr><w:alias w:val="Next"/></w:sdtPr><w:sdtContent>'
                          f"<w:r><w:t xml:space=\"preserve\"> next week</w:t></w:r></w:sdtContent></w:sdt>"))
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                          f'<w:footnoteReference w:id="1"/></w:r>'))
    box = doc.add_paragraph()
    box._p.append(parse_xml(f'<w:r {nsdecls("w")} xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:shape style="width:120pt;height:40pt">'
                            f"<v:textbox><w:txbxContent><w:p><w:r><w:t>Reviewed weekly</w:t></w:r></w:p>"
                            f"</w:txbxContent></v:textbox></v:shape></w:pict></w:r>"))
    doc.add_picture(io.BytesIO(_png()))
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/_rels/document.xml.rels":
                rels = "".join(f'<Relationship Id="rIdM{i}" Type="{t}" Target="{n[5:]}"/>'
                               for i, (n, (t, _, _)) in enumerate(MODERN.items()))
                data = data.replace(b"</Relationships>", rels.encode() + b"</Relationships>")
            elif item.filename == "[Content_Types].xml":
                types = "".join(f'<Override PartName="/{n}" ContentType="{c}"/>' for n, (_, c, _) in MODERN.items())
                data = data.replace(b"</Types>", types.encode() + b"</Types>")
            zout.writestr(item, data)
        for name, (_, _, body) in MODERN.items():
            zout.writestr(name, body)
    return path


DOCX_MAY_CHANGE = {"word/document.xml", "word/comments.xml", "word/commentsExtended.xml", "word/people.xml"}


def test_word_fixture_keeps_every_other_part(tmp_path):
    src = _document(tmp_path / "note.docx")
    res = read_docx(src, Config())
    [note] = res.notes
    dest = tmp_path / "out" / "note.docx"
    dest.parent.mkdir()
    write_docx(res.source, dest, res.notes, [_finding(note, "it would all be fine")])
    changed = _changed(src, dest)
    assert "word/document.xml" in changed and changed <= DOCX_MAY_CHANGE, changed
    assert "word/footnotes.xml" not in changed and any(n.startswith("word/media/") for n in _members(dest))
    xml = _members(dest)["word/document.xml"]
    for kept in (b"<w:ins ", b"<w:sdt>", b'<w:footnoteReference w:id="1"/>', b"<w:txbxContent>", b"<a:blip "):
        assert kept in xml
    out = Document(str(dest))
    assert {c.author for c in out.comments} == {"Dr Lee", "notesplugin"}
    assert [n.text for n in read_docx(dest, Config()).notes] == [note.text]
    if SOFFICE:
        _to_pdf(dest, tmp_path / "pdf")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_fixtures_before_annotation(tmp_path):
    """The fixtures themselves are valid: a conversion failure above is the copy's fault."""
    _to_pdf(_workbook(tmp_path / "practice.xlsx"), tmp_path)
    _to_pdf(_document(tmp_path / "note.docx"), tmp_path)


def test_a_workbook_saved_again_after_reading_gets_no_copy(tmp_path):
    # The writer patches the sheet the reader read; other bytes would get findings on the wrong rows.
    import os
    from notesplugin.model import InputError
    src = _workbook(tmp_path / "practice.xlsx")
    res = read_xlsx(src, Config())
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # Excel saved it again, same size
    dest = tmp_path / "practice.annotated.xlsx"
    with pytest.raises(InputError, match=r"practice\.xlsx: the file changed while it was being read"):
        write_xlsx(res.source, dest, res.notes, [_finding(n, "it would all be fine") for n in res.notes])
    assert not dest.exists()
