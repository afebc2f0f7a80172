"""The same ledger scenarios on SQLite (the default) and on a real PostgreSQL server."""
from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from notesplugin.config import Config
from notesplugin.gaps import current_gaps, find_gap
from notesplugin.history import after_scan
from notesplugin.ledger import MIGRATIONS, Ledger, LedgerError
from notesplugin.model import Finding, Note


def note(nid, clinician="Dana Whitfield, LPC", client="Alicia Moreno", day="2026-01-08", text="t", file="week1.docx"):
    return Note(note_id=nid, file=file, text=text, clinician=clinician, client=client, date=day)


def flag(n, item="R1", topic="grief", status="flagged"):
    return Finding(n.note_id, n.file, "rescuing", item, "redirect", status, topic, "changed the subject",
                   0, 5, {}, clinician=n.clinician, client=n.client, date=n.date)


def test_schema_current_and_rerun_records_nothing_twice(backend):
    notes = [note("n1"), note("n2", day="2026-01-15")]
    found = [flag(notes[0]), flag(notes[1], "R3")]
    with backend.open() as led:
        assert led.schema_version() == len(MIGRATIONS)
        first = led.record_scan(notes, found, "1")
        second = led.record_scan(notes, found, "1")
        assert (first.notes_new, first.findings_recorded) == (2, 2)
        assert (second.notes_new, second.notes_unchanged, second.findings_recorded) == (0, 2, 0)
        assert led.count("findings") == 2 and led.count("notes") == 2 and led.count("runs") == 2


def test_edited_note_replaces_its_findings(backend):
    n = note("n1")
    with backend.open() as led:
        led.record_scan([n], [flag(n, "R1"), flag(n, "R3")], "1")
        edited = note("n1", text="changed")
        assert led.record_scan([edited], [flag(edited, "R4")], "1").notes_changed == 1
        assert [f.item for f in led.findings()] == ["R4"]


def test_record_scan_is_one_transaction(backend):
    good, bad = note("n1"), note("n2")
    broken = Finding("n2", bad.file, "rescuing", None, "x", "flagged", "grief", "", 0, 0, {})  # item NOT NULL
    with backend.open() as led:
        with pytest.raises(Exception):
            led.record_scan([good, bad], [flag(good), broken], "1")
        assert led.count("notes") == 0 and led.count("findings") == 0 and led.count("runs") == 0
        led.record_scan([good], [flag(good)], "1")  # the connection is usable afterwards
        assert led.count("findings") == 1


def test_another_key_is_refused_with_the_fix(backend, tmp_path):
    with backend.open() as led:
        led.record_scan([note("n1")], [flag(note("n1"))], "1")
    key = backend.key or Path(str(backend.target) + ".key")
    key.write_bytes(bytes(32))
    with pytest.raises(LedgerError) as err:
        backend.open()
    assert "not this ledger's key" in str(err.value) and "\n" not in str(err.value)


def weeks(n, clinician="Dana Whitfield, LPC", start=date(2026, 1, 5), file="week.csv"):
    return [note(str(i), clinician=clinician, day=(start + timedelta(weeks=i)).isoformat(), file=file)
            for i in range(n)]


def test_gaps_and_one_letter_per_gap(backend, tmp_path):
    cfg, out = backend.config, tmp_path / "out"
    two = weeks(2)
    r = after_scan(two, [flag(n) for n in two], cfg, out)
    assert (r.gaps, r.letters) == ([], [])
    three = weeks(3)
    r = after_scan(three, [flag(n) for n in three], cfg, out)
    assert [(g.clinician, g.topic, len(g.sessions)) for g in r.gaps] == [("Dana Whitfield", "grief", 3)]
    assert [x["follow_up"] for x in r.letters] == [False]
    again = after_scan(three, [flag(n) for n in three], cfg, out)
    assert (again.run.findings_recorded, again.letters) == (0, [])
    with backend.open() as led:
        gap = find_gap(led, cfg, "WHITFIELD, DANA", "grief")
        assert gap is not None and gap.letter == r.letters[0]["docx"] and len(led.letters(gap.clinician_key, "grief")) == 1


def test_gap_rule_in_the_database_matches_the_rule(backend):
    """Window edges, R7 and exempt sessions, as gaps.py's docstring states them."""
    d0 = date(2026, 1, 5)
    spread = [note(f"s{i}", day=(d0 + timedelta(days=d)).isoformat()) for i, d in enumerate((0, 28, 56))]  # 8 weeks
    r7 = [note(f"r{i}", clinician="Elena Vasquez-Hart", day=(d0 + timedelta(days=d)).isoformat()) for i, d in enumerate((0, 7))]
    exempt = note("e1", day=(d0 + timedelta(days=60)).isoformat())
    close = [note(f"c{i}", clinician="Marcus Oyelaran", day=(d0 + timedelta(days=d)).isoformat()) for i, d in enumerate((0, 20, 55))]
    found = ([flag(n) for n in spread] + [flag(r7[0], "R7"), flag(r7[1])] + [flag(exempt, status="exempt")]
             + [flag(n, topic="anger") for n in close])
    with backend.open() as led:
        led.record_scan(spread + r7 + [exempt] + close, found, "1")
        got = {(g.clinician, g.topic): g for g in current_gaps(led, backend.config)}
    assert set(got) == {("Elena Vasquez-Hart", "grief"), ("Marcus Oyelaran", "anger")}  # 56 days apart is too far
    assert got[("Elena Vasquez-Hart", "grief")].has_r7 and got[("Marcus Oyelaran", "anger")].first_met == d0 + timedelta(days=55)


def test_two_scans_crossing_a_threshold_at_once_write_one_letter(backend, tmp_path, monkeypatch):
    import notesplugin.history as history

    notes = weeks(3)
    both_writing = threading.Barrier(2, timeout=3)  # without a lock both scans get here together
    real = history.write_letter

    def slow_write(*args, **kwargs):
        try:
            both_writing.wait()
        except threading.BrokenBarrierError:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(history, "write_letter", slow_write)
    results, errors = [], []

    def scan(k):
        try:
            results.append(after_scan(notes, [flag(n) for n in notes], backend.config, tmp_path / f"out{k}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r.letters) for r in results) == [0, 1]
    with backend.open() as led:
        assert len(led.letters("dana whitfield", "grief")) == 1


def test_concurrent_scans_lose_and_double_nothing(backend):
    """Six scans at once, each with its own notes and the same shared ones."""
    shared = weeks(4, file="shared.csv")
    errors = []

    def scan(k):
        try:
            own = weeks(5, clinician=f"Clinician {k}", file=f"own{k}.csv")
            with backend.open() as led:
                led.record_scan(own + shared, [flag(n) for n in own + shared], "1")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with backend.open() as led:
        assert (led.count("notes"), led.count("findings"), led.count("runs")) == (6 * 5 + 4, 6 * 5 + 4, 6)


def test_export_then_import_twice_adds_once(backend, tmp_path):
    from notesplugin.ledger_admin import export_ledger, import_ledger

    solo = tmp_path / "solo" / "ledger.sqlite3"
    solo.parent.mkdir(mode=0o700)
    key = backend.key or Path(str(backend.target) + ".key")
    with backend.open():
        pass  # the target exists, with its key
    shutil.copy(key, str(solo) + ".key")  # the practice adopted this clinician's key
    notes = weeks(3)
    after_scan(notes, [flag(n) for n in notes], replace(Config(), ledger=solo), tmp_path / "solo-out")
    with Ledger(solo) as led:
        export_ledger(led, tmp_path / "solo.jsonl")
    with backend.open() as led:
        first = import_ledger(led, tmp_path / "solo.jsonl")
        second = import_ledger(led, tmp_path / "solo.jsonl")
        assert (first["notes"], first["findings"], first["letters"], first["runs"]) == (3, 3, 1, 1)
        assert set(second.values()) == {0}
        assert [len(g.sessions) for g in current_gaps(led, backend.config)] == [3]
        assert led.count("letters") == 1


def test_import_under_another_key_is_refused(backend, tmp_path):
    from notesplugin.ledger_admin import export_ledger, import_ledger

    with Ledger(tmp_path / "other.sqlite3") as led:
        led.record_scan([note("n1")], [], "1")
        export_ledger(led, tmp_path / "other.jsonl")
    with backend.open() as led, pytest.raises(LedgerError, match="another key"):
        import_ledger(led, tmp_path / "other.jsonl")


def test_a_new_ledger_waits_for_its_switch_to_wal_instead_of_failing(tmp_path):
    """Scans opening a new ledger together: the switch to WAL needs the file to itself, and SQLite
    answers "database is locked" at once, without its busy wait (2 in 200 six-way opens failed)."""
    import sqlite3

    from notesplugin.ledger import _to_wal
    path = tmp_path / "new.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another scan holds the file while we open it
    conn = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        conn.execute("PRAGMA journal_mode = WAL")  # what a plain switch does
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    _to_wal(conn, wait_s=10)
    release.join()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
