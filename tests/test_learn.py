"""`notesplugin learn`: corrections written in annotated copies teach the practice's model.

The notes below were chosen against the shipped model: only its model flags the "intake paperwork"
sentence (a false flag for these tests) and misses the "intake checklist" one. Since v22 (R1's threshold
0.85) one correction lifts that sentence from 0.49 to about 0.81, short of it; the practice's phrasing
corrected in two notes (as a template line repeats) is learned."""
from __future__ import annotations

import csv
import importlib.util
import json
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree

from notesplugin.checklists import load as load_checklists
from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.corrections import item_refs, parse
from notesplugin.learn import learn
from notesplugin.learned.reader import Reader
from notesplugin.learned.store import Store
from notesplugin.pipeline import scan
from notesplugin.readers.xlsx_reader import read_xlsx

GRIEF = "Client sobbed as she described her father's funeral."
FALSE_FLAG = "Writer then got her started on the intake paperwork."
MISSED = "Writer brought out the intake checklist and completed the demographics section."
NOTES = [
    ("n1", "Dana Reyes", "Ann B.", "2026-03-02", f"Client wept about the miscarriage. {MISSED}"),
    ("n2", "Dana Reyes", "Ben C.", "2026-03-03", f"{GRIEF} {FALSE_FLAG}"),
    ("n3", "Dana Reyes", "Cal D.", "2026-03-04", "Client reported a good week at work. Reviewed sleep log; no concerns."),
]
TOPICS = ["anger", "fear", "grief", "other", "relationship", "sadness", "sexuality", "shame", "substance", "trauma"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def refs():
    return item_refs(load_checklists().items)


@pytest.mark.parametrize("cell, want", [
    ("ok", [("ok", None, None, None)]),
    ("OK", [("ok", None, None, None)]),
    ("Not R1; missed R3 grief", [("not", "R1", None, None), ("missed", "R3", "grief", None)]),
    ("not redirect, MISSED reassur", [("not", "R1", None, None), ("missed", "R3", None, None)]),
    ('missed R3 "changed the subject, then"', [("missed", "R3", None, "changed the subject, then")]),
    ("crisis C1\nnot C2", [("missed", "C1", None, None), ("not", "C2", None, None)]),
    ("R 3 missed", [("missed", "R3", None, None)]),
    ("mised reasure grife", [("missed", "R3", "grief", None)]),  # typos in the verb, the name and the topic
    ("  nOt   r-4 ", [("not", "R4", None, None)]),
    ("ok R2", [("ok", "R2", None, None)]),
    ("notesplugin: not fix", [("not", "R4", None, None)]),
    ("not R1, R3; missed R5", [("not", "R1", None, None), ("not", "R3", None, None), ("missed", "R5", None, None)]),
])
def test_grammar_reads_forgiving_corrections(refs, cell, want):
    got, bad = parse(cell, refs, TOPICS)
    assert bad == []
    assert [(c.kind, c.item, c.topic, c.fragment) for c in got] == want


@pytest.mark.parametrize("cell, code", [
    ("not R9", "unknown-item"), ("blah", "unknown-word"), ("crisis R1", "wrong-checklist"),
    ("missed R3 weather", "unknown-topic"), ("not", "no-item"),
])
def test_grammar_reports_what_it_cannot_read(refs, cell, code):
    got, bad = parse(f"ok; {cell}", refs, TOPICS)
    assert [c.kind for c in got] == ["ok"]  # the rest of the cell is still read
    assert [b.code for b in bad] == [code] and cell in bad[0].message


def _config(tmp_path: Path, **kw) -> Config:
    return Config(ledger=tmp_path / "data" / "ledger.sqlite3", **kw)


def _export_xlsx(path: Path, notes=NOTES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Note ID", "Clinician", "Client", "Date of Service", "Note"])
    for n in notes:
        ws.append(list(n))
    wb.save(path)
    return path


def _review_xlsx(copy: Path, cells: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(copy)
    ws = wb["Notes"]
    col = [c.value for c in ws[1]].index("Review") + 1
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value in cells:
            ws.cell(r, col).value = cells[ws.cell(r, 1).value]
    wb.save(copy)


def _found(result, note_id: str) -> set[tuple[str, str]]:
    return {(f.item, f.evidence) for f in result.findings if f.note_id == note_id}


MISSED_AGAIN = "Writer brought out the intake checklist and went through the insurance details."


def test_learned_correction_changes_the_next_scan(tmp_path):
    cfg = _config(tmp_path)
    notes = [*NOTES, ("n4", "Dana Reyes", "Dee E.", "2026-03-05", f"Client cried about losing her job. {MISSED_AGAIN}")]
    _export_xlsx(tmp_path / "exports" / "notes.xlsx", notes)
    first = scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    assert ("R1", FALSE_FLAG) in _found(first, "n2") and ("R1", MISSED) not in _found(first, "n1")
    assert ("R1", MISSED_AGAIN) not in _found(first, "n4")
    assert first.judgement["model"]["kind"] == "shipped"
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx",
                 {"n1": 'missed R1 "brought out the intake checklist"', "n2": "not R1", "n3": "ok",
                  "n4": 'missed R1 "intake checklist"'})

    result = learn(tmp_path / "reviewed", cfg)
    rep = result.files[0]
    assert (rep.ok, rep.confirmed, rep.false_flags, rep.missed, rep.unparsed) == (True, 1, 1, 2, [])
    assert result.new > 0 and result.model.startswith("practice model")

    again = scan([tmp_path / "exports"], tmp_path / "again", cfg, ledger=False, summary=False)
    assert ("R1", MISSED) in _found(again, "n1")  # the sentences the shipped model missed are found
    assert ("R1", MISSED_AGAIN) in _found(again, "n4")
    assert ("R1", FALSE_FLAG) not in _found(again, "n2")  # the false flag is gone
    judged = json.loads((tmp_path / "again" / "run.json").read_text())["judgement"]
    assert judged["model"]["kind"] == "practice" and judged["model"]["examples"] == result.new + result.known
    assert judged["model"]["base"] == Reader.default().model.fingerprint and judged["model"]["runs"] == [result.run_id]

    # Idempotent: the same folder learned twice adds nothing (its copies were made by the shipped model).
    twice = learn(tmp_path / "reviewed", cfg)
    assert (twice.new, twice.known) == (0, result.new) and twice.contradictions == []


def test_status_undo_and_reset(tmp_path):
    cfg = _config(tmp_path)
    _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    copy = tmp_path / "reviewed" / "notes.annotated.xlsx"
    store = Store.for_config(cfg)
    _review_xlsx(copy, {"n2": "not R1"})
    one = learn(tmp_path / "reviewed", cfg)
    after_one = store.model_path.read_bytes()
    _review_xlsx(copy, {"n2": "ok", "n3": "ok"})  # the supervisor changed their mind on n2
    two = learn(tmp_path / "reviewed", cfg)
    assert len(two.contradictions) == 1 and "now right; this run wins" in two.contradictions[0]
    assert [ex["label"] for ex in store.effective().values() if ex["item"] == "R1" and ex["kind"] == "xlsx"
            and ex["note"] == next(iter(store.read_run(one.run_id)))["note"]] == [1]

    cfg_file = tmp_path / "np.toml"
    cfg_file.write_text(f'[ledger]\npath = "{cfg.ledger}"\n')
    runner = CliRunner()
    status = runner.invoke(main, ["learn", "--status", "--config", str(cfg_file)])
    assert status.exit_code == 0 and "scan uses the practice model" in status.output
    assert one.run_id in status.output and two.run_id in status.output and "by file kind: xlsx" in status.output
    # Per corrected copy (its writing style): named, since this folder keeps sentences; R1 now right on n2.
    line = next(x for x in status.output.splitlines() if x.strip().startswith("notes.annotated.xlsx"))
    assert line.strip().startswith("notes.annotated.xlsx (xlsx, 2 notes, ") and " R1 1/" in line

    undone = runner.invoke(main, ["learn", "--undo", two.run_id, "--config", str(cfg_file)])
    assert undone.exit_code == 0, undone.output
    assert store.model_path.read_bytes() == after_one  # undo is exact: rebuilt from what is left
    assert runner.invoke(main, ["learn", "--undo", "nope", "--config", str(cfg_file)]).exit_code == 2

    kept = runner.invoke(main, ["learn", "--reset", "--config", str(cfg_file)], input="n\n")
    assert kept.exit_code == 1 and store.model_path.is_file()  # asked, refused: nothing removed
    gone = runner.invoke(main, ["learn", "--reset", "--yes", "--config", str(cfg_file)])
    assert gone.exit_code == 0 and not store.root.exists()
    assert "reset: removed " in gone.output and " from 1 learn run;" in gone.output, gone.output  # says what it removed
    assert "scan uses the shipped model" in runner.invoke(main, ["learn", "--status", "--config", str(cfg_file)]).output
    assert runner.invoke(main, ["learn", "--config", str(cfg_file)]).exit_code == 2  # nothing to do: usage error


def test_csv_review_column_and_refusal_of_a_file_we_did_not_write(tmp_path):
    cfg = _config(tmp_path)
    src = tmp_path / "exports" / "notes.csv"
    src.parent.mkdir()
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Note ID", "Clinician", "Client", "Date of Service", "Note"])
        w.writerows(NOTES)
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    copy = tmp_path / "reviewed" / "notes.annotated.csv"
    rows = list(csv.reader(copy.open(encoding="utf-8", newline="")))
    assert rows[0][-2:] == ["Summary", "Review"] and all(r[-1] == "" for r in rows[1:])
    rows[2][-1] = "NOT redirect; whatever this is"
    rows[3][-1] = "ok"
    with open(copy, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    (tmp_path / "reviewed" / "export-we-did-not-annotate.xlsx").write_bytes(
        _export_xlsx(tmp_path / "plain.xlsx").read_bytes())

    result = learn(tmp_path / "reviewed", cfg)
    by_name = {Path(f.path).name: f for f in result.files}
    rep = by_name["notes.annotated.csv"]
    assert (rep.confirmed, rep.false_flags, rep.missed) == (1, 1, 0)
    assert len(rep.unparsed) == 1 and rep.unparsed[0].startswith("row 3: 'whatever this is'")
    refused = by_name["export-we-did-not-annotate.xlsx"]
    assert not refused.ok and refused.message == (
        "export-we-did-not-annotate.xlsx: not an annotated copy written by notesplugin (no Review column / "
        "no notesplugin comments); scan it first")
    assert {ex["kind"] for ex in Store.for_config(cfg).effective().values()} == {"csv"}

    cfg_file = tmp_path / "np.toml"
    cfg_file.write_text(f'[ledger]\npath = "{cfg.ledger}"\n')
    out = CliRunner().invoke(main, ["learn", str(tmp_path / "reviewed"), "--config", str(cfg_file)])
    assert out.exit_code == 3  # one file refused, the rest learned
    assert "notes.annotated.csv: 2 corrections: 1 confirmed, 1 false flag, 0 missed items" in out.output
    assert "0 new examples" in out.output
    assert out.output.count("not an annotated copy written by notesplugin") == 1


def test_sentences_kept_only_where_the_practice_allows(tmp_path):
    def examples(cfg):
        _export_xlsx(tmp_path / cfg.ledger.parent.name / "exports" / "notes.xlsx")
        base = tmp_path / cfg.ledger.parent.name
        scan([base / "exports"], base / "reviewed", cfg, ledger=False, summary=False)
        _review_xlsx(base / "reviewed" / "notes.annotated.xlsx", {"n2": "not R1"})
        learn(base / "reviewed", cfg)
        return list(Store.for_config(cfg).effective().values())

    owner_only = examples(Config(ledger=tmp_path / "a" / "ledger.sqlite3"))
    assert owner_only and all(ex["text"] == FALSE_FLAG for ex in owner_only)
    never = examples(Config(ledger=tmp_path / "b" / "ledger.sqlite3", learn_keep_text=False))
    vocab = set(Reader.default().model.weights)
    assert never and all("text" not in ex and set(ex["feats"]) <= vocab for ex in never)
    shared = examples(Config(ledger=tmp_path / "c" / "ledger.sqlite3", dir_mode=0o750))
    assert shared and all("text" not in ex for ex in shared)  # a folder the group can read keeps no sentence
    # The copy's name goes with the sentence: --status names the file only where sentences are kept.
    assert all(ex["file_name"] == "notes.annotated.xlsx" for ex in owner_only)
    assert all("file_name" not in ex for ex in never + shared)
    st = Store.for_config(Config(ledger=tmp_path / "b" / "ledger.sqlite3")).status(Reader.default().model.fingerprint)
    assert [(f["file"][:5], f["kind"], f["notes"]) for f in st.by_file] == [("file ", "xlsx", 1)]


def _docx_export(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    d = docx.Document()
    for (_, clinician, client, day, _), texts in ((NOTES[1], (GRIEF, FALSE_FLAG)),
                                                  (NOTES[0], ("Client wept about the miscarriage.", MISSED))):
        d.add_paragraph(f"Client: {client}    Clinician: {clinician}    Date: {day}")
        for text in texts:
            d.add_paragraph(text)
    d.save(path)
    return path


def _add_comments(copy: Path, reply_text: str, prefixed_text: str) -> None:
    """A supervisor's reply on our comment's own range, and a new 'notesplugin:' comment on a sentence."""
    with zipfile.ZipFile(copy) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    body = etree.fromstring(parts["word/document.xml"])
    comments = etree.fromstring(parts["word/comments.xml"])
    ours = next(c for c in comments if c.get(f"{W}author") == "notesplugin")
    oid = ours.get(f"{W}id")
    start = next(e for e in body.iter(f"{W}commentRangeStart") if e.get(f"{W}id") == oid)
    end = next(e for e in body.iter(f"{W}commentRangeEnd") if e.get(f"{W}id") == oid)
    for el, tag in ((start, "commentRangeStart"), (end, "commentRangeEnd")):
        el.addnext(etree.Element(f"{W}{tag}", {f"{W}id": "901"}))
    para = next(p for p in body.iter(f"{W}p") if "intake checklist" in "".join(t.text or "" for t in p.iter(f"{W}t")))
    runs = list(para.iter(f"{W}r"))
    runs[0].addprevious(etree.Element(f"{W}commentRangeStart", {f"{W}id": "902"}))
    runs[-1].addnext(etree.Element(f"{W}commentRangeEnd", {f"{W}id": "902"}))
    for cid, text in (("901", reply_text), ("902", prefixed_text)):
        c = etree.SubElement(comments, f"{W}comment", {f"{W}id": cid, f"{W}author": "Supervisor"})
        etree.SubElement(etree.SubElement(etree.SubElement(c, f"{W}p"), f"{W}r"), f"{W}t").text = text
    etree.SubElement(comments, f"{W}comment", {f"{W}id": "903", f"{W}author": "Supervisor"}).append(
        etree.fromstring(f'<w:p xmlns:w="{W[1:-1]}"><w:r><w:t>Nice work overall</w:t></w:r></w:p>'))
    parts["word/document.xml"] = etree.tostring(body, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/comments.xml"] = etree.tostring(comments, xml_declaration=True, encoding="UTF-8", standalone=True)
    with zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)


def test_docx_reply_and_notesplugin_comment(tmp_path):
    cfg = _config(tmp_path)
    _docx_export(tmp_path / "exports" / "session.docx")
    first = scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    assert {(f.item, f.evidence) for f in first.findings} == {("R1", FALSE_FLAG)}
    copy = tmp_path / "reviewed" / "session.annotated.docx"
    _add_comments(copy, "Not", "notesplugin: missed R1")  # "Not" in a reply means: not this finding's item

    result = learn(tmp_path / "reviewed", cfg)
    rep = result.files[0]
    assert rep.ok and (rep.confirmed, rep.false_flags, rep.missed, rep.unparsed) == (0, 1, 1, [])
    labels = {(ex["item"], ex["label"], ex.get("text")) for ex in Store.for_config(cfg).effective().values()}
    assert labels == {("R1", 0, FALSE_FLAG), ("R1", 1, MISSED)}  # the plain comment taught nothing
    again = scan([tmp_path / "exports"], tmp_path / "again", cfg, ledger=False, summary=False)
    # One missed correction moves its sentence toward R1 without reaching it (module docstring);
    # the false flag is gone.
    assert ("R1", FALSE_FLAG) not in {(f.item, f.evidence) for f in again.findings}
    assert json.loads((tmp_path / "again" / "run.json").read_text())["judgement"]["model"]["kind"] == "practice"


def test_docx_without_our_comments_is_refused(tmp_path):
    cfg = _config(tmp_path)
    _docx_export(tmp_path / "plain" / "session.docx")
    (tmp_path / "plain" / "chart.annotated.pdf").write_bytes(b"%PDF-1.7\n")
    result = learn(tmp_path / "plain", cfg)
    assert not result.files[0].ok and "not an annotated copy written by notesplugin" in result.files[0].message
    assert len(result.files) == 1 and result.warnings == [
        "chart.annotated.pdf: corrections are not read from PDF copies; scan the export as DOCX, XLSX or CSV to "
        "correct it"]
    assert result.new == 0 and not Store.for_config(cfg).model_path.exists()


def test_the_review_reader_knows_the_writers_columns():
    from notesplugin.readers import review
    from notesplugin.writers import xlsx_writer
    assert review.ADDED == xlsx_writer.ADDED and review.ADDED[-1] == xlsx_writer.REVIEW  # a reader never imports a writer


def test_reading_a_copy_ignores_our_columns(tmp_path):
    src = _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    scan([tmp_path / "exports"], tmp_path / "reviewed", _config(tmp_path), ledger=False, summary=False)
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", {"n1": "not R1"})
    before = [(n.note_id, n.text) for n in read_xlsx(src, Config()).notes]
    assert [(n.note_id, n.text) for n in read_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", Config()).notes] \
        == before


def test_practice_model_of_another_shipped_model_is_not_used(tmp_path):
    cfg = _config(tmp_path)
    store = Store.for_config(cfg)
    store.ensure()
    data = json.loads(Reader.default().model.meta and (Path(__file__).parents[1] / "notesplugin" / "data" /
                                                        "model.json").read_text())
    data["meta"]["practice"] = {"base": "0123456789ab", "runs": []}
    store.model_path.write_text(json.dumps(data))
    _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    res = scan([tmp_path / "exports"], tmp_path / "out", cfg, ledger=False, summary=False)
    assert res.judgement["model"]["kind"] == "shipped"
    assert "learned on another shipped model (0123456789ab)" in res.judgement["model_warning"]


def test_benchmark_code_on_a_few_notes(tmp_path):
    spec = importlib.util.spec_from_file_location("learn_bench", Path(__file__).parents[1] / "benchmarks" / "learn_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.holdout()["hos"][:4]
    cfg, taught = bench.teach(rows, tmp_path)
    assert taught["unparsed"] == 0 and taught["examples"] > 0
    assert taught["confirmed"] + taught["false_flags"] + taught["missed"] >= len(rows)
    model, warning = Store.for_config(cfg).practice_model(Reader.default().model.fingerprint)
    assert model is not None and warning == ""
    gold = {"rescuing": ["R3"], "exempt": [], "crisis": [], "spans": [{"item": "R3", "text": "Told him it was fine"}]}
    assert bench.correction(gold, {"R1", "R3"}) == "ok; not R1"
    assert bench.correction(gold, set()) == 'missed R3 "Told him it was fine"'


def _add_threaded_reply(copy: Path, text: str) -> None:
    """A reply as Word threads it: no range of its own, its parent named in commentsExtended."""
    w14, w15 = "http://schemas.microsoft.com/office/word/2010/wordml", "http://schemas.microsoft.com/office/word/2012/wordml"
    with zipfile.ZipFile(copy) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    comments = etree.fromstring(parts["word/comments.xml"])
    ours = next(c for c in comments if c.get(f"{W}author") == "notesplugin")
    list(ours.iter(f"{W}p"))[-1].set(f"{{{w14}}}paraId", "1A2B3C4D")
    reply = etree.SubElement(comments, f"{W}comment", {f"{W}id": "950", f"{W}author": "Supervisor"})
    p = etree.SubElement(reply, f"{W}p", {f"{{{w14}}}paraId": "5E6F7A8B"})
    etree.SubElement(etree.SubElement(p, f"{W}r"), f"{W}t").text = text
    parts["word/comments.xml"] = etree.tostring(comments, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/commentsExtended.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w15:commentsEx xmlns:w15="{w15}">'
        f'<w15:commentEx w15:paraId="1A2B3C4D" w15:done="0"/>'
        f'<w15:commentEx w15:paraId="5E6F7A8B" w15:paraIdParent="1A2B3C4D" w15:done="0"/></w15:commentsEx>').encode()
    rels = "word/_rels/document.xml.rels"
    parts[rels] = parts[rels].replace(b"</Relationships>", (
        b'<Relationship Id="rIdX9" Type="http://schemas.microsoft.com/office/2011/relationships/commentsExtended" '
        b'Target="commentsExtended.xml"/></Relationships>'))
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
        b'<Override PartName="/word/commentsExtended.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.wordprocessingml.commentsExtended+xml"/></Types>'))
    with zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)


def test_docx_threaded_reply_in_comments_extended(tmp_path):
    cfg = _config(tmp_path)
    _docx_export(tmp_path / "exports" / "session.docx")
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    _add_threaded_reply(tmp_path / "reviewed" / "session.annotated.docx", "ok")  # "ok" in a reply: this finding
    result = learn(tmp_path / "reviewed", cfg)
    rep = result.files[0]
    assert (rep.confirmed, rep.false_flags, rep.missed, rep.unparsed) == (1, 0, 0, [])
    assert [(ex["item"], ex["label"], ex["text"]) for ex in Store.for_config(cfg).effective().values()] == \
        [("R1", 1, FALSE_FLAG)]


def test_learn_never_changes_the_ledger(tmp_path):
    cfg = _config(tmp_path)
    _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=True, summary=False)
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", {"n2": "not R1"})
    before = {p.name: p.read_bytes() for p in cfg.ledger.parent.iterdir() if p.is_file()}
    assert learn(tmp_path / "reviewed", cfg).new > 0
    assert {p.name: p.read_bytes() for p in cfg.ledger.parent.iterdir() if p.is_file()} == before


def test_one_scan_judges_with_one_model(tmp_path):
    from notesplugin import pipeline

    cfg = _config(tmp_path)
    _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    shipped_engine = pipeline._engine(cfg)
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", {"n2": "not R1"})
    pipeline._pin(True)  # as inside a scan: a learn finishing meanwhile is for the next scan
    try:
        learn(tmp_path / "reviewed", cfg)
        assert pipeline._engine(cfg) is shipped_engine
    finally:
        pipeline._pin(False)
    assert pipeline._engine(cfg) is not shipped_engine and pipeline._engine(cfg).model.model.meta.get("practice")


# A practice whose writers sign their acts with a title the who-acted rules do not know ("VRC"):
# the model reads these sentences as acts, but the logic rules them out as the client's.
VRC_TAUGHT = [
    ("v1", "Dana Reyes", "Ann B.", "2026-03-02", "CL cried about losing the warehouse job. VRC pulled the IPE back "
     "up on the screen and went to the services section while CL was still talking."),
    ("v2", "Dana Reyes", "Ben C.", "2026-03-03", "CL sobbed about the eviction notice. VRC pulled the budget sheet "
     "back up and went to the rent section while CL was still talking."),
]
VRC_NEW = ("v3", "Dana Reyes", "Cal D.", "2026-03-04", "CL cried about the custody hearing. VRC pulled the work "
           "schedule back up on the screen and went to the hours section while CL was still talking.")


def test_a_practice_teaches_its_own_name_for_the_writer(tmp_path):
    cfg = _config(tmp_path)
    _export_xlsx(tmp_path / "exports" / "notes.xlsx", VRC_TAUGHT)
    _export_xlsx(tmp_path / "later" / "notes.xlsx", [VRC_NEW])
    before = scan([tmp_path / "later"], tmp_path / "before", cfg, ledger=False, summary=False)
    assert not {f.item for f in before.findings} & {"R1"}  # the model reads R1, the who-acted logic says: the client's
    scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx",
                 {"v1": 'missed R1 "pulled the IPE back up"', "v2": 'missed R1 "pulled the budget sheet"'})
    assert learn(tmp_path / "reviewed", cfg).files[0].missed == 2
    store = Store.for_config(cfg)
    titles = sorted(t for ex in store.effective().values() for t in ex.get("titles", []))
    assert titles == ["ipe", "vrc", "vrc"]  # "CL" is a name the rules know (the client): never a candidate
    model, _ = store.practice_model(Reader.default().model.fingerprint)
    assert model.meta["practice"]["writers"] == ["vrc"]  # in two corrected sentences; IPE in one only
    after = scan([tmp_path / "later"], tmp_path / "after", cfg, ledger=False, summary=False)
    assert [(f.item, f.made_by) for f in after.findings if f.item == "R1"] == [("R1", "model")]


def test_writer_titles_need_two_sentences():
    from notesplugin.learned.adapt import writers
    from notesplugin.learned.reader import actor_allows

    one = [{"label": 1, "sentence": "a", "titles": ["vrc"]}, {"label": 1, "sentence": "a", "titles": ["vrc"]}]
    assert writers(one) == []  # the same sentence twice (two items) is one sentence
    two = one + [{"label": 1, "sentence": "b", "titles": ["vrc", "ipe"]}, {"label": 0, "sentence": "c", "titles": ["ipe"]}]
    assert writers(two) == ["vrc"]  # a negative example is no evidence
    feats = ["f:o", "w:vrc", "w:switched"]
    assert not actor_allows(feats) and actor_allows(feats, ("vrc",))
    assert not actor_allows(feats + ["f:said:client"], ("vrc",))  # the client's own words stay the client's


def _tiny_model() -> dict:
    from notesplugin.learned.model import FORMAT
    return {"format": FORMAT, "labels": ["R1", "R2"], "bias": [-2.0, -2.0], "thresholds": {"R1": 0.5, "R2": 0.5},
            "weights": {"w:the": [[0, 0.1], [1, 0.1]], "w:parking": [[0, 0.5]]}, "vetoes": {},
            "topics": ["grief", "other"], "topic_bias": [0.0, 0.0], "topic_weights": {}, "meta": {}}


def test_only_words_rare_in_the_practice_move():
    """A word in every sentence of the practice would move every other note's score: it stays."""
    from notesplugin.learned.adapt import build

    examples = [{"item": "R1", "label": 0, "feats": ["bias", "w:the", f"w:word{k}"], "sentence": f"s{k}", "note": f"n{k}"}
                for k in range(40)]
    examples.append({"item": "R1", "label": 1, "feats": ["bias", "w:the", "w:parking"], "sentence": "p", "note": "np"})
    spread = build(_tiny_model(), examples, base_fingerprint="t", spread=0.05)["weights"]
    assert spread["w:the"] == [[0, 0.1], [1, 0.1]]  # unchanged
    assert dict(spread["w:parking"])[0] > 0.5 and dict(spread["w:word3"])[0] < 0  # the rare ones learned
    everything = build(_tiny_model(), examples, base_fingerprint="t", spread=1.0)["weights"]
    assert dict(everything["w:the"])[0] != 0.1


def test_an_update_that_does_not_hold_on_held_out_notes_is_not_kept():
    """Each corrected note says something different about R2 (no word recurs): nothing learned
    without a note judges it better, so R2 keeps the shipped weights; R1's recurring word does."""
    from notesplugin.learned.adapt import build

    examples = []
    for k in range(10):
        examples.append({"item": "R1", "label": 1, "feats": ["bias", "w:parking", f"w:a{k}"], "sentence": f"a{k}", "note": f"n{k}"})
        examples.append({"item": "R2", "label": 1, "feats": ["bias", f"w:b{k}"], "sentence": f"b{k}", "note": f"n{k}"})
    kept = build(_tiny_model(), examples, base_fingerprint="t", folds=5, spread=1.0)
    assert kept["meta"]["practice"]["items_moved"] == ["R1"]
    assert all(i == 0 for f, row in kept["weights"].items() if f.startswith("w:b") for i, _ in row)  # R2 unmoved
    assert dict(kept["weights"]["w:parking"])[0] > 0.5
    free = build(_tiny_model(), examples, base_fingerprint="t", folds=0, spread=1.0)
    assert any(i == 1 for f, row in free["weights"].items() if f.startswith("w:b") for i, _ in row)


def test_a_drift_under_the_shipped_pruning_is_not_kept():
    """One step shared over 200 words moves each by ~0.004: kept, that only flips decisions on a hair."""
    from notesplugin.learned.adapt import build

    feats = ["bias", "w:the"] + [f"w:x{k}" for k in range(200)]
    examples = [{"item": "R1", "label": 1, "feats": feats, "sentence": "s", "note": "n"}]
    pruned = build(_tiny_model(), examples, base_fingerprint="t", epochs=1, spread=1.0, prune=0.01)["weights"]
    assert pruned["w:the"] == [[0, 0.1], [1, 0.1]] and "w:x7" not in pruned
    drift = build(_tiny_model(), examples, base_fingerprint="t", epochs=1, spread=1.0, prune=0.0)["weights"]
    assert 0.1 < dict(drift["w:the"])[0] < 0.11 and "w:x7" in drift


CRISIS_NOTE = ("Client endorses SI with a plan to overdose on her stored pills tonight. "
               "She cried about her mother; therapist changed the subject to her work schedule.")


def test_an_ok_does_not_move_an_item_that_learns_from_corrections_only(tmp_path):
    # A confirmation of a crisis flag told the practice model nothing it did not already flag, yet
    # its pull reached other writing: in learn_bench, model-only C1/C4 findings appeared in other
    # held-out sets and silenced their rescuing. Items with learn_confirmed = false (the crisis
    # items) keep only `not` / `missed` corrections.
    only_corrections = {i.id for i in load_checklists().items if not i.learn_confirmed}
    assert only_corrections and all(i.startswith("C") for i in only_corrections)
    cfg = _config(tmp_path)
    notes = [("c1", "Dana Reyes", "Ann B.", "2026-03-02", CRISIS_NOTE),
             ("c2", "Dana Reyes", "Ben C.", "2026-03-03", CRISIS_NOTE.replace("Ann", "Ben"))]
    _export_xlsx(tmp_path / "exports" / "notes.xlsx", notes)
    first = scan([tmp_path / "exports"], tmp_path / "reviewed", cfg, ledger=False, summary=False)
    flagged = {f.item for f in first.findings if f.note_id == "c1"}
    crisis = sorted(flagged & only_corrections)
    assert crisis, flagged  # the scan reads the crisis the test is about
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", {"c1": "ok", "c2": f"not {crisis[0]}"})
    result = learn(tmp_path / "reviewed", cfg)
    assert result.files[0].confirmed >= 1 and result.files[0].false_flags == 1
    rows = list(Store.for_config(cfg).effective().values())
    by_item = {(e["item"], e["label"]) for e in rows}
    assert (crisis[0], 0) in by_item  # the `not` is kept
    assert (crisis[0], 1) not in by_item  # the `ok` is not, for this item
    assert any(e["item"] not in only_corrections and e["label"] == 1 for e in rows)  # rescuing confirmations are


def test_corrections_follow_the_ledger_a_command_uses(tmp_path, monkeypatch):
    # trying the tool with a scratch --ledger must not teach the practice's real model
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    _export_xlsx(tmp_path / "exports" / "notes.xlsx")
    scratch = tmp_path / "try" / "ledger.sqlite3"
    run = CliRunner().invoke(main, ["scan", str(tmp_path / "exports"), "--out", str(tmp_path / "reviewed"),
                                    "--ledger", str(scratch)])
    assert run.exit_code == 0, run.output
    _review_xlsx(tmp_path / "reviewed" / "notes.annotated.xlsx", {"n2": "not R1"})
    taught = CliRunner().invoke(main, ["learn", str(tmp_path / "reviewed"), "--ledger", str(scratch)])
    assert taught.exit_code == 0, taught.output
    assert (scratch.parent / "learned").is_dir() and not (tmp_path / "home" / "notesplugin" / "learned").exists()

    def judged(out: str, *ledger: str) -> str:
        res = CliRunner().invoke(main, ["scan", str(tmp_path / "exports"), "--out", str(tmp_path / out), *ledger])
        assert res.exit_code == 0, res.output
        return json.loads((tmp_path / out / "run.json").read_text())["judgement"]["model"]["kind"]

    assert judged("a", "--ledger", str(scratch)) == "practice"
    assert judged("b") == "shipped"  # the default ledger's folder holds no corrections
