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
