"""Annotated DOCX copy: one Word comment per finding, anchored on the evidence.
Only word/document.xml and the comments parts are written; the rest of the
package is copied byte for byte, raw (writers/docx_package.py). The parts are the
ones the reader parsed (notesplugin.word_package, handed over in DocxSource): the
input is not read again.

Offsets come from notesplugin.docx_text.paragraph_text, the same function the
reader used, so spans line up. Runs are split at span edges (formatting kept)
so a comment covers exactly the evidence. The copy is checked before it is
moved into place: every paragraph of the body, footnotes and endnotes must read
exactly as in the input.
"""
from __future__ import annotations

import copy
import zipfile
from datetime import datetime
from pathlib import Path

from docx.comments import Comments
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.parts.comments import CommentsPart
from docx.text.run import Run
from lxml import etree

from notesplugin.docx_text import (
    HARMLESS_CHILDREN, TEXT_CHILDREN, W_T, body_paragraphs, child_text, note_paragraphs, note_parts, paragraph_text,
    story_of,
)
from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note
from notesplugin.sources import DocxSource
from notesplugin.word_package import WordPackage
from notesplugin.writers.comments import comment_text  # the PDF popup says the same
from notesplugin.writers.docx_package import save_patched

COLORS = {"flagged": WD_COLOR_INDEX.YELLOW, "exempt": WD_COLOR_INDEX.GRAY_25, "crisis": WD_COLOR_INDEX.TURQUOISE}
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
RT_COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


_NOTE_STORIES = {qn("w:footnote"): qn("w:footnoteReference"), qn("w:endnote"): qn("w:endnoteReference")}


def _note_reference(pkg: WordPackage, story):
    """The body run that holds the mark of a footnote or endnote (None for other stories, or when
    the body has no such mark). LibreOffice (7.4) cannot open a file with a comment inside a
    footnote; on the footnote's mark it opens in Word and LibreOffice alike."""
    tag = _NOTE_STORIES.get(getattr(story, "tag", None))
    if tag is None:
        return None
    want = story.get(qn("w:id"))
    for mark in pkg.document.iter(tag):
        if mark.get(qn("w:id")) == want and mark.getparent() is not None and mark.getparent().tag == qn("w:r"):
            return mark.getparent()
    return None


def _color(f: Finding):
    if f.checklist == "crisis":
        return COLORS["crisis"]
    return COLORS["exempt"] if f.status == "exempt" else COLORS["flagged"]


def _splittable(r) -> bool:
    return all(child.tag in TEXT_CHILDREN or child.tag in HARMLESS_CHILDREN for child in r)


def _split_run(r, k: int) -> None:
    """Split run `r` at local offset k: a deep copy before it keeps [0, k), `r` keeps [k, ...)."""
    left = copy.deepcopy(r)
    r.addprevious(left)
    for keep_left, run in ((True, left), (False, r)):
        pos = 0
        for child in list(run):
            n = len(child_text(child))
            if child.tag == qn("w:rPr"):
                continue
            if pos < k < pos + n:  # only a w:t can straddle the cut
                child.text = child.text[:k - pos] if keep_left else child.text[k - pos:]
                child.set(_XML_SPACE, "preserve")
            elif (pos + n <= k if n else pos < k) != keep_left:
                run.remove(child)
            elif child.tag == W_T:
                child.set(_XML_SPACE, "preserve")
            pos += n


def _split_at(p, offset: int) -> bool:
    """Make `offset` a run boundary in paragraph p; False if a run there cannot be split."""
    for r, s, e in paragraph_text(p)[1]:
        if s < offset < e:
            if not _splittable(r):
                return False
            _split_run(r, offset - s)
            return True
    return True


def _reference_first_in_content_control(last_run, comment_id: int) -> None:
    """In the first paragraph of a block content control (w:sdt), put the comment's mark run at
    the paragraph's start. LibreOffice (7.4) drops that paragraph's text up to the mark (all of
    it when the mark follows the range end, as Word writes it); with the mark first it shows the
    whole paragraph, highlighted, and the comment at its start. Word reads the range from its
    start and end marks wherever the mark run sits."""
    want = str(comment_id)
    ref = next((r for r in last_run.itersiblings() if r.tag == qn("w:r")
                and any(c.get(qn("w:id")) == want for c in r.iter(qn("w:commentReference")))), None)
    p = ref.getparent() if ref is not None else None
    if p is None or p.tag != qn("w:p") or p.getparent() is None or p.getparent().tag != qn("w:sdtContent"):
        return
    if any(x.tag in (qn("w:p"), qn("w:tbl"), qn("w:sdt")) for x in p.itersiblings(preceding=True)):
        return  # not the control's first paragraph: LibreOffice shows it as it is
    ppr = p.find(qn("w:pPr"))
    if ppr is not None:
        ppr.addnext(ref)
    else:
        p.insert(0, ref)


def _span_runs(p, lo: int, hi: int, warnings: list[str], name: str) -> list:
    ok = _split_at(p, lo) & _split_at(p, hi)
    if not ok:
        warnings.append(f"{name}: a comment covers a little more than its evidence (a run holds a field or drawing)")
    return [r for r, s, e in paragraph_text(p)[1] if s < hi and e > lo]


def _saved_text(path: Path, main: str, parts: list[tuple[str, str]]) -> list[str]:
    """The text of every paragraph of the main part's body, then of the footnotes and endnotes
    parts, as saved; parsing those parts is what the check needs (styles alone are ~790 KB)."""
    with zipfile.ZipFile(path) as zf:
        body = parse_xml(zf.read(main)).find(qn("w:body"))
        if body is None:
            raise KeyError(main)
        notes = [(kind, parse_xml(zf.read(name))) for kind, name in parts]
    return [paragraph_text(p)[0] for p in body_paragraphs(body) + note_paragraphs(notes)[0]]


def _comments(pkg: WordPackage) -> tuple[str, Comments]:
    """(member name, comments) of the package's comments part, a new empty one (python-docx's
    template, at word/comments.xml) when it has none."""
    related = pkg.related(RT_COMMENTS)
    name = related[0] if related else "word/comments.xml"
    if not pkg.parsed(name) and not related:
        pkg.adopt(name, parse_xml(CommentsPart._default_comments_xml()))
    return name, Comments(pkg.xml(name), None)


def write_docx(source: DocxSource, dest: Path, notes: list[Note], findings: list[Finding], *,
               author: str = "notesplugin", comment_date: datetime | None = None,
               file_mode: int = 0o600) -> list[str]:
    """Write dest = the input plus one comment and highlight per finding; returns warnings.

    `source`: what the reader read; its document is annotated in place, so use a source once."""
    src, dest, pkg = Path(source.path), Path(dest), source.package
    name = src.name
    if dest.exists() and dest.resolve() == src.resolve():
        raise InputError(f"{name}: the annotated copy would overwrite the input; choose another output folder")
    plist = body_paragraphs(pkg.body)
    parts = pkg.note_parts()
    flist = note_paragraphs(note_parts(pkg))[0]
    before = [paragraph_text(p)[0] for p in plist + flist]
    here = [n for n in notes if n.file == str(src)] or list(notes)
    by_id: dict[str, Note] = {}
    for n in here:
        by_id.setdefault(n.note_id, n)
    initials = "".join(w[0] for w in author.split())[:4].upper() or None
    warnings: list[str] = []
    missing = 0
    added = []
    touched: set = set()
    comments: Comments | None = None
    comments_name = ""

    def order(f: Finding):
        note = by_id.get(f.note_id)
        return (note.position if note else 0, f.start, f.end, f.checklist, f.item)

    for f in sorted(findings, key=order):
        note = by_id.get(f.note_id)
        pieces = note.locate(f.start, f.end) if note else []
        runs = []
        for seg, lo, hi in pieces:
            where = flist if "footnote" in seg.location else plist
            idx = seg.location.get("footnote", seg.location.get("paragraph"))
            if not isinstance(idx, int) or not 0 <= idx < len(where) or lo >= hi:
                continue
            p = where[idx]
            found = _span_runs(p, lo, hi, warnings, name)
            runs.extend((r, p) for r in found)
            touched.add(p.getroottree().getroot())  # the body's or a footnotes part's root
        if not runs:
            missing += 1
            continue
        for r, _ in runs:
            r.get_or_add_rPr().highlight_val = _color(f)
        first = runs[0]
        # A comment's range stays in one story: the main text, one text box or one footnote.
        last = [rp for rp in runs if story_of(rp[0]) is story_of(first[0])][-1]
        ref = _note_reference(pkg, story_of(first[0]))
        if ref is not None:  # a finding in a footnote: the comment sits on its mark in the body
            first = last = (ref, None)
            touched.add(ref.getroottree().getroot())
        lines = comment_text(f)
        if comments is None:
            comments_name, comments = _comments(pkg)
        # as python-docx's Document.add_comment: the comment, then its range around the runs
        comment = comments.add_comment(text=lines[0], author=author, initials=initials)
        Run(first[0], None).mark_comment_range(Run(last[0], None), comment.comment_id)
        _reference_first_in_content_control(last[0], comment.comment_id)
        for line in lines[1:]:
            comment.add_paragraph(line)
        if comment_date is not None:
            comment._comment_elm.date = comment_date
        added.append(comment)
    if missing:
        warnings.append(f"{name}: {missing} finding(s) could not be placed in the document and have no comment")

    with atomic_path(dest, file_mode) as tmp:
        save_patched(pkg, tmp, added, author, touched=bool(findings), comments_part=comments_name,
                     parts=[part for _, part in parts if pkg.xml(part) in touched])
        try:
            after = _saved_text(tmp, pkg.main, parts)
        except (InputError, KeyError, zipfile.BadZipFile, etree.XMLSyntaxError):
            after = None
        if after != before:
            raise InputError(f"{name}: annotating would change the note text, so no annotated copy was written; "
                             "report this file's layout to the maintainers")
    return sorted(set(warnings), key=warnings.index)
