"""Glue for the scan: record it, find repeated gaps, write letters for new or grown ones."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .config import Config
from .gaps import Gap, current_gaps
from .ledger import Ledger, LedgerError, RunSummary
from .ledger_db import DBError
from .letters import LetterError, LetterFiles, excerpts_for, write_letter
from .model import Finding, Note

AUTO_KIND = "consultation-request"


@dataclass
class HistoryResult:
    run: RunSummary
    gaps: list[Gap] = field(default_factory=list)  # every current gap
    new_gaps: list[Gap] = field(default_factory=list)  # crossed the threshold for the first time
    letters: list[dict] = field(default_factory=list)
    letter_errors: list[str] = field(default_factory=list)  # one line per gap whose letter failed
    warnings: list[str] = field(default_factory=list)  # e.g. a ledger key others can read

    def to_dict(self) -> dict:
        return {"run": self.run.to_dict(), "gaps": [g.to_dict() for g in self.gaps],
                "new_gaps": [{"clinician": g.clinician, "topic": g.topic} for g in self.new_gaps],
                "letters": self.letters, "letter_errors": self.letter_errors, "warnings": self.warnings}


def after_scan(notes: list[Note], findings: list[Finding], config: Config, out_dir: Path, *,
               ledger_path: Path | str | None = None, checklist_version: str = "1", include_excerpts: bool = False,
               today: date | None = None) -> HistoryResult:
    """Record the scan; a gap with no letter yet gets one, a gap with new sessions since its letter a follow-up.

    Raises only when the scan could not be recorded. Once it is, a failure in the
    gaps or letters is reported in result.letter_errors, never as "not recorded"."""
    with Ledger(config.ledger_target(ledger_path), file_mode=config.file_mode, dir_mode=config.dir_mode,
                key_path=config.ledger_key) as led:
        result = HistoryResult(led.record_scan(notes, findings, checklist_version), warnings=list(led.warnings))
        try:
            _letters(led, result, notes, findings, config, out_dir, include_excerpts, today)
        except Exception as exc:  # noqa: BLE001 - the findings are recorded; say exactly that
            result.letter_errors.append(f"letters not written ({_why(exc)}); this scan's findings were recorded")
        return result


def _letters(led: Ledger, result: HistoryResult, notes: list[Note], findings: list[Finding], config: Config,
             out_dir: Path, include_excerpts: bool, today: date | None) -> None:
    run = result.run
    for gap in current_gaps(led, config):
        result.gaps.append(gap)
        # Under the gap's lock two scans crossing its threshold at once write one letter.
        with led.gap_lock(gap.clinician_key, gap.topic):
            covered: set[str] = set()
            recs = led.letters(gap.clinician_key, gap.topic, AUTO_KIND)  # read under the lock
            for rec in recs:
                covered |= rec.sessions
            new = gap.session_keys - covered
            if not new:
                gap.letter = gap.letter or (recs[-1].path if recs else None)  # another scan's, just now
                continue
            follow_up = bool(covered)
            if not follow_up:
                result.new_gaps.append(gap)
            # One gap's letter failing (a template, a full disk, a name no file system takes)
            # must not stop the others: it is named, and the next scan tries it again.
            try:
                excerpts = excerpts_for(gap, notes, findings, led.session_key_of) if include_excerpts else None
                files: LetterFiles = write_letter(gap, config, out_dir, AUTO_KIND, follow_up=follow_up,
                                                  new_sessions=len(new), excerpts=excerpts, today=today)
            except Exception as exc:  # noqa: BLE001 - isolated per gap, reported as one line
                result.letter_errors.append(f"letter for {gap.clinician} / {gap.topic} not written: {_why(exc)}")
                continue
            # recorded in full: `gaps` and the summary are read from other folders than the scan's
            path = str(Path(files.docx).absolute())
            led.record_letter(gap.clinician_key, gap.topic, AUTO_KIND, gap.session_keys, path, run.run_id)
        gap.letter = path
        result.letters.append({"clinician": gap.clinician, "topic": gap.topic, "follow_up": follow_up,
                               "sessions": len(gap.sessions), **files.to_dict()})


def _why(exc: Exception) -> str:
    """One line; only our own errors and OS errors carry vetted messages, others may hold anything."""
    if isinstance(exc, (LetterError, LedgerError, DBError)):
        return str(exc).splitlines()[0]
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return f"internal error {type(exc).__name__}"
