"""Readers: one module per format, each turning a file into Note objects.

`read(path, config)` sniffs the file first (never trusting the extension
alone) and dispatches. Every reader raises InputError with a one-line
message naming the fix for a file it cannot use.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from notesplugin.config import Config
from notesplugin.model import Note, ReadResult
from notesplugin.readers.sniff import sniff

SUFFIXES = (".docx", ".docm", ".xlsx", ".xlsm", ".csv", ".pdf")


def read(path: Path, config: Config) -> tuple[str, ReadResult]:
    """(kind, notes + source): the scan hands `result.source` to the writer, which never
    opens the input again with a reader."""
    kind = sniff(path)
    if kind == "pdf":
        from notesplugin.readers.pdf_reader import read_pdf
        result, result.source = read_pdf(path, config)
    elif kind == "docx":
        from notesplugin.readers.docx_reader import read_docx
        result = read_docx(path, config)
    elif kind == "xlsx":
        from notesplugin.readers.xlsx_reader import read_xlsx
        result = read_xlsx(path, config)
    else:
        from notesplugin.readers.csv_reader import read_csv
        result = read_csv(path, config)
    result.notes = unique_ids(result.notes)
    return kind, result


def unique_ids(notes: list[Note]) -> list[Note]:
    """One id, one note, within a file: the ledger and the findings join on it. Two sheets that
    each number their notes from 1 (or one id pasted twice) keep their ids, qualified by where
    each note is: "Omar!3", then "Omar!3@row 4" (the same export gives the same ids again)."""
    seen = Counter(n.note_id for n in notes)
    if len(seen) == len(notes):
        return notes

    def where(n: Note, with_row: bool) -> str:
        loc = n.segments[0].location if n.segments else {}
        sheet = f"{loc['sheet']}!" if "sheet" in loc else ""
        at = loc.get("row", loc.get("page"))
        return f"{sheet}{n.note_id}" + (f"@{'row' if 'row' in loc else 'page'} {at}" if with_row and at else "")

    out = [replace(n, note_id=where(n, False)) if seen[n.note_id] > 1 else n for n in notes]
    again = Counter(n.note_id for n in out)
    out = [replace(o, note_id=where(n, True)) if again[o.note_id] > 1 else o for o, n in zip(out, notes)]
    again = Counter(n.note_id for n in out)
    return [replace(o, note_id=f"{o.note_id}#{n.position}") if again[o.note_id] > 1 else o for o, n in zip(out, notes)]
