"""The DOCX scan path reads and annotates exactly as it did when it opened each file with
python-docx's Document: the same notes, warnings and refusals, and the same annotated copy,
member for member, on the 105 Word files of tests/data/docx_corpus.tar.xz (recorded by
tests/docx_golden.py before the change). No timing here: the benchmark measures speed."""
from __future__ import annotations

import json

import pytest

import docx_golden

GOLDEN = json.loads(docx_golden.GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return {p.name: p for p in docx_golden.unpack(folder)}


def test_the_corpus_is_the_recorded_one(corpus):
    assert sorted(corpus) == sorted(GOLDEN)
    assert {"single_note.docx", "week_of_2026-03-02.docx"} <= set(corpus)
    assert sum(len(r.get("notes", [])) for r in GOLDEN.values()) > 150


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_same_notes_and_same_annotated_copy_as_before(corpus, tmp_path, name):
    path = corpus[name]
    got = docx_golden.normalise(docx_golden.record(path, tmp_path), path)
    want = GOLDEN[name]
    assert got.get("error") == want.get("error")
    assert got.get("notes") == want.get("notes")
    assert got.get("warnings") == want.get("warnings")
    assert got.get("skipped") == want.get("skipped")
    assert got.get("write_warnings") == want.get("write_warnings")
    assert got.get("copy") == want.get("copy")


# ---- the scan path reads the package once, without python-docx's Document ------------------

import struct  # noqa: E402
import zipfile  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from notesplugin.config import Config  # noqa: E402
from notesplugin.model import InputError  # noqa: E402
from notesplugin.readers.docx_reader import read_docx  # noqa: E402
from notesplugin.writers.docx_writer import write_docx  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notes"
DOCX_MAY_CHANGE = {"word/document.xml", "word/comments.xml", "word/_rels/document.xml.rels", "[Content_Types].xml"}


def _no_document(*a, **k):
    raise AssertionError("python-docx's Document was built on the scan path")


def test_a_scan_never_builds_a_python_docx_document(tmp_path, monkeypatch):
    import docx
    import docx.api
    import docx.opc.package
    for target, name in ((docx, "Document"), (docx.api, "Document")):
        monkeypatch.setattr(target, name, _no_document)
    monkeypatch.setattr(docx.opc.package.OpcPackage, "open", classmethod(_no_document))
    from notesplugin.pipeline import scan
    res = scan(sorted(SAMPLES.glob("*.docx")), tmp_path / "out", Config(), ledger=False, summary=False)
    docx_files = [f for f in res.files if f.path.endswith(".docx")]
    assert len(docx_files) == 2 and all(f.ok and f.output for f in docx_files), [f.error for f in docx_files]
    assert sum(len(f.notes) for f in docx_files) > 5 and any(f.findings for f in docx_files)


def test_reading_parses_only_the_parts_it_needs():
    res = read_docx(SAMPLES / "week_of_2026-03-02.docx", Config())
    pkg = res.source.package
    assert pkg.parsed(pkg.main) and pkg.main == "word/document.xml"
    assert not pkg.parsed("word/styles.xml")
    assert res.notes


def _raw_members(path: Path) -> dict[str, tuple]:
    """name -> (compress type, CRC, sizes, the member's compressed bytes as stored)."""
    out = {}
    with open(path, "rb") as fh, zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            fh.seek(info.header_offset)
            header = fh.read(30)
            skip = struct.unpack("<HH", header[26:30])
            fh.seek(info.header_offset + 30 + sum(skip))
            out[info.filename] = (info.compress_type, info.CRC, info.file_size, info.compress_size,
                                  fh.read(info.compress_size))
    return out


@pytest.mark.parametrize("name", ["single_note.docx", "week_of_2026-03-02.docx"])
def test_untouched_members_are_copied_raw_and_never_inflated(tmp_path, monkeypatch, name):
    src = SAMPLES / name
    res = read_docx(src, Config())
    findings = docx_golden.findings_for(res.notes)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, n, *a, **k: opened.append(
        getattr(n, "filename", n)) or real_open(self, n, *a, **k))
    dest = tmp_path / name
    assert write_docx(res.source, dest, res.notes, findings,
                      comment_date=datetime(2026, 3, 3, tzinfo=timezone.utc)) == []
    monkeypatch.undo()
    # writing read the relationships, content types and (to check the copy) the saved body: no other part
    assert set(opened) <= DOCX_MAY_CHANGE, sorted(set(opened) - DOCX_MAY_CHANGE)
    before, after = _raw_members(src), _raw_members(dest)
    untouched = set(before) - DOCX_MAY_CHANGE
    assert "word/styles.xml" in untouched and len(untouched) >= 8
    for member in untouched:
        assert after[member] == before[member], member
    assert list(after)[:len(before)] == list(before)  # members keep their order
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None


def test_the_input_is_never_changed_and_a_source_is_read_from_memory(tmp_path):
    src = tmp_path / "in.docx"
    src.write_bytes((SAMPLES / "single_note.docx").read_bytes())
    before = src.read_bytes()
    res = read_docx(src, Config())
    src.unlink()  # the writer works from the bytes read once, not from the file
    write_docx(res.source, tmp_path / "out.docx", res.notes, docx_golden.findings_for(res.notes))
    assert [n.text for n in read_docx(tmp_path / "out.docx", Config()).notes] == [n.text for n in res.notes]
    src.write_bytes(before)
    assert src.read_bytes() == before


def _rezip(src: Path, dest: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    zout.writestr(info.filename, replace[info.filename])
            else:
                zout.writestr(info, zin.read(info.filename))
    return dest


@pytest.mark.parametrize("case", ["no main relationship", "macro main part", "broken body XML", "no body"])
def test_an_unusable_package_is_one_line(tmp_path, case):
    src = SAMPLES / "single_note.docx"
    with zipfile.ZipFile(src) as zf:
        rels, types, body = (zf.read(n) for n in ("_rels/.rels", "[Content_Types].xml", "word/document.xml"))
    replace = {
        "no main relationship": {"_rels/.rels": rels.replace(b"/officeDocument\"", b"/somethingElse\"")},
        "macro main part": {"[Content_Types].xml": types.replace(
            b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")},
        "broken body XML": {"word/document.xml": body[: len(body) // 2]},
        "no body": {"word/document.xml": body[: body.index(b"<w:body")] + b"</w:document>"},
    }[case]
    bad = _rezip(src, tmp_path / "bad.docx", replace)
    with pytest.raises(InputError, match=r"^bad.docx: not a usable Word document \(\w+\); open it in Word and "
                                         r"save as .docx$"):
        read_docx(bad, Config())
