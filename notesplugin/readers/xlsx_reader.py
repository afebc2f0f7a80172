"""XLSX/XLSM exports -> Notes: one note per row, header row found on any sheet."""
from __future__ import annotations

import re
import warnings
import zipfile
from itertools import islice, zip_longest
from pathlib import Path

import openpyxl
from openpyxl.utils import column_index_from_string

from notesplugin.config import Config
from notesplugin.escape import path_text
from notesplugin.model import InputError, Note, ReadResult
from notesplugin.readers.columns import (
    SCAN_ROWS, Formula, RowReader, detect_layout, no_note_column, role_lookup, seen_columns, skipped_warning,
    unattributed_warning,
)
from notesplugin.readers.sniff import require
from notesplugin.sources import XlsxSource

def open_workbook(path: Path, **kwargs):
    """openpyxl workbook, or InputError with a one-line fix."""
    require(path, "xlsx")  # sniffing and size caps live in readers.sniff / safety
    try:
        return openpyxl.load_workbook(path, **kwargs)
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError, SyntaxError) as exc:
        raise InputError(f"{path.name}: not a usable workbook ({type(exc).__name__}); "
                         f"open it in Excel and save it again as .xlsx") from None


def read_xlsx(path: Path, config: Config) -> ReadResult:
    path = Path(path)
    # read-only parsing happens while iterating, so openpyxl's warnings are caught around all of it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _read(path, config)
    # "... is not supported and will be removed" is about openpyxl saving the file; the annotated
    # copy is a patched package that keeps those parts, so saying so would mislead.
    result.warnings[:0] = list(dict.fromkeys(f"{path.name}: {w.message}" for w in caught
                                             if "will be removed" not in str(w.message)))
    return result


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _text(value):
    """A string cell as Excel shows it: `_x000D_` is Excel's own escape for a carriage return
    (written by exports that copy Windows line ends into cells), `_x0009_` for a tab."""
    if isinstance(value, str) and "_x" in value:
        return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def _shown(rows, saved, cols: set[int]):
    """Rows whose formula cells in `cols` (identity columns) hold the value saved with the formula
    (what Excel shows), from the same sheet read values-only, row for row."""
    for row, values in zip_longest(rows, saved, fillvalue=None):
        if row is None:
            return
        if values and any(isinstance(row[c], Formula) for c in cols if c < len(row)):
            row = tuple(_text(values[c]) if c in cols and c < len(values) and isinstance(v, Formula) else v
                        for c, v in enumerate(row))
        yield row


def _values(ws):
    """Rows of cell values, formulas marked: a formula is not note text (a summary sheet's counts)."""
    for row in ws.iter_rows():
        yield tuple(Formula(c.value) if c.data_type == "f" else _text(c.value) for c in row)


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


class _MergedDown:
    """Cells merged down one column, from the sheet's XML (a read-only sheet does not parse its
    <mergeCells>, which follow the rows). Ranges across columns are left alone."""

    def __init__(self, wb, ws):
        self.under: dict[tuple[int, int], tuple[int, int]] = {}  # (row, col) -> its merge's top cell
        self.top: dict[tuple[int, int], object] = {}  # a top cell's value, once its row is read
        archive, name = getattr(wb, "_archive", None), getattr(ws, "_worksheet_path", None)
        if archive is None or not name:
            return
        refs, tail = set(), b""
        with archive.open(name) as fh:
            while chunk := fh.read(1 << 20):
                buf = tail + chunk
                refs.update(m.groups() for m in _MERGE.finditer(buf))
                tail = buf[-120:]  # a ref cut between two chunks is found whole in the next buffer
        for c1, r1, c2, r2 in refs:
            if c1 == c2 and int(r2) > int(r1):
                col = column_index_from_string(c1.decode()) - 1
                self.under.update({(r, col): (int(r1), col) for r in range(int(r1) + 1, int(r2) + 1)})
        self.tops = set(self.under.values())

    def fill(self, row: tuple, number: int, cols: set[int]) -> tuple:
        """The row (1-based `number`) with each empty cell of `cols` under a merge holding its value."""
        for c in cols:
            if c >= len(row):
                continue
            if (number, c) in self.tops:
                self.top[number, c] = row[c]
            elif row[c] is None and (number, c) in self.under:
                row = row[:c] + (self.top.get(self.under[number, c]),) + row[c + 1:]
        return row


def _read(path: Path, config: Config) -> ReadResult:
    st = path.stat()
    wb = open_workbook(path, read_only=True, data_only=False, keep_links=False)
    lookup = role_lookup(config)
    notes: list[Note] = []
    skipped = again = formulas = 0
    found = False
    cached = None  # the workbook's saved values, opened only for identity cells that are formulas
    first_rows: list = []
    header_rows: dict[str, int] = {}
    not_notes: list[str] = []
    settled: list[str] = []  # a sheet's dates read in the order its own cells prove
    try:
        sheets = [ws for ws in wb.worksheets if hasattr(ws, "iter_rows")]  # not chartsheets
        # A hidden sheet beside visible ones is the export's own ("Deleted notes", an audit
        # trail, lookups): not the week's notes. A workbook of hidden sheets only is read.
        hidden = [ws.title for ws in sheets if getattr(ws, "sheet_state", "visible") != "visible"]
        if hidden and len(hidden) < len(sheets):
            sheets = [ws for ws in sheets if ws.title not in hidden]
        else:
            hidden = []
        # A cover sheet with a lone "Notes: ..." cell gives a layout with no ID/client/date
        # column; it is not read when another sheet has a real header row.
        bare = set()
        if len(sheets) > 1:
            heads = {}
            for ws in sheets:
                ws.reset_dimensions()
                heads[ws.title] = detect_layout(list(islice(_values(ws), SCAN_ROWS)),
                                                config, lookup)
            if any(lay and len(lay.roles) > 1 for lay in heads.values()):
                bare = {t for t, lay in heads.items() if lay and len(lay.roles) <= 1}
        for ws in sheets:
            if ws.title in bare:
                continue
            ws.reset_dimensions()  # exports often carry a wrong <dimension>; read what is there
            rows = _values(ws)
            head = list(islice(rows, SCAN_ROWS))
            layout = detect_layout(head, config, lookup)
            if layout is None:
                first_rows = first_rows or head
                continue
            ids = {c for role, c in layout.roles.items() if role != "note"} - set(layout.text_cols)
            if any(isinstance(row[c], Formula) for row in head[layout.header_row:] for c in ids if c < len(row)):
                # Client, clinician or date filled by a formula (=VLOOKUP(...), =B2+1): what Excel
                # shows is the value it saved with the formula, read from a second, values-only pass.
                if cached is None:
                    cached = open_workbook(path, read_only=True, data_only=True, keep_links=False)
                shown = cached[ws.title]
                shown.reset_dimensions()
                ws.reset_dimensions()
                rows = _shown(_values(ws), shown.iter_rows(values_only=True), ids)
                head = list(islice(rows, SCAN_ROWS))
            merged = _MergedDown(wb, ws) if ids else None  # the sheet's XML is read again only when it can matter
            if merged and merged.under:
                # a clinician's or a date's cell merged down its group of notes is in each row of it
                head = [merged.fill(row, n, ids) for n, row in enumerate(head, 1)]
                rows = (merged.fill(row, n, ids) for n, row in enumerate(rows, len(head) + 1))
            before = len(notes)
            reader = RowReader(layout, file=path_text(path), stem=path_text(path.stem), sheet=ws.title, day_first=config.day_first)
            number = layout.header_row
            for row in head[layout.header_row:]:
                number += 1
                note = reader.note(row, number, len(notes))
                if note:
                    notes.append(note)
            for row in rows:
                number += 1
                note = reader.note(row, number, len(notes))
                if note:
                    notes.append(note)
            notes[before:], dated = reader.settle_dates(notes[before:], f"{path.name} '{ws.title}'")
            settled += dated
            if len(notes) == before and reader.non_text:
                not_notes.append(ws.title)  # a header like a notes sheet, but no cell of text under it
                continue
            found = True
            header_rows[ws.title] = layout.header_row
            skipped += reader.skipped
            again += reader.headers_again
            formulas += reader.formula_rows
    except (SyntaxError, zipfile.BadZipFile) as exc:  # read-only: a sheet's XML is parsed as its rows are read
        raise InputError(f"{path.name}: not a usable workbook ({type(exc).__name__} in a sheet); "
                         f"open it in Excel and save it again as .xlsx") from None
    finally:
        wb.close()
        if cached is not None:
            cached.close()
    if not found and not_notes:
        raise InputError(f"{path.name}: no note text found: the note column of sheet '{not_notes[0]}' holds "
                         "formulas or numbers (a summary?), not notes; export the notes themselves")
    if not found:
        raise no_note_column(path.name, seen_columns(first_rows))
    shown = ", ".join(f"'{t}'" for t in hidden[:5]) + (", ..." if len(hidden) > 5 else "")
    unread = [f"{path.name}: hidden sheet{'s' if len(hidden) > 1 else ''} {shown} not read; unhide "
              f"{'them' if len(hidden) > 1 else 'it'} in Excel to check {'their' if len(hidden) > 1 else 'its'} notes"] if hidden else []
    return ReadResult(notes, unread + settled + skipped_warning(path.name, skipped, again, formulas)
                      + unattributed_warning(path.name, notes),
                      skipped, XlsxSource(path, header_rows, (st.st_size, st.st_mtime_ns)))
