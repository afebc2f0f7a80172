"""Item 14 of issue 12: a letter template cannot run code. Templates render in
Jinja's sandbox; reaching for a forbidden attribute is a one-line error naming
the template and line, in the scan (history) and in doctor."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from notesplugin import pipeline
from notesplugin.config import Config
from notesplugin.doctor import check_templates, sample_gap
from notesplugin.letters import LetterError, render_letter

D0 = date(2026, 1, 5)


def evil_templates(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "consultation-request.md.j2").write_text(
        "Dear colleague,\n\n"
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}\n")
    return tdir, marker


def test_render_refuses_code_with_template_and_line(tmp_path):
    tdir, marker = evil_templates(tmp_path)
    with pytest.raises(LetterError) as err:
        render_letter(sample_gap(), Config(templates_dir=tdir))
    msg = str(err.value)
    assert not marker.exists()
    assert "\n" not in msg and "consultation-request.md.j2, line 3" in msg and "not allowed" in msg


def test_doctor_fails_the_template_without_running_it(tmp_path):
    tdir, marker = evil_templates(tmp_path)
    check = check_templates(Config(templates_dir=tdir))
    assert not marker.exists()
    assert not check.ok and "consultation-request.md.j2, line 3" in check.detail and "\n" not in check.detail


def test_scan_fails_the_letter_without_running_it(tmp_path):
    tdir, marker = evil_templates(tmp_path)
    src = tmp_path / "in"
    src.mkdir()
    rows = ["Note ID,Clinician,Client,Date,Note"] + [
        f'{i},Dr A,Ann Lee,{(D0 + timedelta(weeks=i)).isoformat()},'
        '"Client cried about her mother\'s death. I told her it would all be fine and moved on."'
        for i in range(3)]
    (src / "a.csv").write_text("\n".join(rows) + "\n")
    cfg = Config(templates_dir=tdir)
    res = pipeline.scan([src], tmp_path / "out", cfg, ledger_path=tmp_path / "l.db", summary=False)
    assert not marker.exists()
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    errors = json.dumps(run)
    assert "consultation-request.md.j2, line 3" in errors
    assert res.findings  # the scan itself went on
