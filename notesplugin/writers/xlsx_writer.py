"""Annotated copy of an XLSX/XLSM export: summary columns, cell comments and a
Findings sheet. One load and one save; the copy is checked cell by cell against
the original before it replaces dest."""
from __future__ import annotations

import warnings
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from copy import copy
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.cell.rich_text import CellRichText
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note
from notesplugin.readers.columns import norm_header
from notesplugin.readers.xlsx_reader import open_workbook

ADDED = ("Rescuing items", "Exempt items", "Crisis items", "Topics", "Review")
WIDTHS = (26, 22, 20, 18, 44)
FINDINGS_HEADERS = ("note_id", "clinician", "client", "date", "checklist", "item", "name", "status", "topic",
                    "evidence", "reason", "sheet", "row", "column")
FORMULA_START = ("=", "+", "-", "@")
AUTHOR = "notesplugin"
Key = tuple[Any, int]  # (sheet or None, row)
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
C_TAG, V_TAG, F_TAG, IS_TAG, T_TAG, R_TAG, SI_TAG = (f"{NS}{t}" for t in ("c", "v", "f", "is", "t", "r", "si"))
SKIP = object()  # a value the check does not compare (data-table formulas)


# ---- shared with the CSV writer -------------------------------------------------

def _items(found: Iterable[Finding]) -> str:
    seen = {f.item: f"{f.item} {f.name}".strip() for f in sorted(found, key=lambda f: _item_order(f.item))}
    return "; ".join(seen.values())


def _item_order(item: str) -> tuple[str, int, str]:
    digits = "".join(ch for ch in item if ch.isdigit())
    return (item.rstrip("0123456789"), int(digits) if digits else 0, item)


def summary(found: list[Finding]) -> list[str]:
    """The five added cells for one note: rescuing, exempt, crisis, topics, review."""
    flagged = [f for f in found if f.checklist == "rescuing" and f.status == "flagged"]
    exempt = [f for f in found if f.checklist == "rescuing" and f.status == "exempt"]
    crisis = [f for f in found if f.checklist == "crisis"]
    topics = sorted({f.topic for f in flagged + exempt if f.topic})
    review: list[str] = []
    if crisis:
        review.append(f"crisis {', '.join(sorted({f.item for f in crisis}, key=_item_order))} present")
        if exempt:
            review.append("rescuing exempt")
    if flagged:
        flagged_topics = sorted({f.topic for f in flagged if f.topic})
        n = len({f.item for f in flagged})
        about = f" ({', '.join(flagged_topics)})" if flagged_topics else ""
        review.append(f"{n} rescuing flag{'s' if n != 1 else ''}{about} — review")
    elif exempt and not crisis:
        review.append(f"{len({f.item for f in exempt})} rescuing exempt")
    return [_items(flagged), _items(exempt), _items(crisis), ", ".join(topics), " — ".join(review) or "no findings"]


def note_key(note: Note) -> Key | None:
    loc = note.segments[0].location if note.segments else {}
    return (loc.get("sheet"), loc["row"]) if "row" in loc else None


def group_findings(notes: list[Note], findings: list[Finding]) -> dict[Key, list[Finding]]:
    """Findings by the row of their note; the location wins over the note_id (ids may repeat)."""
    by_id: dict[str, Key] = {}
    keys: set[Key] = set()
    for note in notes:
        key = note_key(note)
        if key is not None:
            keys.add(key)
            by_id.setdefault(note.note_id, key)
    out: dict[Key, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.note_id not in by_id:
            continue
        key = (f.location.get("sheet"), f.location.get("row"))
        out[key if key in keys else by_id[f.note_id]].append(f)
    return out


# ---- XLSX ----------------------------------------------------------------------

def put(cell, value: Any) -> None:
    """Write a value the tool made; a string stays a literal even if it starts like a formula."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def _comparable(value: Any, epoch: datetime) -> Any:
    if isinstance(value, CellRichText):
        return str(value)
    if isinstance(value, ArrayFormula):
        return ("array", value.ref, value.text)
    if isinstance(value, DataTableFormula):
        return SKIP
    if isinstance(value, (datetime, date, time, timedelta)):
        return ("serial", to_excel(value, epoch))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _snapshot(wb) -> dict[str, dict[tuple[int, int], Any]]:
    """Every original value, by sheet and (row, column), in the form _saved_cells reads back."""
    return {ws.title: {k: _comparable(c.value, wb.epoch) for k, c in ws._cells.items() if c.value not in (None, "")}
            for ws in wb.worksheets}


def _text(node) -> str:
    # like openpyxl's Text.content: plain and rich-run text, no phonetic runs
    parts = []
    for child in node:
        if child.tag == T_TAG:
            parts.append(child.text or "")
        elif child.tag == R_TAG:
            parts.extend(t.text or "" for t in child if t.tag == T_TAG)
    return "".join(parts)


def _saved_cells(zf: zipfile.ZipFile, part: str, strings: list[str]):
    """(row, column, value) of every cell in a saved sheet; lxml is ~4x faster than openpyxl here.
    Children are walked by hand: lxml's find() with a path costs more than the parse."""
    with zf.open(part) as fh:
        for _, c in etree.iterparse(fh, tag=C_TAG):
            f = v = node = None
            for child in c:
                tag = child.tag
                if tag == V_TAG:
                    v = child.text or None
                elif tag == F_TAG:
                    f = child
                elif tag == IS_TAG:
                    node = child
            kind = c.get("t", "n")
            if f is not None:
                value = "=" + (f.text or "")
                if f.get("t") == "array":
                    value = ("array", f.get("ref"), value)
            elif kind == "inlineStr":
                value = _text(node) if node is not None else None
            elif v is None:
                value = None
            elif kind == "s":
                value = strings[int(v)]
            elif kind == "b":
                value = v == "1"
            elif kind in ("str", "e", "d"):
                value = v
            else:
                value = float(v)
            row, col = coordinate_to_tuple(c.get("r"))
            c.clear()
            yield row, col, value


def _same(want: Any, got: Any) -> bool:
    if want is SKIP or want == got:
        return True
    if isinstance(want, tuple) and want[0] == "serial":
        return isinstance(got, str) or (isinstance(got, float) and abs(want[1] - got) < 1e-6)  # str: ISO dates
    return False


def _parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> worksheet part name inside the saved package."""
    rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    book = etree.fromstring(zf.read("xl/workbook.xml"))
    out = {}
    for sheet in book.iterfind(f"{NS}sheets/{NS}sheet"):
        t = target.get(sheet.get(f"{{{REL_NS}}}id"), "")
        out[sheet.get("name")] = t[1:] if t.startswith("/") else f"xl/{t}"
    return out


def _verify(tmp: Path, snap: dict[str, dict[tuple[int, int], Any]], name: str) -> None:
    """Every original cell value must read back unchanged from the saved copy."""
    with zipfile.ZipFile(tmp) as zf:
        strings = []
        if "xl/sharedStrings.xml" in zf.namelist():
            with zf.open("xl/sharedStrings.xml") as fh:
                for _, si in etree.iterparse(fh, tag=SI_TAG):
                    strings.append(_text(si))
                    si.clear()
        parts = _parts(zf)
        for title, cells in snap.items():
            left = dict(cells)
            for r, c, value in _saved_cells(zf, parts[title], strings) if title in parts else ():
                want = left.pop((r, c), SKIP) if value is not None else SKIP
                if want is not SKIP and want != value and not _same(want, value):
                    raise InputError(f"{name}: the annotated copy changed an original cell "
                                     f"({title}!{get_column_letter(c)}{r}); no copy written")
            if left:
                r, c = next(iter(left))
                raise InputError(f"{name}: the annotated copy lost an original cell "
                                 f"({title}!{get_column_letter(c)}{r}); no copy written")


def _header_row(ws, notes: list[Note]) -> int:
    """The row above the notes whose cell in the note column holds the note column's header."""
    first = min(notes, key=lambda n: n.segments[0].location["row"])
    loc = first.segments[0].location
    col = column_index_from_string(loc["column"])
    want = norm_header(loc.get("header", ""))
    for r in range(loc["row"] - 1, 0, -1):
        cell = ws._cells.get((r, col))
        if cell is not None and isinstance(cell.value, str) and norm_header(cell.value) == want:
            return r
    return max(loc["row"] - 1, 1)


def _comment_text(found: list[Finding]) -> str:
    lines = ["notesplugin findings:"]
    for f in sorted(found, key=lambda f: (f.checklist != "crisis", _item_order(f.item))):
        head = f"{f.item} {f.name}: {f.status}"
        if f.topic:
            head += f" ({f.topic})"
        if f.reason:
            head += f" — {f.reason}"
        lines.append(head)
        if f.evidence:
            lines.append(f"  \"{f.evidence}\"")
    return "\n".join(lines)


def _add_comment(cell, text: str) -> None:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    old = cell.comment
    author = AUTHOR
    if old is not None:
        text, author = f"{old.text}\n\n{text}", old.author or AUTHOR
    lines = text.count("\n") + 1 + len(text) // 60
    cell.comment = Comment(text, author, height=min(600, 20 + 15 * lines), width=360)


def _annotate_sheet(ws, notes: list[Note], grouped: dict[Key, list[Finding]]) -> None:
    header_row = _header_row(ws, notes)
    last = max((c for (_, c), cell in ws._cells.items() if cell.value is not None), default=0)
    # Past merged ranges too: their inner cells are read-only in openpyxl (and hold nothing we may write).
    last = max([last, *(r.max_col for r in ws.merged_cells.ranges)])
    first_col = last + 1
    hdr_cell = ws._cells.get((header_row, column_index_from_string(notes[0].segments[0].location["column"])))
    for i, (title, width) in enumerate(zip(ADDED, WIDTHS)):
        cell = ws.cell(header_row, first_col + i)
        if hdr_cell is not None and hdr_cell.has_style:
            cell._style = copy(hdr_cell._style)
        font = copy(hdr_cell.font) if hdr_cell is not None else Font()
        font.b = True
        cell.font = font
        put(cell, title)
        ws.column_dimensions[get_column_letter(first_col + i)].width = width
    for note in notes:
        key = note_key(note)
        found = grouped.get(key, [])
        for i, value in enumerate(summary(found)):
            if value:
                put(ws.cell(key[1], first_col + i), value)
        by_cell: dict[str, list[Finding]] = defaultdict(list)
        columns = {s.location["column"] for s in note.segments}
        for f in found:
            col = f.location.get("column")
            by_cell[col if col in columns else note.segments[0].location["column"]].append(f)
        for col, fs in by_cell.items():
            _add_comment(ws[f"{col}{key[1]}"], _comment_text(fs))


def _unique_title(wb, base: str) -> str:
    taken = {t.lower() for t in wb.sheetnames}
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        title = f"{base} {n}"
    return title


def _findings_sheet(wb, notes: list[Note], grouped: dict[Key, list[Finding]]) -> None:
    ws = wb.create_sheet(_unique_title(wb, "Findings"))
    ws.append(FINDINGS_HEADERS)
    for cell in ws[1]:
        cell.font = Font(b=True)
    row = 1
    for note in sorted(notes, key=lambda n: n.position):
        for f in sorted(grouped.get(note_key(note), []), key=lambda f: _item_order(f.item)):
            loc = f.location or note.segments[0].location
            values = [f.note_id, f.clinician or note.clinician, f.client or note.client, f.date or note.date or None,
                      f.checklist, f.item, f.name, f.status, f.topic, f.evidence, f.reason or None,
                      loc.get("sheet"), loc.get("row"), loc.get("column")]
            ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
            row += 1  # counted here: ws.max_row scans every cell
            for c, value in enumerate(values, start=1):
                if isinstance(value, str) and value.startswith(FORMULA_START):
                    put(ws._cells[(row, c)], value)  # append made it a formula; make it literal again
    ws.freeze_panes = "A2"


def write_xlsx(src: Path, dest: Path, notes: list[Note], findings: list[Finding], *,
               file_mode: int = 0o600) -> list[str]:
    """Write an annotated copy of src to dest (same extension); returns openpyxl's warnings."""
    src, dest = Path(src), Path(dest)
    if src.suffix.lower() != dest.suffix.lower():
        raise ValueError(f"annotated copy must keep the extension {src.suffix}: {dest.name}")
    macro = src.suffix.lower() in (".xlsm", ".xltm")
    caught: list = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wb = open_workbook(src, keep_vba=macro, rich_text=True)
        snap = _snapshot(wb)
        grouped = group_findings(notes, findings)
        by_sheet: dict[str, list[Note]] = defaultdict(list)
        for note in notes:
            key = note_key(note)
            if key is not None and key[0] in snap:
                by_sheet[key[0]].append(note)
        for title, sheet_notes in by_sheet.items():
            _annotate_sheet(wb[title], sheet_notes, grouped)
        _findings_sheet(wb, notes, grouped)
        with atomic_path(dest, file_mode) as tmp:
            wb.save(tmp)
            _verify(tmp, snap, src.name)
    return list(dict.fromkeys(f"{src.name}: {w.message}" for w in caught))
