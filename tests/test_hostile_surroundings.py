"""What surrounds the exports can be hostile too: a practice's letter templates, its config, a
ledger path that is another program's file, the terminal itself. Each is one line with the
fix, never a hang, a traceback or harmful advice (found by a hostile-input battery, session 21)."""
from __future__ import annotations

import errno
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from notesplugin import cli, sandbox
from notesplugin.cli import Progress, main
from notesplugin.cli_learn import _short
from notesplugin.config import Config, ConfigError, load_config
from notesplugin.doctor import check_templates, sample_gap
from notesplugin.ledger import Ledger, LedgerError
from notesplugin.letters import LetterError, render_letter
from notesplugin.pipeline import _out_error


def _template(tmp_path: Path, body: bytes | str) -> Config:
    tdir = tmp_path / "tpl"
    tdir.mkdir(exist_ok=True)
    data = body if isinstance(body, bytes) else body.encode()
    (tdir / "consultation-request.md.j2").write_bytes(data)
    return Config(templates_dir=tdir)


def test_a_template_that_loops_without_end_is_stopped_and_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.5)
    cfg = _template(tmp_path, "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")
    start = time.monotonic()
    with pytest.raises(LetterError, match=r"consultation-request\.md\.j2: took over 0\.5 s to render"):
        render_letter(sample_gap(), cfg)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("body, said", [
    ("{{ 'x' * 1000000000 }}", "a repeated value over 200,000 characters"),
    ("{{ (range(100000)|join(',')) * 20000 }}", "a repeated value over 200,000 characters"),
    ("{% for a in range(100000) %}**[[[{{ a }}]]]**{% endfor %}", "the letter is over 200,000 characters"),
    ("{{ 2 ** 100000000 }}", "a power above 1024"),
])
def test_a_template_that_would_write_megabytes_is_refused(tmp_path, body, said):
    with pytest.raises(LetterError) as err:
        render_letter(sample_gap(), _template(tmp_path, body))
    assert said in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("body", [
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% include 'consultation-request.md.j2' %}",
])
def test_a_template_that_calls_itself_is_named_in_scan_and_doctor(tmp_path, body):
    cfg = _template(tmp_path, body)
    with pytest.raises(LetterError, match="calls itself without end"):
        render_letter(sample_gap(), cfg)
    check = check_templates(cfg)
    assert not check.ok and "calls itself without end" in check.detail


def test_a_template_that_is_not_utf8_says_so(tmp_path):
    cfg = _template(tmp_path, b"Dear colleague \xff\xfe,\n")
    with pytest.raises(LetterError, match="is not UTF-8 text; save it as UTF-8"):
        render_letter(sample_gap(), cfg)


def test_a_missing_templates_folder_is_never_the_builtin_one_in_silence(tmp_path):
    for where in (tmp_path / "no-such-folder", tmp_path / "a-file"):
        if where.name == "a-file":
            where.write_text("not a folder")
        with pytest.raises(LetterError, match="templates folder not found"):
            render_letter(sample_gap(), Config(templates_dir=where))


def test_the_builtin_templates_still_render():
    text = render_letter(sample_gap(), Config())
    assert "Dear" in text and len(text) < sandbox.MAX_CHARS


def test_a_gap_window_past_a_lifetime_is_a_config_error(tmp_path):
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text("[gaps]\nwindow_weeks = 9223372036854775807\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'gaps.window_weeks' must be a whole number from 1 to 520"):
        load_config(cfg)


def test_another_programs_file_as_the_ledger_is_named_not_advised_deleted(tmp_path):
    photos = tmp_path / "photos.db"
    with sqlite3.connect(photos) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # a check must leave no -wal or -shm beside it
        conn.execute("CREATE TABLE albums (id INTEGER, name TEXT)")
    conn.close()
    noise = tmp_path / "noise.sqlite3"
    noise.write_bytes(b"\x00\x17 not a database at all " * 10)
    folder = tmp_path / "folder.sqlite3"
    folder.mkdir()
    for path, said in ((photos, "another program's SQLite database"), (noise, "not an SQLite database"),
                       (folder, "is a folder, not a ledger file")):
        before = path.read_bytes() if path.is_file() else None
        with pytest.raises(LedgerError) as err:
            Ledger(path)
        assert said in str(err.value) and "delete" not in str(err.value)
        assert (path.read_bytes() if path.is_file() else None) == before
    assert not (tmp_path / "photos.db.key").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.sqlite3", "noise.sqlite3", "photos.db"]


def test_a_real_ledger_still_opens_after_the_check(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as led:
        runs = led.count("runs")
    with Ledger(path, create=False) as led:
        assert led.count("runs") == runs == 0


def test_a_ledger_url_of_another_kind_is_refused_before_any_folder_is_made(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    res = CliRunner().invoke(main, ["scan", "in", "--ledger", "mysql://dana@127.0.0.1/notes"])
    assert res.exit_code == 2 and "'mysql://' is not a ledger this program can use" in res.output
    assert not (tmp_path / "mysql:").exists()


def test_a_bad_since_date_is_a_usage_error_in_gaps_as_in_scan(tmp_path):
    Ledger(tmp_path / "l.sqlite3").close()
    for ledger in ("l.sqlite3", "none-yet.sqlite3"):  # said before the ledger is looked for
        res = CliRunner().invoke(main, ["gaps", "--since", "2026-13-45", "--ledger", str(tmp_path / ledger)])
        assert res.exit_code == 2 and "'2026-13-45' is not a date" in res.output


def test_progress_without_a_stderr_stays_quiet(monkeypatch):
    # Under cron or a daemon started with stderr closed, Python's sys.stderr is None.
    monkeypatch.setattr(sys, "stderr", None)
    p = Progress(3)
    assert not p.enabled
    p.update(type("R", (), {"notes": [1, 2]})())  # nothing to draw on, nothing raised


def test_a_full_disk_behind_stdout_is_one_line_not_a_traceback(monkeypatch, capsys):
    class Full:
        def write(self, _):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def isatty(self):
            return False
    monkeypatch.setattr(sys, "argv", ["notesplugin", "--version"])
    monkeypatch.setattr(sys, "stdout", Full())
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == 1
    assert "cannot write to the terminal or the file it was sent to (No space left on device)" in capsys.readouterr().err


def test_a_no_space_output_folder_says_space_not_permissions(tmp_path):
    msg = _out_error(tmp_path, OSError(errno.ENOSPC, "No space left on device"))
    assert "no space left on the disk" in msg and "permissions" not in msg


def test_a_huge_correction_is_echoed_cut_to_a_line():
    line = "row 4: '" + "x" * 100_000 + "'"
    assert len(_short(line)) < 260 and _short(line).endswith("(100,009 characters)")
    assert _short("row 2: 'not'") == "row 2: 'not'"
