"""The one definition of a DOCX paragraph's text, shared by reader and writer.

Both sides compute offsets with `paragraph_text`, so a span the reader
reports is exactly the span the writer annotates. python-docx's
`paragraph.text` is not used: it leaves out tracked insertions, content
controls, smart tags and simple fields.
"""
from __future__ import annotations

from collections.abc import Iterator

from docx.oxml.ns import qn

W_P = qn("w:p")
W_R = qn("w:r")
W_T = qn("w:t")
W_TAB = qn("w:tab")
W_BR = qn("w:br")
W_CR = qn("w:cr")
W_NBH = qn("w:noBreakHyphen")
W_VANISH = qn("w:vanish")
W_TXBX = qn("w:txbxContent")
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
W_TYPE = qn("w:type")
W_RPR = qn("w:rPr")
# Containers whose runs are deleted text, never note text.
_DELETED = {qn("w:del"), qn("w:moveFrom")}
# Run children that `paragraph_text` turns into text; a run holding only these
# (plus formatting and harmless markers) can be split safely.
TEXT_CHILDREN = {W_T, W_TAB, W_BR, W_CR, W_NBH}
# Children a run may be cut around: a symbol (w:sym, a Wingdings arrow before a note) stays on
# its side of the cut as it is.
HARMLESS_CHILDREN = {W_RPR, qn("w:lastRenderedPageBreak"), qn("w:softHyphen"), qn("w:sym")}

RunMap = list[tuple[object, int, int]]


def child_text(child) -> str:
    """Text of one run child; "" for anything that is not text."""
    tag = child.tag
    if tag == W_T:
        return child.text or ""
    if tag == W_TAB:
        return "\t"
    if tag in (W_BR, W_CR):
        return "\n"
    if tag == W_NBH:
        return "-"
    return ""


def _own_runs(p) -> Iterator[object]:
    """w:r descendants whose nearest w:p ancestor is `p` and that are not deleted."""
    for r in p.iter(W_R):
        node = r.getparent()
        ok = True
        while node is not None and node is not p:
            if node.tag == W_P or node.tag == W_TXBX or node.tag in _DELETED:
                ok = False
                break
            node = node.getparent()
        if ok and node is p and not _hidden(r):
            yield r


def _hidden(r) -> bool:
    """A run formatted Hidden (w:vanish): Word neither shows nor prints it, so it is not the
    note anyone reads (an EHR's hidden field, a deleted sentence kept as hidden text)."""
    for v in r.iterfind(f"{W_RPR}/{W_VANISH}"):
        return v.get(qn("w:val"), "true") not in ("0", "false", "off")
    return False


def paragraph_text(p) -> tuple[str, RunMap]:
    """The paragraph's text and its runs as [(w:r element, start, end)]."""
    parts: list[str] = []
    runs: RunMap = []
    pos = 0
    for r in _own_runs(p):
        start = pos
        for child in r:
            s = child_text(child)
            parts.append(s)
            pos += len(s)
        runs.append((r, start, pos))
    return "".join(parts), runs


def page_break_offsets(p) -> list[int]:
    """Offsets in `paragraph_text(p)` where an explicit page break sits."""
    out = []
    pos = 0
    for r in _own_runs(p):
        for child in r:
            if child.tag == W_BR and child.get(W_TYPE) == "page":
                out.append(pos)
            pos += len(child_text(child))
    return out


def body_paragraphs(body) -> list[object]:
    """All w:p of the document body in document order (tables, nested tables,
    block content controls and text boxes included). A paragraph's index in this
    list is its location. Word stores a text box twice, as DrawingML and as a VML
    fallback for old readers; the fallback copy is left out so its text counts once."""
    out = []
    for p in body.iter(W_P):
        node = p.getparent()
        fallback = False
        while node is not None and node is not body:
            if node.tag == MC_FALLBACK:
                fallback = True
                break
            node = node.getparent()
        if not fallback:
            out.append(p)
    return out


_STORIES = {W_TXBX, qn("w:footnote"), qn("w:endnote")}


def story_of(el) -> object | None:
    """The text box, footnote or endnote holding `el`, or None in the main text."""
    node = el.getparent()
    while node is not None and node.tag not in _STORIES:
        node = node.getparent()
    return node


NOTE_REFS = {qn("w:footnoteReference"): "footnote", qn("w:endnoteReference"): "endnote"}


def note_parts(package) -> list[tuple[str, object]]:
    """[(kind, root element)] for the footnotes and the endnotes part of a
    notesplugin.word_package.WordPackage, in that order."""
    return [(kind, package.xml(name)) for kind, name in package.note_parts()]


def note_paragraphs(roots: list[tuple[str, object]]) -> tuple[list[object], dict[tuple[str, str], list[int]]]:
    """Paragraphs of the footnotes and endnotes (separators left out) under the given
    [(kind, root element)], and {(kind, id): their indexes}. A paragraph's index in the
    list is its location {"footnote": k}."""
    paras: list[object] = []
    by_id: dict[tuple[str, str], list[int]] = {}
    for kind, root in roots:
        for note in root.iterchildren(qn(f"w:{kind}")):
            if note.get(qn("w:type"), "normal") != "normal":
                continue
            for p in note.iter(W_P):
                by_id.setdefault((kind, note.get(qn("w:id"))), []).append(len(paras))
                paras.append(p)
    return paras, by_id
