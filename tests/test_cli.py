from __future__ import annotations

import io
import json
import re
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from notesplugin.cli import Progress, main
from notesplugin.config import load_config
from notesplugin.doctor import run_checks
from notesplugin.init_config import template_text, write_config

# Every key load_config accepts, as section.key.
ALL_KEYS = {
    "practice": {"name", "address", "letterhead", "templates"},
    "supervisor": {"name", "role", "email"},
    "consultant": {"name", "role", "email"},
    "gaps": {"sessions", "sessions_with_r7", "window_weeks"},
    "columns": {"note", "clinician", "client", "date", "note_id", "text"},
    "checklists": {"files"},
    "output": {"dir", "file_mode", "dir_mode"},
    "ledger": {"path", "url", "key"},
    "limits": {"max_note_chars"},
}
FLAGGED = "Client began sobbing as she described the funeral. Writer changed the subject to her work schedule."
QUIET = "Client talked about the weekend. Writer listened and reflected."


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real user config or ledger: platformdirs follows XDG_* on Linux."""
    monkeypatch.delenv("NOTESPLUGIN_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)


def export(tmp_path: Path, name: str = "week.csv") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("Note ID,Date of Service,Client,Clinician,Note\n"
                    f'n1,2026-03-02,Alicia Marsh,Dana Whitfield,"{FLAGGED}"\n'
                    f'n2,2026-03-09,Bob Quist,Dana Whitfield,"{QUIET}"\n', encoding="utf-8")
    return path


def uncomment_examples(text: str) -> str:
    """The template with its commented-out key lines switched on."""
    return re.sub(r"(?m)^# (\w+ = .*)$", r"\1", text)


# -- init -----------------------------------------------------------------------
def test_init_writes_a_config_that_loads(tmp_path):
    res = CliRunner().invoke(main, ["init", "--path", "cfg/notesplugin.toml"])
    assert res.exit_code == 0, res.output
    path = tmp_path / "cfg" / "notesplugin.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = load_config(path)
    assert (cfg.gap_sessions, cfg.gap_sessions_with_r7, cfg.gap_window_weeks) == (3, 2, 8)
    assert cfg.output_dir == tmp_path / "cfg" / "notesplugin-out"
    assert cfg.letterhead is None and cfg.checklists == [] and cfg.file_mode == 0o600


def test_template_covers_every_key_and_its_examples_load(tmp_path):
    text = template_text()
    for section, keys in ALL_KEYS.items():
        assert f"[{section}]" in text
        for key in keys:
            assert re.search(rf"(?m)^(# )?{key} = ", text), f"{section}.{key} missing from the template"
    on = uncomment_examples(text)
    assert tomllib.loads(on)["ledger"]["path"]
    path = tmp_path / "all.toml"
    path.write_text(on, encoding="utf-8")
    assert load_config(path).ledger == tmp_path / "ledger" / "notesplugin-ledger.sqlite3"


def test_init_never_overwrites_without_force(tmp_path):
    path = tmp_path / "notesplugin.toml"
    path.write_text("# mine\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["init"])
    assert res.exit_code == 1 and "--force" in res.output
    assert path.read_text(encoding="utf-8") == "# mine\n"
    res = CliRunner().invoke(main, ["init", "--force"])
    assert res.exit_code == 0 and "[practice]" in path.read_text(encoding="utf-8")


def test_init_user_writes_where_config_is_found(tmp_path):
    res = CliRunner().invoke(main, ["init", "--user"])
    assert res.exit_code == 0, res.output
    assert load_config().path == tmp_path / "xdg-config" / "notesplugin" / "notesplugin.toml"
    both = CliRunner().invoke(main, ["init", "--user", "--path", str(tmp_path / "foo.toml")])
    assert both.exit_code == 2 and "not both" in both.output and not (tmp_path / "foo.toml").exists()


def test_write_config_refuses_a_folder(tmp_path):
    with pytest.raises(Exception, match="is a folder"):
        write_config(tmp_path)


# -- doctor ---------------------------------------------------------------------
def write_cfg(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "notesplugin.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_doctor_all_ok_changes_nothing(tmp_path):
    write_config(tmp_path / "notesplugin.toml")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = CliRunner().invoke(main, ["doctor"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert [ln.split()[1] for ln in lines] == ["config", "letterhead", "templates", "ledger", "checklists"]
    assert all(ln.startswith("ok") for ln in lines)
    assert "first scan will create it" in res.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_doctor_letterhead_and_templates(tmp_path):
    lh = tmp_path / "letterhead.docx"
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "Riverbend Counseling"
    doc.save(str(lh))
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "consultation-request.md.j2").write_text("Dear {{ consultant }},\n{{ no_such_var }}\n",
                                                                 encoding="utf-8")
    cfg = write_cfg(tmp_path, '[practice]\nletterhead = "letterhead.docx"\ntemplates = "tpl"\n')
    checks = {c.name: c for c in run_checks(cfg, tmp_path / "l.db")}
    assert checks["letterhead"].ok and "with header text" in checks["letterhead"].detail
    assert not checks["templates"].ok and "no_such_var" in checks["templates"].detail
    (tmp_path / "tpl" / "consultation-request.md.j2").write_text("Dear {{ consultant }},\n", encoding="utf-8")
    checks = {c.name: c for c in run_checks(cfg, tmp_path / "l.db")}
    assert checks["templates"].ok and "practice folder: consultation-request" in checks["templates"].detail


def test_doctor_fails_on_a_broken_letterhead_and_exits_1(tmp_path):
    (tmp_path / "lh.docx").write_bytes(b"not a zip at all")
    write_cfg(tmp_path, '[practice]\nletterhead = "lh.docx"\n')
    res = CliRunner().invoke(main, ["doctor", "--ledger", str(tmp_path / "l.db")])
    assert res.exit_code == 1
    line = next(ln for ln in res.output.splitlines() if " letterhead " in ln)
    assert line.startswith("FAIL") and "not a readable .docx" in line
    assert next(ln for ln in res.output.splitlines() if " templates " in ln).startswith("ok")


def test_doctor_bad_config_names_key_and_stops(tmp_path):
    write_cfg(tmp_path, "[gaps]\nsesions = 3\n")
    res = CliRunner().invoke(main, ["doctor"])
    assert res.exit_code == 1
    assert res.output.startswith("FAIL  config") and "gaps.sesions" in res.output
    assert len(res.output.splitlines()) == 1


def test_doctor_custom_checklist_examples(tmp_path):
    (tmp_path / "ours.toml").write_text(
        'checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "hurry"\ncues = [\'\'\'\\bhurried\\b\'\'\']\n'
        'flag = ["Therapist hurried the client along."]\nok = ["Therapist waited."]\n'
        '[[extend]]\nid = "R3"\nok = ["Cl sobbed about the miscarriage. Writer reassured her that it would all be fine."]\n',
        encoding="utf-8")
    cfg = write_cfg(tmp_path, '[checklists]\nfiles = ["ours.toml"]\n')
    check = {c.name: c for c in run_checks(cfg, tmp_path / "l.db")}["checklists"]
    assert not check.ok and "R3 (ok)" in check.detail
    (tmp_path / "ours.toml").write_text(
        'checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "hurry"\ncues = [\'\'\'\\bhurried\\b\'\'\']\n'
        'flag = ["Therapist hurried the client along."]\nok = ["Therapist waited."]\n', encoding="utf-8")
    check = {c.name: c for c in run_checks(cfg, tmp_path / "l.db")}["checklists"]
    assert check.ok and "1 practice file(s)" in check.detail


def test_doctor_ledger_checks(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    bad = {c.name: c for c in run_checks(None, tmp_path / "afile" / "l.db")}["ledger"]
    assert not bad.ok and "cannot be created" in bad.detail
    led = tmp_path / "l.db"
    assert CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--ledger", str(led)]).exit_code == 0
    good = {c.name: c for c in run_checks(None, led)}["ledger"]
    assert good.ok and "1 run(s) recorded" in good.detail
    Path(str(led) + ".key").unlink()
    lost = {c.name: c for c in run_checks(None, led)}["ledger"]
    assert not lost.ok and "key file is missing" in lost.detail


# -- scan -----------------------------------------------------------------------
def test_scan_writes_summary_and_json(tmp_path):
    res = CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--ledger", "l.db",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["summary"] == str(Path("out") / "summary.xlsx")
    wb = load_workbook(tmp_path / "out" / "summary.xlsx")
    assert wb.sheetnames == ["By clinician", "By week", "Open gaps", "Files"]
    assert wb["By clinician"]["A2"].value == "Dana Whitfield"
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert not any("sobbing" in c or "Alicia" in c for c in cells)


def test_scan_since_limits_the_weekly_view(tmp_path):
    res = CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--no-ledger", "-q",
                                    "--since", "2026-03-09"])
    assert res.exit_code == 0 and res.output == ""
    weeks = [r[0] for r in load_workbook(tmp_path / "out" / "summary.xlsx")["By week"].iter_rows(
        min_row=2, values_only=True) if hasattr(r[0], "year")]
    assert weeks == []  # the only flagged note is in the week of 2026-03-02
    res = CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out2", "--no-ledger", "-q"])
    weeks = [r[0] for r in load_workbook(tmp_path / "out2" / "summary.xlsx")["By week"].iter_rows(
        min_row=2, values_only=True) if hasattr(r[0], "year")]
    assert [w.date().isoformat() for w in weeks] == ["2026-03-02"]


def test_scan_rejects_a_bad_since(tmp_path):
    res = CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--since", "March"])
    assert res.exit_code == 2


def test_gaps_format_json_matches_json_flag(tmp_path):
    CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--ledger", "l.db", "-q"])
    a = CliRunner().invoke(main, ["gaps", "--ledger", "l.db", "--format", "json"])
    b = CliRunner().invoke(main, ["gaps", "--ledger", "l.db", "--json"])
    assert a.exit_code == 0 and json.loads(a.output) == json.loads(b.output) == []


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and re.search(r"notesplugin, version \d+\.\d+", res.output)


# -- progress -------------------------------------------------------------------
class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeFile:
    def __init__(self, n: int):
        self.notes = [object()] * n


def test_progress_waits_a_second_then_draws_files_and_notes():
    now = [0.0]
    out = Tty()
    bar = Progress(4, stream=out, clock=lambda: now[0])
    bar.update(FakeFile(10))
    assert out.getvalue() == ""  # under a second: nothing
    now[0] = 1.5
    bar.update(FakeFile(5))
    bar.finish()
    assert out.getvalue() == "\r[############............] 2/4 files, 15 notes\n"


def test_progress_off_when_not_a_terminal_or_quiet():
    now = [5.0]
    for stream, enabled in ((io.StringIO(), True), (Tty(), False)):
        bar = Progress(1, enabled=enabled, stream=stream, clock=lambda: now.__setitem__(0, now[0] + 2) or now[0])
        bar.update(FakeFile(1))
        bar.finish()
        assert stream.getvalue() == ""


def test_ledger_or_key_open_to_others_warns_and_fails_doctor(tmp_path):
    led = tmp_path / "l.db"
    assert CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--ledger", str(led)]).exit_code == 0
    assert {c.name: c for c in run_checks(None, led)}["ledger"].ok
    for exposed in (Path(str(led) + ".key"), led):
        exposed.chmod(0o644)
        res = CliRunner().invoke(main, ["scan", str(export(tmp_path)), "--out", "out", "--ledger", str(led), "-q"])
        assert res.exit_code == 0 and f"warning: {exposed}: open to other users (mode 0644)" in res.stderr
        check = {c.name: c for c in run_checks(None, led)}["ledger"]
        assert not check.ok and f"chmod 600 {exposed}" in check.detail
        exposed.chmod(0o600)
    assert {c.name: c for c in run_checks(None, led)}["ledger"].ok


def test_a_folder_with_no_exports_is_not_a_quiet_success(tmp_path):
    """First-use review: a scheduled scan pointed at an empty folder exited 0 with 'Scanned 0 file(s)'."""
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert res.exit_code == 2 and "no exports found" in res.output and not (tmp_path / "out").exists(), res.output


def test_a_second_scan_says_the_gaps_still_open(tmp_path):
    """First-use review: on a second scan of the same week the terminal named no gap, which reads as 'no gaps'."""
    samples = Path(__file__).resolve().parents[1] / "sample_notes"
    args = ["scan", str(samples), "--ledger", str(tmp_path / "l.db")]
    first = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0 and "Repeated gap:" in first.output and "still open" not in first.output, first.output
    again = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert again.exit_code == 0 and "Repeated gap:" not in again.output
    n = first.output.count("Repeated gap:")
    assert f"{n} repeated gap{'s' if n != 1 else ''} still open from earlier scans" in again.output, again.output
