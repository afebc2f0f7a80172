"""A line break inside a sentence (Shift+Enter in Word, Alt+Enter in a cell, a hard-wrapped
field) is read as a space; a terse note's lines stay lines."""
from __future__ import annotations

import csv

import openpyxl
import pytest
from docx import Document

from notesplugin.checklists.engine import Engine
from notesplugin.config import Config
from notesplugin.readers.csv_reader import read_csv
from notesplugin.readers.docx_reader import read_docx
from notesplugin.readers.wraps import continues_sentence, unwrap
from notesplugin.readers.xlsx_reader import read_xlsx

WRAPPED = "Client was tearful about losing his job. I reassured him it would all\nwork out."


@pytest.mark.parametrize("text, joined", [
    (WRAPPED, True),
    ("Client was tearful about losing his job. I reassured him it would all\r\nwork out.", True),
    ("Mood: low\nslept poorly, appetite down", False),            # a terse note: a line per finding
    ("Client denies SI/HI\nplan to overdose tonight per mother", False),  # too short to be a wrapped sentence
    ("Client cried about her mother's death today.\nwe talked it through", False),  # the sentence ended
    ("Client cried about her mother's death and then\nSleep: poor", False),  # the next line opens a label
])
def test_unwrap_joins_only_a_break_inside_a_sentence_and_keeps_every_offset(text, joined):
    out = unwrap(text)
    assert len(out) == len(text)
    assert ("\n" not in out) == joined
    assert out.replace(" ", "") == text.replace("\r", "").replace("\n", "").replace(" ", "") if joined else out == text


def test_continues_sentence_needs_prose_before_and_lowercase_after():
    assert continues_sentence("I quickly changed the subject to her", "work schedule.")
    assert not continues_sentence("I quickly changed the subject to her", "Work schedule.")
    assert not continues_sentence("changed the subject", "to her work schedule.")


def _r3(notes):
    engine = Engine()
    return [f.evidence for n in notes for f in engine.check(n) if f.item == "R3"]


def test_a_soft_line_break_in_a_word_sentence_is_a_space(tmp_path):
    d = Document()
    for t in ("Note ID: W-1", "Date of Service: 03/02/2026", "Client: Bob Ray", "Clinician: Dana Whitfield"):
        d.add_paragraph(t)
    p = d.add_paragraph()
    first, _, rest = WRAPPED.partition("\n")
    run = p.add_run(first)
    run.add_break()  # Shift+Enter
    p.add_run(rest)
    d.save(tmp_path / "soft.docx")
    (note,) = read_docx(tmp_path / "soft.docx", Config()).notes
    assert note.text == WRAPPED.replace("\n", " ")
    assert _r3([note]) == ["I reassured him it would all work out."]


def test_alt_enter_inside_a_sentence_in_a_cell_or_csv_field_is_a_space(tmp_path):
    rows = [["Note ID", "Date", "Client", "Clinician", "Note"],
            ["X-1", "2026-03-02", "Bob Ray", "Dana Whitfield", WRAPPED]]
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(tmp_path / "cells.xlsx")
    with open(tmp_path / "cells.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    for notes in (read_xlsx(tmp_path / "cells.xlsx", Config()).notes, read_csv(tmp_path / "cells.csv", Config()).notes):
        assert [n.text for n in notes] == [WRAPPED.replace("\n", " ")]
        assert _r3(notes) == ["I reassured him it would all work out."]
