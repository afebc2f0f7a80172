"""Any text in, the same text out of the annotated copy (DOCX paragraph, XLSX cell, CSV cell).

Each example runs the real per-file pipeline (read -> check -> write -> verify)
next to a sentence that is always flagged, so the writers split runs and add
comments around the generated text."""
from __future__ import annotations

import csv
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notesplugin.config import Config
from notesplugin.pipeline import process_file
from notesplugin.docx_text import body_paragraphs, paragraph_text

FLAG = "Client cried about her mother's death. I told her it would all be fine and moved on."
FIXED = datetime(2024, 5, 1, tzinfo=timezone.utc)
# Everything XML can hold: no control characters but tab and newline, no surrogates or non-characters.
# "\r" is left out: XML parsers turn it into "\n" by definition.
CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cn"), whitelist_characters="\t\n")
TEXT = st.one_of(
    st.text(CHARS, min_size=1, max_size=80),
    st.builds(lambda lead, rest: lead + rest, st.sampled_from(["=", "+", "-", "@", "=SUM(A1:A2)", " ", "😀"]),
              st.text(CHARS, max_size=40)),
)
SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _run(src: Path) -> Path:
    dest = src.with_name(f"{src.stem}.annotated{src.suffix}")
    res = process_file(src, dest, Config(), FIXED)
    assert res.ok, res.error
    assert any(f.status == "flagged" for f in res.findings)  # something was annotated
    return dest


@SETTINGS
@given(text=TEXT)
def test_docx_paragraph_text_survives(text):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "p.docx"
        doc = Document()
        for para in (FLAG, text, f"{text} {FLAG}", f"{FLAG}{text}"):
            doc.add_paragraph(para)
        doc.save(src)
        dest = _run(src)
        before = [paragraph_text(p)[0] for p in body_paragraphs(Document(src).element.body)]
        after = [paragraph_text(p)[0] for p in body_paragraphs(Document(dest).element.body)]
        assert after == before
        assert after[1] == text and after[2] == f"{text} {FLAG}"


@SETTINGS
@given(text=TEXT)
def test_xlsx_note_cell_survives(text):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "n.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Notes"
        for row in (("Note ID", "Note", "Other"), ("a", FLAG, text), ("b", text, text), ("c", f"{text} {FLAG}", "")):
            ws.append(row)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # an export's text, even one starting with '='
        wb.save(src)
        dest = _run(src)
        out = openpyxl.load_workbook(dest)["Notes"]
        assert out["C2"].value == text and out["B3"].value == text and out["C3"].value == text
        assert out["B4"].value == f"{text} {FLAG}" and out["B2"].value == FLAG
        assert all(out[c].data_type != "f" for c in ("B3", "C3", "B4"))


@SETTINGS
@given(text=TEXT)
def test_csv_cell_survives(text):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "n.csv"
        rows = [["Note ID", "Note", "Other"], ["a", FLAG, text], ["b", text, text], ["c", f"{text} {FLAG}", ""]]
        with open(src, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
        dest = _run(src)
        with open(dest, encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))
        assert [row[:3] for row in got] == rows
        assert all(len(row) == len(got[0]) > 3 for row in got)  # the summary columns were added
