from __future__ import annotations

import csv
import io

import pytest

from notesplugin.config import Config
from notesplugin.model import Finding, InputError, Note
from notesplugin.readers.csv_reader import read_csv
from notesplugin.writers.csv_writer import write_csv
from notesplugin.writers.xlsx_writer import ADDED

TITLED = (
    "Harbor Counseling Group — Progress Notes Export\r\n"
    "Generated 2026-07-01 08:00\r\n"
    "\r\n"
    "DOS,Patient Name,Rendering Provider,Note #,Progress Note Narrative,Signed\r\n"
    '03/02/2026,Ann,Dr Lee,dev-001,"Client cried about her father.\r\nWriter said, ""it will be fine.""",Yes\r\n'
    "3/9/26,Bo,Dr Lee,dev-002,,Yes\r\n"
    "2026-03-16,Cy,Dr Lee,dev-003,Client angry at boss.,Yes\r\n"
)


def finding(note: Note, item: str, status: str = "flagged", checklist: str = "rescuing", name="reassure",
            topic="grief") -> Finding:
    return Finding(note.note_id, note.file, checklist, item, name, status, topic, "it will be fine", 0, 5,
                   note.location_of(0, 5), "reassured early")


def test_title_lines_multiline_cells_and_skips(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(TITLED.encode("utf-8"))
    res = read_csv(path, Config())
    assert [n.note_id for n in res.notes] == ["dev-001", "dev-003"]
    first = res.notes[0]
    assert first.text == 'Client cried about her father.\nWriter said, "it will be fine."'
    assert (first.client, first.clinician, first.date) == ("Ann", "Dr Lee", "2026-03-02")
    assert first.segments[0].location == {"row": 5, "column": "E", "header": "Progress Note Narrative"}
    assert res.notes[1].date == "2026-03-16" and res.notes[1].position == 1
    assert res.warnings == ["export.csv: 1 rows without note text skipped"]


def test_semicolons_bom_and_stable_ids(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_bytes("\ufeffDate;Clinician;S;O;A;P\n2026-03-02;Dr Kim;Tearful;Flat;Grieving;Weekly\n".encode("utf-8"))
    note = read_csv(path, Config()).notes[0]
    assert note.text == "Tearful\nFlat\nGrieving\nWeekly"
    assert note.note_id == "semi:2" and note.clinician == "Dr Kim"
    assert [s.location["column"] for s in note.segments] == ["C", "D", "E", "F"]


def test_cp1252_fallback(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("Note,Client\r\nClient said “no” – café,Zoë\r\n".encode("cp1252"))
    note = read_csv(path, Config()).notes[0]
    assert note.text == "Client said “no” – café" and note.client == "Zoë"


def test_no_note_column(tmp_path):
    path = tmp_path / "billing.csv"
    path.write_text("Client,Amount\nAnn,5\n")
    with pytest.raises(InputError) as err:
        read_csv(path, Config())
    assert str(err.value) == ("billing.csv: no note column found; columns seen: Client, Amount; "
                              "map one in notesplugin.toml under [columns] note = [\"Your Column\"]")


def test_write_csv_appends_columns(tmp_path):
    src = tmp_path / "export.csv"
    src.write_bytes(b"\xef\xbb\xbf" + TITLED.encode("utf-8"))
    before = src.read_bytes()
    res = read_csv(src, Config())
    n1 = res.notes[0]
    findings = [finding(n1, "R3", "exempt"), finding(n1, "C1", "present", "crisis", "suicide", None)]
    dest = tmp_path / "export.annotated.csv"
    assert write_csv(res.source, dest, res.notes, findings) == []
    assert src.read_bytes() == before
    raw = dest.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert (dest.stat().st_mode & 0o777) == 0o600
    old = list(csv.reader(io.StringIO(before.decode("utf-8-sig"), newline="")))
    new = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert new[:3] == old[:3]  # title lines untouched
    assert new[3] == old[3] + list(ADDED)
    assert new[4][:len(old[4])] == old[4]
    assert new[4][len(old[4]):] == ["", "R3 reassure", "C1 suicide", "grief", "crisis C1 present — rescuing exempt", ""]
    assert new[5][len(old[5]):] == [""] * 6  # the row without a note
    assert new[6][len(old[6]):] == ["", "", "", "", "no findings", ""]  # Review: left for the supervisor


def test_write_csv_semicolon_dialect(tmp_path):
    src = tmp_path / "semi.csv"
    src.write_text("Note ID;Note\nx1;Client wept; writer moved on\n".replace("wept; writer", "wept, writer"))
    res = read_csv(src, Config())
    dest = tmp_path / "semi.out.csv"
    write_csv(res.source, dest, res.notes, [])
    lines = dest.read_text().splitlines()
    assert lines[0] == "Note ID;Note;" + ";".join(ADDED)
    assert lines[1] == "x1;Client wept, writer moved on;;;;;no findings;"


# ---- the annotated copy keeps the input's bytes (issue 11) ----------------------------

def _scan(tmp_path, src, config):
    from notesplugin.pipeline import scan
    return scan([src], tmp_path / "out", config, ledger=False, summary=False)


def test_columns_mapping_keeps_every_row(tmp_path):
    """A note column only the practice's [columns] mapping names: all 50 rows are copied."""
    src = tmp_path / "mapped.csv"
    lines = ["Visit Ref,Therapist Remarks"] + [f"v{i},Client spoke about week {i}." for i in range(50)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = Config()
    config.columns["note"] = ["Therapist Remarks"]
    config.columns["note_id"] = ["Visit Ref"]
    result = _scan(tmp_path, src, config)
    assert not result.failed and len(result.files[0].notes) == 50
    out = (tmp_path / "out" / "mapped.annotated.csv").read_text(encoding="utf-8").splitlines()
    assert len(out) == 51
    assert [line.split(",")[:2] for line in out] == [line.split(",") for line in lines]
    assert all(line.endswith(",no findings,") for line in out[1:])


def test_copy_keeps_original_bytes_of_each_row(tmp_path):
    """Odd quoting, a stray space and CRLF inside a cell come back exactly as they were."""
    raw = (b'Note ID,Note,Extra\r\n'
           b'"a1","Client said ""no"".\r\nThen left." , x \r\n'
           b'a2,Client laughed.,"1,5"\r\n'
           b'a3,Client cried.')  # no newline at the end
    src = tmp_path / "odd.csv"
    src.write_bytes(raw)
    res = read_csv(src, Config())
    dest = tmp_path / "odd.out.csv"
    write_csv(res.source, dest, res.notes, [])
    got = dest.read_bytes().split(b"\r\n")
    want = raw.split(b"\r\n")
    assert got[0] == want[0] + b"," + ",".join(ADDED).encode()
    assert got[1] == want[1] and got[2] == want[2] + b",,,,,no findings,"  # the quoted cell's CRLF kept
    assert got[3] == want[3] + b",,,,,no findings,"
    assert got[4] == want[4] + b",,,,,,no findings," and len(got) == 5  # padded to the widest row


def test_stray_byte_in_utf8_file_is_read_and_copied(tmp_path):
    text = "Note ID,Client,Note\nu1,Zoë,Client felt “numb”.\nu2,Renée,Client cried.\n"
    raw = text.encode("utf-8").replace("Client cried".encode(), b"Client\xa0cried")  # one cp1252 byte
    src = tmp_path / "stray.csv"
    src.write_bytes(raw)
    res = read_csv(src, Config())
    assert [n.client for n in res.notes] == ["Zoë", "Renée"]
    assert res.notes[0].text == "Client felt “numb”." and res.notes[1].text == "Client\ufffdcried."
    assert any("read as UTF-8" in w for w in res.warnings)
    dest = tmp_path / "stray.out.csv"
    write_csv(res.source, dest, res.notes, [])
    assert dest.read_bytes().split(b"\n")[2].startswith(b"u2,Ren\xc3\xa9e,Client\xa0cried.,")


def test_latin1_with_undefined_cp1252_byte(tmp_path):
    """0x81 is not in Windows-1252: the file is still read (as latin-1 there), and copied byte for byte."""
    raw = "Note ID,Client,Note\r\nl1,Zoë,Client said “no”.\r\n".encode("cp1252") + b"l2,Ann,Odd \x81 byte.\r\n"
    src = tmp_path / "latin.csv"
    src.write_bytes(raw)
    res = read_csv(src, Config())
    assert [n.text for n in res.notes] == ["Client said “no”.", "Odd \x81 byte."]
    assert res.notes[0].client == "Zoë"
    assert any("Windows-1252" in w for w in res.warnings)
    dest = tmp_path / "latin.out.csv"
    write_csv(res.source, dest, res.notes, [])
    lines = dest.read_bytes().split(b"\r\n")
    assert lines[2] == b"l2,Ann,Odd \x81 byte.,,,,,no findings,"
    assert lines[0] == b"Note ID,Client,Note," + ",".join(ADDED).encode("cp1252")


def test_stray_byte_scan_names_the_encoding(tmp_path):
    src = tmp_path / "win.csv"
    src.write_bytes(b"Note ID,Note\r\nw1,Client said \x81 fine.\r\n")
    result = _scan(tmp_path, src, Config())
    assert not result.failed
    assert any("Windows-1252" in w for w in result.files[0].warnings)


def test_utf16_tab_copy(tmp_path):
    text = "Note ID\tNote\r\nt1\tClient wept.\r\n"
    src = tmp_path / "u16.csv"
    src.write_bytes(text.encode("utf-16"))
    res = read_csv(src, Config())
    assert res.notes[0].text == "Client wept."
    dest = tmp_path / "u16.out.csv"
    write_csv(res.source, dest, res.notes, [])
    raw = dest.read_bytes()
    assert raw.startswith(text.encode("utf-16")[:2])
    assert raw[2:].decode("utf-16-le") == ("Note ID\tNote\t" + "\t".join(ADDED) + "\r\n"
                                           "t1\tClient wept.\t\t\t\t\tno findings\t\r\n")


def test_old_mac_line_ends(tmp_path):
    src = tmp_path / "mac.csv"
    src.write_bytes(b"Note ID,Note\rm1,Client wept.\rm2,Client laughed.\r")
    res = read_csv(src, Config())
    assert [n.text for n in res.notes] == ["Client wept.", "Client laughed."]
    dest = tmp_path / "mac.out.csv"
    write_csv(res.source, dest, res.notes, [])
    assert dest.read_bytes().count(b"\r") == 3 and b"m2,Client laughed.,,,,,no findings,\r" in dest.read_bytes()


def test_input_changed_after_reading_is_refused(tmp_path):
    src = tmp_path / "grow.csv"
    src.write_text("Note ID,Note\ng1,Client wept.\n", encoding="utf-8")
    res = read_csv(src, Config())
    with open(src, "a", encoding="utf-8") as fh:
        fh.write("g2,Client laughed.\n")
    with pytest.raises(InputError, match="changed while it was being read"):
        write_csv(res.source, tmp_path / "grow.out.csv", res.notes, [])
    assert not (tmp_path / "grow.out.csv").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_csv_cut_inside_a_quoted_note_is_refused_not_read_as_a_shorter_note(tmp_path, encoding):
    # Copied while the EHR (or a sync client) was still writing it: the last note stops mid-field.
    whole = ('Note ID,Note\nq1,"Client wept.\nWe stayed with it."\nq2,"Client reviewed her week, and we agreed '
             'the plan."\n')
    src = tmp_path / "export.csv"
    src.write_bytes(whole.encode(encoding))
    assert [n.note_id for n in read_csv(src, Config()).notes] == ["q1", "q2"]
    src.write_bytes(whole[:whole.index(", and we")].encode(encoding))
    with pytest.raises(InputError, match=r"export\.csv: the file ends inside a quoted note \(cut off, or still being"):
        read_csv(src, Config())
    src.write_bytes(b'Note ID,Note\nq1,Client is 5\'6" tall and wept.')  # a stray quote, not an open field
    assert [n.text for n in read_csv(src, Config()).notes] == ['Client is 5\'6" tall and wept.']


def test_two_columns_named_note_are_both_read(tmp_path):
    # A report builder's note type and the note itself, both captioned "Note": reading the first
    # alone reported a clean week.
    src = tmp_path / "dup.csv"
    src.write_text("Note ID,Client,Note,Note\nd1,Ann Lee,Individual Progress Note,Client wept. I changed the subject.\n",
                   encoding="utf-8")
    (note,) = read_csv(src, Config()).notes
    assert note.text == "Individual Progress Note\nClient wept. I changed the subject."
    assert [s.location["column"] for s in note.segments] == ["C", "D"]


# ---- line ends and padding exporters leave (hostile6 c03, c04) -------------------------

def _copy_rows(res, tmp_path) -> tuple[bytes, list[list[str]]]:
    """The annotated copy's bytes, and its rows as the csv module reads them."""
    dest = tmp_path / "copy.csv"
    assert write_csv(res.source, dest, res.notes, []) == []
    raw = dest.read_bytes()
    return raw, list(csv.reader(io.StringIO(raw.rstrip(b"\x00").decode("utf-8"), newline="")))


@pytest.mark.parametrize("ends", [("\r", "\r", "\r", "\r"), ("\r\n", "\r", "\n", "")])
def test_cr_records_around_a_cells_lf_line_breaks(tmp_path, ends):
    # Excel for Mac ends records in CR, but a line break typed in a cell (Alt-Enter) is LF: a note
    # with more line breaks than the file has records made the reader split at LF, and refuse the file.
    rows = [["Clinician", "Client", "Date", "Note"],
            ["Dr. Ann Lee", "Client A", "2026-03-02", "S: tired\n\nO: tearful\n\nA: grieving\n\nP: weekly"],
            ["Bob Ray, LCSW", "Client B", "2026-03-03", "Client wept about his job."],
            ["Dr. Ann Lee", "Client C", "2026-03-04", "Client reviewed her week."]]
    src = tmp_path / "mac.csv"
    text = ""
    for row, end in zip(rows, ends):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(row)  # "\r\n": a cell holding either is quoted
        text += buf.getvalue()[:-2] + end
    assert text.count("\n") > text.count("\r")
    src.write_bytes(text.encode("utf-8"))
    res = read_csv(src, Config())
    assert len(res.notes) == 3
    assert [n.clinician for n in res.notes] == ["Dr. Ann Lee", "Bob Ray, LCSW", "Dr. Ann Lee"]
    assert res.notes[0].text == "S: tired\n\nO: tearful\n\nA: grieving\n\nP: weekly"
    raw, copy = _copy_rows(res, tmp_path)
    assert copy == [rows[0] + list(ADDED)] + [row + ["", "", "", "", "no findings", ""] for row in rows[1:]]
    assert raw.count(b"\r") == text.count("\r")  # each record keeps its own line end


@pytest.mark.parametrize("last_end", ["\r\n", ""])
def test_nul_padding_after_the_last_record_is_not_read(tmp_path, last_end):
    # An exporter filled out its last block with NULs: 512 of them were judged binary data.
    text = ('Clinician,Client,Date,Note\r\n'
            '"Bob Ray, LCSW",Client A,2026-03-02,"Client wept.\r\nI changed the subject."\r\n'
            'Dr. Ann Lee,Client B,2026-03-03,Client reviewed her week.' + last_end)
    src = tmp_path / "padded.csv"
    src.write_bytes(text.encode("utf-8") + b"\x00" * 512)
    res = read_csv(src, Config())
    assert [n.clinician for n in res.notes] == ["Bob Ray, LCSW", "Dr. Ann Lee"]
    assert res.notes[0].text == "Client wept.\nI changed the subject."
    assert res.notes[1].text == "Client reviewed her week." and not res.warnings
    raw, copy = _copy_rows(res, tmp_path)
    assert raw.endswith(last_end.encode() + b"\x00" * 512)  # the padding kept as it was, nothing added to it
    assert raw.count(b"\x00") == 512
    assert copy == [["Clinician", "Client", "Date", "Note", *ADDED],
                    ["Bob Ray, LCSW", "Client A", "2026-03-02", "Client wept.\r\nI changed the subject.",
                     "", "", "", "", "no findings", ""],
                    ["Dr. Ann Lee", "Client B", "2026-03-03", "Client reviewed her week.",
                     "", "", "", "", "no findings", ""]]
    for binary in (bytes(range(256)) * 20, b"\x00" * 512):  # still refused, as before
        src.write_bytes(binary)
        with pytest.raises(InputError, match=r"padded\.csv: not a text CSV \(binary data\)"):
            read_csv(src, Config())
