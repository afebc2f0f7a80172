"""PDF exports: reading (headers, page furniture, page breaks), the annotated copy (rendered
by pdfium and poppler, popups, text kept page by page) and bad PDFs (one line, exit 3)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

pdfium = pytest.importorskip("pypdfium2")
from pypdf import PdfReader, PdfWriter  # noqa: E402
from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject, NameObject, TextStringObject  # noqa: E402

from notesplugin.config import Config  # noqa: E402
from notesplugin.model import InputError  # noqa: E402
from notesplugin.pipeline import process_file  # noqa: E402
from notesplugin.readers.pdf_reader import read_pdf  # noqa: E402
from notesplugin.writers.comments import comment_text  # noqa: E402
from notesplugin.writers.pdf_writer import COLORS  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"
SINGLE = SAMPLES / "progress_note_petra_v_2026-03-04.pdf"
CHART = SAMPLES / "chart_export_vantongeren_2026-03.pdf"


def _labels() -> dict:
    out = {}
    for name in ("notes.jsonl", "pdf_notes.jsonl"):
        for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines():
            n = json.loads(line)
            out[n["id"]] = n
    return out


def _page_texts(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    return [page.get_textpage().get_text_range() for page in doc]


# ---- reading -------------------------------------------------------------------------------

def test_single_note_pdf_reads_header_table_and_paragraphs():
    result, source = read_pdf(SINGLE, Config())
    (note,) = result.notes
    want = _labels()["sample-039"]
    assert (note.note_id, note.client, note.clinician, note.date) == (
        "sample-039", want["client"], want["clinician"], want["date"])
    assert note.fields == {"Service": "90834 Psychotherapy, 45 min"}
    # wrapped lines joined with spaces, paragraphs with "\n"; letterhead and title are not text
    assert note.text.startswith(want["text"] + "\nSignature:")
    assert "Riverbend" not in note.text and "Progress Note" not in note.text
    # every character of the note that came from the page has a place there
    for seg in note.segments:
        line = source.lines[(seg.location["page"], seg.location["line"])]
        assert line.text == note.text[seg.start:seg.end]
        assert len(line.xs) == len(line.text)
        assert all(x is not None for x, ch in zip(line.xs, line.text) if not ch.isspace())


def test_chart_pdf_splits_notes_and_drops_page_headers_and_footers():
    result, _ = read_pdf(CHART, Config())
    labels = _labels()
    assert [n.note_id for n in result.notes] == ["sample-040", "sample-041", "sample-042", "sample-043"]
    for note in result.notes:
        want = labels[note.note_id]
        assert (note.client, note.clinician, note.date) == (want["client"], want["clinician"], want["date"])
        for bit in ("Page ", "Printed 03/20/2026", "Client Chart", "Progress Note", "Date of Service"):
            assert bit not in note.text
        # each SOAP paragraph is there, whole, under its heading
        for line in want["text"].split("\n"):
            key, body = line.split(": ", 1)
            heading = {"S": "Subjective", "O": "Objective", "A": "Assessment", "P": "Plan"}[key]
            assert f"{heading}\n{body}\n" in note.text


def test_sentence_over_a_page_break_is_one_sentence_on_two_pages():
    result, _ = read_pdf(CHART, Config())
    note = next(n for n in result.notes if n.note_id == "sample-041")
    sentence = ("Before Dominic had said what the change meant to him, therapist handed him an anger log "
                "and walked him through a timeout plan for the rest of the session.")
    start = note.text.index(sentence)
    pages = {seg.location["page"] for seg, _, _ in note.locate(start, start + len(sentence))}
    assert pages == {1, 2}


def test_header_split_over_a_page_break_still_starts_the_note():
    result, _ = read_pdf(CHART, Config())
    note = result.notes[-1]  # its header table's first row is on page 2, the second on page 3
    assert (note.note_id, note.client) == ("sample-043", "Petra V.")


# ---- the annotated copy ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    out = tmp_path_factory.mktemp("pdfout")
    before = hashlib.sha256(CHART.read_bytes()).hexdigest()
    res = process_file(CHART, out / "chart.annotated.pdf", Config())
    assert res.ok, res.error
    assert hashlib.sha256(CHART.read_bytes()).hexdigest() == before  # input never modified
    return res, out / "chart.annotated.pdf"


def _highlights(path: Path) -> list:
    out = []
    for k, page in enumerate(PdfReader(path).pages):
        for a in page.get("/Annots") or []:
            a = a.get_object()
            if a["/Subtype"] == "/Highlight":
                out.append((k + 1, a))
    return out


def _region(image, page_height: float, scale: float, box) -> list:
    x0, y0, x1, y1 = box
    crop = image.crop((int(x0 * scale) + 1, int((page_height - y1) * scale) + 1,
                       int(x1 * scale) - 1, int((page_height - y0) * scale) - 1))
    raw = crop.tobytes()
    return [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]


def _is_highlight(px, rgb) -> bool:
    # white paper under a Multiply highlight takes the highlight's colour
    return all(abs(c - round(255 * v)) <= 40 for c, v in zip(px[:3], rgb))


def _flagged_and_plain(res, path: Path):
    """The R4 finding's boxes on page 1 and the box of an unflagged line on that page."""
    (r4,) = [f for f in res.findings if f.item == "R4" and f.status == "flagged"]
    hits = [(p, a) for p, a in _highlights(path) if p == 1 and a["/Contents"] == "\n".join(comment_text(r4))]
    (page, annot), = hits
    q = [float(v) for v in annot["/QuadPoints"]]
    boxes = [(q[i], q[i + 5], q[i + 2], q[i + 1]) for i in range(0, len(q), 8)]
    _, source = read_pdf(CHART, Config())
    plain = next(ln for (p, _), ln in source.lines.items() if p == 1 and ln.text.startswith("Dominic said"))
    xs = [x for x in plain.xs if x]
    return r4, boxes, (xs[0][0], plain.bottom, xs[-1][1], plain.top)


def test_pdfium_renders_the_highlight_on_the_flagged_sentence_only(annotated):
    res, path = annotated
    r4, boxes, plain = _flagged_and_plain(res, path)
    page = pdfium.PdfDocument(str(path))[0]
    scale = 2.0
    image = page.render(scale=scale, draw_annots=True).to_pil().convert("RGB")
    rgb = COLORS["flagged"]
    for box in boxes:
        pixels = _region(image, page.get_height(), scale, box)
        assert sum(_is_highlight(px, rgb) for px in pixels) > 0.5 * len(pixels)
    pixels = _region(image, page.get_height(), scale, plain)
    assert not any(_is_highlight(px, rgb) for px in pixels)
    # without annotations drawn the same place is white paper and black text
    bare = page.render(scale=scale, draw_annots=False).to_pil().convert("RGB")
    assert not any(_is_highlight(px, rgb) for px in _region(bare, page.get_height(), scale, boxes[0]))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_poppler_renders_the_highlight_too(annotated, tmp_path):
    from PIL import Image
    res, path = annotated
    _, boxes, plain = _flagged_and_plain(res, path)
    subprocess.run(["pdftoppm", "-r", "144", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "p")],
                   check=True, timeout=120)
    (png,) = tmp_path.glob("p*.png")
    image = Image.open(png).convert("RGB")
    rgb = COLORS["flagged"]
    for box in boxes:
        pixels = _region(image, 792.0, 2.0, box)
        assert sum(_is_highlight(px, rgb) for px in pixels) > 0.5 * len(pixels)
    assert not any(_is_highlight(px, rgb) for px in _region(image, 792.0, 2.0, plain))


def test_each_finding_has_highlights_with_popups_saying_the_comment_text(annotated):
    res, path = annotated
    found = _highlights(path)
    texts = {a["/Contents"] for _, a in found}
    assert texts == {"\n".join(comment_text(f)) for f in res.findings}
    for _, a in found:
        popup = a["/Popup"].get_object()
        assert popup["/Subtype"] == "/Popup" and popup["/Parent"].get_object() == a
        assert "/AP" in a and len(a["/QuadPoints"]) % 8 == 0
    # the R4 sentence runs over the page break: one highlight on each page, same text
    r4_pages = sorted(p for p, a in found if a["/Contents"].startswith("R4 ") and "exempt" not in a["/Contents"])
    assert r4_pages == [1, 2]


def test_annotated_copy_keeps_every_page_text_and_adds_a_findings_page(annotated):
    res, path = annotated
    original, copy = _page_texts(CHART), _page_texts(path)
    assert copy[:len(original)] == original
    assert len(copy) == len(original) + 1
    assert "notesplugin findings" in copy[-1] and "sample-041" in copy[-1]
    assert path.read_bytes().startswith(CHART.read_bytes())  # an incremental update: signatures stay valid


def test_existing_annotations_and_form_fields_are_kept(tmp_path):
    from reportlab.pdfgen import canvas
    src = tmp_path / "form_note.pdf"
    c = canvas.Canvas(str(src))
    y = 720
    for line in ("Client: Ada Q.", "Date of Service: 03/02/2026", "Clinician: T. Vale", "Note ID: form-1",
                 "Ada cried about her father's funeral. Therapist told her it was not a big deal."):
        c.drawString(72, y, line)
        y -= 16
    c.linkURL("https://example.org", (72, 600, 200, 620))
    c.acroForm.textfield(name="cosign", x=72, y=500, width=200, height=20)
    c.save()
    res = process_file(src, tmp_path / "out.pdf", Config())
    assert res.ok, res.error
    assert [f.item for f in res.findings if f.status == "flagged"] == ["R3"]
    reader = PdfReader(tmp_path / "out.pdf")
    kinds = [a.get_object()["/Subtype"] for a in reader.pages[0]["/Annots"]]
    assert "/Link" in kinds and "/Widget" in kinds and "/Highlight" in kinds
    assert [f.get("/T") for f in reader.trailer["/Root"]["/AcroForm"]["/Fields"]] == ["cosign"]


# ---- bad PDFs ---------------------------------------------------------------------------------

def _js_pdf(path: Path) -> None:
    w = PdfWriter(clone_from=SINGLE)
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('opened');")})
    w._root_object[NameObject("/OpenAction")] = w._add_object(action)
    named = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                              NameObject("/JS"): TextStringObject("app.alert('named');")})
    w._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), w._add_object(named)])})})
    w.write(path)


def test_javascript_is_not_run_and_not_copied(tmp_path):
    src = tmp_path / "js_note.pdf"
    _js_pdf(src)
    res = process_file(src, tmp_path / "js_note.annotated.pdf", Config())
    assert res.ok and [n.note_id for n in res.notes] == ["sample-039"]
    assert any("JavaScript" in w for w in res.warnings)
    data = (tmp_path / "js_note.annotated.pdf").read_bytes()
    assert b"app.alert" not in data and b"/JavaScript" not in data
    assert _page_texts(tmp_path / "js_note.annotated.pdf")[:1] == _page_texts(SINGLE)


@pytest.mark.parametrize("where", ["open action", "page action"])
def test_javascript_only_in_an_action_is_found_and_left_out(tmp_path, where):
    # pdfium counts only a document's named scripts: a script run when the file opens, or
    # when a page does, used to be copied into the annotated PDF, and the scan said nothing.
    w = PdfWriter(clone_from=SINGLE)
    action = w._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                             NameObject("/JS"): TextStringObject("app.alert('opened');")}))
    if where == "open action":
        w._root_object[NameObject("/OpenAction")] = action
    else:
        w.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})
    src = tmp_path / "act.pdf"
    w.write(src)
    res = process_file(src, tmp_path / "act.annotated.pdf", Config())
    assert res.ok and any("JavaScript" in x for x in res.warnings)
    data = (tmp_path / "act.annotated.pdf").read_bytes()
    assert b"app.alert" not in data and b"/JavaScript" not in data
    assert _page_texts(tmp_path / "act.annotated.pdf")[:1] == _page_texts(SINGLE)


def _bad_pdfs(folder: Path) -> dict[str, str]:
    """{file name: the fix its error must name}"""
    from reportlab.pdfgen import canvas
    w = PdfWriter(clone_from=SINGLE)
    w.encrypt("secret")
    w.write(folder / "locked.pdf")
    w = PdfWriter(clone_from=SINGLE)
    w.encrypt(user_password="", owner_password="owner")
    w.write(folder / "no_copying.pdf")
    c = canvas.Canvas(str(folder / "scan.pdf"))
    c.rect(50, 50, 400, 600, fill=1)
    c.save()
    data = SINGLE.read_bytes()
    (folder / "truncated.pdf").write_bytes(data[:len(data) // 2])
    (folder / "renamed.pdf").write_bytes(b"Client,Note\nA,text\n")
    w = PdfWriter()
    for _ in range(10_000):
        w.add_blank_page(612, 792)
    w.write(folder / "pages_10000.pdf")
    import zlib
    comp = zlib.compressobj(9)
    chunk = b" " * 2**20
    bomb = b"".join(comp.compress(chunk) for _ in range(300)) + comp.flush()  # 300 MB inflated
    (folder / "bomb.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<</Length " + str(len(bomb)).encode()
                                      + b" /Filter /FlateDecode>>\nstream\n" + bomb + b"\nendstream\nendobj\n%%EOF\n")
    return {"locked.pdf": "without a password", "no_copying.pdf": "without protection",
            "scan.pdf": "ocrmypdf", "truncated.pdf": "export the note again as a text PDF",
            "renamed.pdf": "export the note again as a text PDF", "pages_10000.pdf": "split the export",
            "bomb.pdf": "PDF bomb"}


def test_bad_pdfs_get_one_line_each_and_the_batch_goes_on(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from notesplugin import cli
    folder = tmp_path / "in"
    folder.mkdir()
    fixes = _bad_pdfs(folder)
    shutil.copy(SINGLE, folder / "good.pdf")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NOTESPLUGIN_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["scan", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == len(fixes)
    for name, fix in fixes.items():
        (line,) = [ln for ln in errors if ln.startswith(f"error: {name}:")]
        assert fix in line
    assert (tmp_path / "out" / "good.annotated.pdf").exists()
    assert not any(tmp_path.joinpath("out").glob("*.part"))


def test_read_pdf_refuses_a_scan_with_the_ocr_fix(tmp_path):
    from reportlab.pdfgen import canvas
    c = canvas.Canvas(str(tmp_path / "s.pdf"))
    c.rect(10, 10, 100, 100, fill=1)
    c.save()
    with pytest.raises(InputError, match="run OCR first, e.g. ocrmypdf"):
        read_pdf(tmp_path / "s.pdf", Config())


def test_a_pdf_is_no_longer_skipped_when_a_folder_is_walked(tmp_path):
    from notesplugin.pipeline import find_inputs
    shutil.copy(SINGLE, tmp_path / "a.pdf")
    assert find_inputs([tmp_path]) == [tmp_path / "a.pdf"]


# ---- the same notes as PDF and as DOCX -----------------------------------------------------------

def test_sample_notes_as_pdf_and_chart_pdf_get_the_docx_layouts_findings(tmp_path):
    """benchmarks/pdf_layout.py on the sample notes (the dev corpus is outside the repo)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("pdf_layout", SAMPLES.parent / "benchmarks" / "pdf_layout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    notes = list(_labels().values())
    fig = mod.compare(notes, tmp_path)
    assert fig["docx"]["findings"] > 0
    # One note per PDF prints the DOCX's own text: the same findings, note by note.
    assert fig["pdf"]["differ"] == {}
    assert fig["pdf"]["same_as_docx"] == len(notes)
    # The chart prints SOAP headings as titled lines ("Subjective") where the DOCX has
    # "S:", so its text differs and the learned model may read a note differently;
    # what must hold is the score (the "scores the same as the DOCX layout").
    assert fig["chart"]["rescuing_f1"] >= fig["docx"]["rescuing_f1"]
    assert fig["chart"]["same_as_docx"] >= len(notes) - 2
    assert not any(fig["problems"].values())


def test_pdf_writer_imports_no_reader():
    """Writers take what the reader handed on; they never read the input through a reader."""
    import ast
    root = SAMPLES.parent / "notesplugin" / "writers"
    for name in ("pdf_writer.py", "pdf_page.py", "comments.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(m and (m.startswith("notesplugin.readers") or "pypdfium2" in m) for m in mods), name


def _canvas_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.pdfgen import canvas
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    for lines in pages:
        y = 750  # the top 12% of the page, where page headers sit
        for line in lines:
            c.setFont("Helvetica-Bold" if line == "Progress Note" else "Helvetica", 14 if line == "Progress Note" else 10)
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


def test_without_header_blocks_a_repeated_note_title_splits_the_notes(tmp_path):
    path = _canvas_pdf(tmp_path / "titles.pdf", [
        ["Progress Note", "Ana talked about her move.", "Progress Note", "Ben talked about his job."],
        ["Progress Note", "Cy talked about school."], ["Progress Note", "Di talked about sleep."]])
    result, _ = read_pdf(path, Config())
    # the title at the top of every page is a note title, not a page header
    assert [n.text for n in result.notes] == ["Ana talked about her move.", "Ben talked about his job.",
                                              "Cy talked about school.", "Di talked about sleep."]
    assert [n.note_id for n in result.notes] == ["titles#1", "titles#2", "titles#3", "titles#4"]


def test_a_note_over_the_size_limit_is_skipped_and_counted(tmp_path):
    from notesplugin.pipeline import process_file
    result = process_file(CHART, tmp_path / "chart.annotated.pdf", Config(max_note_chars=600))
    long_ones = [w for w in result.warnings if "longer than 600 characters" in w]
    assert result.ok and result.skipped == len(long_ones) > 0
    assert all(len(n.text) <= 600 for n in result.notes)


def test_a_signature_block_before_the_next_header_does_not_rename_the_next_note(tmp_path):
    path = _canvas_pdf(tmp_path / "sig.pdf", [
        ["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: n-1", "Ana talked about her move.",
         "Clinician: Old Name", "Date: 03/03/2026",
         "Client: Ben S.", "Date of Service: 03/04/2026", "Clinician: New Name", "Note ID: n-2",
         "Ben talked about his job."]])
    result, _ = read_pdf(path, Config())
    assert [(n.note_id, n.client, n.clinician, n.date) for n in result.notes] == [
        ("n-1", "Ana R.", "", "2026-03-02"), ("n-2", "Ben S.", "New Name", "2026-03-04")]


def test_a_pdf_whose_every_line_repeats_on_every_page_says_so(tmp_path):
    path = _canvas_pdf(tmp_path / "same.pdf", [["Riverbend Counseling"], ["Riverbend Counseling"]])
    with pytest.raises(InputError, match="same.pdf: no note text found"):
        read_pdf(path, Config())


def test_rotated_pages_read_the_same_and_get_the_same_highlight_places(tmp_path):
    w = PdfWriter(clone_from=CHART)
    for page in w.pages:
        page.rotate(90)
    rotated = tmp_path / "rotated.pdf"
    w.write(rotated)
    plain, _ = read_pdf(CHART, Config())
    turned, _ = read_pdf(rotated, Config())
    assert [(n.note_id, n.text) for n in turned.notes] == [(n.note_id, n.text) for n in plain.notes]
    a = process_file(CHART, tmp_path / "a.pdf", Config())
    b = process_file(rotated, tmp_path / "b.pdf", Config())
    assert a.ok and b.ok
    quads = [[[round(float(v), 1) for v in annot["/QuadPoints"]] for _, annot in _highlights(p)]
             for p in (tmp_path / "a.pdf", tmp_path / "b.pdf")]
    assert quads[0] == quads[1] and quads[0]


@pytest.mark.skipif(shutil.which("pdftocairo") is None, reason="poppler-utils not installed")
def test_the_same_notes_redrawn_by_cairo_read_the_same(tmp_path):
    """cairo places each glyph itself (font size 1 and a scaled matrix, kerned capitals):
    pdfium then reports 'C lient', 'P etra'; the reader must not."""
    for src in (SINGLE, CHART):
        out = tmp_path / src.name
        subprocess.run(["pdftocairo", "-pdf", str(src), str(out)], check=True, timeout=120)
        want, _ = read_pdf(src, Config())
        got, _ = read_pdf(out, Config())
        assert [(n.note_id, n.client, n.clinician, n.date, n.text) for n in got.notes] == \
               [(n.note_id, n.client, n.clinician, n.date, n.text) for n in want.notes]


def test_justified_text_keeps_its_spaces(tmp_path):
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate
    body = ParagraphStyle("j", parent=getSampleStyleSheet()["BodyText"], alignment=TA_JUSTIFY)
    text = ("Therapist validated extraordinarily counterproductive circumstances notwithstanding "
            "incomprehensibilities and supercalifragilistic interruptions. ") * 4
    flow = [Paragraph(x, body) for x in ("Client: A B.", "Date of Service: 01/02/2026", "Note ID: j-1", text)]
    SimpleDocTemplate(str(tmp_path / "j.pdf")).build(flow)
    (note,) = read_pdf(tmp_path / "j.pdf", Config())[0].notes
    assert note.text == text.strip()  # wide justified spaces are spaces, not table-cell tabs


def test_a_broken_xref_pointer_gets_a_whole_rewrite_that_other_readers_open(tmp_path):
    import re
    src = tmp_path / "badxref.pdf"
    src.write_bytes(re.sub(rb"startxref\s+\d+", b"startxref\n123", SINGLE.read_bytes()))
    res = process_file(src, tmp_path / "out.pdf", Config())
    assert res.ok, res.error
    reader = PdfReader(tmp_path / "out.pdf", strict=True)  # no repair needed
    assert len(reader.pages) == 2 and any(a.get_object()["/Subtype"] == "/Highlight"
                                          for a in reader.pages[0]["/Annots"])


def test_a_word_broken_at_a_line_end_hyphen_is_one_word(tmp_path):
    lines = ["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: h-1",
             "Ana described the week since the funeral and the long follow-",
             "up visit with her aunt; she cried while the therapist listened.",
             "Plan: weekly."]
    result, _ = read_pdf(_canvas_pdf(tmp_path / "h.pdf", [lines]), Config())
    assert result.notes[0].text == ("Ana described the week since the funeral and the long follow-up visit with her "
                                    "aunt; she cried while the therapist listened.\nPlan: weekly.")


def test_a_pdf_named_docx_and_a_docx_named_pdf_are_told_to_rename(tmp_path):
    from notesplugin.readers.sniff import sniff
    shutil.copy(SINGLE, tmp_path / "note.docx")
    shutil.copy(SAMPLES / "single_note.docx", tmp_path / "other.pdf")
    with pytest.raises(InputError, match=r"note.docx: this is really a .pdf file named .docx; rename it to note.pdf"):
        sniff(tmp_path / "note.docx")
    with pytest.raises(InputError, match=r"other.pdf: this is really a .docx file named .pdf; rename it to other.docx"):
        sniff(tmp_path / "other.pdf")
    assert sniff(SINGLE) == "pdf"


def test_a_hyphen_at_a_line_end_gives_a_highlight_line_by_line(tmp_path):
    # pdfium gives no line break after a line-end hyphen: the two printed lines used to be one
    # reader line, and the highlight a box over both of them whole
    lines = ["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: h-2",
             "Client arrived on time. Client cried about her mother's death. I quickly changed the sub-",
             "ject to her work schedule. We agreed to meet next week."]
    path = _canvas_pdf(tmp_path / "h2.pdf", [lines])
    result, source = read_pdf(path, Config())
    note = result.notes[0]
    start = note.text.index("I quickly")
    end = note.text.index("schedule.") + len("schedule.")
    assert [seg.location["line"] for seg, _, _ in note.locate(start, end)] == [4, 5]
    from notesplugin.model import Finding
    from notesplugin.writers.pdf_writer import quads
    f = Finding(note_id=note.note_id, file=note.file, checklist="rescuing", item="R1", name="redirect",
                status="flagged", topic="grief", evidence=note.text[start:end], start=start, end=end, location={})
    boxes = quads(note, f, source)[1]
    assert len(boxes) == 2 and boxes[0][0] > 250 and boxes[1][2] < 250  # the sentence, not both lines whole


def test_a_two_column_page_joins_each_column_s_wrapped_lines(tmp_path):
    import textwrap

    from reportlab.pdfgen import canvas
    # wrapped as a word processor wraps: a line ends where the next word would not fit
    left = textwrap.wrap("Client described the week in detail, including her commute and the long hours. "
                         "Client cried about her mother's death. I quickly changed the subject to her work "
                         "schedule. We met.", 36)
    right = textwrap.wrap("Later in the session client was sad and tearful about losing his old job at the mill. "
                          "I reassured him it would all work out. Plan: continue weekly sessions.", 36)
    path = tmp_path / "cols.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Courier", 10)
    for k, line in enumerate(["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: c-1"]):
        c.drawString(72, 700 - 14 * k, line)
    for col, x in ((left, 72), (right, 320)):
        for k, line in enumerate(col):
            c.drawString(x, 640 - 14 * k, line)
    c.save()
    result, _ = read_pdf(path, Config())
    text = result.notes[0].text
    assert "I quickly changed the subject to her work schedule." in text
    assert "I reassured him it would all work out." in text


def test_the_narrative_row_of_a_label_value_table_is_note_text(tmp_path):
    from reportlab.pdfgen import canvas
    path = tmp_path / "lv.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Helvetica", 10)
    rows = [("Client", "Ana R."), ("Date of Service", "03/02/2026"), ("Clinician", "Dana Whitfield, LPC"),
            ("Note ID", "lv-1"), ("Narrative", "Client cried about her mother's death. I quickly changed the")]
    y = 700
    for label, value in rows:
        c.drawString(72, y, label)
        c.drawString(190, y, value)
        y -= 14
    for line in ["subject to her work schedule. Client described the week in detail,", "and her sleep. Plan: weekly."]:
        c.drawString(190, y, line)
        y -= 14
    c.save()
    result, _ = read_pdf(path, Config())
    [note] = result.notes
    assert note.note_id == "lv-1" and "Narrative" not in note.fields
    assert note.text.startswith("Client cried about her mother's death. I quickly changed the subject to her work")
    seg = note.segments[0]
    assert seg.offset == len("Narrative") + 1  # the highlight maps past the label cell


def test_text_typed_into_a_form_field_is_read(tmp_path):
    from reportlab.pdfgen import canvas
    path = tmp_path / "form.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Helvetica", 10)
    for k, line in enumerate(["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: f-1", "Narrative:"]):
        c.drawString(72, 700 - 14 * k, line)
    c.acroForm.textfield(name="narrative", x=72, y=560, width=460, height=70, fontSize=9, borderWidth=0,
                         value="Client cried about her mother's death. I changed the subject to her work schedule.",
                         fieldFlags="multiline")
    c.save()
    result, _ = read_pdf(path, Config())
    assert "I changed the subject to her work schedule." in result.notes[0].text
    assert PdfReader(path).get_fields()["narrative"]["/V"]  # the input itself is not flattened
    # A filler that sets /NeedAppearances and writes no appearance (the typed text is only the
    # field's value): every viewer draws it, and so is it read.
    w = PdfWriter(clone_from=PdfReader(path))
    for annot in w.pages[0]["/Annots"]:
        del annot.get_object()[NameObject("/AP")]
    w._root_object["/AcroForm"][NameObject("/NeedAppearances")] = BooleanObject(True)
    w.write(tmp_path / "no_appearance.pdf")
    assert "/AP" not in PdfReader(tmp_path / "no_appearance.pdf").pages[0]["/Annots"][0].get_object()
    result, _ = read_pdf(tmp_path / "no_appearance.pdf", Config())
    assert "I changed the subject to her work schedule." in result.notes[0].text


def test_on_a_page_drawn_turned_the_highlight_covers_the_sentence_not_the_line(tmp_path):
    from reportlab.pdfgen import canvas
    from pypdf import PdfWriter
    tmp = tmp_path / "flat.pdf"
    c = canvas.Canvas(str(tmp), pagesize=(612, 792))
    c.translate(612, 0)
    c.rotate(90)  # landscape drawing on a portrait page; /Rotate 90 shows it upright
    c.setFont("Helvetica", 10)
    for k, line in enumerate(["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: r-1",
                              "Client cried about her mother's death. I quickly changed the subject to her work "
                              "schedule. We agreed to meet next week."]):
        c.drawString(72, 540 - 14 * k, line)
    c.save()
    w = PdfWriter(clone_from=PdfReader(tmp))
    w.pages[0].rotate(90)
    w.write(tmp_path / "turned.pdf")
    result, source = read_pdf(tmp_path / "turned.pdf", Config())
    note = result.notes[0]
    start = note.text.index("I quickly")
    end = note.text.index("schedule.") + len("schedule.")
    from notesplugin.model import Finding
    from notesplugin.writers.pdf_writer import quads
    f = Finding(note_id=note.note_id, file=note.file, checklist="rescuing", item="R1", name="redirect",
                status="flagged", topic="grief", evidence=note.text[start:end], start=start, end=end, location={})
    [(x0, y0, x1, y1)] = quads(note, f, source)[1]
    line = source.lines[(1, note.segments[-1].location["line"])]
    # the text runs up the page: the box is the sentence's stretch of it, not the whole printed line
    assert y1 - y0 < 0.75 * (line.top - line.bottom) and x1 - x0 < 20


def test_a_sentence_wrapped_at_one_and_a_half_line_spacing_is_one_sentence(tmp_path):
    # ghostscript and CUPS prints of fonts with tall boxes set single spacing at ~1.55 em
    from reportlab.pdfgen import canvas
    path = tmp_path / "spaced.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Helvetica", 10)
    lines = ["Client: Ana R.", "Date of Service: 03/02/2026", "Note ID: s-1",
             "Client cried about her mother's death. I quickly changed the subject to her work and the",
             "schedule for next week. We met again."]
    for k, line in enumerate(lines):
        c.drawString(72, 700 - 15.5 * k, line)
    c.save()
    result, _ = read_pdf(path, Config())
    assert "I quickly changed the subject to her work and the schedule for next week." in result.notes[0].text


def _paged(path: Path, pages: list[list[str]], top: float = 750) -> Path:
    from reportlab.pdfgen import canvas
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    for lines in pages:
        c.setFont("Helvetica", 10)
        for k, line in enumerate(lines):
            c.drawString(72, top - 16 * k, line)
        c.showPage()
    c.save()
    return path


def test_one_note_a_page_with_its_header_at_the_top_keeps_every_header_line(tmp_path):
    # the clinician's line repeats at the same place on every page, as a running header would;
    # the note ID and date beside it change, so the band is each page's own note header
    pages = [["Progress Note", f"Note ID: P-{k}", f"Date of Service: 2026-03-0{k + 1}", f"Client: Client {k}",
              "Clinician: Dana Whitfield", "Client reviewed her week and her sleep log."] for k in (1, 2, 3)]
    result, _ = read_pdf(_paged(tmp_path / "chart.pdf", pages), Config())
    assert [(n.note_id, n.clinician, n.date) for n in result.notes] == [
        ("P-1", "Dana Whitfield", "2026-03-02"), ("P-2", "Dana Whitfield", "2026-03-03"),
        ("P-3", "Dana Whitfield", "2026-03-04")]


def test_a_header_repeated_on_every_page_of_one_note_is_still_page_furniture(tmp_path):
    body = ["Client reviewed her week, her sleep log and the long hours at work in detail today."] * 3
    pages = [["Client: Ann Lee   Date of Service: 03/02/2026", f"Page {k} of 3", *body] for k in (1, 2, 3)]
    pages[0] = ["Client: Ann Lee   Date of Service: 03/02/2026", "Page 1 of 3", "Note ID: R-1",
                "Clinician: Dana Whitfield", *body]
    result, _ = read_pdf(_paged(tmp_path / "one.pdf", pages), Config())
    assert len(result.notes) == 1 and "Page" not in result.notes[0].text


def _type3_pdf(path: Path, pages: list[bytes]) -> Path:
    """Pages drawn with a Type3 font whose glyphs have private names and no ToUnicode: codes
    1, 2, 3 ... say nothing about which letter is drawn (how some print drivers subset fonts)."""
    procs = b" ".join(b"/g%d 4 0 R" % k for k in range(1, 40))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
            b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
            b"/CharProcs << " + procs + b" >> /Encoding << /Type /Encoding /Differences [1 "
            + b" ".join(b"/g%d" % k for k in range(1, 40)) + b"] >> /FirstChar 1 /LastChar 39 /Widths ["
            + b" ".join([b"500"] * 39) + b"] /Resources << >> >>",
            b"<< /Length 33 >>\nstream\n500 0 d0 60 0 380 500 re f\nendstream"]
    kids = []
    for content in pages:
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /T3 3 0 R "
                    b"/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents %d 0 R >>" % len(objs))
        kids.append(len(objs))
    objs[1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def test_a_pdf_whose_fonts_map_no_letters_is_named_not_passed_as_clean(tmp_path):
    symbols = b"BT /T3 10 Tf 60 650 Td <0102030405060708090A0B0C0D0E0F101112131415> Tj ET"
    plain = (b"BT /F1 10 Tf 72 650 Td (Client: Ann Lee) Tj 0 -14 Td (Date of Service: 03/02/2026) Tj "
             b"0 -14 Td (Note ID: u-1) Tj 0 -14 Td (Client reviewed her week.) Tj ET")
    with pytest.raises(InputError, match=r"symbols\.pdf: the PDF's text cannot be read .*run OCR"):
        read_pdf(_type3_pdf(tmp_path / "symbols.pdf", [symbols, symbols]), Config())
    result, _ = read_pdf(_type3_pdf(tmp_path / "mixed.pdf", [plain, symbols]), Config())
    assert [n.note_id for n in result.notes] == ["u-1"] and result.notes[0].text == "Client reviewed her week."
    assert any("page 2 cannot be read" in w for w in result.warnings)


@pytest.mark.parametrize("name", ["libreoffice_arial_notes.pdf", "libreoffice_courier_notes.pdf"])
def test_a_word_note_exported_by_libreoffice_keeps_its_wrapped_sentences_whole(name):
    # LibreOffice gives each glyph its own box: sizes read from boxes made an 11 pt line that
    # starts "s" look like 5 pt type, and every wrapped line a new paragraph (three fictional
    # notes, exported from Writer in Liberation Sans / Liberation Mono)
    result, _ = read_pdf(Path(__file__).parent / "data" / name, Config())
    texts = " ".join(n.text for n in result.notes)
    assert len(result.notes) == 3
    assert "I quickly changed the subject to her work schedule." in texts
    assert "I reassured him it would all work out." in texts


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_encrypted_with_no_password_at_all_is_read_and_its_copy_encrypted_the_same_way(tmp_path, algorithm):
    # User and owner password both empty: no protection, every viewer opens and edits it, so it
    # is read; pypdf cannot append to an encrypted file, so the copy is rewritten and encrypted
    # again with the same algorithm and permissions (and still no password).
    w = PdfWriter(clone_from=PdfReader(SINGLE))
    w.encrypt(user_password="", owner_password="", algorithm=algorithm, permissions_flag=-3904)
    w.write(tmp_path / "empty password.pdf")
    before = (tmp_path / "empty password.pdf").read_bytes()
    res = process_file(tmp_path / "empty password.pdf", tmp_path / "out.pdf", Config())
    assert res.ok, res.error
    assert [n.note_id for n in res.notes] == [n.note_id for n in read_pdf(SINGLE, Config())[0].notes]
    assert res.findings and (tmp_path / "empty password.pdf").read_bytes() == before
    out = PdfReader(tmp_path / "out.pdf")
    assert out.is_encrypted and out.decrypt("") == 2  # the empty password is still the owner's
    enc = out.trailer["/Encrypt"].get_object()
    assert int(enc["/P"]) & 0xFFFFFFFF == -3904 & 0xFFFFFFFF
    assert (int(enc["/V"]), int(enc.get("/Length", 40))) == {"RC4-128": (2, 128), "AES-128": (4, 128),
                                                            "AES-256": (5, 256)}[algorithm]
    assert any(a.get_object()["/Subtype"] == "/Highlight" for a in out.pages[0]["/Annots"])


def test_a_pdf_with_an_owner_password_is_still_refused_truly(tmp_path):
    w = PdfWriter(clone_from=PdfReader(SINGLE))
    w.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    w.write(tmp_path / "permissions.pdf")
    with pytest.raises(InputError, match=r"permissions\.pdf: the PDF is encrypted \(it may open without a "
                                         r"password.*without protection"):
        read_pdf(tmp_path / "permissions.pdf", Config())


def test_text_cropped_away_is_not_note_text(tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import RectangleObject
    src = _paged(tmp_path / "full.pdf", [["Client: Ann Lee", "Date of Service: 03/02/2026", "Note ID: k-1",
                                          "Client reviewed her week.", "", "", "", "", "", "", "", "",
                                          "I changed the subject to her sleep when she sobbed."]], top=700)
    w = PdfWriter(clone_from=PdfReader(src))
    w.pages[0].cropbox = RectangleObject([0, 600, 612, 792])  # the lower part cropped away in an editor
    w.write(tmp_path / "cropped.pdf")
    result, _ = read_pdf(tmp_path / "cropped.pdf", Config())
    assert result.notes[0].text == "Client reviewed her week."


def test_a_pdf_changed_after_reading_gets_no_copy(tmp_path):
    # The highlights are placed by the characters read: on other bytes they would land anywhere.
    from notesplugin.writers.pdf_writer import write_pdf
    src = tmp_path / "note.pdf"
    shutil.copy(SINGLE, src)
    result, source = read_pdf(src, Config())
    with open(src, "ab") as fh:
        fh.write(b"\n% saved again by the EHR\n")
    with pytest.raises(InputError, match=r"note\.pdf: the file changed while it was being read"):
        write_pdf(src, tmp_path / "out.pdf", result.notes, [], source)
    assert not (tmp_path / "out.pdf").exists()


def test_a_line_ending_on_i_inside_a_sentence_wraps_and_a_browser_address_footer_is_not_note_text(tmp_path):
    # Chrome's "Save as PDF": a narrow column whose right edge the reader only estimates from the
    # longest lines (another note's), and the page address with "1/2" at the foot of every page.
    from reportlab.pdfgen import canvas
    path = tmp_path / "chrome.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    notes = [("C-1", ["Session focus: Client cried about her mother's death. I",
                      "quickly changed the subject to her work schedule."]),
             ("C-2", ["Session focus: Client was tearful about losing his old job today. We",
                      "reviewed the plan for next session."])]
    for k, (nid, body) in enumerate(notes, 1):
        y = 700
        for line in ["Progress Note", f"Note ID: {nid}", "Date of Service: 03/02/2026", "Client: Ann Lee",
                     "Clinician: Dana Whitfield", ""] + body:
            c.setFont("Helvetica", 10)
            c.drawString(90, y, line)
            y -= 14
        c.setFont("Helvetica", 8)
        c.drawString(20, 20, f"https://secure.example-ehr.com/clients/8f3a2c/notes/{nid.lower()}   {k}/2")
        c.showPage()
    c.save()
    result, _ = read_pdf(path, Config())
    assert [n.text for n in result.notes] == [
        "Session focus: Client cried about her mother's death. I quickly changed the subject to her work schedule.",
        "Session focus: Client was tearful about losing his old job today. We reviewed the plan for next session."]


def test_a_report_laid_out_as_a_table_of_notes_is_read_row_by_row(tmp_path):
    # "Service Notes Report": one row per note, the note's text wrapped in its cell; it was read
    # as one note of no one, two clients' findings merged into it.
    from reportlab.pdfgen import canvas
    from notesplugin.model import Finding
    from notesplugin.writers.pdf_writer import quads
    path = tmp_path / "report.pdf"
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Helvetica", 9)
    c.drawString(40, 740, "Service Notes Report - Riverbend Counseling")
    cols = (40, 95, 160, 215, 300)
    for x, h in zip(cols, ("Note ID", "Date", "Client", "Clinician", "Note")):
        c.drawString(x, 710, h)
    rows = [("T-1", "2026-03-02", "Ann Lee", "Dana Whitfield", ["Client cried about her mother's death. I quickly",
                                                                "changed the subject to her work schedule."]),
            ("T-2", "2026-03-03", "Bob Ray", "Dana Whitfield", ["Client reviewed his week. Denies SI/HI."])]
    y = 690
    for *ident, lines in rows:
        for x, v in zip(cols, ident):
            c.drawString(x, y, v)
        for line in lines:
            c.drawString(cols[-1], y, line)
            y -= 12
        y -= 10
    c.save()
    result, source = read_pdf(path, Config())
    assert [(n.note_id, n.client, n.clinician, n.date) for n in result.notes] == [
        ("T-1", "Ann Lee", "Dana Whitfield", "2026-03-02"), ("T-2", "Bob Ray", "Dana Whitfield", "2026-03-03")]
    note = result.notes[0]
    assert note.text == "Client cried about her mother's death. I quickly changed the subject to her work schedule."
    start = note.text.index("I quickly")
    f = Finding(note_id=note.note_id, file=note.file, checklist="rescuing", item="R1", name="redirect",
                status="flagged", topic="grief", evidence=note.text[start:], start=start, end=len(note.text),
                location=note.location_of(start, len(note.text)))
    boxes = quads(note, f, source)[1]
    assert len(boxes) == 2 and min(b[0] for b in boxes) >= cols[-1] - 1  # the note cell only, not the ID or client
    assert result.warnings == ["report.pdf: 1 line outside the notes table (a title or a footer) was not checked"]
