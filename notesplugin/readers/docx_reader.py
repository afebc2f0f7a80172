"""DOCX exports -> Notes: one note per file or many, split by header blocks.

A header block is a label|value table (2 or 4 columns, or cells holding
`Label: value`; a merged title row is allowed), or consecutive `Label: value`
lines (several fields per line allowed, see docx_labels), naming at least two
of note_id/clinician/client/date (or just a note ID). When a file has header
blocks, a block repeating the first header's identity fields starts a note (see
docx_bounds); other label blocks inside a note body stay note text. A title
paragraph ("Progress Note", a Heading/Title style, a short all-bold line) right
before a header is dropped. When it has none, page breaks, horizontal rules and
a repeated "Progress Note" title split the notes.
Note titles and rules are never note text. Two header blocks with no text
between them are one header (a signature block then the next note's header).
A one-note file without a header block takes its fields from the page header.
A soft line break (Shift+Enter) ends a line as a paragraph end does: each line of a
paragraph is read as one (a note written "Clinician: X<br/>Client: Y<br/>Date: Z<br/>text").
"""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

from notesplugin.config import Config
from notesplugin.escape import path_text
from notesplugin.model import InputError, Note, ReadResult, Segment
from notesplugin.sources import DocxSource
from notesplugin.readers.columns import Layout, detect_layout, norm_header, parse_date  # one date parser, one column detector
from notesplugin.readers.columns import role_lookup as column_lookup
from notesplugin.readers.docx_bounds import Block, note_starts
from notesplugin.readers.wraps import unwrap
from notesplugin.readers.docx_labels import inline_labels, is_rule, label_pairs, soft_lines
from notesplugin.docx_text import (
    NOTE_REFS, W_P, body_paragraphs, note_paragraphs, note_parts, page_break_offsets, paragraph_text,
)
from notesplugin.readers.sniff import require
from notesplugin.word_package import WordPackage

ROLES = ("note_id", "clinician", "client", "date")
W_TBL, W_TR, W_TC = qn("w:tbl"), qn("w:tr"), qn("w:tc")
W_TCPR, W_TRPR, W_VAL = qn("w:tcPr"), qn("w:trPr"), qn("w:val")
W_VMERGE, W_GRIDSPAN, W_GRIDBEFORE = qn("w:vMerge"), qn("w:gridSpan"), qn("w:gridBefore")
W_SECTPR = qn("w:sectPr")
W_ALTCHUNK = qn("w:altChunk")


_PREAMBLE_LINES = 8  # letterhead or title lines above the first of several note headers


@lru_cache(maxsize=4096)  # called for every paragraph and field; labels repeat
def norm_label(label: str) -> str:
    """'Note #' == 'note no.' == 'NOTE NUMBER'; punctuation and case ignored."""
    s = label.lower().replace("#", " number ")
    words = re.sub(r"[^a-z0-9]+", " ", s).split()
    return " ".join("number" if w in ("no", "num", "nbr") else w for w in words)


def role_lookup(config: Config) -> dict[str, str]:
    out: dict[str, str] = {}
    for role in ROLES:
        for name in config.columns.get(role, []):
            out.setdefault(norm_label(name), role)
    return out


@dataclass
class _Para:
    p: object
    text: str
    loc: dict
    title: bool = False
    pairs: list | None = None  # `Label: value` fields when the line is made of them
    sep: bool = False  # a note title ("Progress Note") or a horizontal rule: never note text
    offset: int = 0  # where this line starts in the paragraph's text (soft breaks make lines)
    first: bool = True  # the paragraph's first / last line: a break before / after it is theirs
    last: bool = True

    def page_breaks(self) -> list[int]:
        """Offsets in `text` of the page breaks inside this line."""
        end = self.offset + len(self.text)
        return [k - self.offset for k in page_break_offsets(self.p) if self.offset <= k < end]

    def break_before(self) -> bool:
        return self.first and bool(self.p.xpath("./w:pPr/w:pageBreakBefore[not(@w:val='0' or @w:val='false')]"))

    def section_end(self) -> bool:
        return self.last and bool(self.p.xpath("./w:pPr/w:sectPr"))


@dataclass
class _Header:
    pairs: list[tuple[str, str]]  # (label as written, value)
    body: list = field(default_factory=list)  # w:tc of a header table that hold note text


@dataclass
class _Draft:
    header: _Header | None = None
    pieces: list[tuple[str, dict, int]] = field(default_factory=list)  # (text, location, offset)


def open_docx(path: Path) -> WordPackage:
    """The file read once as a WordPackage (main part parsed), or InputError with a one-line fix."""
    path = Path(path)
    data = require(path, "docx", read=True)  # sniffing and size caps live in readers.sniff / safety
    try:
        return WordPackage(path, data)
    except (KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, NotImplementedError,
            zlib.error) as exc:
        kind = type(exc).__name__
        raise InputError(f"{path.name}: not a usable Word document ({kind}); open it in Word and save as .docx") from None


def _style(p) -> str:
    styles = p.xpath("./w:pPr/w:pStyle/@w:val")
    return styles[0].lower() if styles else ""


def _lines(p, index: dict, note_labels: set[str], inline) -> list[_Para]:
    """A body paragraph as items, one per line (see soft_lines)."""
    text = unwrap(paragraph_text(p)[0])  # a soft break inside a sentence is a space
    lines = soft_lines(text, page_break_offsets(p))
    out = []
    for k, (offset, line) in enumerate(lines):
        sep = is_rule(p, line) or _note_title(p, line.strip(), note_labels)
        out.append(_Para(p, line, {"paragraph": index[p]}, _is_title(p, line.strip(), note_labels),
                         label_pairs(line, inline), sep, offset, k == 0, k == len(lines) - 1))
    return out


def _add_piece(draft: _Draft, text: str, loc: dict, offset: int) -> None:
    """Add a line of note text; the next line of the same paragraph extends its piece, so a
    paragraph read as lines is still one segment, as the writer and the records expect."""
    if draft.pieces:
        last, last_loc, last_offset = draft.pieces[-1]
        if last_loc == loc and "paragraph" in loc and last_offset + len(last) + 1 == offset:
            draft.pieces[-1] = (last + "\n" + text, loc, last_offset)
            return
    draft.pieces.append((text, loc, offset))


def _is_title(p, text: str, note_labels: set[str]) -> bool:
    style = _style(p)
    if style.startswith("heading") or style in ("title", "subtitle"):
        return len(text) <= 80
    return len(text) <= 80 and norm_label(text) in note_labels


def _all_bold(para: _Para) -> bool:
    """A short line in bold runs only ("Peer Support Progress Note"): a title when a header follows."""
    text = para.text.strip()
    if not text or ":" in text or len(text) > 80:
        return False
    lo, hi = para.offset, para.offset + len(para.text)
    runs = [r for r, s, e in paragraph_text(para.p)[1] if e > s and s < hi and e > lo]
    return bool(runs) and all(r.xpath("./w:rPr/w:b[not(@w:val='0' or @w:val='false')]") for r in runs)


def _note_title(p, text: str, note_labels: set[str]) -> bool:
    """"Progress Note", "INDIVIDUAL THERAPY PROGRESS NOTE": a note's title, not its text."""
    if len(text) > 80:
        return False
    key = norm_label(text)
    if key in note_labels:
        return True
    words = key.split()
    style = _style(p)
    styled = style.startswith("heading") or style in ("title", "subtitle") or text.isupper()
    return styled and 0 < len(words) <= 8 and ("note" in words or "notes" in words)


def _cell_text(tc, index: dict) -> str:
    return " ".join(paragraph_text(p)[0].strip() for p in tc.iter(W_P) if p in index).strip()


def _table_header(tbl, index: dict, roles: dict[str, str], note_labels: set[str]) -> _Header | None:
    """A header table: label|value rows (2 or 4 cells), cells holding `Label: value`,
    and one-cell title rows. A row whose label is a note label ("Progress Note") or
    whose value is long holds note text: its cells go to `body`, as do later rows."""
    over = _labels_over_values(tbl, index, roles)
    if over is not None:
        return over
    pairs: list[tuple[str, str]] = []
    body: list = []
    for tr in tbl.iterchildren(W_TR):
        tcs = list(tr.iterchildren(W_TC))
        texts = [_cell_text(tc, index) for tc in tcs]
        filled = [k for k, t in enumerate(texts) if t]
        if not filled:
            continue
        in_cells = [label_pairs(texts[k]) for k in filled]
        if all(pp and all(v for _, v in pp) for pp in in_cells):
            pairs.extend(pair for pp in in_cells for pair in pp)
            continue
        if len(filled) == 1:
            k = filled[0]
            if body or len(texts[k]) > 80 or len(tcs[k].findall(W_P)) > 1:
                body.append(tcs[k])  # a merged row of note text
            # else a title row ("PROGRESS NOTE") across the table
            continue
        if len(tcs) not in (2, 4):
            return None
        for k in range(0, len(tcs), 2):
            label, value = texts[k], texts[k + 1]
            if not label:
                continue
            role = roles.get(norm_label(label))
            if role is None and (body or norm_label(label) in note_labels or len(value) > 200 or _sentences(value)):
                body.extend(tcs[k + 1:k + 2] if norm_label(label) in note_labels else tcs[k:k + 2])
            else:
                pairs.append((label, value))
    header = _header_if_enough(pairs, roles)
    if header:
        header.body = body
    return header


def _labels_over_values(tbl, index: dict, roles: dict[str, str]) -> _Header | None:
    """A header of labels across its first row and their values in the row below ("Note ID |
    Date of Service | Client | Clinician" over "NS-1 | 03/02/2026 | ..."); later rows of one
    filled cell (the narrative) are note text. Read pairwise, the labels would be each other's values."""
    rows = [list(tr.iterchildren(W_TC)) for tr in tbl.iterchildren(W_TR)]
    if len(rows) < 2 or len(rows[0]) < 2 or len(rows[1]) != len(rows[0]):
        return None
    labels = [_cell_text(tc, index) for tc in rows[0]]
    values = [_cell_text(tc, index) for tc in rows[1]]
    named = [t for t in labels if t]
    if len(named) < 2 or not all(roles.get(norm_label(t)) for t in named) \
            or any(roles.get(norm_label(v)) for v in values if v):
        return None
    body = []
    for tcs in rows[2:]:
        filled = [tc for tc in tcs if _cell_text(tc, index)]
        if len(filled) > 1:
            return None  # more rows of data: not a header
        body += filled
    header = _header_if_enough([(lb, v) for lb, v in zip(labels, values) if lb], roles)
    if header:
        header.body = body
    return header


def _sentences(value: str) -> bool:
    """A label's value that is written prose ("I quickly changed the subject to her work."), not a
    field ("Individual, 53 min"): a note section in a label|value table, so it is checked."""
    words = value.split()
    return len(words) >= 12 or (len(words) >= 5 and value.rstrip()[-1:] in ".!?")


def _notes_table(rows: list[list[str]], config: Config, lookup: dict) -> Layout | None:
    """A table laid out like an export sheet: a header row naming a note column and at least one
    of ID/clinician/client/date, then one note per row. Found by the same column detector as
    XLSX and CSV. A label|value table (each row starting with a label) is not one."""
    if len(rows) < 2 or max(len(r) for r in rows) < 3:
        return None
    layout = detect_layout(rows[:2], config, lookup)
    if layout is None or not set(layout.roles) & {"note_id", "clinician", "client", "date"}:
        return None
    head = rows[layout.header_row - 1]
    if any(len(c) > 40 or len(c.split()) > 5 for c in head):
        return None  # a header cell is short; a long one is note text
    for row in rows[layout.header_row:]:
        first = next((c for c in row if c), "")
        if row != head and norm_header(first) in lookup:
            return None
    return layout


def _grid(tr) -> list[tuple[object | None, bool]]:
    """A row's cells by grid column: (w:tc, continues the cell above). A cell spanning columns
    (gridSpan) stands in its first one (None in the others); columns a row skips (gridBefore)
    are None; a vertically merged cell's later rows (vMerge without restart) continue it."""
    def number(el, default: int) -> int:
        try:
            return max(0, min(64, int(el.get(W_VAL)))) if el is not None else default
        except (TypeError, ValueError):
            return default

    out: list[tuple[object | None, bool]] = [(None, False)] * number(tr.find(f"{W_TRPR}/{W_GRIDBEFORE}"), 0)
    for tc in tr.iterchildren(W_TC):
        vm = tc.find(f"{W_TCPR}/{W_VMERGE}")
        out.append((tc, vm is not None and vm.get(W_VAL, "continue") != "restart"))
        out.extend([(None, False)] * (number(tc.find(f"{W_TCPR}/{W_GRIDSPAN}"), 1) - 1))
    return out


def _grid_texts(tr, index: dict) -> list[str]:
    return [_cell_text(tc, index) if tc is not None else "" for tc, _ in _grid(tr)]


def _table_drafts(tbl, n_tbl: int, layout: Layout, rows: list[list[str]], index: dict,
                  config: Config) -> tuple[list[_Draft], int]:
    """One draft per data row of a notes table (`rows`: its cell texts by grid column, as read to
    find it); (drafts, rows with other cells but no note text). A cell merged down over several
    rows (one clinician's block of notes) gives each its value."""
    label = {role: config.columns[role][0] for role in ROLES}  # read back to the role by header_values
    drafts, skipped = [], 0
    head = [" ".join(h.split()).casefold() for h in layout.headers]
    above: list[str] = []
    for tr, read in zip(list(tbl.iterchildren(W_TR))[layout.header_row:], rows[layout.header_row:]):
        cells = _grid(tr)
        texts = [(above[c] if c < len(above) else "") if cont else read[c] for c, (_, cont) in enumerate(cells)]
        above = texts
        if [" ".join(t.split()).casefold() for t in texts] == head:
            continue  # the header row repeated at a page break
        draft = _Draft(_Header([]))
        for c in layout.text_cols:
            tc, cont = cells[c] if c < len(cells) else (None, False)
            for p in (tc.iter(W_P) if tc is not None and not cont else ()):
                text = unwrap(paragraph_text(p)[0]) if p in index else ""
                if text.strip():
                    draft.pieces.append((text, _cell_loc(p, tbl, n_tbl, index), 0))
        for role, c in layout.roles.items():
            if role in label and c < len(texts) and texts[c]:
                draft.header.pairs.append((label[role], texts[c]))
        used = set(layout.roles.values()) | set(layout.text_cols)
        draft.header.pairs += [(layout.headers[c], t) for c, t in enumerate(texts)
                               if c not in used and t and c < len(layout.headers) and layout.headers[c]]
        if draft.pieces:
            drafts.append(draft)
        elif any(texts):
            skipped += 1
    return drafts, skipped


def _header_if_enough(pairs: list[tuple[str, str]], roles: dict[str, str], lines: bool = False) -> _Header | None:
    found = {roles.get(norm_label(label)) for label, _ in pairs} - {None}
    if lines and not found & {"note_id", "date"}:
        return None  # "Client: ..." / "Therapist: ..." lines may be a dialogue in the note text
    return _Header(pairs) if len(found) >= 2 or "note_id" in found else None


def _blocks(container, index: dict):
    """Top-level paragraphs and tables in order, looking through content controls etc.
    The paragraphs of a text box follow the paragraph that anchors it."""
    for child in container.iterchildren():
        if child.tag == W_P:
            if child in index:
                yield child
                yield from (p for p in child.iter(W_P) if p is not child and p in index)
        elif child.tag == W_TBL and _layout_table(child):
            for tr in child.iterchildren(W_TR):  # a frame around the note: read what it holds
                for tc in tr.iterchildren(W_TC):
                    yield from _blocks(tc, index)
        elif child.tag == W_TBL:
            yield child
        elif child.tag != W_SECTPR:
            yield from _blocks(child, index)


def _layout_table(tbl) -> bool:
    """A one-column table holding another table: a template's frame around a note (its header
    table and narrative inside), not a table of data. Its contents are read as the body's."""
    rows = list(tbl.iterchildren(W_TR))
    cells = [tc for tr in rows for tc in tr.iterchildren(W_TC)]
    return bool(rows) and len(cells) == len(rows) and any(tc.find(W_TBL) is not None for tc in cells)


def _line_headers(paras: list, roles: dict[str, str]) -> dict[int, tuple[int, _Header]]:
    """Runs of `Label: value` paragraphs that form a header: {first i: (last i, header)}.
    A paragraph may hold several fields; the run ends at the last one naming a role. Once
    the run makes a header, three lines in a row naming no role end it: they are a body of
    label lines (`Reason:`, `Summary:`, `A:`), not more header."""
    out: dict[int, tuple[int, _Header]] = {}

    def roles_of(item) -> list[str] | None:
        if not isinstance(item, _Para) or item.pairs is None:
            return None
        return [r for r in (roles.get(norm_label(label)) for label, _ in item.pairs) if r]

    i = 0
    while i < len(paras):
        if not roles_of(paras[i]):
            i += 1
            continue
        seen: set[str] = set()
        pairs: list[tuple[str, str]] = []
        last_role_j, last_role_pairs = i, 0
        idle = 0
        j = i
        while j < len(paras) and isinstance(paras[j], _Para):
            if not paras[j].text.strip():
                j += 1
                continue
            found = roles_of(paras[j])
            if found is None or seen & set(found):
                break
            idle = 0 if found else idle + 1
            if idle > 2 and _header_if_enough(pairs[:last_role_pairs], roles, lines=True):
                break
            pairs.extend(paras[j].pairs)
            if found:
                seen.update(found)
                last_role_j, last_role_pairs = j, len(pairs)
            j += 1
        header = _header_if_enough(pairs[:last_role_pairs], roles, lines=True)
        if header:
            out[i] = (last_role_j, header)
            i = last_role_j + 1
        else:
            i += 1
    return out


def header_values(pairs: list[tuple[str, str]], roles: dict[str, str],
                  day_first: bool = False) -> tuple[dict, dict, str | None]:
    """(role values, other fields, ISO date) from a header's (label, value) pairs; the first
    label of a role wins. Shared with the PDF reader, which reads the same `Label: value` lines."""
    values: dict[str, str] = {}
    fields: dict[str, str] = {}
    for label, value in pairs:
        role = roles.get(norm_label(label))
        if role and role not in values:
            values[role] = value.strip()
        elif label.strip():
            fields[label.strip()] = value.strip()
    date = None
    if values.get("date"):
        date = parse_date(values["date"], day_first)
        if date is None:
            fields["date"] = values["date"]
    return values, fields, date


def _note_from(draft: _Draft, path: Path, position: int, roles: dict[str, str], day_first: bool = False) -> Note:
    parts, segs, pos = [], [], 0
    for text, loc, offset in draft.pieces:
        if parts:
            pos += 1  # the "\n" between paragraphs
        parts.append(text)
        segs.append(Segment(pos, pos + len(text), loc, offset))
        pos += len(text)
    values, fields, date = header_values(draft.header.pairs if draft.header else [], roles, day_first)
    return Note(
        note_id=values.get("note_id") or f"{path_text(path.stem)}#{position}", file=path_text(path), text="\n".join(parts),
        segments=tuple(segs), clinician=values.get("clinician", ""), client=values.get("client", ""),
        date=date, fields=fields, position=position, id_given=bool(values.get("note_id")),
    )


def read_docx(path: Path, config: Config, doc: WordPackage | None = None) -> ReadResult:
    """`doc`: path already opened with open_docx (the scan hands it on to the writer); only read here."""
    path = Path(path)
    if doc is None:
        doc = open_docx(path)
    body = doc.body
    plist = body_paragraphs(body)
    index = {p: i for i, p in enumerate(plist)}
    roles = role_lookup(config)
    note_labels = {norm_label(n) for n in config.columns.get("note", [])}
    inline = inline_labels(n for role in ROLES for n in config.columns.get(role, []))
    lookup = column_lookup(config)

    # Flatten to top-level items: _Para, ("tbl", element, table number) or a notes table
    # ("rows", element, table number, layout).
    items: list = []
    for n_tbl, block in _enumerate_tables(_blocks(body, index)):
        if block.tag == W_P:
            items.extend(_lines(block, index, note_labels, inline))
        else:
            rows = [_grid_texts(tr, index) for tr in block.iterchildren(W_TR)]
            layout = _notes_table(rows, config, lookup)
            items.append(("rows", block, n_tbl, layout, rows) if layout else ("tbl", block, n_tbl))
    skipped = 0
    line_headers = _line_headers(items, roles)
    headers: dict[int, tuple[int, _Header]] = dict(line_headers)
    for i, item in enumerate(items):
        if isinstance(item, tuple) and item[0] == "tbl":
            h = _table_header(item[1], index, roles, note_labels)
            if h:
                headers[i] = (i, h)
    for i in headers:
        k = i - 1
        while k >= 0 and isinstance(items[k], _Para) and not items[k].text.strip():
            k -= 1
        if k >= 0 and isinstance(items[k], _Para) and _all_bold(items[k]):
            items[k].title = True
    headers, kept_as_text = _note_starts(items, headers, roles)
    row_tables = any(isinstance(item, tuple) and item[0] == "rows" for item in items)
    split_on_pages = not headers and not row_tables
    rows_skipped = 0

    drafts: list[_Draft] = [_Draft()]
    pending: list[_Para] = []  # titles/blank lines that may precede a header

    def flush_pending() -> None:
        for para in pending:
            if para.text.strip():
                _add_piece(drafts[-1], para.text, para.loc, para.offset)
        pending.clear()

    i = 0
    while i < len(items):
        item = items[i]
        if i in headers:
            last, header = headers[i]
            pending.clear()  # a title right before a header is dropped
            if drafts[-1].header and not drafts[-1].pieces:
                # Two header blocks with no text between: a signature block ("Clinician: ...",
                # "Date: ...") then the next note's header, or a header split over two tables.
                header = _merged(drafts[-1].header, header, roles)
            elif drafts[-1].header or drafts[-1].pieces:
                drafts.append(_Draft())
            drafts[-1].header = header
            for tc in header.body:
                for p in tc.iter(W_P):
                    text = unwrap(paragraph_text(p)[0]) if p in index else ""
                    if text.strip():
                        drafts[-1].pieces.append((text, _cell_loc(p, item[1], item[2], index), 0))
            i = last + 1
            continue
        if isinstance(item, _Para) and item.sep and not item.page_breaks():
            # Without header blocks, a rule or a repeated note title starts the next note.
            title = bool(item.text.strip()) and not is_rule(item.p, item.text)
            if not title:
                flush_pending()
            if split_on_pages and drafts[-1].pieces:
                drafts.append(_Draft())
            if title:
                flush_pending()
        elif isinstance(item, tuple) and item[0] == "rows":
            pending.clear()  # a title right before the table is dropped
            row_drafts, n_skipped = _table_drafts(item[1], item[2], item[3], item[4], index, config)
            rows_skipped += n_skipped
            if not (drafts[-1].header or drafts[-1].pieces):
                drafts.pop()
            drafts += row_drafts + [_Draft()]  # text after the table is not the last row's
        elif isinstance(item, _Para):
            breaks = split_on_pages and (item.page_breaks() or item.section_end())
            if (item.title or not item.text.strip()) and not breaks:
                pending.append(item)
            else:
                flush_pending()
                _add_paragraph(drafts, item, split_on_pages)
        else:
            flush_pending()
            for p in item[1].iter(W_P):
                if p in index:
                    text = unwrap(paragraph_text(p)[0])
                    if text.strip():
                        drafts[-1].pieces.append((text, _cell_loc(p, item[1], item[2], index), 0))
        i += 1
    flush_pending()

    warnings: list[str] = []
    if row_tables:
        # Beside a notes table, short header-less text is its title or a signature line.
        loose = [d for d in drafts if d.pieces and d.header is None and sum(len(t) for t, _, _ in d.pieces) < 200]
        drafts = [d for d in drafts if all(d is not x for x in loose)] if loose else drafts
        if loose:
            n = sum(len(d.pieces) for d in loose)
            warnings.append(f"{path.name}: {n} short line{'s' if n > 1 else ''} outside the notes table "
                            f"(a title or a signature) {'were' if n > 1 else 'was'} not checked")
        if rows_skipped:
            warnings.append(f"{path.name}: {rows_skipped} table row{'s' if rows_skipped > 1 else ''} with no "
                            "note text skipped")
        skipped += rows_skipped
    filled = [d for d in drafts if d.pieces]
    if len(filled) > 1 and filled[0].header is None and all(d.header is not None for d in filled[1:]) and \
            len(filled[0].pieces) <= _PREAMBLE_LINES and sum(len(t) for t, _, _ in filled[0].pieces) < 300 and \
            not any(_sentences(t) for t, _, _ in filled[0].pieces):
        # Before the first of several note headers, a few short lines that are not prose are the
        # practice's letterhead or the export's title ("Weekly notes"), as in PDF chart exports.
        n = len(filled[0].pieces)
        warnings.append(f"{path.name}: {n} short line{'s' if n > 1 else ''} before the first note (a title or "
                        f"letterhead) {'were' if n > 1 else 'was'} not checked")
        drafts = [d for d in drafts if d is not filled[0]]
        filled = filled[1:]
    if not headers and len(filled) == 1 and filled[0].header is None:
        filled[0].header = _page_header(doc, roles, note_labels, inline)

    unread = _add_footnotes(drafts, plist, doc)
    if kept_as_text:
        warnings.append(f"{path.name}: {kept_as_text} label block{'s' if kept_as_text > 1 else ''} inside notes "
                        f"{'were' if kept_as_text > 1 else 'was'} kept as note text")
    notes: list[Note] = []
    for draft in drafts:
        if not draft.pieces:
            # Only the last block can be text-less (see _merged); without a note ID it is
            # a signature block ("Clinician: ...", "Date: ..."), not a lost note.
            if draft.header and any(roles.get(norm_label(lb)) == "note_id" for lb, _ in draft.header.pairs):
                warnings.append(f"{path.name}: a note header with no note text was skipped (note {len(notes) + 1})")
                skipped += 1
            continue
        note = _note_from(draft, path, len(notes) + 1, roles, config.day_first)
        if len(note.text) > config.max_note_chars:
            warnings.append(f"{path.name}: note {note.note_id} is longer than {config.max_note_chars} characters "
                            "and was not checked; raise limits.max_note_chars to include it")
            skipped += 1
            continue
        notes.append(note)
    chunks = sum(1 for _ in body.iter(W_ALTCHUNK))
    if not notes and chunks:
        raise InputError(f"{path.name}: the notes are imported HTML or RTF (altChunk) that Word converts on opening; "
                         "open the file in Word, save it, and scan it again")
    if not notes and not warnings:
        raise InputError(_no_text(path, plist))
    warnings.extend(_unattributed(notes, path))
    if chunks:
        warnings.append(f"{path.name}: {chunks} part{'s' if chunks > 1 else ''} of the document {'are' if chunks > 1 else 'is'} "
                        "imported HTML or RTF (altChunk) that Word converts on opening, not read or checked; "
                        "open the file in Word, save it, and scan it again")
    if unread:
        many = "s" if unread > 1 else ""
        warnings.append(f"{path.name}: {unread} footnote{many} or endnote{many} not referenced from a note's text "
                        f"{'were' if many else 'was'} not read or checked; move that text into the note body")
    ids = [n.note_id for n in notes]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        warnings.append(f"{path.name}: note IDs used more than once: {', '.join(dupes[:5])}")
    return ReadResult(notes, warnings, skipped, DocxSource(path, doc))


def _no_text(path: Path, plist: list) -> str:
    """Why a file gave no note: an empty body, or one holding only headers, titles and rules."""
    if not any(paragraph_text(p)[0].strip() for p in plist):
        return (f"{path.name}: no note text found; the body is empty (headers and footers are not read) - "
                "export the notes as ordinary paragraphs")
    return (f"{path.name}: no note text found; the body holds only header lines (`Label: value`), titles "
            "or rules, with no note text under a header - check that each note's text follows its header")


def _note_starts(items: list, headers: dict[int, tuple[int, _Header]], roles: dict[str, str]):
    """Keep only the header blocks that start a note (docx_bounds); the rest is note text."""
    def role_set(header: _Header) -> frozenset[str]:
        return frozenset(roles.get(norm_label(label)) for label, _ in header.pairs) - {None}

    def goes_on(i: int, last: int) -> bool:
        """A line block followed by label lines naming no identity field: a form or a log."""
        k = last + 1
        while k < len(items) and isinstance(items[k], _Para) and not items[k].text.strip():
            k += 1
        nxt = items[k] if k < len(items) else None
        return isinstance(items[i], _Para) and isinstance(nxt, _Para) and bool(nxt.pairs) \
            and not any(roles.get(norm_label(label)) for label, _ in nxt.pairs)

    def gap(i: int) -> bool:
        it = items[i]
        return isinstance(it, _Para) and (not it.text.strip() or it.title or it.sep)

    def signal(i: int) -> bool:
        it = items[i]
        return isinstance(it, _Para) and bool(
            it.sep or it.title or it.page_breaks() or it.section_end() or it.break_before())

    blocks = [Block(i, last, role_set(h), frozenset(norm_label(label) for label, _ in h.pairs),
                    any(roles.get(norm_label(label)) is None for label, _ in h.pairs), goes_on(i, last))
              for i, (last, h) in sorted(headers.items())]
    kept, as_text = note_starts(blocks, len(items), gap, signal)
    return {b.first: headers[b.first] for b in kept}, as_text


def _unattributed(notes: list[Note], path: Path) -> list[str]:
    """Notes whose header gave no client, clinician or date: their findings cannot join a history."""
    out = []
    for note in notes:
        missing = [k for k in ("client", "clinician", "date") if not getattr(note, k)]
        if missing:
            named = "" if note.note_id == f"{path_text(path.stem)}#{note.position}" else f" ({note.note_id})"
            out.append(f"{path.name}: note {note.position}{named} has no {', '.join(missing)}; "
                       "check its header lines")
    if len(out) > 5:
        out[5:] = [f"{path.name}: {len(out) - 5} more notes lack a client, clinician or date"]
    return out


def _add_footnotes(drafts: list[_Draft], plist: list, doc) -> int:
    """Append to each note the footnotes and endnotes its text refers to (each once, in
    reference order); return how many holding text no note refers to."""
    paras, by_id = note_paragraphs(note_parts(doc))
    used: set[tuple[str, str]] = set()
    for draft in drafts:
        refs = []
        for _, loc, _ in draft.pieces:
            for el in plist[loc["paragraph"]].iter(*NOTE_REFS):
                key = (NOTE_REFS[el.tag], el.get(qn("w:id")))
                if key in by_id and key not in used:
                    used.add(key)
                    refs.append(key)
        for key in refs:
            for k in by_id[key]:
                text = paragraph_text(paras[k])[0]
                if text.strip():
                    draft.pieces.append((text, {"footnote": k}, 0))
    return sum(1 for key, ks in by_id.items()
               if key not in used and any(paragraph_text(paras[k])[0].strip() for k in ks))


def _merged(first: _Header, then: _Header, roles: dict[str, str]) -> _Header:
    """One header from two in a row; the later one's roles win."""
    later = {roles.get(norm_label(label)) for label, _ in then.pairs} - {None}
    keep = [(lb, v) for lb, v in first.pairs if roles.get(norm_label(lb)) not in later]
    return _Header(keep + then.pairs, first.body + then.body)


def _page_header(doc: WordPackage, roles: dict[str, str], note_labels: set[str], inline) -> _Header | None:
    """Client/date/ID fields in the page header of a one-note document, read through the main
    part's relationships (each header part parsed only here)."""
    pairs: list[tuple[str, str]] = []
    for name in doc.related(RT.HEADER):
        root = doc.xml(name)
        index = {p: i for i, p in enumerate(root.iter(W_P))}
        for tbl in root.iter(W_TBL):
            h = _table_header(tbl, index, roles, note_labels)
            pairs.extend(h.pairs if h else [])
        for p in index:
            if not any(a.tag == W_TBL for a in p.iterancestors()):
                pairs.extend(label_pairs(paragraph_text(p)[0], inline) or [])
    return _header_if_enough(pairs, roles)


def _enumerate_tables(blocks):
    """Pair each block with the running number of top-level tables (for locations)."""
    n = -1
    for block in blocks:
        if block.tag == W_TBL:
            n += 1
        yield n, block


def _cell_loc(p, tbl, n_tbl: int, index: dict) -> dict:
    """{"paragraph", "table", "row", "cell"} for a paragraph inside top-level table `tbl`."""
    tc = p
    while tc is not None and not (tc.tag == W_TC and tc.getparent() is not None
                                  and tc.getparent().getparent() is tbl):
        tc = tc.getparent()
    loc = {"paragraph": index[p], "table": n_tbl}
    if tc is not None:
        tr = tc.getparent()
        loc["row"] = list(tbl.iterchildren(W_TR)).index(tr)
        loc["cell"] = list(tr.iterchildren(W_TC)).index(tc)
    return loc


def _add_paragraph(drafts: list[_Draft], para: _Para, split_on_pages: bool) -> None:
    """Add a paragraph's line; without header blocks, page breaks start new notes."""
    text = para.text
    if split_on_pages and para.break_before() and drafts[-1].pieces:
        drafts.append(_Draft())
    cuts = para.page_breaks() if split_on_pages else []
    start = 0
    for k, cut in enumerate(cuts + [len(text)]):
        piece = text[start:cut]
        if piece.strip():
            _add_piece(drafts[-1], piece, para.loc, para.offset + start)
        if k < len(cuts) and drafts[-1].pieces:
            drafts.append(_Draft())
        start = cut + 1  # the break itself is one "\n"
    if split_on_pages and para.section_end() and drafts[-1].pieces:
        drafts.append(_Draft())
