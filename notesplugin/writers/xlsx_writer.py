"""Annotated copy of an XLSX/XLSM export: summary columns, cell comments and a
Findings sheet, made by patching the package: the notes sheets, their comments,
workbook.xml, styles.xml, rels and content types are rewritten, every other
part is copied byte for byte (openpyxl's load + save would drop sparklines,
shapes, threaded comments, x14 extensions...). Each rewritten sheet is checked
cell by cell against the original before the copy replaces dest."""
from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import column_index_from_string, get_column_letter

from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note
from notesplugin.sources import XlsxSource
from notesplugin.writers import changed_input
from notesplugin.writers.opc import Package, escape
from notesplugin.writers.xlsx_parts import Book, Styles, count_sheet, merge_comments
from notesplugin.writers.xlsx_sheet import Sheet, inline_cell

# The tool's own summary columns, then an empty "Review" column where the supervisor writes
# corrections for `notesplugin learn` (grammar: notesplugin/corrections.py).
ADDED = ("Rescuing items", "Exempt items", "Crisis items", "Topics", "Summary", "Review")
REVIEW = "Review"
REVIEW_HELP = ("Write corrections here for 'notesplugin learn': ok; not R1 (a false flag); missed R3 grief\n"
               "or missed R3 \"words of the sentence\"; crisis C1. Ids or names, several separated by ';'.")
WIDTHS = (26, 22, 20, 18, 44, 30)
FINDINGS_HEADERS = ("note_id", "clinician", "client", "date", "checklist", "item", "name", "status", "topic",
                    "evidence", "reason", "sheet", "row", "column")
FORMULA_START = ("=", "+", "-", "@")
AUTHOR = "notesplugin"
Key = tuple[Any, int]  # (sheet or None, row)


# ---- shared with the CSV writer -------------------------------------------------

def _items(found: Iterable[Finding]) -> str:
    seen = {f.item: f"{f.item} {f.name}".strip() for f in sorted(found, key=lambda f: _item_order(f.item))}
    return "; ".join(seen.values())


def _item_order(item: str) -> tuple[str, int, str]:
    digits = "".join(ch for ch in item if ch.isdigit())
    return (item.rstrip("0123456789"), int(digits) if digits else 0, item)


def summary(found: list[Finding]) -> list[str]:
    """The tool's added cells for one note: rescuing, exempt, crisis, topics, summary (Review stays empty)."""
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
    """Findings by the row of their note; the location wins over the note_id (ids may repeat).
    Only notes with findings are indexed, so memory follows the findings, not the file."""
    wanted = {f.note_id for f in findings}
    by_id: dict[str, Key] = {}
    keys: set[Key] = set()
    for note in notes:
        if note.note_id not in wanted:
            continue
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

def _verify(title: str, original: bytes, patched: bytes, name: str) -> None:
    """Every original row of a rewritten sheet must come back with its cells byte for byte (ours only
    appended after them), and the sheet must still be well-formed XML."""
    rows = {number: body or b"" for number, _, _, _, body in Sheet.parse(original).rows()}
    new = Sheet.parse(patched)
    for number, _, _, _, body in new.rows():
        old = rows.pop(number, None)
        if old is not None and not (body or b"").startswith(old):
            how, ref = _first_difference(new, old, body or b"", number)
            raise InputError(f"{name}: the annotated copy {how} an original cell ({title}!{ref}); no copy written")
    if any(rows.values()):
        number = min(n for n, body in rows.items() if body)
        raise InputError(f"{name}: the annotated copy lost an original cell ({title}!row {number}); "
                         "no copy written")
    etree.fromstring(patched, etree.XMLParser(huge_tree=True))  # XMLSyntaxError: not written


def _first_difference(sheet: Sheet, old: bytes, new: bytes, number: int) -> tuple[str, str]:
    """("changed" or "lost", cell reference) of the first original cell the copy does not have as it was."""
    olds = dict(_cell_bytes(sheet, old))
    news = dict(_cell_bytes(sheet, new))
    col = min((c for c in olds if olds[c] != news.get(c)), default=min(olds, default=1))
    return "changed" if col in news else "lost", f"{get_column_letter(col)}{number}"


def _cell_bytes(sheet: Sheet, body: bytes):
    p = re.escape(sheet.p)
    col = 0
    for m in re.finditer(rb"<" + p + rb"c\b[^>]*?(?:/>|>.*?</" + p + rb"c>)", body, re.S):
        ref = re.search(rb'\br="([A-Z]+)\d+"', m.group(0).split(b">", 1)[0])
        col = column_index_from_string(ref.group(1).decode()) if ref else col + 1
        yield col, m.group(0)


def _header_row(source: XlsxSource, title: str, notes: list[Note]) -> int:
    """The header row the reader found on this sheet, else the row above the first note."""
    first = min(n.segments[0].location["row"] for n in notes)
    return source.header_rows.get(title) or max(first - 1, 1)


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
    return ILLEGAL_CHARACTERS_RE.sub("", "\n".join(lines))


def _cell(p: str, ref: str, value: Any, styles: Styles) -> str:
    """A cell the tool made (XML text); a string starting like a formula gets Excel's quote prefix."""
    if isinstance(value, int):
        return f'<{p}c r="{ref}"><{p}v>{value}</{p}v></{p}c>'
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    s = f' s="{styles.derived(0, quote=True)}"' if value.startswith(FORMULA_START) else ""
    return (f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t xml:space="preserve">{escape(value)}</{p}t>'
            f"</{p}is></{p}c>")


def _annotate_sheet(sheet: Sheet, header_row: int, notes: list[Note], grouped: dict[Key, list[Finding]],
                    styles: Styles) -> tuple[dict[int, bytes], dict[int, float], dict[tuple[int, int], str]]:
    """(cells to append by row, column widths, comment texts by (row, column)) for one notes sheet."""
    note_col = column_index_from_string(notes[0].segments[0].location["column"])
    last, header_style = sheet.extent(header_row, note_col)
    first = last + 1
    p = sheet.p.decode()
    letters = [get_column_letter(first + i) for i in range(len(ADDED))]
    bold = styles.derived(header_style or 0, bold=True)
    added: dict[int, list[str]] = defaultdict(list)
    added[header_row] = [inline_cell(sheet.p, f"{letters[i]}{header_row}", title, bold).decode()
                         for i, title in enumerate(ADDED)]
    comments: dict[tuple[int, int], str] = {(header_row, first + ADDED.index(REVIEW)): REVIEW_HELP}
    for note in notes:
        key = note_key(note)
        found = grouped.get(key, [])
        row = key[1]
        added[row].extend(_cell(p, f"{letters[i]}{row}", value, styles) for i, value in enumerate(summary(found))
                          if value)
        if not found:
            continue
        by_cell: dict[str, list[Finding]] = defaultdict(list)
        columns = {s.location["column"] for s in note.segments}
        for f in found:
            col = f.location.get("column")
            by_cell[col if col in columns else note.segments[0].location["column"]].append(f)
        for col, fs in by_cell.items():
            comments[(row, column_index_from_string(col))] = _comment_text(fs)
    widths = {first + i: float(w) for i, w in enumerate(WIDTHS)}
    return {r: "".join(cells).encode("utf-8") for r, cells in added.items() if cells}, widths, comments


def _findings_sheet(notes: list[Note], grouped: dict[Key, list[Finding]], styles: Styles) -> bytes:
    bold = styles.derived(0, bold=True)
    letters = [get_column_letter(c) for c in range(1, len(FINDINGS_HEADERS) + 1)]
    rows = ['<row r="1">' + "".join(inline_cell(b"", f"{letters[c]}1", h, bold).decode()
                                    for c, h in enumerate(FINDINGS_HEADERS)) + "</row>"]
    r = 1
    for note in sorted(notes, key=lambda n: n.position):
        for f in sorted(grouped.get(note_key(note), []), key=lambda f: _item_order(f.item)):
            r += 1
            loc = f.location or note.segments[0].location
            values = (f.note_id, f.clinician or note.clinician, f.client or note.client, f.date or note.date,
                      f.checklist, f.item, f.name, f.status, f.topic, f.evidence, f.reason,
                      loc.get("sheet"), loc.get("row"), loc.get("column"))
            rows.append(f'<row r="{r}">' + "".join(_cell("", f"{letters[c]}{r}", v, styles)
                                                  for c, v in enumerate(values) if v is not None and v != "")
                        + "</row>")
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            b'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            b"<sheetData>" + "".join(rows).encode("utf-8") + b"</sheetData></worksheet>")


def write_xlsx(source: XlsxSource, dest: Path, notes: list[Note], findings: list[Finding], *,
               file_mode: int = 0o600) -> list[str]:
    """Write an annotated copy of the workbook the reader read to dest (same extension); returns warnings."""
    src, dest = Path(source.path), Path(dest)
    if src.suffix.lower() != dest.suffix.lower():
        raise ValueError(f"annotated copy must keep the extension {src.suffix}: {dest.name}")
    st = src.stat()
    if source.stamp is not None and (st.st_size, st.st_mtime_ns) != source.stamp:
        raise changed_input(src.name)
    grouped = group_findings(notes, findings)
    by_sheet: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        key = note_key(note)
        if key is not None and key[0] is not None:
            by_sheet[key[0]].append(note)
    try:
        with zipfile.ZipFile(src) as zf:
            pkg = Package(zf)
            book = Book(pkg)
            styles = Styles(pkg, book)
            rewritten = []
            for title, sheet_notes in by_sheet.items():
                part = book.parts.get(title)
                if part is None:
                    continue
                original = pkg.read(part)
                sheet = Sheet.parse(original)
                added, widths, comments = _annotate_sheet(sheet, _header_row(source, title, sheet_notes),
                                                          sheet_notes, grouped, styles)
                legacy = sheet.legacy_rid()
                new_rid = merge_comments(pkg, part, legacy, comments, AUTHOR) if comments else None
                pkg.put(part, sheet.patch(added, widths, new_rid if legacy is None else None))
                rewritten.append((title, part, original))
            findings_title = book.unique_title("Findings")
            count_sheet(pkg, book, findings_title)
            book.add_sheet(findings_title, _findings_sheet(notes, grouped, styles))
            styles.save()
            for title, part, original in rewritten:
                _verify(title, original, pkg.read(part), src.name)
            with atomic_path(dest, file_mode) as tmp:
                pkg.save(tmp)
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise InputError(f"{src.name}: not a usable workbook ({type(exc).__name__}); "
                         f"open it in Excel and save it again as .xlsx") from None
    except OSError as exc:
        raise InputError(f"{src.name}: cannot write the annotated copy ({exc.strerror}); "
                         "check the output folder") from None
    return []
