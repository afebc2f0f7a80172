"""The plain records that flow read -> check -> write/record -> letters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Segment:
    """A stretch of a note's text and where it came from in the source file.

    `start`/`end` are offsets into `Note.text`. `location` is format specific
    and JSON-ready, e.g. {"paragraph": 12} (index among all body w:p elements
    in document order) or {"sheet": "Notes", "row": 5, "column": "F"}.
    `offset` is where this segment starts inside that source unit's own text,
    so a writer can turn a note span back into a span of the paragraph/cell.
    """

    start: int
    end: int
    location: dict[str, Any]
    offset: int = 0


@dataclass
class Note:
    note_id: str
    file: str
    text: str
    segments: tuple[Segment, ...] = ()
    clinician: str = ""
    client: str = ""
    date: str | None = None  # ISO yyyy-mm-dd when known
    fields: dict[str, str] = field(default_factory=dict)  # other header fields
    position: int = 0  # order of the note in its file
    # False where the export gave no note id and the reader made one from the row or position:
    # the ledger then also keys the note by its date and client (weekly exports share a name).
    id_given: bool = True

    def locate(self, start: int, end: int) -> list[tuple[Segment, int, int]]:
        """The source pieces covering text[start:end]: (segment, local_start, local_end)."""
        out = []
        for seg in self.segments:
            lo, hi = max(start, seg.start), min(end, seg.end)
            if lo < hi:
                out.append((seg, seg.offset + lo - seg.start, seg.offset + hi - seg.start))
        return out

    def location_of(self, start: int, end: int) -> dict[str, Any]:
        hits = self.locate(start, end)
        return dict(hits[0][0].location) if hits else {}


@dataclass(frozen=True)
class Finding:
    note_id: str
    file: str
    checklist: str  # "rescuing" | "crisis"
    item: str  # R1..R7, C1..C5 or a practice's own id
    name: str
    status: str  # "flagged" | "exempt" | "present"
    topic: str | None
    evidence: str
    start: int
    end: int
    location: dict[str, Any]
    reason: str = ""
    exempt_by: tuple[str, ...] = ()
    clinician: str = ""
    client: str = ""
    date: str | None = None
    made_by: str = "rules"  # "rules", "model" or "rules+model": what found it
    rule: str = ""  # the rule that made it: "R3 cues[2]" (the item's third cue) or "R3 model"
    stage: str = ""  # the engine pass that made it: "crisis-rules", "rescuing-rules", "crisis-model", ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "note_id": self.note_id, "clinician": self.clinician,
            "client": self.client, "date": self.date, "checklist": self.checklist,
            "item": self.item, "name": self.name, "status": self.status, "topic": self.topic,
            "evidence": self.evidence, "start": self.start, "end": self.end,
            "location": self.location, "reason": self.reason, "exempt_by": list(self.exempt_by), "made_by": self.made_by,
            "rule": self.rule, "stage": self.stage,
        }


class InputError(Exception):
    """A file the tool cannot use; the message is one line for the user, with the fix."""


class OutputError(Exception):
    """The output folder cannot be used; one line naming it and the fix (a usage error, exit 2)."""


@dataclass
class ReadResult:
    notes: list[Note]
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0  # notes (or note rows) the reader found but could not use; each has a warning
    source: Any = None  # a notesplugin.sources record: what the writer needs of the input


@dataclass(frozen=True)
class PdfLine:
    """One text line of a PDF page as the reader saw it, in PDF user space (y runs up).

    `xs[i]` is the (left, right, bottom, top) box of character i of `text`, or None for a
    character the reader put in (a space or tab between table cells); `bottom`/`top` span the
    line's font. Characters keep their own height because on a page whose content is drawn
    turned, a line runs up the page."""

    text: str
    xs: tuple[tuple[float, float, float, float] | None, ...]
    bottom: float
    top: float


@dataclass
class PdfSource:
    """Where every character of a PDF's notes sits: a Segment's location {"page": p, "line": k}
    (both 1-based) names lines[(p, k)]. The PDF writer needs only this and the file's bytes."""

    pages: int
    lines: dict[tuple[int, int], PdfLine] = field(default_factory=dict)
    javascript: bool = False  # the input holds JavaScript: never run, left out of the copy
    # Encrypted with no password at all (user and owner both empty): (algorithm, /P permissions),
    # so the copy is encrypted the same way; None: not encrypted.
    encryption: tuple[str, int] | None = None
    digest: str = ""  # sha256 of the bytes read: the writer annotates only those same bytes
