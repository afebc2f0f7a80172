"""CSV exports -> Notes: one note per record; delimiter and encoding sniffed."""
from __future__ import annotations

import csv
import io
from itertools import islice
from dataclasses import dataclass
from pathlib import Path

from notesplugin.config import Config
from notesplugin.model import InputError, Note, ReadResult
from notesplugin.readers.columns import (
    SCAN_ROWS, Layout, RowReader, detect_layout, no_note_column, role_lookup, seen_columns, skipped_warning,
)

DELIMITERS = (",", ";", "\t", "|")
MAX_BYTES = 500 * 1024 * 1024
csv.field_size_limit(2**31 - 1)  # notes are long; the default 128 KB cell limit is too small


@dataclass
class CsvSource:
    rows: list[list[str]]
    layout: Layout | None
    delimiter: str
    encoding: str  # "utf-8-sig" when the file had a BOM
    newline: str


def decode(path: Path) -> tuple[str, str]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path.name}: CSV is over {MAX_BYTES // 2**20} MB; split the export")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path.name}: cannot read the file ({exc.strerror}); check the path and permissions") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" export
        return data.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in data[:4096]:
        raise InputError(f"{path.name}: not a text CSV (binary or UTF-16); export the notes again as CSV (UTF-8)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _parse(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    return list(islice(rows, limit))


def load_csv(path: Path, config: Config) -> CsvSource:
    """Rows of the file under the delimiter whose header row best matches the column roles."""
    path = Path(path)
    text, encoding = decode(path)
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    try:
        first = csv.Sniffer().sniff(text[:65536], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = ","
    lookup = role_lookup(config)
    best: tuple[str, Layout | None, list[list[str]]] | None = None
    for delim in dict.fromkeys((first, *DELIMITERS)):
        try:
            head = _parse(text, delim, SCAN_ROWS)
        except csv.Error:
            continue
        layout = detect_layout(head, config, lookup)
        if best is None or (layout and (best[1] is None or layout.score > best[1].score)):
            best = (delim, layout, head)
    if best is None:
        raise InputError(f"{path.name}: not a readable CSV; export the notes again as CSV (UTF-8)")
    delim, layout, head = best
    try:
        rows = _parse(text, delim) if layout else head
    except csv.Error:
        raise InputError(f"{path.name}: damaged CSV (unbalanced quotes); export the notes again as CSV") from None
    return CsvSource(rows, layout, delim, encoding, newline)


def read_csv(path: Path, config: Config) -> ReadResult:
    path = Path(path)
    src = load_csv(path, config)
    if src.layout is None:
        raise no_note_column(path.name, seen_columns(src.rows))
    reader = RowReader(src.layout, file=str(path), stem=path.stem, sheet=None)
    notes: list[Note] = []
    for number, row in enumerate(src.rows[src.layout.header_row:], start=src.layout.header_row + 1):
        note = reader.note(row, number, len(notes))
        if note:
            notes.append(note)
    return ReadResult(notes, skipped_warning(path.name, reader.skipped), reader.skipped)
