"""Annotated copy of a CSV export: each record's original bytes, then the summary
columns in the file's own delimiter and encoding. Streamed: memory stays flat
whatever the file's size, and the input is copied, never parsed again."""
from __future__ import annotations

import csv
import io
from array import array
from pathlib import Path

from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note
from notesplugin.sources import CsvSource
from notesplugin.writers import changed_input
from notesplugin.writers.xlsx_writer import ADDED, group_findings, note_key, summary

NEWLINES = ("\r\n", "\n", "\r")


def _cells(values: list[str], delimiter: str) -> str:
    """The cells to append, each after a delimiter, quoted as the csv module would."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(values)
    return delimiter + buf.getvalue()


def write_csv(source: CsvSource, dest: Path, notes: list[Note], findings: list[Finding], *,
              file_mode: int = 0o600) -> list[str]:
    """Write an annotated copy of the CSV the reader read (`source`) to dest; returns warnings (none so far)."""
    dest = Path(dest)
    src = source.path
    enc, delim = source.encoding, source.delimiter
    grouped = group_findings(notes, findings)
    # note rows in order, walked alongside the records (a dict per note would grow with the file)
    rows = array("I", (key[1] for key in map(note_key, notes) if key is not None))
    if any(a > b for a, b in zip(rows, rows[1:])):  # the reader gives them in order; a caller may not
        rows = array("I", sorted(rows))
    at = 0
    header = source.header_row
    width = max(source.fields[header - 1:], default=0)
    terms = [t.encode(enc) for t in NEWLINES]
    blank = [""] * len(ADDED)
    try:
        with open(src, "rb") as fin:
            if fin.seek(0, 2) != source.size or (source.ends and source.ends[-1] != source.size):
                raise changed_input(src.name)
            fin.seek(0)
            with atomic_path(dest, file_mode) as tmp, open(tmp, "wb") as out:
                out.write(fin.read(len(source.bom)))
                for number, (end, count) in enumerate(zip(source.ends, source.fields), start=1):
                    raw = fin.read(end - fin.tell())
                    if number < header or count == 0:  # title lines and blank lines stay as they are
                        out.write(raw)
                        continue
                    term = next((t for t in terms if raw.endswith(t)), b"")
                    while at < len(rows) and rows[at] < number:
                        at += 1
                    pad = [""] * (width - count)
                    if number == header:
                        added = list(ADDED)
                    elif at < len(rows) and rows[at] == number:
                        added = summary(grouped.get((None, number), [])) + [""]  # Review: the supervisor's
                    else:
                        added = blank
                    out.write(raw[:len(raw) - len(term)])
                    out.write(_cells(pad + added, delim).encode(enc, "replace"))
                    out.write(term)
                out.flush()
    except OSError as exc:
        raise InputError(f"{src.name}: cannot copy the file ({exc.strerror}); check the output folder") from None
    return []
