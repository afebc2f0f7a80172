"""The same ledger scenarios on SQLite (the default) and on a real PostgreSQL server."""
from __future__ import annotations

import pytest

from notesplugin.ledger import MIGRATIONS
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
