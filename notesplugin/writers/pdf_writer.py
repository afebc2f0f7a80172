"""Annotated PDF copy: a Highlight over each finding's sentence, a Popup with the Word
comment's text, and a last page listing the findings.

Places come from the reader's PdfSource (each character's page, line box and x range),
never from reading the file again. pypdf appends the annotations as an incremental
update, so the original bytes (pages, fonts, forms, existing annotations, signatures)
stay as they were. A PDF holding JavaScript is rewritten instead, without it, and so is
one whose cross-reference pointer is broken (an update could not chain to it).
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import defaultdict
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject, BooleanObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject,
    NumberObject, TextStringObject,
)

from notesplugin.escape import path_text
from notesplugin.fileio import atomic_path
from notesplugin.model import Finding, InputError, Note, PdfSource
from notesplugin.writers import changed_input
from notesplugin.writers.comments import comment_text
from notesplugin.writers.pdf_page import add_pages

COLORS = {"flagged": (1.0, 0.93, 0.0), "exempt": (0.78, 0.78, 0.78), "crisis": (0.25, 0.9, 0.95)}
AUTHOR = "notesplugin"
_JS_KEYS = ("/OpenAction", "/AA")
# pypdf logs repairs ("incorrect startxref pointer") as warnings; without a handler Python would
# print them on stderr. The library never prints: a handler here keeps them for a caller's logging.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def color(f: Finding) -> tuple[float, float, float]:
    if f.checklist == "crisis":
        return COLORS["crisis"]
    return COLORS["exempt"] if f.status == "exempt" else COLORS["flagged"]


def quads(note: Note, f: Finding, source: PdfSource) -> dict[int, list[tuple[float, float, float, float]]]:
    """{page: [(left, bottom, right, top) per line piece]} covering the finding's evidence."""
    out: dict[int, list] = defaultdict(list)
    for seg, lo, hi in note.locate(f.start, f.end):
        page, num = seg.location.get("page"), seg.location.get("line")
        line = source.lines.get((page, num))
        if line is None:
            continue
        xs = [x for x in line.xs[lo:hi] if x]
        if xs:
            # the characters' own box: on a page drawn turned, the line's height is its length
            out[page].append((min(x[0] for x in xs), min(x[2] for x in xs), max(x[1] for x in xs), max(x[3] for x in xs)))
    return out


def _floats(values) -> ArrayObject:
    return ArrayObject(FloatObject(round(v, 3)) for v in values)


def _appearance(writer: PdfWriter, boxes: list, rect: tuple, rgb: tuple) -> object:
    """A Multiply-blended fill of the boxes, so viewers that do not draw highlights themselves show it."""
    ops = ["/GS0 gs", "{:.3f} {:.3f} {:.3f} rg".format(*rgb)]
    ops += [f"{x0:.2f} {y0:.2f} {x1 - x0:.2f} {y1 - y0:.2f} re" for x0, y0, x1, y1 in boxes]
    ops.append("f")
    form = DecodedStreamObject()
    form.set_data("\n".join(ops).encode("ascii"))
    form.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): _floats(rect),
        NameObject("/Resources"): DictionaryObject({NameObject("/ExtGState"): DictionaryObject({
            NameObject("/GS0"): DictionaryObject({NameObject("/BM"): NameObject("/Multiply"),
                                                  NameObject("/ca"): FloatObject(1)})})}),
    })
    return writer._add_object(form)


def _annotate(writer: PdfWriter, page_index: int, boxes: list, f: Finding) -> None:
    page = writer.pages[page_index]
    rect = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    rgb = color(f)
    text = "\n".join(comment_text(f))
    quad_points = [v for x0, y0, x1, y1 in boxes for v in (x0, y1, x1, y1, x0, y0, x1, y0)]
    highlight = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Highlight"),
        NameObject("/Rect"): _floats(rect), NameObject("/QuadPoints"): _floats(quad_points),
        NameObject("/C"): _floats(rgb), NameObject("/F"): NumberObject(4),  # print
        NameObject("/Contents"): TextStringObject(text), NameObject("/T"): TextStringObject(AUTHOR),
        NameObject("/Subj"): TextStringObject(f"{f.item} {f.name}"),
        NameObject("/AP"): DictionaryObject({NameObject("/N"): _appearance(writer, boxes, rect, rgb)}),
    })
    ref = writer._add_object(highlight)
    width = float(page.mediabox.right)
    popup = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Popup"),
        NameObject("/Parent"): ref, NameObject("/Open"): BooleanObject(False),
        NameObject("/Rect"): _floats((width - 200, rect[3] - 100, width - 10, rect[3])),
    })
    popup_ref = writer._add_object(popup)
    highlight[NameObject("/Popup")] = popup_ref
    if "/Annots" not in page:
        page[NameObject("/Annots")] = ArrayObject()
    annots = page["/Annots"].get_object()
    annots.append(ref)
    annots.append(popup_ref)


def _strip_javascript(writer: PdfWriter) -> None:
    """Drop document, page and annotation actions and the document's named scripts from the copy,
    each script emptied first: the copy keeps every object, referenced or not."""
    root = writer.root_object
    _defuse(root.get("/OpenAction"))
    _defuse_each(root.get("/AA"))
    for key in _JS_KEYS:
        root.pop(key, None)
    names = root.get("/Names")
    if names is not None:
        _defuse_tree(names.get_object().get("/JavaScript"))
        names.get_object().pop("/JavaScript", None)
    for page in writer.pages:
        _defuse_each(page.get("/AA"))
        page.pop("/AA", None)
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            _defuse_each(annot.get("/AA"))
            annot.pop("/AA", None)
            action = annot.get("/A")
            if action is not None and action.get_object().get("/S") == "/JavaScript":
                _defuse(action)
                annot.pop("/A")


def _defuse(action, depth: int = 0) -> None:
    """Empty a JavaScript action in place (and the actions chained after it with /Next)."""
    a = action.get_object() if action is not None else None
    if not isinstance(a, DictionaryObject) or depth > 32:
        return
    nxt = a.get("/Next")
    for n in (nxt if isinstance(nxt, ArrayObject) else [nxt]):
        _defuse(n, depth + 1)
    if a.get("/S") == "/JavaScript" or "/JS" in a:
        a.clear()


def _defuse_each(actions) -> None:
    """The actions of an additional-actions (/AA) dictionary."""
    a = actions.get_object() if actions is not None else None
    if isinstance(a, DictionaryObject):
        for v in a.values():
            _defuse(v)


def _defuse_tree(node, depth: int = 0) -> None:
    """The scripts of a name tree (/Names pairs, /Kids below)."""
    n = node.get_object() if node is not None else None
    if not isinstance(n, DictionaryObject) or depth > 32:
        return
    pairs = n.get("/Names") or []
    for k in range(1, len(pairs), 2):
        _defuse(pairs[k])
    for kid in n.get("/Kids") or []:
        _defuse_tree(kid, depth + 1)


def _scripted(root, pages) -> bool:
    """An action that runs JavaScript, or can (document, page and annotation /AA), anywhere the
    copy would keep it: pdfium's count of a document's scripts sees only the named ones."""
    def runs_js(action) -> bool:
        a = action.get_object() if action is not None else None
        return isinstance(a, DictionaryObject) and (a.get("/S") == "/JavaScript" or "/JS" in a)
    if runs_js(root.get("/OpenAction")) or "/AA" in root:
        return True
    for page in pages:
        if "/AA" in page:
            return True
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if "/AA" in annot or runs_js(annot.get("/A")):
                return True
    return False


def _xref_ok(data: bytes) -> bool:
    """Whether the last `startxref` points at a cross-reference table or stream. An update
    appended to a file whose pointer is wrong chains to nothing (poppler then reads no
    pages), so such a file, which readers repair, is rewritten whole instead."""
    at = data.rfind(b"startxref")
    m = re.match(rb"startxref\s+(\d+)", data[at:at + 40]) if at >= 0 else None
    if not m or int(m[1]) >= len(data):
        return False
    return bool(re.match(rb"\s*(xref|\d+\s+\d+\s+obj)", data[int(m[1]):int(m[1]) + 40]))


def findings_lines(name: str, notes: list[Note], findings: list[Finding]) -> list[str]:
    by_id = {n.note_id: n for n in notes}
    lines = [f"notesplugin findings for {name}", ""]
    for f in findings:
        note = by_id.get(f.note_id)
        page = note.location_of(f.start, f.end).get("page", "?") if note else "?"
        lines.append(f"Note {f.note_id}, page {page}: " + " / ".join(comment_text(f)))
        lines.append(f"    \"{' '.join(f.evidence.split())}\"")
    if not findings:
        lines.append("No findings.")
    return lines


def write_pdf(src: Path, dest: Path, notes: list[Note], findings: list[Finding], source: PdfSource, *,
              file_mode: int = 0o600) -> list[str]:
    """Write dest = src plus highlights, popups and a findings page; returns warnings."""
    src, dest = Path(src), Path(dest)
    name = src.name
    if dest.exists() and dest.resolve() == src.resolve():
        raise InputError(f"{name}: the annotated copy would overwrite the input; choose another output folder")
    data = src.read_bytes()
    if source.digest and hashlib.sha256(data).hexdigest() != source.digest:
        raise changed_input(name)
    scripted = False  # JavaScript the reader's count of named scripts does not see (an open action)
    try:
        writer = None
        if not source.javascript and not source.encryption and _xref_ok(data):
            writer = PdfWriter(io.BytesIO(data), incremental=True)
            scripted = _scripted(writer.root_object, writer.pages)
        if writer is None or scripted:
            reader = PdfReader(io.BytesIO(data))
            if source.encryption:  # no password at all (the reader checked): pypdf cannot append to it
                reader.decrypt("")
            writer = PdfWriter(clone_from=reader)
            if source.javascript or scripted:
                _strip_javascript(writer)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InputError(f"{name}: the PDF cannot be copied for annotation ({type(exc).__name__}); "
                         "export the note again as a text PDF") from None
    here = [n for n in notes if n.file == path_text(src)] or list(notes)
    by_id: dict[str, Note] = {}
    for n in here:
        by_id.setdefault(n.note_id, n)
    missing = 0
    pages = len(writer.pages)
    shown = sorted(findings, key=lambda f: (by_id[f.note_id].position if f.note_id in by_id else 0, f.start))
    for f in shown:
        note = by_id.get(f.note_id)
        placed = quads(note, f, source) if note else {}
        for page, boxes in placed.items():
            if 1 <= page <= pages:
                _annotate(writer, page - 1, boxes, f)
        missing += not placed
    box = writer.pages[0].mediabox if pages else None
    add_pages(writer, findings_lines(name, here, shown), float(box.width) if box else 612.0,
              float(box.height) if box else 792.0)
    if source.encryption:  # encrypted as the input was: same algorithm and permissions, still no password
        algorithm, permissions = source.encryption
        writer.encrypt(user_password="", owner_password="", permissions_flag=permissions, algorithm=algorithm)
    with atomic_path(dest, file_mode) as tmp:
        with open(tmp, "wb") as fh:
            writer.write(fh)
    warnings = [f"{name}: the PDF holds JavaScript; it was not run and is left out of the annotated copy"] if scripted else []
    if missing:
        warnings.append(f"{name}: {missing} finding(s) could not be placed on a page and are only on the last page")
    return warnings
