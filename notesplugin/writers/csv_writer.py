"""Annotated copy of a CSV export: the summary columns appended to each row,
original cells untouched, same delimiter and encoding; checked before it replaces dest."""
from __future__ import annotations

import csv
from pathlib import Path

from notesplugin.config import Config
from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note
from notesplugin.readers.columns import norm_header
from notesplugin.readers.csv_reader import _parse, decode, load_csv
from notesplugin.writers.xlsx_writer import ADDED, group_findings, note_key, summary


def _header_row(rows: list[list[str]], notes: list[Note]) -> int:
    """1-based header row: the row above the notes holding the note column's header."""
    loc = min(notes, key=lambda n: n.segments[0].location["row"]).segments[0].location
    col = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(loc["column"]))) - 1
    want = norm_header(loc.get("header", ""))
    for r in range(loc["row"] - 1, 0, -1):
        row = rows[r - 1]
        if col < len(row) and norm_header(row[col]) == want:
            return r
    return max(loc["row"] - 1, 1)


def write_csv(src: Path, dest: Path, notes: list[Note], findings: list[Finding], *,
              file_mode: int = 0o600) -> list[str]:
    """Write an annotated copy of src to dest; returns warnings (none so far)."""
    src, dest = Path(src), Path(dest)
    source = load_csv(src, Config())
    rows = source.rows
    keyed = [n for n in notes if note_key(n) is not None and n.segments]
    grouped = group_findings(keyed, findings)
    header = _header_row(rows, keyed) if keyed else (source.layout.header_row if source.layout else 1)
    width = max((len(r) for r in rows[header - 1:]), default=0)
    note_rows = {note_key(n)[1]: note_key(n) for n in keyed}
    out: list[list[str]] = []
    for r, row in enumerate(rows, start=1):
        if r < header or not row:
            out.append(row)
            continue
        padded = row + [""] * (width - len(row))
        if r == header:
            out.append(padded + list(ADDED))
        elif r in note_rows:
            out.append(padded + summary(grouped.get(note_rows[r], [])))
        else:
            out.append(padded + [""] * len(ADDED))
    encoding = "cp1252" if source.encoding == "cp1252" else source.encoding
    with atomic_path(dest, file_mode) as tmp:
        with open(tmp, "w", encoding=encoding, errors="replace", newline="") as fh:
            csv.writer(fh, delimiter=source.delimiter, lineterminator=source.newline).writerows(out)
        again = _parse(decode(tmp)[0], source.delimiter)
        if len(again) != len(rows) or any(new[:len(old)] != old for old, new in zip(rows, again)):
            raise InputError(f"{src.name}: the annotated copy changed original cells; no copy written")
    return []
