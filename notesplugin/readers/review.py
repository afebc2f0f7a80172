"""Annotated copies read back: their notes (with the ordinary readers: the copy's note
text is the original's) and, per note, what the supervisor wrote there: the
`Review` cell of a workbook or CSV row, a reply to one of our Word comments, or a
Word comment starting with "notesplugin:".

A file without our annotations (no Review column after our added columns, no
comment by notesplugin) raises NotOurs: corrections there are refused."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from docx.oxml.ns import qn

from notesplugin import readers
from notesplugin.config import Config
from notesplugin.corrections import PREFIX
from notesplugin.docx_text import W_P, W_T, body_paragraphs, child_text
from notesplugin.model import Note

# The columns our writers add, in order (notesplugin.writers.xlsx_writer.ADDED; not imported:
# a reader never imports a writer).
ADDED = ("Rescuing items", "Exempt items", "Crisis items", "Topics", "Summary", "Review")
AUTHOR = "notesplugin"
RT_COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
RT_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
W14_PARA = "{http://schemas.microsoft.com/office/word/2010/wordml}paraId"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"


class NotOurs(Exception):
    """The file has none of the annotations notesplugin writes."""


@dataclass
class Cell:
    note: Note | None  # None: a comment anchored outside every note (reported, never dropped)
    text: str
    where: str  # "Notes!K5", "row 5", "comment 3"
    item: str | None = None  # a reply: the item of the finding it answers
    anchor: str = ""  # a Word comment's anchored text (the sentence meant)


@dataclass
class Reviewed:
    path: Path
    kind: str
    notes: list[Note]
    cells: list[Cell] = field(default_factory=list)


def read_reviewed(path: Path, config: Config) -> Reviewed:
    kind, read = readers.read(path, config)
    if kind == "xlsx":
        cells = _xlsx(path, read)
    elif kind == "csv":
        cells = _csv(path, read)
    elif kind == "docx":
        cells = _docx(read)
    else:
        raise NotOurs()
    return Reviewed(Path(path), kind, read.notes, cells)


def _ours_at(headers: list) -> int | None:
    """Index of our Review column in a header row, when our added columns end there."""
    heads = [str(h).strip() if h is not None else "" for h in headers]
    for i in range(len(heads) - len(ADDED), -1, -1):
        if tuple(heads[i:i + len(ADDED)]) == ADDED:
            return i + len(ADDED) - 1
    return None


def _by_row(notes: list[Note]) -> dict[tuple, Note]:
    out = {}
    for n in notes:
        loc = n.segments[0].location if n.segments else {}
        if "row" in loc:
            out[(loc.get("sheet"), loc["row"])] = n
    return out


def _xlsx(path: Path, read) -> list[Cell]:
    from openpyxl.utils import get_column_letter

    from notesplugin.readers.xlsx_reader import open_workbook

    rows = _by_row(read.notes)
    cells, found = [], False
    wb = open_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        for title, header in read.source.header_rows.items():
            ws = wb[title]
            col = None
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if number == header:
                    col = _ours_at(list(values))
                    if col is None:
                        break
                    found = True
                elif number > header and col is not None and col < len(values):
                    text = values[col]
                    note = rows.get((title, number))
                    if note is not None and text is not None and str(text).strip():
                        cells.append(Cell(note, str(text), f"{title}!{get_column_letter(col + 1)}{number}"))
    finally:
        wb.close()
    if not found:
        raise NotOurs()
    return cells


def _csv(path: Path, read) -> list[Cell]:
    src = read.source
    raw = Path(path).read_bytes()[len(src.bom):]
    text = raw.decode(src.encoding, src.errors)
    rows = _by_row(read.notes)
    col, cells = None, []
    for number, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=src.delimiter), start=1):
        if number == src.header_row:
            col = _ours_at(record)
            if col is None:
                raise NotOurs()
        elif number > src.header_row and col is not None and col < len(record) and record[col].strip():
            note = rows.get((None, number))
            if note is not None:
                cells.append(Cell(note, record[col], f"row {number}"))
    if col is None:
        raise NotOurs()
    return cells


def _xml(pkg, reltype: str):
    """The root element of the first part the main document part relates by `reltype`, or None."""
    names = pkg.related(reltype)
    return pkg.xml(names[0]) if names else None


def _comment_text(c) -> str:
    return "\n".join("".join(child_text(ch) for r in p.iter(qn("w:r")) for ch in r) for p in c.iter(W_P)).strip()


def _anchors(plist: list) -> dict[str, tuple[int, str]]:
    """comment id -> (paragraph index where its range starts, the text inside its range)."""
    out: dict[str, tuple[int, str]] = {}
    open_: dict[str, list[str]] = {}
    start_at: dict[str, int] = {}
    for i, p in enumerate(plist):
        for el in p.iter():
            if el.tag == qn("w:commentRangeStart"):
                cid = el.get(qn("w:id"))
                open_[cid], start_at[cid] = [], i
            elif el.tag == qn("w:commentRangeEnd"):
                cid = el.get(qn("w:id"))
                if cid in open_:
                    out[cid] = (start_at[cid], "".join(open_.pop(cid)))
            elif el.tag == qn("w:commentReference"):
                cid = el.get(qn("w:id"))
                if cid not in out and cid not in open_:
                    out[cid] = (i, "")
            elif el.tag == W_T and open_:
                for parts in open_.values():
                    parts.append(el.text or "")
        for parts in open_.values():
            parts.append("\n")
    return out


def _docx(read) -> list[Cell]:
    pkg = read.source.package  # notesplugin.word_package.WordPackage
    root = _xml(pkg, RT_COMMENTS)
    if root is None:
        raise NotOurs()
    comments = list(root.iterchildren(qn("w:comment")))
    if not any(c.get(qn("w:author")) == AUTHOR for c in comments):
        raise NotOurs()
    plist = body_paragraphs(pkg.body)
    anchors = _anchors(plist)
    by_para: dict[int, Note] = {}
    for n in read.notes:
        for seg in n.segments:
            if "paragraph" in seg.location:
                by_para.setdefault(seg.location["paragraph"], n)
    # Replies: commentsExtended names each comment's parent by the paraId of its last paragraph.
    para_of = {}
    for c in comments:
        ps = list(c.iter(W_P))
        if ps and ps[-1].get(W14_PARA):
            para_of[ps[-1].get(W14_PARA)] = c
    parent: dict[int, object] = {}
    ext = _xml(pkg, RT_EXTENDED)
    if ext is not None:
        for ex in ext.iter(f"{{{W15}}}commentEx"):
            child, up = para_of.get(ex.get(f"{{{W15}}}paraId")), para_of.get(ex.get(f"{{{W15}}}paraIdParent"))
            if child is not None and up is not None:
                parent[id(child)] = up
    ours_by_anchor = {anchors.get(c.get(qn("w:id"))): c for c in comments
                      if c.get(qn("w:author")) == AUTHOR and anchors.get(c.get(qn("w:id")))}
    cells = []
    for n, c in enumerate(comments, start=1):
        if c.get(qn("w:author")) == AUTHOR:
            continue
        text = _comment_text(c)
        anchor = anchors.get(c.get(qn("w:id")))
        up = parent.get(id(c))
        if up is None and anchor is not None:
            up = ours_by_anchor.get(anchor)  # a reply Word wrote without commentsExtended: the same range as ours
        if up is not None and up.get(qn("w:author")) != AUTHOR:
            up = None
        if up is None and not text.lower().startswith(PREFIX):
            continue  # an ordinary comment, not addressed to the tool
        where = anchors.get(up.get(qn("w:id"))) if up is not None else anchor
        note = by_para.get(where[0]) if where else None
        item = _comment_text(up).split(" ", 1)[0] if up is not None else None
        cells.append(Cell(note, text, f"comment {n}" + (f" (paragraph {where[0] + 1})" if where else ""), item=item,
                          anchor=where[1] if where else ""))
    return cells
