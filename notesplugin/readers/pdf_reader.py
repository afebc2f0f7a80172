"""PDF exports (text layer) -> Notes, and the PdfSource the PDF writer annotates.

One note per file, or a chart PDF where each header block starts a note. A header
block is a run of `Label: value` lines (several fields a line, or a two-column
label|value table, read by the DOCX reader's label code) naming at least two of
note_id/clinician/client/date, one of them the date or note ID. A short title line
right before a header ("Progress Note") and lines before the first header (the
practice's letterhead) are not note text, nor are page headers and footers
(see pdf_text.drop_running). Without header blocks, a repeated note title
("Progress Note") splits the notes, as in Word files. Wrapped lines, also over a page break, join with a
space; paragraphs with "\n".
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PdfReadError

from notesplugin import safety
from notesplugin.config import Config
from notesplugin.escape import path_text
from notesplugin.model import InputError, Note, PdfSource, ReadResult, Segment
from notesplugin.readers.docx_labels import inline_labels, is_rule, label_pairs
from notesplugin.readers.columns import detect_layout
from notesplugin.readers.docx_reader import ROLES, header_values, norm_label, role_lookup
from notesplugin.readers.pdf_text import Line, drop_running, joiner, page_lines, right_edges, starts_paragraph

FIX_EXPORT = "export the note again as a text PDF"
_PREAMBLE_LINES = 8  # letterhead lines above the first header


def open_pdf(path: Path) -> tuple[pdfium.PdfDocument, tuple[str, int] | None, str]:
    """The document, its no-password encryption (no_password_encryption) and the sha256 of the
    bytes read, or InputError naming the file and the fix."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror}); check the path and permissions") from None
    if size == 0:
        raise InputError(f"{name}: the file is empty (not a PDF); {FIX_EXPORT}")
    if b"%PDF-" not in head:
        raise InputError(f"{name}: not a PDF file (unknown or damaged content); {FIX_EXPORT}")
    if size > safety.MAX_UNZIPPED:
        raise InputError(f"{name}: the PDF is {size // 2**20} MB (over {safety.MAX_UNZIPPED // 2**20} MB); "
                         "split the export into smaller files")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror}); check the path and permissions") from None
    safety.check_pdf_streams(data, name)
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(f"{name}: the PDF is password-protected; {FIX_EXPORT} without a password") from None
        raise InputError(f"{name}: damaged or truncated PDF; {FIX_EXPORT}") from None
    encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc.raw) != -1
    encryption = no_password_encryption(data) if encrypted else None
    if encrypted and encryption is None:
        doc.close()  # owner-password (permissions) encryption: a copy could not keep it honestly
        raise InputError(f"{name}: the PDF is encrypted (it may open without a password, but an annotated copy "
                         f"could not keep its protection); {FIX_EXPORT} without protection")
    if len(doc) > safety.MAX_PDF_PAGES:
        pages = len(doc)
        doc.close()
        raise InputError(f"{name}: the PDF has {pages:,} pages (over {safety.MAX_PDF_PAGES:,}); "
                         "split the export into smaller files")
    return doc, encryption, hashlib.sha256(data).hexdigest()


def _lines(doc: pdfium.PdfDocument, name: str, max_chars: int) -> tuple[list[list[Line]], list[tuple]]:
    pages, boxes, total = [], [], 0
    forms = pdfium_c.FPDF_GetFormType(doc.raw) != pdfium_c.FORMTYPE_NONE
    if forms:
        # With the form environment, pdfium draws fields a filler left without appearances
        # (/NeedAppearances true: the typed text is only the field's value), as viewers do.
        doc.init_forms()
    for i in range(len(doc)):
        try:
            page = doc[i]
            if forms and pdfium_c.FPDFPage_Flatten(page.raw, pdfium_c.FLAT_PRINT) == pdfium_c.FLATTEN_SUCCESS:
                # text typed into form fields is drawn by the fields, not the page: read it as
                # printed (in memory only; the file is not changed)
                page.close()
                page = doc[i]
            textpage = page.get_textpage()
        except pdfium.PdfiumError:
            raise InputError(f"{name}: damaged PDF (page {i + 1} cannot be read); {FIX_EXPORT}") from None
        lines = _shown(page_lines(textpage, i + 1), page.get_cropbox())
        if page.get_rotation():  # pdfium orders a turned page's lines as displayed: put them back top-down
            lines.sort(key=lambda ln: -ln.pdf.bottom)
            for k, ln in enumerate(lines, 1):
                ln.number = k
        boxes.append(page.get_mediabox())  # (left, bottom, right, top) in the space of the char boxes
        textpage.close()
        page.close()
        pages.append(lines)
        total += sum(len(ln.text) for ln in lines)
        if total > max_chars * 50:  # 50 notes at the note cap: bounded memory and time per file
            raise InputError(f"{name}: the PDF holds over {max_chars * 50:,} characters of text; "
                             "split the export into smaller files")
    return pages, boxes


def _shown(lines: list[Line], crop: tuple) -> list[Line]:
    """The lines inside the page's crop box: what viewers show and printers print. Text cropped
    away (a sentence hidden by cropping the page) is not the note anyone reads."""
    left, bottom, right, top = crop
    kept = [ln for ln in lines
            if ln.pdf.top > bottom and ln.pdf.bottom < top and ln.right > left and ln.left < right]
    if len(kept) < len(lines):
        for k, ln in enumerate(kept, 1):
            ln.number = k
    return kept


def _unmapped(lines: list[Line]) -> bool:
    """A page whose characters are mostly control codes, private-use or replacement characters:
    a font with no map from its glyphs to letters. Read as it is, it would be checked as
    symbols and pass as a clean note."""
    text = "".join(ln.text for ln in lines).replace(" ", "").replace("\t", "")
    bad = sum(1 for ch in text if ch < " " or "\ue000" <= ch <= "\uf8ff" or ch == "\ufffd")
    return bool(text) and bad > 0.3 * len(text)


def _javascript(doc: pdfium.PdfDocument) -> bool:
    return pdfium_c.FPDFDoc_GetJavaScriptActionCount(doc.raw) > 0


def _field_line(line: Line, roles: dict[str, str], inline) -> list[tuple[str, str]] | None:
    """`Label: value` fields of a line; a table cell holding a known label without its
    colon ("Client<gap>Jane D.") counts as one."""
    cells = line.text.split("\t")
    text = "\t".join(c + ":" if ":" not in c and norm_label(c) in roles else c for c in cells)
    return label_pairs(text, inline)


def _table_row(line: Line) -> list[tuple[str, str]] | None:
    """A header table's other rows ("Service<gap>90834 ..."): 2 or 4 cells, short labels."""
    cells = [c.strip() for c in line.text.split("\t")]
    if len(cells) not in (2, 4) or not all(cells):
        return None
    labels = cells[::2]
    if not all(len(lb) <= 30 and len(lb.split()) <= 4 and not lb.endswith((".", "!", "?")) for lb in labels):
        return None
    return [(lb.rstrip(": "), v) for lb, v in zip(labels, cells[1::2])]


def _cells(line: Line) -> list[tuple[int, float, str]]:
    """(index in the text, left x, text) of each cell of a line the reader cut at wide gaps."""
    out, at = [], 0
    for cell in line.text.split("\t"):
        box = line.pdf.xs[at] if at < len(line.pdf.xs) else None
        if cell.strip():
            out.append((at, box[0] if box else line.left, cell))
        at += len(cell) + 1
    return out


def _notes_table(body: list[Line], config: Config):
    """A report laid out as a table, one row per note ("Note ID | Date | Client | Clinician | Note"),
    read as a workbook's rows are, by the same column detector: (rows as (pairs, lines), where each
    row's note text starts on its lines, lines left out); None when there is no such table. A line
    with cells starts a row; a line of one cell under the note column goes on with its note."""
    for h, line in enumerate(body[:20]):
        head = _cells(line)
        if len(head) < 3:
            continue
        layout = detect_layout([[c for _, _, c in head]], config)
        if layout is None or "note" not in layout.roles or len(layout.roles) < 3 or len(layout.text_cols) != 1:
            continue
        xs = [x for _, x, _ in head]
        note_x = xs[layout.roles["note"]]
        rows: list[tuple[list, list[Line]]] = []
        skips: dict[int, int] = {}
        left_out = h  # a title above the table
        for ln in body[h + 1:]:
            cells = _cells(ln)
            if [c for _, _, c in cells] == [c for _, _, c in head]:
                continue  # the header again, on the next page
            if len(cells) >= 2:
                values: dict[int, tuple[int, str]] = {}
                for at, x, text in cells:  # each cell under the column whose left edge is nearest before it
                    col = max((k for k, cx in enumerate(xs) if cx <= x + 2.0), default=0)
                    values.setdefault(col, (at, text))
                pairs = [(layout.headers[c], values[c][1]) for role, c in layout.roles.items()
                         if role != "note" and c in values]
                rows.append((pairs, []))
                if layout.roles["note"] in values:
                    skips[id(ln)] = values[layout.roles["note"]][0]
                    rows[-1][1].append(ln)
            elif rows and cells and cells[0][1] >= note_x - 2.0:
                skips[id(ln)] = cells[0][0]
                rows[-1][1].append(ln)  # the note's text, wrapped in its cell
            else:
                left_out += 1
        rows = [r for r in rows if r[1]]
        return (rows, skips, left_out) if rows else None
    return None


def _note_cell(line: Line, note_labels: set[str]) -> int:
    """Where the text starts on a `Narrative<gap>text` line of a label|value table: after the
    note label's cell; 0 on any other line."""
    label, tab, _ = line.text.partition("\t")
    return len(label) + 1 if tab and norm_label(label.rstrip(": ")) in note_labels else 0


def _headers(lines: list[Line], roles: dict[str, str], inline,
             note_labels: set[str] = frozenset()) -> dict[int, tuple[int, list]]:
    """{first line index: (last line index, pairs)} for each header block. A note label's row
    ("Narrative<gap>Client cried ...") ends the block: its value is note text."""
    out: dict[int, tuple[int, list]] = {}
    i = 0
    while i < len(lines):
        pairs_i = _field_line(lines[i], roles, inline)
        if not pairs_i or not any(roles.get(norm_label(lb)) for lb, _ in pairs_i):
            i += 1
            continue
        seen: set[str] = set()
        pairs: list = []
        last, kept, j = i, 0, i
        while j < len(lines):
            if _note_cell(lines[j], note_labels):
                break
            pp = _field_line(lines[j], roles, inline)
            row = pp is None and seen and j == last + 1 and _table_row(lines[j])
            pp = row or pp
            found = {roles.get(norm_label(lb)) for lb, _ in pp or []} - {None}
            if pp is None or seen & found:
                break
            pairs.extend(pp)
            if found or row:
                seen |= found
                last, kept = j, len(pairs)
            j += 1
        if len(seen) >= 2 and seen & {"note_id", "date"}:
            out[i] = (last, pairs[:kept])
            i = last + 1
        else:
            i += 1
    return out


def _is_title(line: Line, before: Line, note_labels: set[str]) -> bool:
    """"Progress Note" or a larger-type heading right above a header block."""
    text = line.text.strip()
    words = norm_label(text).split()
    named = " ".join(words) in note_labels or (len(words) <= 8 and bool({"note", "notes"} & set(words)))
    return len(text) <= 80 and (named or line.size > 1.15 * before.size)


def _merged(first: list, then: list, roles: dict[str, str]) -> list:
    """Two header blocks with no text between (a signature block "Clinician: ... Date: ..."
    then the next note's header): one header where the later block's roles win."""
    later = {roles.get(norm_label(lb)) for lb, _ in then} - {None}
    return [(lb, v) for lb, v in first if roles.get(norm_label(lb)) not in later] + then


def no_password_encryption(data: bytes) -> tuple[str, int] | None:
    """(algorithm, permissions) of a PDF encrypted with an empty owner password, which sets no
    protection at all (every viewer opens and edits it): the copy is encrypted the same way.
    None for anything else: an owner (permissions) password the copy could not keep."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.decrypt("") != PasswordType.OWNER_PASSWORD:
            return None
        enc = reader.trailer["/Encrypt"].get_object()
        v, r = int(enc.get("/V", 0)), int(enc.get("/R", 0))
        bits = int(enc.get("/Length", 40))
        cfm = str(enc.get("/CF", {}).get(enc.get("/StmF", "/Identity"), {}).get("/CFM", "")) if v == 4 else ""
        algorithm = {(1, 2): "RC4-40", (2, 3): f"RC4-{bits}", (5, 5): "AES-256-R5", (5, 6): "AES-256"}.get(
            (v, r), "AES-128" if cfm == "/AESV2" else "RC4-128" if v == 4 else "")
        if algorithm not in ("RC4-40", "RC4-128", "AES-128", "AES-256-R5", "AES-256"):
            return None
        return algorithm, int(enc.get("/P", -4)) & 0xFFFFFFFF
    except (PdfReadError, KeyError, TypeError, ValueError, AttributeError, NotImplementedError, DependencyError):
        return None  # a handler pypdf cannot write (or read) again: refused as encrypted


def read_pdf(path: Path, config: Config) -> tuple[ReadResult, PdfSource]:
    path = Path(path)
    doc, encryption, digest = open_pdf(path)
    try:
        pages, boxes = _lines(doc, path.name, config.max_note_chars)
        javascript = _javascript(doc)
    finally:
        doc.close()
    if not any(ln.text.strip() for lines in pages for ln in lines):
        raise InputError(f"{path.name}: the PDF has no text layer (a scan?); run OCR first, e.g. ocrmypdf, "
                         f"or {FIX_EXPORT}")
    unmapped = [k for k, lines in enumerate(pages) if _unmapped(lines)]
    if len(unmapped) == len(pages):
        raise InputError(f"{path.name}: the PDF's text cannot be read (its fonts map no letters, so it reads as "
                         f"symbols); run OCR first, e.g. ocrmypdf, or {FIX_EXPORT}")
    for k in unmapped:
        pages[k] = []
    roles = role_lookup(config)
    note_labels = {norm_label(n) for n in config.columns.get("note", [])}
    inline = inline_labels(n for role in ROLES for n in config.columns.get(role, []))

    def field(ln: Line) -> bool:
        return any(roles.get(norm_label(lb)) for lb, _ in _field_line(ln, roles, inline) or ())

    body = [ln for lines in drop_running(pages, boxes, lambda ln: norm_label(ln.text.strip()) in note_labels, field)
            for ln in lines]
    if not body:
        raise InputError(f"{path.name}: no note text found (only lines repeated on every page); {FIX_EXPORT}")
    source = PdfSource(pages=len(pages), javascript=javascript, encryption=encryption, digest=digest)
    warnings: list[str] = []
    table = _notes_table(body, config)  # before header blocks: its header row reads as label|value pairs
    if table is not None:
        rows, skips, left_out = table
        notes = [_note(path, k + 1, pairs, lines, {}, roles, source, note_labels, config.day_first, skips)
                 for k, (pairs, lines) in enumerate(rows)]
        if left_out:
            warnings.append(f"{path.name}: {left_out} line{'s' if left_out > 1 else ''} outside the notes table "
                            f"(a title or a footer) {'were' if left_out > 1 else 'was'} not checked")
    else:
        notes = _header_notes(path, body, roles, inline, note_labels, source, config.day_first)
    if unmapped:
        listed = ", ".join(str(k + 1) for k in unmapped[:10]) + (", ..." if len(unmapped) > 10 else "")
        warnings.append(f"{path.name}: the text of page{'s' if len(unmapped) > 1 else ''} {listed} cannot be read "
                        "(fonts that map no letters) and was not checked; run OCR on the file, e.g. ocrmypdf")
    if javascript:
        warnings.append(f"{path.name}: the PDF holds JavaScript; it was not run and is left out of the annotated copy")
    ids = [n.note_id for n in notes]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        warnings.append(f"{path.name}: note IDs used more than once: {', '.join(dupes[:5])}")
    return ReadResult(notes, warnings, 0), source


def _header_notes(path: Path, body: list[Line], roles: dict[str, str], inline, note_labels: set[str],
                  source: PdfSource, day_first: bool) -> list[Note]:
    """Notes split at header blocks, or without any at a repeated note title."""
    headers = _headers(body, roles, inline, note_labels)
    edges = right_edges(body)
    drafts: list[tuple[list, list[Line]]] = [([], [])]  # (header pairs, lines)
    i = 0
    while i < len(body):
        if i in headers:
            last, pairs = headers[i]
            lines = drafts[-1][1]
            if lines and _is_title(lines[-1], body[i], note_labels):
                lines.pop()  # "Progress Note" above the header
            if drafts[-1][0] and not lines:
                drafts[-1] = (_merged(drafts[-1][0], pairs, roles), lines)
            elif len(drafts) == 1 and not drafts[0][0] and len(lines) <= _PREAMBLE_LINES:
                drafts[0] = (pairs, [])  # letterhead above the first header
            else:
                drafts.append((pairs, []))
            i = last + 1
            continue
        if not headers and norm_label(body[i].text.strip()) in note_labels:
            if drafts[-1][1]:  # without header blocks a repeated "Progress Note" title splits notes
                drafts.append(([], []))
        elif not is_rule(None, body[i].text):
            drafts[-1][1].append(body[i])
        i += 1
    notes: list[Note] = []
    for pairs, lines in drafts:
        if lines:  # over-long notes are the pipeline's to skip and count, as for every format
            notes.append(_note(path, len(notes) + 1, pairs, lines, edges, roles, source, note_labels, day_first))
    return notes


def _note(path: Path, position: int, pairs: list, lines: list[Line], edges: dict[int, float],
          roles: dict[str, str], source: PdfSource, note_labels: set[str], day_first: bool = False,
          skips: dict[int, int] | None = None) -> Note:
    """`skips`: where the note's text starts on a line of a notes table (id(line) -> index); its
    lines are one cell's wrapped text, joined as wrapped (no right edge to measure there)."""
    parts: list[str] = []
    segs: list[Segment] = []
    pos = 0
    prev: Line | None = None
    for line in lines:
        if prev is not None:
            sep = joiner(prev, line) if skips is not None or not starts_paragraph(prev, line, edges[id(prev)]) else "\n"
            parts.append(sep)
            pos += len(sep)
        skip = skips.get(id(line), 0) if skips is not None else _note_cell(line, note_labels)
        text = line.text[skip:]
        parts.append(text)
        segs.append(Segment(pos, pos + len(text), {"page": line.page, "line": line.number}, skip))
        source.lines[(line.page, line.number)] = line.pdf
        pos += len(text)
        prev = line
    values, fields, date = header_values(pairs, roles, day_first)
    return Note(note_id=values.get("note_id") or f"{path_text(path.stem)}#{position}", file=path_text(path), text="".join(parts),
                segments=tuple(segs), clinician=values.get("clinician", ""), client=values.get("client", ""),
                date=date, fields=fields, position=position, id_given=bool(values.get("note_id")))
