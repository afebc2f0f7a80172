from __future__ import annotations

import stat
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.chart import BarChart

from notesplugin.config import Config
from notesplugin.ledger import Ledger
from notesplugin.model import Finding, Note
from notesplugin.pipeline import FileResult, ScanResult
from notesplugin.summary import SHEETS, build_workbook, write_summary

SECRET = "She whispered the name of her late brother"
D0 = date(2026, 1, 5)  # a Monday


def note(nid: str, day: date, clinician="Dana Whitfield, LPC", client="Alicia Marsh", file="a.csv") -> Note:
    return Note(note_id=nid, file=file, text=f"{SECRET} ({nid}).", clinician=clinician, client=client,
                date=day.isoformat())


def finding(n: Note, item="R1", status="flagged", checklist="rescuing", topic="grief") -> Finding:
    return Finding(n.note_id, n.file, checklist, item, {"R1": "redirect", "R3": "reassure"}.get(item, item.lower()),
                   status, topic, SECRET, 0, 10, {"row": 2}, "changed the topic", clinician=n.clinician,
                   client=n.client, date=n.date)


def result(tmp_path: Path) -> tuple[ScanResult, list[Note], list[Finding]]:
    a = [note(f"a{k}", D0 + timedelta(weeks=k)) for k in range(3)]
    b = [note("b1", D0 + timedelta(weeks=3, days=2), clinician="WHITFIELD, DANA", client="Bob Quist", file="=b.csv")]
    fs = [finding(a[0]), finding(a[0], "R3"), finding(a[1]), finding(a[2], "R1", "exempt"),
          finding(a[2], "C1", "present", "crisis", None), finding(b[0], "R3")]
    files = [FileResult("in/a.csv", "csv", notes=a, findings=fs[:5], output=str(tmp_path / "a.annotated.csv")),
             FileResult("in/=b.csv", "csv", notes=b, findings=fs[5:], output=str(tmp_path / "=b.annotated.csv")),
             FileResult("in/c.docx", "docx", ok=False, error="c.docx: password-protected; save it without a password")]
    return ScanResult("run1", tmp_path, files), a + b, fs


def day(value) -> date:
    return value.date() if hasattr(value, "date") else value


def rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True)]


def all_text(wb) -> str:
    return "\n".join(str(c) for ws in wb for r in ws.iter_rows(values_only=True) for c in r if c is not None)


def test_by_clinician_counts_notes_flagged_and_exempt(tmp_path):
    res, _, _ = result(tmp_path)
    ws = build_workbook(res, Config())["By clinician"]
    header, *body = rows(ws)
    assert header[:5] == ("Clinician", "Notes", "Notes flagged", "R1 redirect flagged", "R1 redirect exempt")
    dana = dict(zip(header, body[0]))
    # Both spellings of the name are one clinician.
    assert dana["Clinician"] == "Dana Whitfield" and body[1][0] is None
    assert (dana["Notes"], dana["Notes flagged"]) == (4, 3)
    assert (dana["R1 redirect flagged"], dana["R1 redirect exempt"], dana["R3 reassure flagged"]) == (2, 1, 2)
    assert dana["C1 suicide"] == 1


def test_by_week_has_every_week_and_a_native_chart(tmp_path):
    res, _, _ = result(tmp_path)
    ws = build_workbook(res, Config())["By week"]
    data = [r for r in rows(ws)[1:] if r[0] is not None and hasattr(r[0], "year")]
    assert [day(r[0]) for r in data] == [D0 + timedelta(weeks=k) for k in range(4)]
    assert [r[1:] for r in data] == [(1, 0, 0), (1, 0, 0), (0, 1, 1), (1, 0, 0)]
    assert len(ws._charts) == 1 and isinstance(ws._charts[0], BarChart)
    assert "this scan only" in all_text(ws.parent)


def test_since_drops_older_weeks(tmp_path):
    res, _, _ = result(tmp_path)
    ws = build_workbook(res, Config(), since=D0 + timedelta(weeks=2))["By week"]
    assert [day(r[0]) for r in rows(ws)[1:] if hasattr(r[0], "year")] == [D0 + timedelta(weeks=k) for k in (2, 3)]


def test_open_gaps_and_history_from_the_ledger(tmp_path):
    res, notes, fs = result(tmp_path)
    led = tmp_path / "l.db"
    older = note("old", D0 - timedelta(weeks=1), file="old.csv")
    with Ledger(led) as ledger:
        ledger.record_scan([older], [finding(older)], "1")
        ledger.record_scan(notes, fs, "1")
    wb = build_workbook(res, Config(), led)
    header, *body = rows(wb["Open gaps"])
    gap = dict(zip(header, body[0]))
    assert (gap["Clinician"], gap["Topic"], gap["Sessions"]) == ("Dana Whitfield", "grief", 4)
    assert gap["Letter"] == "none yet"
    weeks = [r for r in rows(wb["By week"])[1:] if hasattr(r[0], "year")]
    assert day(weeks[0][0]) == D0 - timedelta(weeks=1)  # history from earlier runs is in the chart
    assert "all scans in the ledger" in all_text(wb)


def test_no_ledger_says_so(tmp_path):
    res, _, _ = result(tmp_path)
    wb = build_workbook(res, Config(), None)
    assert "No history" in all_text(wb)
    missing = build_workbook(res, Config(), tmp_path / "nope.db")
    assert "no ledger here yet" in all_text(missing)


def test_files_sheet_errors_and_literal_names(tmp_path):
    res, _, _ = result(tmp_path)
    path = write_summary(res, tmp_path, Config())
    wb = load_workbook(path)
    header, *body = rows(wb["Files"])
    by_name = {r[0]: dict(zip(header, r)) for r in body if r[0]}
    assert by_name["c.docx"]["Status"] == "error" and "password" in by_name["c.docx"]["Error"]
    assert by_name["=b.csv"]["Notes flagged"] == 1  # a name starting with '=' stays text, not a formula
    assert wb["Files"]["A3"].data_type == "s"


def test_no_note_text_no_client_names_and_private_file(tmp_path):
    res, _, _ = result(tmp_path)
    path = write_summary(res, tmp_path, Config(file_mode=0o640))
    wb = load_workbook(path)
    assert wb.sheetnames == list(SHEETS)
    text = all_text(wb)
    for secret in (SECRET, "Alicia", "Marsh", "Bob Quist"):
        assert secret not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_date_in_the_last_week_there_is_does_not_stop_the_summary(tmp_path):
    # A ledger written before placeholder dates were refused may hold 9999-12-31; the By week
    # sheet used to step one week past it and fail (OverflowError), losing summary.xlsx.
    last = note("z", date(9999, 12, 31))
    res = ScanResult("run1", tmp_path, [FileResult("in/z.csv", "csv", notes=[last], findings=[finding(last)],
                                                   output=str(tmp_path / "z.annotated.csv"))])
    ws = build_workbook(res, Config())["By week"]
    weeks = [day(r[0]) for r in rows(ws)[1:] if hasattr(r[0], "year")]
    assert weeks == [date(9999, 12, 27)]


def test_a_file_that_failed_keeps_its_type(tmp_path):
    from notesplugin.pipeline import process_file
    for name in ("broken.docx", "broken.xlsx", "broken.pdf"):
        (tmp_path / name).write_bytes(b"not a real file at all")
        res = process_file(tmp_path / name, tmp_path / ("out-" + name), Config())
        assert not res.ok and res.kind == name.rsplit(".", 1)[1]  # the Files sheet's Type, not blank
