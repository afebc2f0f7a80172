"""Another EHR's column names: exact names first, then header words."""
from __future__ import annotations

import openpyxl

from notesplugin.config import Config
from notesplugin.readers.xlsx_reader import read_xlsx


def test_unfamiliar_headers_map_by_their_words(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Clinic export (week 9)"])
    ws.append([])
    ws.append(["Record Identifier", "Appointment Start Date", "Client Full Name", "Client ID",
               "Servicing Provider Name", "Provider NPI", "Note Type", "Session Documentation", "Date Signed"])
    ws.append(["A-17", "03/02/2026", "Erin K.", "C9", "Dana Whitfield, LPC", "123", "SOAP",
               "Client cried about her father. Writer changed the subject.", "03/03/2026"])
    path = tmp_path / "other_ehr.xlsx"
    wb.save(path)
    notes = read_xlsx(path, Config()).notes
    assert len(notes) == 1
    n = notes[0]
    assert (n.note_id, n.date, n.client, n.clinician) == ("A-17", "2026-03-02", "Erin K.", "Dana Whitfield, LPC")
    assert n.text == "Client cried about her father. Writer changed the subject."


def test_exact_names_win_over_header_words(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Note ID", "Progress Note Narrative", "Note Status", "Clinician"])
    ws.append(["n1", "The note text.", "Signed", "A. Smith"])
    path = tmp_path / "exact.xlsx"
    wb.save(path)
    n = read_xlsx(path, Config()).notes[0]
    assert (n.note_id, n.text, n.clinician) == ("n1", "The note text.", "A. Smith")
