from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from notesplugin.cli_history import gaps_command, letter_command
from notesplugin.config import Config, Person
from notesplugin.gaps import current_gaps
from notesplugin.history import after_scan
from notesplugin.ledger import Ledger
from notesplugin.letters import LetterError, render_letter, write_letter
from notesplugin.model import Finding, Note

D0 = date(2026, 1, 6)  # a Tuesday: letters must show only the Monday of its week
CLIENT = "Alicia Moreno"
TEXT = "Alicia Moreno sobbed about her mother's death; writer said it would all be fine and moved on."


def scan(n=3, clinician="Dana Whitfield, LPC"):
    notes = [Note(note_id=f"n{i}", file="week.docx", text=TEXT + f" ({i})", clinician=clinician, client=CLIENT,
                  date=(D0 + timedelta(weeks=i)).isoformat()) for i in range(n)]
    findings = [Finding(x.note_id, x.file, "rescuing", "R3", "reassure", "flagged", "grief",
                        "Alicia Moreno sobbed; writer told Alicia on 2026-01-06 it would all be fine", 0, 10, {},
                        clinician=x.clinician, client=x.client, date=x.date) for x in notes]
    x = notes[0]
    findings.append(Finding(x.note_id, x.file, "rescuing", "R1", "redirect", "exempt", "grief", "steered", 0, 1, {},
                            clinician=x.clinician, client=x.client, date=x.date))
    return notes, findings


def one_gap(tmp_path, config=None):
    notes, findings = scan()
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan(notes, findings, "1")
        return current_gaps(led, config or Config())[0]


def docx_text(path: Path) -> str:
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def test_letter_is_deidentified_by_default(tmp_path):
    notes, findings = scan()
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db",
                     today=date(2026, 3, 2))
    [letter] = res.letters
    for text in (Path(letter["markdown"]).read_text(), docx_text(Path(letter["docx"]))):
        assert "Alicia" not in text and "Moreno" not in text and "sobbed" not in text
        assert D0.isoformat() not in text and "2026-01-13" not in text  # only Mondays of weeks
        assert "week of 2026-01-05" in text and "week of 2026-01-19" in text
        assert "R3 reassure" in text and "3 sessions" in text
        assert "A single slip is human" in text and "crisis" in text
        assert "Worden" in text  # per-topic reading from data/topics.toml
        assert "Dear colleague," in text and "Clinical supervision" in text  # no supervisor/consultant set


def test_excerpts_use_initials(tmp_path):
    notes, findings = scan()
    res = after_scan(notes, findings, Config(), tmp_path / "out", ledger_path=tmp_path / "l.db",
                     include_excerpts=True)
    text = Path(res.letters[0]["markdown"]).read_text()
    assert "A.M. sobbed" in text and "Alicia" not in text and "Moreno" not in text
    assert "2026-01-06" not in text


def test_names_from_config_and_xml_characters_survive(tmp_path):
    cfg = Config(practice_name="Smith & <Sons>", practice_address="1 Main St",
                 supervisor=Person("Ann Lee", "Clinical Director"), consultant=Person("Dr. Ray Cole", "Consultant"))
    gap = one_gap(tmp_path, cfg)
    files = write_letter(gap, cfg, tmp_path / "out")
    text = docx_text(files.docx)
    assert "Smith & <Sons>" in text and "Dear Dr. Ray Cole," in text and "Ann Lee, Clinical Director" in text
    assert "Smith & <Sons>" in files.markdown.read_text()
    assert text.rstrip().endswith("Smith & <Sons>")  # nothing cut short


def test_letterhead_header_carries_over(tmp_path):
    lh = Document()
    lh.sections[0].header.paragraphs[0].text = "Brightside Counseling - letterhead"
    lh.sections[0].footer.paragraphs[0].text = "Confidential"
    lh.add_paragraph("placeholder body text")
    lh.save(str(tmp_path / "lh.docx"))
    cfg = Config(letterhead=tmp_path / "lh.docx")
    files = write_letter(one_gap(tmp_path, cfg), cfg, tmp_path / "out")
    doc = Document(str(files.docx))
    assert doc.sections[0].header.paragraphs[0].text == "Brightside Counseling - letterhead"
    assert doc.sections[0].footer.paragraphs[0].text == "Confidential"
    assert "placeholder body text" not in docx_text(files.docx)
    assert "Request for case consultation" in docx_text(files.docx)


def test_missing_letterhead_is_one_line(tmp_path):
    cfg = Config(letterhead=tmp_path / "nope.docx")
    with pytest.raises(LetterError, match="letterhead not found"):
        write_letter(one_gap(tmp_path, cfg), cfg, tmp_path / "out")


def test_training_referral_is_addressed_to_the_clinician(tmp_path):
    text = render_letter(one_gap(tmp_path), Config(), "training-referral")
    assert text.startswith("20") and "Dear Dana Whitfield," in text and "Training suggestion" in text


@pytest.mark.parametrize("body, line", [("Hello\n\n{{ no_such_value }}\n", 3), ("a\n{% if %}\n", 2)])
def test_template_errors_are_one_line_with_name_and_line(tmp_path, body, line):
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "consultation-request.md.j2").write_text(body)
    cfg = Config(templates_dir=tdir)
    with pytest.raises(LetterError) as err:
        render_letter(one_gap(tmp_path, cfg), cfg)
    msg = str(err.value)
    assert "\n" not in msg and "consultation-request.md.j2" in msg and f"line {line}" in msg


def test_practice_template_overrides_builtin(tmp_path):
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "consultation-request.md.j2").write_text("Custom for {{ clinician }} on {{ topic }}\n")
    cfg = Config(templates_dir=tdir)
    assert render_letter(one_gap(tmp_path, cfg), cfg) == "Custom for Dana Whitfield on grief\n"


def test_files_are_private(tmp_path):
    files = write_letter(one_gap(tmp_path), Config(), tmp_path / "out")
    assert files.markdown.stat().st_mode & 0o777 == 0o600 and files.docx.stat().st_mode & 0o777 == 0o600


def test_cli_gaps_and_letter(tmp_path):
    notes, findings = scan()
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan(notes, findings, "1")
    runner = CliRunner()
    res = runner.invoke(gaps_command, ["--json", "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 0, res.output
    assert [(g["clinician"], g["topic"]) for g in json.loads(res.output)] == [("Dana Whitfield", "grief")]
    res = runner.invoke(letter_command, ["--clinician", "WHITFIELD, DANA", "--topic", "grief", "--kind",
                                         "training-referral", "--out", str(tmp_path / "o"), "--ledger",
                                         str(tmp_path / "l.db")])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "o" / "letters").glob("*training-referral*.docx"))) == 1
    res = runner.invoke(letter_command, ["--clinician", "Dana Whitfield", "--topic", "anger", "--ledger",
                                         str(tmp_path / "l.db")])
    assert res.exit_code == 1 and "no repeated gap" in res.output
    res = runner.invoke(gaps_command, ["--ledger", str(tmp_path / "missing.db")])
    assert res.exit_code == 1 and "run a scan first" in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[gaps]\nsesions = 3\n")
    res = runner.invoke(gaps_command, ["--config", str(bad), "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 1 and "gaps.sesions" in res.output
    res = runner.invoke(gaps_command, ["--since", "yesterday", "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output  # a usage error, as in scan


def test_letterhead_read_once_per_run_and_again_when_changed(tmp_path, monkeypatch):
    import zipfile

    import notesplugin.letters as letters
    lh = Document()
    lh.sections[0].header.paragraphs[0].text = "Brightside"
    lh.save(str(tmp_path / "lh.docx"))
    cfg = Config(letterhead=tmp_path / "lh.docx")
    parsed = []
    real = letters.Document
    monkeypatch.setattr(letters, "Document", lambda *a: parsed.append(a) or real(*a))
    gap = one_gap(tmp_path, cfg)
    outs = [write_letter(gap, cfg, tmp_path / "out", kind) for kind in ("consultation-request", "training-referral")]
    outs.append(write_letter(gap, cfg, tmp_path / "out"))
    assert len(parsed) == 1
    texts = [docx_text(f.docx) for f in outs]
    assert "Request for case consultation" in texts[0] and "Request for case consultation" not in texts[1]
    assert texts[2] == texts[0]  # the second letter left nothing behind in the shared letterhead
    with zipfile.ZipFile(tmp_path / "lh.docx") as a, zipfile.ZipFile(outs[0].docx) as b:
        assert b.read("word/styles.xml") == a.read("word/styles.xml")  # copied, not re-serialised
    lh.sections[0].header.paragraphs[0].text = "Brightside, new address"
    lh.save(str(tmp_path / "lh.docx"))
    again = write_letter(gap, cfg, tmp_path / "out")
    assert len(parsed) == 2
    assert Document(str(again.docx)).sections[0].header.paragraphs[0].text == "Brightside, new address"
