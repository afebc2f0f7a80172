"""Valid but unusual exports that used to give a wrong answer with exit 0 (a third hostile battery):
ids that repeat across sheets, weekly exports that share a name and carry no id, a header row
pasted twice, dotted dates, a note cell that is a formula."""
from __future__ import annotations

import csv
import json
import sqlite3

import openpyxl
from click.testing import CliRunner

from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.ledger import Ledger
from notesplugin.model import Note
from notesplugin.readers import read, unique_ids
from notesplugin.readers.columns import parse_date

HEAD = ["Note ID", "Session Date", "Client", "Clinician", "Session Note"]
R1 = "Client sobbed about her father's funeral. I changed the subject to her sleep schedule."
CLEAN = "Client reviewed her week. We agreed the plan for next session. Denies SI/HI."


def scan(*args):
    res = CliRunner().invoke(main, ["scan", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res


def test_ids_that_restart_on_each_sheet_stay_apart_in_the_ledger(tmp_path):
    wb = openpyxl.Workbook()
    dana, omar = wb.active, wb.create_sheet("Omar")
    dana.title = "Dana"
    dana.append(HEAD)
    omar.append(HEAD)
    for i in range(1, 4):
        dana.append([i, f"2026-03-0{i + 1}", f"Client D{i}", "Dana Smith, LPC", R1 if i == 1 else CLEAN])
        omar.append([i, f"2026-03-0{i + 1}", f"Client O{i}", "Omar Smith, LMFT", CLEAN])
    wb.save(tmp_path / "per_clinician.xlsx")
    _, got = read(tmp_path / "per_clinician.xlsx", Config())
    assert len({n.note_id for n in got.notes}) == 6 and "Omar!1" in {n.note_id for n in got.notes}
    scan(tmp_path / "per_clinician.xlsx", "--out", tmp_path / "out", "--ledger", tmp_path / "l.db")
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 6
        assert db.execute("SELECT clinician_key, item FROM findings").fetchall() == [("dana smith", "R1")]


def test_unique_ids_leaves_distinct_ids_alone_and_is_stable():
    notes = [Note(note_id="7", file="a.docx", text="x", position=0), Note(note_id="7", file="a.docx", text="y", position=1),
             Note(note_id="8", file="a.docx", text="z", position=2)]
    once = unique_ids(notes)
    assert [n.note_id for n in once] == ["7#0", "7#1", "8"] and [n.note_id for n in unique_ids(notes)] == ["7#0", "7#1", "8"]
    assert unique_ids(once) is once  # nothing left to qualify: the same list back


def test_weekly_exports_with_one_name_and_no_id_column_make_a_repeated_gap(tmp_path):
    ledger = tmp_path / "l.db"
    for week in (1, 2, 3):
        folder = tmp_path / f"week{week}"
        folder.mkdir()
        with open(folder / "SessionNotes.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["Session Date", "Client", "Clinician", "Session Note"])
            w.writerow([f"2026-03-{week * 7:02d}", f"Client {week}", "Dana Whitfield, LPC", R1])
            w.writerow([f"2026-03-{week * 7:02d}", "Someone Else", "Dana Whitfield, LPC", CLEAN])
        scan(folder / "SessionNotes.csv", "--out", tmp_path / f"out{week}", "--ledger", ledger)
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 6
    gaps = CliRunner().invoke(main, ["gaps", "--ledger", str(ledger)])
    assert "Dana Whitfield / grief: 3 sessions" in gaps.output, gaps.output
    # the same export scanned again is the same notes, not three more
    scan(tmp_path / "week3" / "SessionNotes.csv", "--out", tmp_path / "again", "--ledger", ledger)
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 6


def test_a_note_without_an_id_stored_before_keeps_its_key(tmp_path):
    """A ledger written before ids made by the reader were keyed by date and client: a re-scan of the
    same old export finds its notes again (not new ones)."""
    n = Note(note_id="SessionNotes:2", file="SessionNotes.csv", text=R1, clinician="Dana Whitfield", client="A B",
             date="2026-03-02", id_given=False)
    with Ledger(tmp_path / "l.db") as led:
        bare = led.note_key(n.file, n.note_id)
        led.conn.execute("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (bare, "dana whitfield", led.client_hash("A B"), "2026-03-02", led.text_hash(R1), "1", "r0"))
        assert led.note_key_of(n) == bare
        other_week = Note(**{**n.__dict__, "date": "2026-03-09"})
        assert led.note_key_of(other_week) != bare


def test_two_files_of_one_name_from_two_folders_are_two_notes(tmp_path):
    for sub, day in (("a", "2026-03-02"), ("b", "2026-03-09")):
        (tmp_path / sub).mkdir()
        with open(tmp_path / sub / "SessionNotes.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["Session Date", "Client", "Clinician", "Session Note"],
                                      [day, f"Client {sub}", "Dana Whitfield", R1]])
    scan(tmp_path / "a", tmp_path / "b", "--out", tmp_path / "out", "--ledger", tmp_path / "l.db")
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM findings WHERE item = 'R1'").fetchone()[0] == 2


def test_a_header_row_pasted_twice_is_no_note(tmp_path):
    rows = [HEAD] + [[f"n{i}", "2026-03-02", f"C{i}", "Dana Whitfield", CLEAN] for i in range(3)]
    rows += [HEAD] + [[f"m{i}", "2026-03-09", f"D{i}", "Dana Whitfield", R1 if i == 0 else CLEAN] for i in range(3)]
    with open(tmp_path / "two.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(tmp_path / "two.xlsx")
    for name in ("two.csv", "two.xlsx"):
        _, got = read(tmp_path / name, Config())
        assert len(got.notes) == 6 and not any(n.clinician == "Clinician" for n in got.notes), name
        assert any("header row appears 1 more time" in w for w in got.warnings), got.warnings
    res = scan(tmp_path / "two.csv", "--out", tmp_path / "out", "--ledger", tmp_path / "l.db")
    assert "header row appears" in res.output
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert [r[0] for r in db.execute("SELECT key FROM clinicians")] == ["dana whitfield"]


def test_dotted_dates_are_day_first():
    assert parse_date("14.03.2026") == "2026-03-14"
    assert parse_date("3.4.26") == "2026-04-03"
    assert parse_date("14.03.2026 10:15") == "2026-03-14"
    assert parse_date("1.2.3.4") is None


def test_a_formula_note_cell_is_named_as_such(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEAD + ["Part A", "Part B"])
    ws.append(["n1", "2026-03-02", "A", "Dana Whitfield", CLEAN, "", ""])
    ws.append(["n2", "2026-03-03", "B", "Dana Whitfield", '=F3&" "&G3', "Client sobbed.", "I changed the subject."])
    wb.save(tmp_path / "f.xlsx")
    _, got = read(tmp_path / "f.xlsx", Config())
    assert [n.note_id for n in got.notes] == ["n1"]
    assert any("formula, not text" in w and "Paste Special" in w for w in got.warnings), got.warnings
    assert not any("without note text" in w for w in got.warnings), got.warnings


def test_notes_with_no_date_are_said_as_in_word_exports(tmp_path):
    """A workbook whose date column is not recognised: its notes cannot make a repeated gap, and the run says so
    (a Word export already said it note by note)."""
    wb = openpyxl.Workbook()
    wb.active.append(["Note ID", "When", "Client", "Clinician", "Session Note"])
    for i in range(3):
        wb.active.append([f"n{i}", f"2026-03-0{i + 2}", f"C{i}", "Dana Whitfield", R1])
    wb.save(tmp_path / "undated.xlsx")
    _, got = read(tmp_path / "undated.xlsx", Config())
    assert any("3 of 3 notes have no date" in w and "[columns] date" in w for w in got.warnings), got.warnings
    with open(tmp_path / "bad.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Session Date", "Clinician", "Session Note"], ["14/14/2026", "Dana W", R1],
                                  ["2026-03-02", "Dana W", CLEAN]])
    _, got = read(tmp_path / "bad.csv", Config())
    assert any("1 of 2 notes have no date (row 2: '14/14/2026' is not a date)" in w for w in got.warnings), got.warnings


def test_an_exempt_finding_says_its_exemption_once():
    from notesplugin.model import Finding
    from notesplugin.writers.comments import comment_text
    f = Finding("n1", "a.docx", "rescuing", "R1", "redirect", "exempt", "grief", "x", 0, 1, {},
                reason="changed the subject (exempt: crisis C1) [model 0.91]", exempt_by=("C1",))
    assert comment_text(f) == ["R1 redirect — changed the subject (exempt: crisis C1) [model 0.91]"]
    bare = Finding("n1", "a.docx", "rescuing", "R1", "redirect", "exempt", "grief", "x", 0, 1, {}, exempt_by=("C1",))
    assert comment_text(bare) == ["R1 redirect", "exempt: crisis C1"]


def test_a_word_package_whose_main_part_has_another_name_is_read_and_annotated(tmp_path):
    """Word Online may save the body as word/document2.xml; the root relationships say so."""
    import re
    import zipfile

    import docx
    d = docx.Document()
    d.add_paragraph("Client: Kim T.")
    d.add_paragraph("Date: 2026-03-04")
    d.add_paragraph(R1)
    d.save(tmp_path / "plain.docx")
    with zipfile.ZipFile(tmp_path / "plain.docx") as src, zipfile.ZipFile(tmp_path / "doc2.docx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            name = info.filename.replace("word/document.xml", "word/document2.xml").replace(
                "word/_rels/document.xml.rels", "word/_rels/document2.xml.rels")
            if info.filename in ("_rels/.rels", "[Content_Types].xml"):
                data = re.sub(rb"word/document\.xml", b"word/document2.xml", data)
            dst.writestr(name, data)
    res = scan(tmp_path / "doc2.docx", "--out", tmp_path / "out", "--no-ledger")
    assert "doc2.docx: 1 note, 1 flagged" in res.output, res.output
    with zipfile.ZipFile(tmp_path / "out" / "doc2.annotated.docx") as zf:
        assert "word/comments.xml" in zf.namelist() and b"commentReference" in zf.read("word/document2.xml")


def test_a_mac_csv_with_a_multi_line_note_is_read(tmp_path):
    """Excel's "CSV (Macintosh)": records end in CR; a note's own line break inside quotes is an LF."""
    body = (b'Note ID,Session Date,Clinician,Session Note\r'
            b'n1,2026-03-02,Dana Whitfield,"Client sobbed about her father\'s funeral.\nI changed the subject to her sleep schedule."\r'
            b'n2,2026-03-03,Dana Whitfield,' + CLEAN.encode() + b'\r')
    (tmp_path / "mac.csv").write_bytes(body)
    _, got = read(tmp_path / "mac.csv", Config())
    assert [n.note_id for n in got.notes] == ["n1", "n2"] and "\n" in got.notes[0].text
    scan(tmp_path / "mac.csv", "--out", tmp_path / "out", "--no-ledger")
    copy = (tmp_path / "out" / "mac.annotated.csv").read_bytes()
    assert copy.count(b"\r") == 3 and b"R1" in copy.split(b"\r")[1]


def test_excel_escapes_in_cells_are_read_as_the_characters_they_stand_for(tmp_path):
    # exports that copy Windows line ends into cells carry Excel's escape _x000D_ for the CR
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append(["E-1", "2026-03-02", "Client A", "Dana Smith, LPC",
               "Client sobbed about her father's funeral._x000D_\nI changed the subject to her sleep schedule._x0009_"])
    wb.save(tmp_path / "esc.xlsx")
    _, got = read(tmp_path / "esc.xlsx", Config())
    assert got.notes[0].text == "Client sobbed about her father's funeral.\nI changed the subject to her sleep schedule."


def test_excel_text_formulas_in_a_csv_give_their_value(tmp_path):
    # ="00121" keeps an ID's leading zeros in Excel; the ID is 00121
    (tmp_path / "safe.csv").write_text(
        "Note ID,Session Date,Client,Clinician,Session Note\n"
        f'"=""00121""","=""2026-03-02""",Client A,"Dana Smith, LPC","{R1}"\n'
        f'="00122",2026-03-03,Client B,"Dana Smith, LPC","{CLEAN}"\n', encoding="utf-8")
    _, got = read(tmp_path / "safe.csv", Config())
    assert [(n.note_id, n.date) for n in got.notes] == [("00121", "2026-03-02"), ("00122", "2026-03-03")]


def test_a_csv_with_stray_nul_bytes_is_read_and_utf16_without_its_mark_too(tmp_path):
    text = ("Note ID,Session Date,Client,Clinician,Session Note\r\n"
            f'N-1,2026-03-02,Client A,"Dana Smith, LPC","{R1}"\r\n'
            f'N-2,2026-03-03,Client B,"Dana Smith, LPC","{CLEAN}"\r\n')
    padded = (text.encode().replace(b"N-1,", b"N-1\x00\x00\x00\x00,").replace(b"N-2,", b"N-2\x00\x00\x00\x00,")
              .replace(b"schedule.", b"schedule.\x00\x00"))  # a fixed-width exporter's padding: 3% of the bytes
    (tmp_path / "nul.csv").write_bytes(padded)
    kind, got = read(tmp_path / "nul.csv", Config())
    assert [n.note_id for n in got.notes] == ["N-1", "N-2"] and got.notes[0].text == R1
    assert any("NUL bytes" in w for w in got.warnings)
    (tmp_path / "u16.csv").write_bytes(text.encode("utf-16-le"))
    _, got = read(tmp_path / "u16.csv", Config())
    assert [n.note_id for n in got.notes] == ["N-1", "N-2"] and any("UTF-16-LE" in w for w in got.warnings)
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 20)
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "bin.csv"), "--out", str(tmp_path / "o"), "--no-ledger"])
    assert res.exit_code == 3 and "bin.csv: binary data" in res.stderr
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "u16.csv"), str(tmp_path / "nul.csv"),
                                    "--out", str(tmp_path / "out"), "--no-ledger"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "u16.annotated.csv").read_bytes().decode("utf-16-le").startswith("Note ID,")


def _repack(src, dest, part: str, old: bytes, new: bytes, add: dict | None = None) -> None:
    """A copy of a package with one part's bytes edited (and parts added)."""
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data.replace(old, new) if item.filename == part else data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def test_a_strict_open_xml_workbook_is_named_with_its_fix(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEAD)
    wb.active.append(["S-1", "2026-03-02", "Client A", "Dana Smith, LPC", R1])
    wb.save(tmp_path / "plain.xlsx")
    _repack(tmp_path / "plain.xlsx", tmp_path / "strict.xlsx", "_rels/.rels",
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
            b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument")
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "strict.xlsx"), "--out", str(tmp_path / "o"), "--no-ledger"])
    assert res.exit_code == 3 and "strict.xlsx: saved as Strict Open XML" in res.stderr
    assert "save it as Excel Workbook (.xlsx)" in res.stderr


def test_hidden_sheets_beside_visible_ones_are_named_not_read(tmp_path):
    wb = openpyxl.Workbook()
    notes, gone = wb.active, wb.create_sheet("Deleted notes")
    notes.title = "Notes"
    for ws, nid, text in ((notes, "V-1", CLEAN), (gone, "D-1", R1)):
        ws.append(HEAD)
        ws.append([nid, "2026-03-02", "Client A", "Dana Smith, LPC", text])
    gone.sheet_state = "hidden"
    wb.save(tmp_path / "deleted.xlsx")
    _, got = read(tmp_path / "deleted.xlsx", Config())
    assert [n.note_id for n in got.notes] == ["V-1"]
    assert any("hidden sheet 'Deleted notes' not read" in w for w in got.warnings)


def test_a_word_run_starting_with_a_symbol_is_cut_at_the_sentence(tmp_path):
    import re
    import zipfile

    import docx
    from docx.oxml import parse_xml
    doc = docx.Document()
    for line in ("Note ID: W-1", "Date of Service: 2026-03-02", "Client: Ann Lee", "Clinician: Dana Smith"):
        doc.add_paragraph(line)
    p = doc.add_paragraph()
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    p._p.append(parse_xml(f'<w:r {w}><w:sym w:font="Wingdings" w:char="F0E0"/><w:tab/>'
                          f'<w:t xml:space="preserve">Client cried at the funeral. I changed the subject to her sleep.</w:t></w:r>'))
    doc.save(tmp_path / "sym.docx")
    scan(tmp_path / "sym.docx", "--out", tmp_path / "out", "--no-ledger")
    with zipfile.ZipFile(tmp_path / "out" / "sym.annotated.docx") as z:
        xml = z.read("word/document.xml").decode()
    [covered] = re.findall(r'commentRangeStart w:id="0"/>(.*?)<w:commentRangeEnd w:id="0"/>', xml)
    assert re.sub(r"<[^>]+>", "", covered) == "I changed the subject to her sleep."
    assert xml.count('w:char="F0E0"') == 1  # the symbol kept, once


def test_a_macro_enabled_word_document_is_read_and_its_macros_kept(tmp_path):
    import zipfile

    import docx
    d = docx.Document()
    for line in ("Note ID: M-1", "Date of Service: 2026-03-02", "Client: Ann Lee", "Clinician: Dana Smith", R1):
        d.add_paragraph(line)
    d.save(tmp_path / "plain.docx")
    vba = bytes(range(256)) * 4
    _repack(tmp_path / "plain.docx", tmp_path / "notes.docm", "[Content_Types].xml",
            b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            b"application/vnd.ms-word.document.macroEnabled.main+xml", {"word/vbaProject.bin": vba})
    (tmp_path / "plain.docx").unlink()
    scan(tmp_path, "--out", tmp_path / "out", "--no-ledger")  # a folder: .docm files are found
    found = [json.loads(x) for x in (tmp_path / "out" / "findings.jsonl").read_text().splitlines()]
    assert [(f["note_id"], f["item"]) for f in found] == [("M-1", "R1")]
    with zipfile.ZipFile(tmp_path / "out" / "notes.annotated.docm") as z:
        assert z.read("word/vbaProject.bin") == vba


def test_hidden_word_text_is_not_note_text(tmp_path):
    import zipfile

    import docx
    d = docx.Document()
    for line in ("Note ID: H-1", "Date of Service: 2026-03-02", "Client: Ann Lee", "Clinician: Dana Smith"):
        d.add_paragraph(line)
    p = d.add_paragraph("Client reviewed her week. ")
    hidden = p.add_run("I changed the subject to her sleep schedule when she sobbed.")
    hidden.font.hidden = True  # w:vanish: Word neither shows nor prints it
    p.add_run(" We agreed the plan.")
    d.save(tmp_path / "hidden.docx")
    _, got = read(tmp_path / "hidden.docx", Config())
    assert got.notes[0].text == "Client reviewed her week.  We agreed the plan."
    scan(tmp_path / "hidden.docx", "--out", tmp_path / "out", "--no-ledger")
    assert (tmp_path / "out" / "findings.jsonl").read_text() == ""
    with zipfile.ZipFile(tmp_path / "out" / "hidden.annotated.docx") as z:
        assert b"I changed the subject to her sleep schedule" in z.read("word/document.xml")  # kept as it was


def test_html_and_json_note_cells_are_read_as_the_text_they_show(tmp_path):
    from notesplugin.readers.markup import plain_text
    html = "<p>Client cried about her mother&#39;s death.</p><p>I changed the subject&nbsp;to her sleep.<br>Plan: weekly</p>"
    assert plain_text(html) == "Client cried about her mother's death.\nI changed the subject to her sleep.\nPlan: weekly"
    doc = '{"subjective": "Client sobbed at the funeral.", "intervention": "I changed the subject.", "risk": null}'
    assert plain_text(doc) == "Subjective: Client sobbed at the funeral.\nIntervention: I changed the subject."
    for plain in ("Client said 2 < 3 and {braces} are fine.", "{not json", "x <b unclosed"):
        assert plain_text(plain) == plain
    rows = [HEAD, ["P-1", "2026-03-02", "Client A", "Dana Smith, LPC",
                   "<div>Client sobbed about her father&#39;s funeral.<br>I changed the subject to her sleep schedule.</div>"]]
    with open(tmp_path / "portal.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    scan(tmp_path / "portal.csv", "--out", tmp_path / "out", "--no-ledger")
    [f] = [json.loads(x) for x in (tmp_path / "out" / "findings.jsonl").read_text().splitlines()]
    assert (f["item"], f["evidence"]) == ("R1", "I changed the subject to her sleep schedule.")


def test_word_altchunk_html_is_named_not_dropped_in_silence(tmp_path):
    import docx
    from docx.oxml import parse_xml
    d = docx.Document()
    for line in ("Note ID: A-1", "Date of Service: 2026-03-02", "Client: Ann Lee", "Clinician: Dana Smith",
                 "Client reviewed her week."):
        d.add_paragraph(line)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    r = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    d.element.body.insert(len(d.element.body) - 1, parse_xml(f'<w:altChunk {w} {r} r:id="rIdChunk"/>'))
    d.save(tmp_path / "chunk.docx")
    _, got = read(tmp_path / "chunk.docx", Config())
    assert any("imported HTML or RTF (altChunk)" in w for w in got.warnings)
