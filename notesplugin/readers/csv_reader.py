"""CSV exports -> Notes: one note per record; delimiter and encoding sniffed.

The file is streamed, never held whole: the reader keeps only the notes and,
for the writer, where each record's bytes end (notesplugin.sources.CsvSource).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from functools import cache
from itertools import islice
from pathlib import Path

from notesplugin.config import Config
from notesplugin.escape import path_text
from notesplugin.model import InputError, Note, ReadResult
from notesplugin.readers.columns import (
    SCAN_ROWS, Layout, RowReader, detect_layout, no_note_column, role_lookup, seen_columns, skipped_warning,
    unattributed_warning,
)
from notesplugin.readers.sniff import text_nuls
from notesplugin.sources import CsvSource

DELIMITERS = (",", ";", "\t", "|")
MAX_BYTES = 500 * 1024 * 1024
HEAD = 65536
CHUNK = 1 << 20
BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
LATIN_FALLBACK = "notesplugin-latin1"  # cp1252's five undefined bytes read as latin-1
csv.field_size_limit(2**31 - 1)  # notes are long; the default 128 KB cell limit is too small


def _latin1_bytes(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(LATIN_FALLBACK, _latin1_bytes)


def _cannot_read(path: Path, exc: OSError) -> InputError:
    return InputError(f"{path.name}: cannot read the file ({exc.strerror}); check the path and permissions")


@cache
def _line_end(encoding: str) -> re.Pattern[bytes]:
    """CRLF, a bare CR or LF in the file's encoding (CRLF first: it is one line end, not two)."""
    cr, lf = "\r".encode(encoding), "\n".encode(encoding)
    return re.compile(b"|".join(map(re.escape, (cr + lf, cr, lf))))


def _raw_lines(fh, stop: int, encoding: str) -> Iterator[bytes]:
    """The lines of fh up to byte `stop`, each with its line end, split as io's newline="" splits
    text: at CRLF, LF or a bare CR, however they mix. No one line end can be picked for a file:
    Excel for Mac ends its records in CR, while a line break typed in a cell (Alt-Enter) is LF."""
    ends, cr = _line_end(encoding), "\r".encode(encoding)
    unit = len(cr)  # 2 in UTF-16, where a line end counts only at an even offset
    pending: list[bytes] = []  # the start of a line that runs on past the chunk
    while (left := stop - fh.tell()) > 0:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            break
        if len(chunk) < left and chunk.endswith(cr):  # its LF may open the next chunk: read the CR again
            fh.seek(-unit, 1)
            chunk = chunk[:-unit]
        start = 0
        for m in ends.finditer(chunk):
            if m.start() % unit:  # a line-end lookalike across two code units
                continue
            if pending:
                pending.append(chunk[start:m.end()])
                yield b"".join(pending)
                pending = []
            else:
                yield chunk[start:m.end()]
            start = m.end()
        if start < len(chunk):
            pending.append(chunk[start:])
    if pending:
        yield b"".join(pending)


def _nul_padding(fh, size: int) -> int:
    """How many NUL bytes pad the end of the file: some exporters fill out their last block with them."""
    pad = 0
    while pad < size:
        n = min(HEAD, size - pad)
        fh.seek(size - pad - n)
        kept = len(fh.read(n).rstrip(b"\x00"))
        pad += n - kept
        if kept:
            break
    return pad


def _encoding(path: Path, fh, head: bytes, text_end: int) -> tuple[bytes, str, str, list[str]]:
    """(bom, encoding, error handler, warnings): BOM first, then UTF-8, then a per-file fallback.
    `text_end`: where the NUL padding at the end of the file starts; the padding is not judged."""
    for bom, enc in BOMS:
        if head.startswith(bom):
            return bom, enc, "strict" if enc == "utf-8" else "replace", []
    notes: list[str] = []
    if b"\x00" in head[:4096]:
        sample = head[:min(4096, text_end)]
        kind = text_nuls(sample) if sample else ""  # NULs alone are no text
        if kind.startswith("utf-16"):
            return b"", kind, "replace", [f"{path.name}: read as {kind.upper()} (no byte-order mark); "
                                         "export as CSV UTF-8 to avoid this"]
        if not kind:
            raise InputError(f"{path.name}: not a text CSV (binary data); export the notes again as CSV (UTF-8)")
        if b"\x00" in sample:
            notes.append(f"{path.name}: NUL bytes in the file were left out of the notes (the copy keeps them)")
    fh.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    try:  # the common case, at C speed
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            utf8.decode(chunk)
        utf8.decode(b"", final=True)
        fh.seek(0)
        return b"", "utf-8", "strict", notes
    except UnicodeDecodeError:
        pass
    good = bad = 0  # non-ASCII characters on valid UTF-8 lines; lines that are not UTF-8
    fh.seek(0)
    for raw in fh:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
            continue
        if not raw.isascii():
            good += len(text) - len(text.encode("ascii", "ignore"))
    fh.seek(0)
    if not bad:
        return b"", "utf-8", "strict", notes
    if good > bad:  # a stray byte in an otherwise UTF-8 file
        return b"", "utf-8", "replace", notes + [f"{path.name}: read as UTF-8; {bad} line(s) hold bytes that are not UTF-8, "
                                         "shown as \ufffd in the findings (the copy keeps the original bytes)"]
    return b"", "cp1252", LATIN_FALLBACK, notes + [f"{path.name}: not UTF-8, read as Windows-1252 (latin-1); "
                                           "export as CSV UTF-8 to avoid this"]


class _Records:
    """csv.reader over a binary file that also tracks the byte offset where each record ends."""

    def __init__(self, fh, start: int, stop: int, encoding: str, errors: str, delimiter: str):
        self.end = start
        self._fh, self._stop, self._enc, self._errors = fh, stop, encoding, errors
        fh.seek(start)
        self.reader = csv.reader(self._lines(), delimiter=delimiter, quotechar='"', doublequote=True)

    def _lines(self) -> Iterator[str]:
        enc, errors = self._enc, self._errors
        for raw in _raw_lines(self._fh, self._stop, enc):
            self.end += len(raw)
            yield raw.decode(enc, errors)

    def __iter__(self):
        # csv.reader pulls lines only until a record is complete, so self.end is that record's end
        for row in self.reader:
            yield row, self.end


def _excel_text(value: str) -> str:
    """`="00121"` -> `00121`: exports write IDs and dates as a text formula so Excel keeps their
    leading zeros; the value is what Excel shows."""
    if len(value) >= 3 and value[:2] == '="' and value[-1] == '"' and '"' not in value[2:-1].replace('""', ''):
        return value[2:-1].replace('""', '"')
    return value


def _dialect(path: Path, fh, start: int, stop: int, encoding: str, errors: str, config: Config):
    """(delimiter, layout, first rows) under the delimiter whose header best matches the roles."""
    fh.seek(start)
    text = fh.read(min(HEAD, stop - start)).decode(encoding, "replace")
    try:
        first = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = ","
    lookup = role_lookup(config)
    best: tuple[str, Layout | None, list[list[str]]] | None = None
    for delim in dict.fromkeys((first, *DELIMITERS)):
        try:
            head = [row for row, _ in islice(_Records(fh, start, stop, encoding, errors, delim), SCAN_ROWS)]
        except csv.Error:
            continue
        layout = detect_layout(head, config, lookup)
        if best is None or (layout and (best[1] is None or layout.score > best[1].score)):
            best = (delim, layout, head)
    if best is None:
        raise InputError(f"{path.name}: not a readable CSV; export the notes again as CSV (UTF-8)")
    return best[0], best[1], best[2]


def _ends_in_quotes(fh, start: int, size: int, encoding: str, errors: str, delimiter: str) -> bool:
    """Whether the last record stops inside a quoted field: a copy taken while the export was
    still being written. The lenient reader takes it as a whole (shorter) note, and a copy's new
    columns would land inside the open quote."""
    fh.seek(start)
    text = fh.read(size - start).decode(encoding, errors)
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def read_csv(path: Path, config: Config) -> ReadResult:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path.name}: CSV is over {MAX_BYTES // 2**20} MB; split the export")
        with open(path, "rb") as fh:
            head = fh.read(HEAD)
            pad = _nul_padding(fh, size)
            bom, encoding, errors, warnings = _encoding(path, fh, head, size - pad)
            if encoding.startswith("utf-16"):
                pad -= pad % 2  # the last character's own NUL byte is text
            stop = size - pad  # the records are read up to the padding
            delim, layout, first = _dialect(path, fh, len(bom), stop, encoding, errors, config)
            if layout is None:
                raise no_note_column(path.name, seen_columns(first))
            source = CsvSource(path, size, encoding, errors, bom, delim, layout.header_row)
            reader = RowReader(layout, file=path_text(path), stem=path_text(path.stem), sheet=None, day_first=config.day_first)
            notes: list[Note] = []
            ends, fields = source.ends, source.fields
            try:
                for number, (row, end) in enumerate(_Records(fh, len(bom), stop, encoding, errors, delim), 1):
                    ends.append(end)
                    fields.append(len(row))
                    if number > layout.header_row:
                        if any(v[:2] == '="' for v in row):
                            row = [_excel_text(v) for v in row]
                        note = reader.note(row, number, len(notes))
                        if note:
                            notes.append(note)
            except csv.Error:
                raise InputError(f"{path.name}: damaged CSV (unbalanced quotes); "
                                 "export the notes again as CSV") from None
            if ends and _ends_in_quotes(fh, ends[-2] if len(ends) > 1 else len(bom), stop, encoding, errors, delim):
                raise InputError(f"{path.name}: the file ends inside a quoted note (cut off, or still being written "
                                 "or synced); wait for it to finish, or export the notes again as CSV")
            if pad:  # a record of no cells: the copy keeps the padding as it is, and adds nothing to it
                ends.append(size)
                fields.append(0)
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    notes, dated = reader.settle_dates(notes, path.name)
    return ReadResult(notes, warnings + dated + skipped_warning(path.name, reader.skipped, reader.headers_again)
                      + unattributed_warning(path.name, notes),
                      reader.skipped, source)
