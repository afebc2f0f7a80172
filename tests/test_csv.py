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
    assert write_csv(src, dest, res.notes, findings) == []
    assert src.read_bytes() == before
    raw = dest.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert (dest.stat().st_mode & 0o777) == 0o600
    old = list(csv.reader(io.StringIO(before.decode("utf-8-sig"), newline="")))
    new = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert new[:3] == old[:3]  # title lines untouched
    assert new[3] == old[3] + list(ADDED)
    assert new[4][:len(old[4])] == old[4]
    assert new[4][len(old[4]):] == ["", "R3 reassure", "C1 suicide", "grief", "crisis C1 present — rescuing exempt"]
    assert new[5][len(old[5]):] == [""] * 5  # the row without a note
    assert new[6][len(old[6]):] == ["", "", "", "", "no findings"]


def test_write_csv_semicolon_dialect(tmp_path):
    src = tmp_path / "semi.csv"
    src.write_text("Note ID;Note\nx1;Client wept; writer moved on\n".replace("wept; writer", "wept, writer"))
    res = read_csv(src, Config())
    dest = tmp_path / "semi.out.csv"
    write_csv(src, dest, res.notes, [])
    lines = dest.read_text().splitlines()
    assert lines[0] == "Note ID;Note;" + ";".join(ADDED)
    assert lines[1] == "x1;Client wept, writer moved on;;;;;no findings"
