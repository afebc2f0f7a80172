from __future__ import annotations

import stat
import threading

import pytest

from notesplugin.ledger import MIGRATIONS, Ledger, LedgerError, normalize_clinician
from notesplugin.model import Finding, Note


def note(nid, clinician="Dana Whitfield, LPC", client="Alicia Moreno", day="2026-01-08",
         text="Alicia cried about her mother; writer changed the subject.", file="week1.docx"):
    return Note(note_id=nid, file=file, text=text, clinician=clinician, client=client, date=day)


def flag(n, item="R1", topic="grief", status="flagged"):
    return Finding(n.note_id, n.file, "rescuing", item, "redirect", status, topic, "changed the subject",
                   0, 5, {}, clinician=n.clinician, client=n.client, date=n.date)


@pytest.mark.parametrize("name", ["Dana Whitfield, LPC", "Dana Whitfield LPC", "WHITFIELD, DANA", "dana whitfield",
                                  "Dr. Dana Whitfield, PhD", "Whitfield, Dana, LPC, NCC", " Dana  Whitfield "])
def test_clinician_spellings_are_one_person(name):
    assert normalize_clinician(name)[0] == "dana whitfield"


def test_name_parts_that_look_like_credentials_stay():
    assert normalize_clinician("Lin Ma")[0] == "lin ma"
    assert normalize_clinician("Priya Raghunath, PsyD") == ("priya raghunath", "Priya Raghunath")


def test_files_are_private_and_schema_migrated(tmp_path):
    path = tmp_path / "sub" / "ledger.sqlite3"
    with Ledger(path) as led:
        assert led.schema_version() == len(MIGRATIONS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = path.with_name(path.name + ".key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    before = key.read_bytes()
    with Ledger(path) as led:  # reopening neither re-applies migrations nor makes a new key
        assert led.conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    assert key.read_bytes() == before


def test_no_note_text_or_client_name_stored(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    n = note("n1")
    with Ledger(path) as led:
        led.record_scan([n], [flag(n)], "1")
        led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"Alicia", b"Moreno", b"cried", b"changed the subject", b"week1"):
        assert secret not in blob


def test_rerun_records_nothing_twice(tmp_path):
    notes = [note("n1"), note("n2", day="2026-01-15")]
    found = [flag(notes[0]), flag(notes[1], "R3")]
    with Ledger(tmp_path / "l.db") as led:
        first = led.record_scan(notes, found, "1")
        second = led.record_scan(notes, found, "1")
        assert (first.notes_new, first.findings_recorded) == (2, 2)
        assert (second.notes_new, second.notes_changed, second.notes_unchanged, second.findings_recorded) == (0, 0, 2, 0)
        assert led.count("findings") == 2 and led.count("notes") == 2


def test_edited_note_replaces_its_findings(tmp_path):
    n = note("n1")
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan([n], [flag(n, "R1"), flag(n, "R3")], "1")
        edited = note("n1", text="Alicia cried about her mother; writer stayed with her grief.")
        s = led.record_scan([edited], [flag(edited, "R4")], "1")
        assert s.notes_changed == 1
        assert [f.item for f in led.findings()] == ["R4"]


def test_new_checklist_version_rechecks_unchanged_text(tmp_path):
    n = note("n1")
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan([n], [flag(n, "R1")], "1")
        assert led.record_scan([n], [], "2").notes_changed == 1
        assert led.findings() == []


def test_record_scan_is_one_transaction(tmp_path):
    good, bad = note("n1"), note("n2")
    broken = Finding("n2", bad.file, "rescuing", None, "x", "flagged", "grief", "", 0, 0, {})  # item NOT NULL
    with Ledger(tmp_path / "l.db") as led:
        with pytest.raises(Exception):
            led.record_scan([good, bad], [flag(good), broken], "1")
        assert led.count("notes") == 0 and led.count("findings") == 0 and led.count("runs") == 0


def test_two_scans_at_once_both_finish(tmp_path):
    path = tmp_path / "l.db"
    Ledger(path).close()
    errors: list[Exception] = []

    def scan(prefix):
        try:
            with Ledger(path) as led:
                for i in range(15):
                    n = note(f"{prefix}{i}", file=f"{prefix}.docx", day=f"2026-01-{i + 1:02d}")
                    led.record_scan([n], [flag(n)], "1")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(path) as led:
        assert led.count("findings") == 30 and led.count("runs") == 30


def test_missing_key_is_a_one_line_error(tmp_path):
    path = tmp_path / "l.db"
    with Ledger(path) as led:
        led.record_scan([note("n1")], [], "1")
    path.with_name("l.db.key").unlink()
    with pytest.raises(LedgerError) as err:
        Ledger(path)
    assert "\n" not in str(err.value) and "key" in str(err.value)


def test_open_without_create_needs_an_existing_ledger(tmp_path):
    with pytest.raises(LedgerError, match="run a scan first"):
        Ledger(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_same_client_hash_across_spellings(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        assert led.client_hash("Alicia M.") == led.client_hash("alicia  m")
        assert led.client_hash("Alicia M.") != led.client_hash("Alicia N.")
        assert led.client_hash("") == ""


def test_another_key_is_refused(tmp_path):
    # A restored backup of the wrong key file would record every note again under new hashes.
    path = tmp_path / "l.db"
    with Ledger(path) as led:
        led.record_scan([note("n1")], [], "1")
    kp = path.with_name("l.db.key")
    kp.write_bytes(bytes(32))
    with pytest.raises(LedgerError) as err:
        Ledger(path)
    msg = str(err.value)
    assert "\n" not in msg and "not this ledger's key" in msg and "restore" in msg


def test_ledger_commands_on_a_file(tmp_path):
    from click.testing import CliRunner

    from notesplugin.cli import main

    a, b = tmp_path / "a.db", tmp_path / "b.db"
    with Ledger(a) as led:
        led.record_scan([note("n1"), note("n2", day="2026-01-15")], [flag(note("n1"))], "1")
    run = CliRunner().invoke
    assert "schema already current" in run(main, ["ledger", "migrate", "--ledger", str(a)]).output
    res = run(main, ["ledger", "export", str(tmp_path / "x.jsonl"), "--ledger", str(a)])
    assert res.exit_code == 0 and "2 notes" in res.output
    assert stat.S_IMODE((tmp_path / "x.jsonl").stat().st_mode) == 0o600
    refused = run(main, ["ledger", "import", str(tmp_path / "x.jsonl"), "--ledger", str(b)])
    assert refused.exit_code == 1 and "exported under another key" in refused.output
    # the refused import left no empty ledger and no new key behind, and said what to do
    assert not b.exists() and not b.with_name("b.db.key").exists()
    assert "copy the exporting ledger's key file to" in refused.output, refused.output
    b.with_name("b.db.key").write_bytes(a.with_name("a.db.key").read_bytes())
    b.with_name("b.db.key").chmod(0o600)
    first = run(main, ["ledger", "import", str(tmp_path / "x.jsonl"), "--ledger", str(b)])
    again = run(main, ["ledger", "import", str(tmp_path / "x.jsonl"), "--ledger", str(b)])
    assert "2 notes, 1 findings" in first.output and "0 notes, 0 findings" in again.output, first.output
