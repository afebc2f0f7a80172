"""Glue for the scan: record it, find repeated gaps, write letters for new or grown ones."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .config import Config
from .gaps import Gap, current_gaps
from .ledger import Ledger, RunSummary
from .letters import LetterFiles, excerpts_for, write_letter
from .model import Finding, Note

AUTO_KIND = "consultation-request"


@dataclass
class HistoryResult:
    run: RunSummary
    gaps: list[Gap] = field(default_factory=list)  # every current gap
    new_gaps: list[Gap] = field(default_factory=list)  # crossed the threshold for the first time
    letters: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"run": self.run.to_dict(), "gaps": [g.to_dict() for g in self.gaps],
                "new_gaps": [{"clinician": g.clinician, "topic": g.topic} for g in self.new_gaps],
                "letters": self.letters}


def after_scan(notes: list[Note], findings: list[Finding], config: Config, out_dir: Path, *,
               ledger_path: Path | None = None, checklist_version: str = "1", include_excerpts: bool = False,
               today: date | None = None) -> HistoryResult:
    """Record the scan; a gap with no letter yet gets one, a gap with new sessions since its letter a follow-up."""
    with Ledger(ledger_path or config.ledger_path(), file_mode=config.file_mode, dir_mode=config.dir_mode) as led:
        run = led.record_scan(notes, findings, checklist_version)
        result = HistoryResult(run)
        for gap in current_gaps(led, config):
            result.gaps.append(gap)
            covered: set[str] = set()
            for rec in led.letters(gap.clinician_key, gap.topic, AUTO_KIND):
                covered |= rec.sessions
            new = gap.session_keys - covered
            if not new:
                continue
            follow_up = bool(covered)
            if not follow_up:
                result.new_gaps.append(gap)
            excerpts = excerpts_for(gap, notes, findings, led.session_key_of) if include_excerpts else None
            files: LetterFiles = write_letter(gap, config, out_dir, AUTO_KIND, follow_up=follow_up,
                                              new_sessions=len(new), excerpts=excerpts, today=today)
            led.record_letter(gap.clinician_key, gap.topic, AUTO_KIND, gap.session_keys, files.docx, run.run_id)
            gap.letter = str(files.docx)
            result.letters.append({"clinician": gap.clinician, "topic": gap.topic, "follow_up": follow_up,
                                   "sessions": len(gap.sessions), **files.to_dict()})
        return result
