"""What the DOCX reader and writer made of tests/data/docx_corpus.tar.xz (105 Word files the
test suite builds, the two sample exports among them), recorded when the scan still opened
each file with python-docx's Document (before notesplugin.word_package): every note and
warning, and the annotated copy of each file (its members' SHA-256) for fixed findings.

tests/test_word_package.py holds the reader and the writer to these records.
Remake them (only after a deliberate change of output): python tests/docx_golden.py
"""
from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from notesplugin.config import Config
from notesplugin.model import Finding, InputError

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "docx_corpus.tar.xz"
GOLDEN = DATA / "docx_golden.json"
WHEN = datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)


def unpack(folder: Path) -> list[Path]:
    with tarfile.open(CORPUS) as tf:
        tf.extractall(folder, filter="data")
    return sorted(folder.glob("*.docx"))


def note_record(note) -> dict:
    return {"note_id": note.note_id, "text": note.text, "clinician": note.clinician, "client": note.client,
            "date": note.date, "fields": note.fields, "position": note.position,
            "segments": [[s.start, s.end, s.location, s.offset] for s in note.segments]}


def findings_for(notes) -> list[Finding]:
    """Fixed findings: each note's first word, and a stretch from a third to two thirds of its text
    (word edges), so runs are split, comments cross runs and land in tables and footnotes too."""
    out = []
    for k, note in enumerate(notes):
        text = note.text
        words = [(i, i + len(w)) for i, w in _words(text)]
        if not words:
            continue
        spans = [words[0]]
        mid = [w for w in words if len(text) // 3 <= w[0] and w[1] <= 2 * len(text) // 3]
        if mid:
            spans.append((mid[0][0], mid[-1][1]))
        for n, (s, e) in enumerate(spans):
            exempt = (k + n) % 3 == 1
            crisis = (k + n) % 3 == 2
            out.append(Finding(note.note_id, note.file, "crisis" if crisis else "rescuing", "C1" if crisis else "R3",
                               "risk" if crisis else "reassure", "present" if crisis else
                               ("exempt" if exempt else "flagged"), "grief", text[s:e], s, e,
                               note.location_of(s, e), reason="a fixed test finding",
                               exempt_by=("C1",) if exempt else ()))
    return out


def _words(text: str):
    import re
    return ((m.start(), m.group()) for m in re.finditer(r"\S+", text))


def members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: hashlib.sha256(zf.read(i)).hexdigest() for i in zf.infolist()}


def record(path: Path, out: Path) -> dict:
    """The reader's and the writer's result for one file."""
    from notesplugin.readers import read
    from notesplugin.writers.docx_writer import write_docx
    try:
        _, res = read(path, Config())
    except InputError as exc:
        return {"error": str(exc).replace(str(path.parent), "<dir>")}
    rec = {"notes": [note_record(n) for n in res.notes], "warnings": res.warnings, "skipped": res.skipped}
    dest = out / path.name
    try:
        rec["write_warnings"] = write_docx(res.source, dest, res.notes, findings_for(res.notes), comment_date=WHEN)
        rec["copy"] = members(dest)
    except InputError as exc:
        rec["write_error"] = str(exc)
    return rec


def normalise(rec: dict, path: Path) -> dict:
    return json.loads(json.dumps(rec).replace(str(path), "<file>").replace(str(path.parent), "<dir>"))


def main() -> None:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        files = unpack(Path(tmp) / "in")
        out = Path(tmp) / "out"
        out.mkdir()
        golden = {p.name: normalise(record(p, out), p) for p in files}
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(golden)} files recorded in {GOLDEN}")


if __name__ == "__main__":
    main()
