"""PDF pages -> text lines with each character's place, and the lines joined into paragraphs.

pdfium (pypdfium2) gives the page's characters in content order and puts in its own
spaces and line ends ("generated" characters). A line here is what pdfium ends with
a generated line break. Wide gaps between characters (table cells, tab stops) become
a tab so `Label<gap>value` cells can be read as fields.
"""
from __future__ import annotations

import ctypes
import math
import re
from collections import Counter
from dataclasses import dataclass

import pypdfium2.raw as pdfium_c

from notesplugin.model import PdfLine
from notesplugin.readers.wraps import continues_sentence

# A page number in a running line: "Page 2", "Page 2 of 5", "p. 2", "2 of 5", " 2/5" at the end.
# Only these: a note ID or a date that changes from page to page is what a note header holds.
_PAGE_NO = re.compile(r"\b(?:page|pg\.?|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?\b|(?:^|\s)\d{1,3}\s*(?:of|/)\s*\d{1,3}\s*$",
                      re.I)
# A browser's printed footer: the page's address, then often "2/3" ("Save as PDF" in Chrome or Edge).
_URL_ONLY = re.compile(r"^\s*(?:https?|file)://\S+(?:\s+\d{1,3}\s*/\s*\d{1,3})?\s*$", re.I)
_PAGE_ONLY = re.compile(r"^\s*(page\s*\d+(\s*(of|/)\s*\d+)?|[-–\s]*\d+[-–\s]*)\s*$", re.I)
_LABEL_START = re.compile(r"^[A-Z][A-Za-z/&() -]{0,30}:\s")  # "Interventions: ..." starts a section
_HYPHENATED = re.compile(r"[^\W\d_]-$")
_END = re.compile(r"[.!?:;)\"'”’]\s*$")
LOOSE_EM = 1.15  # a loose char box (ascent to descent) is about 1.15 em high
WORD_GAP = 0.2  # a gap of 0.2 em or more between characters is a space between words
BAND = 0.12  # running headers/footers sit in the top or bottom 12% of the page


@dataclass
class Line:
    page: int  # 1-based
    number: int  # 1-based, among the page's lines
    pdf: PdfLine
    left: float
    right: float
    size: float  # font size (from the box height) of the line's first real character

    @property
    def text(self) -> str:
        return self.pdf.text


def page_lines(textpage, page_no: int) -> list[Line]:
    """The lines of one page (pypdfium2 PdfTextPage). Hot loop: pdfium is called once or
    twice per character, through its raw functions.

    A line's size is its first character's font size times its matrix's scale (_font_size).
    A space pdfium put in is kept only where the gap is
    word-sized: pdfium also "finds" spaces in kerned words ("P etra")."""
    raw = textpage.raw
    n = textpage.count_chars()
    if n <= 0:
        return []
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # a surrogate pair or a dropped char: positions would drift, go char by char
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, k) or 32) for k in range(n))
    is_generated = pdfium_c.FPDFText_IsGenerated
    loose_box, rect = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    matrix = pdfium_c.FS_MATRIX()
    matrix_ref = ctypes.byref(matrix)
    lines: list[Line] = []
    chars: list[str] = []
    xs: list[tuple[float, float, float, float] | None] = []
    bottom = top = None
    size = 0.0
    last_right = None
    space = ""  # "real": the PDF has a space here; "generated": pdfium put one in
    soft = None  # the box of a hyphen pdfium marked as breaking a word at a line end
    for k, ch in enumerate(text):
        if ch in "\r\n" or ch.isspace():
            generated = is_generated(raw, k) == 1
            if ch == "\n" or (ch == "\r" and not generated):
                _close(lines, page_no, chars, xs, bottom, top, size)
                chars, xs, bottom, top, size, last_right, space = [], [], None, None, 0.0, None, ""
            elif ch != "\r" and chars:
                space = space if space == "real" else ("generated" if generated else "real")
            continue
        loose_box(raw, k, rect_ref)
        left, right = rect.left, rect.right
        if ch == "\ufffe":  # pdfium's mark for a hyphen at a line end; it gives no line break after it
            soft = (left, right, rect.bottom, rect.top)
            continue
        if soft is not None:
            chars.append("-")
            xs.append(soft)
            last_right = soft[1]
            if bottom is not None and rect.top < bottom + 0.5 * (top - bottom):
                # the word goes on on the next printed line: that is a new line (joiner reads "follow-up")
                _close(lines, page_no, chars, xs, bottom, top, size)
                chars, xs, bottom, top, size, last_right, space = [], [], None, None, 0.0, None, ""
            soft = None
        if not size:
            size = _font_size(raw, k, matrix, matrix_ref) or (rect.top - rect.bottom) / LOOSE_EM or 10.0
        if last_right is not None:
            gap = left - last_right
            if gap > max(size, 4.0) and space != "real":  # justified text widens real spaces
                chars.append("\t")  # a wide gap: another table cell or tab stop
                xs.append(None)
            elif space == "real" or gap > WORD_GAP * size:
                chars.append(" ")
                xs.append(None)
        space = ""
        chars.append(ch)
        xs.append((left, right, rect.bottom, rect.top))
        last_right = right
        if bottom is None or rect.bottom < bottom:
            bottom = rect.bottom
        if top is None or rect.top > top:
            top = rect.top
    _close(lines, page_no, chars, xs, bottom, top, size)
    return lines


def _font_size(raw, k: int, matrix, matrix_ref) -> float:
    """Character k's size on the page: its font size times the scale of its matrix (a PDF may
    set text at size 1 and scale it, as cairo does). Its box would not do: LibreOffice's PDFs
    give each glyph its own box, so an 11 pt line starting "s" read as 5 pt and one starting
    "C" as 7 pt, and wrapped lines looked like new paragraphs."""
    size = pdfium_c.FPDFText_GetFontSize(raw, k)
    if size <= 0 or not pdfium_c.FPDFText_GetMatrix(raw, k, matrix_ref):
        return 0.0
    return size * math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))


def _close(lines: list[Line], page_no: int, chars: list[str], xs: list, bottom, top, size: float) -> None:
    while chars and chars[-1] in " \t":
        chars.pop()
        xs.pop()
    if not chars:
        return
    real = [x for x in xs if x]
    pdf = PdfLine("".join(chars), tuple(xs), bottom, top)
    lines.append(Line(page_no, len(lines) + 1, pdf, real[0][0], max(x[1] for x in real), size))


def _running_key(line: Line) -> tuple:
    return (round(line.pdf.bottom), _PAGE_NO.sub("#", line.text.lower()).strip())


def drop_running(pages: list[list[Line]], boxes: list[tuple], keep=lambda line: False,
                 field=lambda line: False) -> list[list[Line]]:
    """Remove page headers and footers: a line in the top/bottom band that repeats at the same
    height with the same text (page numbers aside) on at least 2 pages and half of them, or a
    lone "Page 2 of 5" or a browser's address line ("https://... 2/3") there. `keep(line)` spares
    a line that only looks like one (a note title at the top of every page when each note starts a page). `field(line)`: a note header's
    `Label: value` line. When any such line in a page's band changes from page to page (a note
    ID, a date, a client), the band holds each page's own note header, and none of its field
    lines is dropped, not even the clinician's name that every note repeats."""
    def in_band(line: Line, box: tuple) -> bool:
        bottom, top = box[1], box[3]
        band = (top - bottom) * BAND
        return line.pdf.bottom > top - band or line.pdf.top < bottom + band

    counts: Counter = Counter()
    for lines, box in zip(pages, boxes):
        counts.update({_running_key(ln) for ln in lines if in_band(ln, box)})
    need = max(2, (len(pages) + 1) // 2)
    out = []
    for lines, box in zip(pages, boxes):
        band = [ln for ln in lines if in_band(ln, box)]
        fields = [ln for ln in band if field(ln)]
        own = {id(ln) for ln in fields} if any(counts[_running_key(ln)] < need for ln in fields) else set()
        out.append([ln for ln in lines if not in_band(ln, box) or keep(ln) or id(ln) in own
                    or (counts[_running_key(ln)] < need and not _PAGE_ONLY.match(ln.text)
                        and not _URL_ONLY.match(ln.text))])
    return out


def _first_word_width(line: Line) -> float:
    first = line.text.split(maxsplit=1)[0] if line.text.strip() else ""
    x = line.pdf.xs[len(first) - 1] if first else None
    return (x[1] - line.left) if x else 0.0


def joiner(prev: Line, cur: Line) -> str:
    """What joins a wrapped line to the next: a space, or nothing after a word broken at a
    hyphen ("follow-" / "up plan" reads "follow-up plan")."""
    return "" if _HYPHENATED.search(prev.text) and cur.text[:1].islower() else " "


def right_edges(lines: list[Line]) -> dict[int, float]:
    """The right margin of each line's column, {id(line): x}: the 90th percentile of the right
    ends of full lines starting within 40 pt of its left. With one margin for a whole page, every
    line of the left column of a two-column page would look short and end a paragraph."""
    full = [ln for ln in lines if len(ln.text) >= 30] or lines
    if not full:
        return {}

    def p90(values: list[float]) -> float:  # rounded up: of two full lines, the longer sets the margin
        return values[math.ceil(0.9 * (len(values) - 1))]

    buckets: dict[int, list[float]] = {}
    for ln in full:
        buckets.setdefault(int(ln.left // 20), []).append(ln.right)
    overall = sorted(ln.right for ln in full)
    overall_edge = p90(overall)
    edge_of: dict[int, float] = {}
    out: dict[int, float] = {}
    for ln in lines:
        b = int(ln.left // 20)
        if b not in edge_of:
            near = sorted(r for k in range(b - 2, b + 3) for r in buckets.get(k, ()))
            edge_of[b] = p90(near) if near else overall_edge
        out[id(ln)] = edge_of[b]
    return out


def starts_paragraph(prev: Line, cur: Line, right_edge: float) -> bool:
    """Whether `cur` starts a new paragraph after `prev` (which may be on the page before).

    A wrapped line ends where the next word would not fit: if the next line's first word
    would have fitted after `prev`, `prev` ended its paragraph. On the same page a gap
    clearly larger than the font's line height also ends one."""
    if _HYPHENATED.search(prev.text) and cur.text[:1].islower():
        return False  # a word broken at the line end goes on
    fits = prev.right + 0.3 * prev.size + _first_word_width(cur) <= right_edge + 1.0
    if prev.page != cur.page and _END.search(prev.text) and _LABEL_START.match(cur.text):
        return True  # no gap to measure over a page break: a sentence end then "Plan: ..."
    if fits and _END.search(prev.text):
        return True
    if fits and prev.page == cur.page and not continues_sentence(prev.text, cur.text):
        return True  # (a column's right edge is only estimated: "... death. I" / "quickly changed ...")
    if prev.page != cur.page:
        return False  # a sentence running over the page break
    # A wrapped line (the next word did not fit) starts a paragraph only after a gap clearly
    # over a line: 1.5 lines of its font's box (ascent to descent), which fonts with tall
    # boxes (DejaVu, 1.4 em at 1.2 spacing) fill at plain single spacing.
    pitch = prev.pdf.bottom - cur.pdf.bottom
    return pitch > 1.5 * LOOSE_EM * max(prev.size, cur.size, 1.0) or cur.size > prev.size * 1.15 or prev.size > cur.size * 1.15
