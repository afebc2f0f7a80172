"""Items 2, 15 and 16 of issue 12: a hostile clinician name or file name never
blocks the others, never reaches a terminal raw and is escaped in letters."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from notesplugin import history, pipeline
from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.history import after_scan
from notesplugin.model import Finding, Note

D0 = date(2026, 1, 5)
ESC_NAME = "Dana\x1b]0;owned\x07 Whitfield"
LONG_NAME = "Bartholomew " + "Q" * 298  # 310 characters
MD_NAME = "**Bold** <img src=x onerror=alert(1)> [click](http://evil.example)"
CJK_NAME = "王小明"
GOOD = ["Ann Able", "Ben Baker", "Cy Cole", "Di Dunn"]
FLAG = "Client cried about her mother's death. I told her it would all be fine and moved on."


def gap_notes(clinicians):
    notes, findings = [], []
    for c, clin in enumerate(clinicians):
        for i in range(3):
            n = Note(note_id=f"{c}-{i}", file="week.csv", text=FLAG, clinician=clin, client=f"Client {c}",
                     date=(D0 + timedelta(weeks=i)).isoformat())
            notes.append(n)
            findings.append(Finding(n.note_id, n.file, "rescuing", "R3", "reassure", "flagged", "grief", FLAG, 0, 5,
                                    {}, clinician=clin, client=n.client, date=n.date))
    return notes, findings


def test_bad_names_get_letters_and_never_block_the_others(tmp_path):
    names = [ESC_NAME, LONG_NAME, MD_NAME, CJK_NAME, *GOOD]
    notes, findings = gap_notes(names)
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    assert len(res.gaps) == 8 and len(res.letters) == 8 and res.letter_errors == []
    for letter in res.letters:
        assert Path(letter["docx"]).is_file() and Path(letter["markdown"]).is_file()
        assert len(Path(letter["docx"]).name.encode()) < 255
    text = "\n".join(Path(x["markdown"]).read_text() for x in res.letters)
    assert "\x1b" not in text and "\x07" not in text


def test_one_failing_gap_is_named_and_the_others_still_get_letters(tmp_path, monkeypatch):
    real = history.write_letter

    def flaky(gap, *a, **kw):
        if gap.clinician == "Cy Cole":
            raise OSError(28, "No space left on device")
        return real(gap, *a, **kw)

    monkeypatch.setattr(history, "write_letter", flaky)
    notes, findings = gap_notes(GOOD)
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    assert sorted(x["clinician"] for x in res.letters) == ["Ann Able", "Ben Baker", "Di Dunn"]
    assert len(res.letter_errors) == 1
    err = res.letter_errors[0]
    assert "Cy Cole" in err and "grief" in err and "No space left on device" in err and "\n" not in err
    # the next scan writes the missing letter, and only that one
    monkeypatch.setattr(history, "write_letter", real)
    again = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    assert [x["clinician"] for x in again.letters] == ["Cy Cole"] and again.letter_errors == []


def test_summary_is_written_with_control_characters_in_names(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rows = ["Note ID,Clinician,Client,Date,Note"] + [
        f'{i},"{ESC_NAME}",Ann Lee,{(D0 + timedelta(weeks=i)).isoformat()},"{FLAG}"' for i in range(3)]
    (src / "a.csv").write_text("\n".join(rows) + "\n")
    res = pipeline.scan([src], tmp_path / "out", Config(), ledger_path=tmp_path / "l.db")
    assert res.summary_error == "" and res.history_error == ""
    wb = openpyxl.load_workbook(tmp_path / "out" / "summary.xlsx")
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert any("Dana\\x1b]0;owned\\x07 Whitfield" in c for c in cells)
    assert len(res.history["letters"]) == 1


# -- item 15: file names -------------------------------------------------------
EVIL_FILE = "bad\nerror: all good\x1b]0;pwned\x07.csv"


def test_file_names_are_escaped_in_messages_and_cells(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / EVIL_FILE).write_bytes(b"\x00\x01not a csv at all\xff\xfe")
    (src / "good.csv").write_text(f'Note ID,Clinician,Date,Note\n1,Dr A,2026-01-05,"{FLAG}"\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert r.exit_code == 3, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    lines = [ln for ln in r.stderr.splitlines() if "bad" in ln]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad\\x0aerror: all good\\x1b]0;pwned\\x07.csv" in lines[0]
    assert not any(ln.startswith("error: all good") for ln in r.stderr.splitlines())
    wb = openpyxl.load_workbook(out / "summary.xlsx")
    names = [str(row[0].value) for row in wb["Files"].iter_rows(min_row=2) if row[0].value]
    assert "bad\\x0aerror: all good\\x1b]0;pwned\\x07.csv" in names and "good.csv" in names


# -- item 16: Markdown/HTML and CJK names --------------------------------------
def test_markdown_and_html_in_a_name_are_escaped_in_the_letter(tmp_path):
    notes, findings = gap_notes([MD_NAME])
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    md = Path(res.letters[0]["markdown"]).read_text()
    for raw in (r"<img", r"\*\*Bold", r"\]\(http"):
        assert not re.search(r"(?<!\\)" + raw, md), raw
    assert "\\<img src=x onerror=alert(1)\\>" in md and "\\*\\*Bold\\*\\*" in md
    # the DOCX shows the name as written, no backslashes, no bold run made from it
    doc = Document(res.letters[0]["docx"])
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "**Bold** <img src=x onerror=alert(1)> [click](http://evil.example)" in body
    assert "\\" not in body


@pytest.mark.parametrize("name", [CJK_NAME, "Łukasz Żółw", "Юлия Иванова"])
def test_non_latin_names_keep_a_readable_letter_file_name(tmp_path, name):
    notes, findings = gap_notes([name])
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    fname = Path(res.letters[0]["docx"]).name
    assert not fname.startswith("unknown")
    assert fname.startswith(name.casefold().replace(" ", "-") + "_grief_")


def test_gaps_and_letter_commands_print_names_escaped(tmp_path):
    from notesplugin.cli_history import gaps_command, letter_command

    notes, findings = gap_notes([ESC_NAME])
    after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    r = CliRunner().invoke(gaps_command, ["--ledger", str(tmp_path / "l.db")])
    assert r.exit_code == 0 and "\x1b" not in r.output and "\\x1b]0;owned\\x07" in r.output
    r = CliRunner().invoke(letter_command, ["--clinician", ESC_NAME, "--topic", "grief", "--ledger",
                                            str(tmp_path / "l.db"), "--out", str(tmp_path / "o2")])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and len(list((tmp_path / "o2" / "letters").glob("*.docx"))) == 1


def test_all_hostile_values_at_once(tmp_path):
    """Every case of items 2, 14, 15, 16 in one folder: exit 3 for the one bad file,
    one line each, no traceback, nothing run from a template, inputs unchanged."""
    import hashlib

    src = tmp_path / "in"
    src.mkdir()
    (src / EVIL_FILE).write_bytes(b"\x00\x01not a csv\xff")
    for k, name in enumerate([ESC_NAME, LONG_NAME, MD_NAME, CJK_NAME, *GOOD]):
        rows = ["Note ID,Clinician,Client,Date,Note"] + [
            f'{i},"{name}",Client {k},{(D0 + timedelta(weeks=i)).isoformat()},"{FLAG}"' for i in range(3)]
        (src / f"c{k}.csv").write_text("\n".join(rows) + "\n")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    marker = tmp_path / "pwned"
    (tdir / "training-referral.md.j2").write_text(f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}') }}}}\n")
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text(f'[practice]\ntemplates = "{tdir}"\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--config", str(cfg),
                                  "--ledger", str(tmp_path / "l.db")])
    assert r.exit_code == 3, r.output
    assert "Traceback" not in r.output and "\x1b" not in r.output and not marker.exists()
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("error:")] == [
        ln for ln in r.stderr.splitlines() if "bad\\x0aerror: all good" in ln]
    assert len(list((out / "letters").glob("*.docx"))) == 8
    assert (out / "summary.xlsx").is_file() and len(list(out.glob("c*.annotated.csv"))) == 8
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}


def test_a_letter_whose_docx_fails_leaves_no_half_pair(tmp_path, monkeypatch):
    from notesplugin import letters

    def broken(dest, write, mode):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(letters, "write_atomic", broken)
    notes, findings = gap_notes(["Ann Able"])
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db")
    assert len(res.letter_errors) == 1 and not list((tmp_path / "out" / "letters").iterdir())


def test_a_file_name_that_is_not_utf8_is_scanned_and_named_in_every_output(tmp_path):
    # Linux keeps a name's bytes; Python hands undecodable ones over as surrogates, which
    # run.json, the ledger and the summary cannot encode: the run used to end in a traceback.
    import os
    folder = tmp_path / "in"
    folder.mkdir()
    try:
        raw = os.path.join(os.fsencode(folder), b"week\xff.csv")
        with open(raw, "wb") as f:
            f.write(("Date,Clinician,Client,Note\n2026-03-02,Dana W,A.,\"" + FLAG + "\"\n").encode())
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    (folder / "bad\xfe.xlsx".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["scan", str(folder), "--out", str(out), "--ledger", str(tmp_path / "l.sqlite3")])
    assert res.exit_code == 3, res.output  # one file failed, the batch went on
    assert "Traceback" not in res.output and "bad\\xfe.xlsx: the file is empty" in res.output
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["files"][str(folder / "week\\xff.csv")] == "ok"
    assert (out / "summary.xlsx").exists()
    assert os.path.exists(os.path.join(os.fsencode(out), b"week\xff.annotated.csv"))
    found = [json.loads(line) for line in (out / "findings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert found and {f["file"] for f in found} == {str(folder / "week\\xff.csv")}
