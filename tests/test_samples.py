"""The sample exports in sample_notes/: they match notes.jsonl, and a scan finds what the labels say."""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"
EXPORTS = ("clinic_a_export.xlsx", "clinic_b_export.xlsx", "soap_split_export.xlsx",
           "single_note.docx", "week_of_2026-03-02.docx", "telehealth_notes.csv",
           "progress_note_petra_v_2026-03-04.pdf", "chart_export_vantongeren_2026-03.pdf")


@pytest.fixture(scope="module")
def ms():
    """make_samples.py as a module, without leaving a __pycache__ in sample_notes/ (the scan reads that folder)."""
    old = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.dont_write_bytecode = old
    return mod


@pytest.fixture(scope="module")
def notes(ms):
    return {n["id"]: n for n in ms.load_notes()}


# --- independent little readers: {note_id: (text, date_value, clinician, client)} -------------

def _rows(path: Path, id_header: str) -> list[dict]:
    ws = load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows[:10]) if id_header in r)
    header = rows[at]
    return [dict(zip(header, r)) for r in rows[at + 1:] if any(v is not None for v in r)]


def read_clinic_a(path: Path) -> dict:
    return {r["Note ID"]: (r["Note"], r["Date of Service"], r["Clinician"], r["Client"])
            for r in _rows(path, "Note ID")}


def read_clinic_b(path: Path) -> dict:
    return {r["Encounter ID"]: (r["Progress Note Narrative"], r["DOS"], r["Rendering Provider"], r["Patient Name"])
            for r in _rows(path, "Encounter ID")}


def read_soap(path: Path) -> dict:
    return {r["Visit ID"]: ("\n".join(f"{k}: {r[k]}" for k in "SOAP"), r["Session Date"], r["Therapist"], r["Client"])
            for r in _rows(path, "Visit ID")}


def read_single_docx(path: Path) -> dict:
    doc = Document(path)
    (table,) = doc.tables
    head = {row.cells[0].text: row.cells[1].text for row in table.rows}
    body, after_table = [], False
    for el in doc.element.body.iterchildren():
        if el.tag == qn("w:tbl"):
            after_table = True
        elif el.tag == qn("w:p") and after_table:
            body.append("".join(t.text or "" for t in el.iter(qn("w:t"))))
    return {head["Note ID"]: ("\n".join(body), head["Date of Service"], head["Clinician"], head["Client"])}


def read_week_docx(path: Path) -> dict:
    out, cur = {}, None
    for p in Document(path).paragraphs:
        text = p.text
        if text.startswith("Client: "):
            cur = {"Client": text[8:], "body": []}
        elif cur is None or not text:
            continue  # title above the first note; the page-break paragraphs
        elif "Note #" not in cur and ":" in text and text.split(":", 1)[0] in ("Session Date", "Clinician", "Note #"):
            key, value = text.split(": ", 1)
            cur[key] = value
            if key == "Note #":
                out[value] = cur
        else:
            cur["body"].append(text)
    return {i: ("\n".join(c["body"]), c["Session Date"], c["Clinician"], c["Client"]) for i, c in out.items()}


def read_csv(path: Path) -> dict:
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["Session ID"]: (r["Session Note"], r["Session Date"], r["Provider"], r["Client"])
                for r in csv.DictReader(fh)}


_PDF_LABELS = re.compile(r"(Client|Date of Service|Clinician|Note ID|Service):?\s+")
_SOAP = {"Subjective": "S:", "Objective": "O:", "Assessment": "A:", "Plan": "P:"}


def read_pdf_export(path: Path) -> dict:
    """PDF text by pdfium's own line order; the note text compared with whitespace flattened
    (where lines wrap is the layout's business, tested in test_pdf.py)."""
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(str(path))
    lines = [ln.strip() for page in doc for ln in page.get_textpage().get_text_range().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Riverbend", "412 Alder", "Page "))]
    found, cur = [], None
    for ln in lines:
        if ln == "Progress Note":
            cur = {"body": []}
            found.append(cur)
        elif cur is None or ln.startswith(("Signature:", "Electronically signed")):
            continue
        elif _PDF_LABELS.match(ln):
            parts = _PDF_LABELS.split(ln)[1:]
            cur.update(zip(parts[::2], (v.strip() for v in parts[1::2])))
        else:
            cur["body"].append(_SOAP.get(ln, ln))
    return {c["Note ID"]: (" ".join(c["body"]), c["Date of Service"], c["Clinician"], c["Client"]) for c in found}


READERS = {
    "clinic_a_export.xlsx": read_clinic_a,
    "clinic_b_export.xlsx": read_clinic_b,
    "soap_split_export.xlsx": read_soap,
    "single_note.docx": read_single_docx,
    "week_of_2026-03-02.docx": read_week_docx,
    "telehealth_notes.csv": read_csv,
    "progress_note_petra_v_2026-03-04.pdf": read_pdf_export,
    "chart_export_vantongeren_2026-03.pdf": read_pdf_export,
}


def _as_iso(name: str, value) -> str:
    if name in ("clinic_a_export.xlsx", "soap_split_export.xlsx"):
        assert isinstance(value, dt.datetime), f"{name}: dates must be real Excel dates"
        return value.date().isoformat()
    if name == "telehealth_notes.csv":
        return value
    return dt.datetime.strptime(value, "%m/%d/%Y").date().isoformat()  # MM/DD/YYYY strings


def _check_folder(folder: Path, notes: dict) -> None:
    seen: dict[str, str] = {}
    for name, reader in READERS.items():
        got = reader(folder / name)
        assert got, f"{name}: no notes read"
        for note_id, (text, date, clinician, client) in got.items():
            assert note_id in notes, f"{name}: unknown note id {note_id}"
            assert note_id not in seen, f"{note_id} is in both {seen.get(note_id)} and {name}"
            seen[note_id] = name
            n = notes[note_id]
            want = " ".join(n["text"].split()) if name.endswith(".pdf") else n["text"]
            assert text == want, f"{name}/{note_id}: note text differs from notes.jsonl"
            assert _as_iso(name, date) == n["date"], f"{name}/{note_id}: date"
            assert (clinician, client) == (n["clinician"], n["client"]), f"{name}/{note_id}: people"
    assert sorted(seen) == sorted(notes), "every note must be in exactly one export"


def test_notes_jsonl_follows_the_corpus_format(notes):
    keys = ["id", "clinician", "client", "date", "style", "text", "rescuing", "exempt", "crisis", "topics", "why"]
    topics = {"anger", "grief", "sadness", "fear", "shame", "trauma", "substance", "relationship",
              "sexuality", "other"}
    for n in notes.values():
        assert list(n) == keys
        assert n["style"] in {"SOAP", "DAP", "BIRP", "narrative", "table"}
        assert set(n["rescuing"]) <= {f"R{i}" for i in range(1, 8)}
        assert set(n["exempt"]) <= {f"R{i}" for i in range(1, 7)}  # R7 is never exempt
        assert set(n["crisis"]) <= {f"C{i}" for i in range(1, 6)}
        assert not n["exempt"] or n["crisis"], f"{n['id']}: exempt items need a crisis item"
        assert not (set(n["rescuing"]) - {"R7"}) or not n["crisis"], f"{n['id']}: only R7 stays flagged in a crisis"
        assert set(n["topics"]) <= topics and bool(n["topics"]) == bool(n["rescuing"] or n["exempt"])
        assert "\n\n" not in n["text"] and not n["text"].startswith("=")


def test_committed_exports_match_notes(notes):
    _check_folder(SAMPLES, notes)


def test_make_samples_regenerates_same_texts(ms, notes, tmp_path):
    ms.build(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*EXPORTS, "expected.json"])
    _check_folder(tmp_path, notes)
    committed = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    assert json.loads((tmp_path / "expected.json").read_text(encoding="utf-8")) == committed
    assert committed == ms.expected_findings(list(notes.values()))


def test_expected_json_is_derived_from_labels(notes):
    exp = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    assert set(exp) == set(EXPORTS)
    flat = {i: v for per_file in exp.values() for i, v in per_file.items()}
    assert sorted(flat) == sorted(notes)
    for i, v in flat.items():
        assert v == {"rescuing": sorted(notes[i]["rescuing"]), "crisis": sorted(notes[i]["crisis"])}


def test_scan_findings_match_expected(tmp_path, monkeypatch):
    cli = pytest.importorskip("notesplugin.cli")
    from click.testing import CliRunner

    # Keep the scan away from the real user folders and any notesplugin.toml around.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NOTESPLUGIN_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["scan", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output

    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    file_of = {i: name for name, per_file in expected.items() for i in per_file}
    got: dict[str, dict[str, set]] = defaultdict(lambda: {"rescuing": set(), "crisis": set()})
    problems = []
    with open(out / "findings.jsonl", encoding="utf-8") as fh:
        for line in fh:
            f = json.loads(line)
            nid = f["note_id"]
            if nid not in file_of:
                problems.append(f"finding for unknown note id {nid!r} in {f.get('file')}")
                continue
            if Path(f["file"]).name != file_of[nid]:
                problems.append(f"{nid}: reported in {f['file']}, expected {file_of[nid]}")
            if f["checklist"] == "rescuing" and f["status"] == "flagged":
                got[nid]["rescuing"].add(f["item"])
            elif f["checklist"] == "crisis":
                if f["status"] != "present":
                    problems.append(f"{nid}: crisis {f['item']} has status {f['status']!r}, expected 'present'")
                got[nid]["crisis"].add(f["item"])
    for name, per_file in expected.items():
        for nid, want in per_file.items():
            for kind in ("rescuing", "crisis"):
                have = got[nid][kind]
                if have != set(want[kind]):
                    problems.append(f"{name} {nid} {kind}: missing {sorted(set(want[kind]) - have)}, "
                                    f"extra {sorted(have - set(want[kind]))}")
    assert not problems, "\n".join(problems)
