"""Header-row detection and row -> Note for tabular exports (XLSX, XLSM, CSV).

An export may put title lines above the header row, so the first rows are
scanned for the row that best matches the configured column roles. Several
text columns (a main note column and/or SOAP/DAP/BIRP split columns) are all
read and joined with "\n", one Segment per cell.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from notesplugin.config import Config
from notesplugin.dates import full_year
from notesplugin.model import InputError, Note, Segment
from notesplugin.readers.markup import plain_text
from notesplugin.readers.wraps import unwrap

SCAN_ROWS = 30
ROLES = ("note", "note_id", "clinician", "client", "date")
# Split-note section headers (full words), read as note text.
SECTION_WORDS = {"subjective", "objective", "assessment", "plan", "data", "behavior", "behaviour",
                 "intervention", "interventions", "response", "client response",
                 # later text the clinician added to the same note
                 "addendum", "addenda", "addendum text", "addendum note", "late entry"}
# Single-letter section headers count only as a whole set, so a lone "A" column is not text.
LETTER_SETS = ({"s", "o", "a", "p"}, {"d", "a", "p"}, {"b", "i", "r", "p"})
_NOTE_TAILS = {"text", "body", "narrative", "content", "notes"}
_DATE_WORDS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")
_US_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})(?:[ T].*)?$")
_ISO_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T].*)?$")
# "14.03.2026": dots are the day-first convention (de, nl, pl, ru, ...), whatever the practice's order.
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:[ T].*)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")  # an Excel serial stored as text
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
# "March 2, 2026", "Mar. 2nd 2026 10:00 AM"
_MDY_WORDS = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.I)
# "2-Mar-2026", "02-MAR-26", "2 March 2026"
_DMY_WORDS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s-]+([a-z]{3,9})\.?[\s,-]+(\d{4}|\d{2})\b", re.I)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class Formula(str):
    """A formula cell's text ("=SUM(...)"): shown as it is in other columns, never read as note text."""


def norm_header(value: Any) -> str:
    """'Note #' == 'note no.' == 'NOTE NUMBER'; case, punctuation and spaces ignored."""
    words = re.findall(r"[a-z0-9]+|#", str(value).lower())
    return " ".join("no" if w in ("#", "number", "num", "nbr") else w for w in words)


@dataclass
class Layout:
    header_row: int  # 1-based
    headers: list[str]  # header text by 0-based column index ("" when blank)
    roles: dict[str, int] = field(default_factory=dict)  # role -> 0-based column
    text_cols: list[int] = field(default_factory=list)  # note text columns, left to right

    @property
    def score(self) -> int:
        return len(self.roles) + len(self.text_cols)


def role_lookup(config: Config) -> dict[str, tuple[str, int]]:
    """normalized header -> (role, priority); lower priority wins."""
    out: dict[str, tuple[str, int]] = {}
    for role in ROLES:
        for prio, name in enumerate(config.columns.get(role, [])):
            out.setdefault(norm_header(name), (role, prio))
    return out


def _looks_like_note(key: str) -> bool:
    words = key.split()
    return "narrative" in words or (len(words) > 1 and "note" in words[:-1] and words[-1] in _NOTE_TAILS)


# Header words another EHR may use, for a header no configured name matches
# exactly ("Servicing Provider Name", "Client Full Name", "Appointment Date").
_FUZZY = (
    ("note", {"narrative", "documentation", "progress", "note", "notes"},
     {"type", "id", "no", "date", "status", "signed", "count", "template", "title", "author", "by", "code"}),
    ("clinician", {"clinician", "provider", "therapist", "counselor", "counsellor", "practitioner",
                   "staff", "author", "rendering", "servicing", "worker", "psychologist"},
     {"id", "no", "npi", "credential", "credentials", "license", "type", "signature"}),
    ("client", {"client", "patient", "member", "consumer", "individual", "student"},
     {"id", "no", "dob", "birth", "mrn", "age", "gender", "sex", "address", "phone", "email", "account"}),
    ("date", {"date", "dos"},
     {"birth", "dob", "signed", "sign", "due", "created", "modified", "admission", "discharge", "intake"}),
    ("note_id", {"id", "no", "identifier"}, {"client", "patient", "member", "provider", "staff", "npi", "mrn",
                                            "clinician", "therapist", "account", "claim"}),
)


def _fuzzy_role(key: str) -> str | None:
    words = set(key.split())
    for role, want, avoid in _FUZZY:
        if words & want and not words & avoid:
            return role
    return None


def detect_layout(rows: Sequence[Sequence[Any]], config: Config, lookup: dict | None = None) -> Layout | None:
    """The best header row among `rows` (the first rows of a sheet), or None."""
    lookup = lookup if lookup is not None else role_lookup(config)
    extra = {norm_header(n) for n in config.text_columns}
    best: Layout | None = None
    for r, row in enumerate(rows[:SCAN_ROWS], start=1):
        keys = [norm_header(v) if isinstance(v, str) else "" for v in row]
        if not any(keys):
            continue
        layout = Layout(r, [str(v).strip() if isinstance(v, str) else "" for v in row])
        prio: dict[str, int] = {}
        for c, key in enumerate(keys):
            hit = lookup.get(key)
            if hit is None and key and _looks_like_note(key):
                hit = ("note", 10_000)
            if hit is None and key and len(key) <= 40 and _fuzzy_role(key):
                hit = (_fuzzy_role(key), 20_000)  # only when no exact name claims the role
            if hit and (hit[0] not in prio or hit[1] < prio[hit[0]]):
                layout.roles[hit[0]], prio[hit[0]] = c, hit[1]
        letters = {k for k in keys if len(k) == 1}
        letter_ok = any(s <= letters for s in LETTER_SETS)
        note_col = layout.roles.pop("note", None)
        for c, key in enumerate(keys):
            if not key or c in layout.roles.values():
                continue
            # Two columns with the note column's very caption (a note type and the note, both
            # "Note"): both are read, not the first alone, which may hold no prose at all.
            if c == note_col or (note_col is not None and key == keys[note_col]) or key in extra \
                    or key in SECTION_WORDS or (letter_ok and key in letters and any(key in s for s in LETTER_SETS)):
                layout.text_cols.append(c)
        if note_col is not None:
            layout.roles["note"] = note_col
        if layout.text_cols and (best is None or layout.score > best.score):
            best = layout
    return best


def seen_columns(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Short header-like strings of the fullest early row, for an error message.
    Long cells are left out: they may be note text, which never goes in a message."""
    best: list[str] = []
    for row in rows[:SCAN_ROWS]:
        cells = [v.strip() for v in row if isinstance(v, str) and v.strip()]
        if len(cells) > len(best):
            best = cells
    return [c for c in best if _header_like(c)][:20]


def _header_like(cell: str) -> bool:
    # A header is a short label; anything sentence-like may be note text (PHI).
    return len(cell) <= 40 and len(cell.split()) <= 4 and not re.search(r"[.!?,;:\"]", cell)


def no_note_column(name: str, seen: list[str]) -> InputError:
    cols = ", ".join(seen) if seen else "(none)"
    return InputError(f"{name}: no note column found; columns seen: {cols}; "
                      f"map one in notesplugin.toml under [columns] note = [\"Your Column\"]")


def parse_date(value: Any, day_first: bool = False) -> str | None:
    """Excel dates/datetimes, serial numbers and ISO, US or day-first strings -> yyyy-mm-dd.
    "14/03/2026" can only be day-first; "03/04/2026" is read in the practice's order
    (`[practice] dates`, month-first unless it says "day-first"). A year outside 1900-2199
    ("9999-12-31", "0001-01-01": an EHR's placeholder for no date) is no date."""
    got = _parse_date(value, day_first)
    return got if got is None or "1900" <= got[:4] <= "2199" else None


def date_order(value: Any) -> str | None:
    """"day" or "month" for a slashed date only one order can read, "either" for one both can
    ("05/03/2026"), None otherwise (ISO, words, Excel dates, the same day and month)."""
    m = _US_DATE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    a, b = int(m[1]), int(m[2])
    if a > 12 >= b:
        return "day"
    if b > 12 >= a:
        return "month"
    return "either" if a != b and a <= 12 and b <= 12 else None


def _parse_date(value: Any, day_first: bool = False) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20_000 <= value <= 80_000:  # an Excel serial date without a date format (1954..2119)
            return from_excel(value).date().isoformat()
        return None
    if not isinstance(value, str):
        return None
    s = value.strip()
    try:
        m = _ISO_DATE.match(s)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        m = _US_DATE.match(s)
        if m:
            a, b = int(m[1]), int(m[2])
            if a > 12 or (day_first and b <= 12):
                a, b = b, a
            return date(full_year(int(m[3])), a, b).isoformat()
        m = _DOTTED_DATE.match(s)
        if m:
            d, mo = int(m[1]), int(m[2])
            if mo > 12:
                d, mo = mo, d
            return date(full_year(int(m[3])), mo, d).isoformat()
    except ValueError:
        return None
    if _SERIAL.match(s):
        return _parse_date(float(s))
    s2 = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s)
    for fmt in _DATE_WORDS:
        try:
            return datetime.strptime(s2, fmt).date().isoformat()
        except ValueError:
            continue
    return _word_date(_WEEKDAY.sub("", s))


def _word_date(s: str) -> str | None:
    """Month-name dates with an optional time after them."""
    m = _MDY_WORDS.match(s)
    month, day, year = (m[1], m[2], m[3]) if m else (None, None, None)
    if not m:
        m = _DMY_WORDS.match(s)
        if not m:
            return None
        day, month, year = m[1], m[2], m[3]
    name = month.lower()
    if name != "sept" and not any(full.startswith(name) for full in _MONTH_NAMES):
        return None
    y = int(year)
    if len(year) == 2:
        y = full_year(y)
    try:
        return date(y, _MONTHS.index(name[:3]) + 1, int(day)).isoformat()
    except ValueError:
        return None


_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")


def cell_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    text = str(value).strip()
    return text.replace("\x00", "").strip() if "\x00" in text else text  # an exporter's NUL padding


class RowReader:
    """Turns data rows under one header into Notes; counts rows without note text."""

    def __init__(self, layout: Layout, *, file: str, stem: str, sheet: str | None, day_first: bool = False):
        self.layout, self.file, self.stem, self.sheet = layout, file, stem, sheet
        self.day_first = day_first
        self.letters = [get_column_letter(c + 1) for c in range(len(layout.headers))]
        self.skipped = 0
        self.non_text = 0  # text-column cells holding a formula, number or date: a summary sheet's, not notes
        self.headers_again = 0  # the header row once more below (two exports pasted into one)
        self.formula_rows = 0  # rows skipped whose note cell is a formula (its text is not in the file as text)
        self._heads = [(c, " ".join(layout.headers[c].split()).casefold()) for c in layout.text_cols
                       if c < len(layout.headers) and layout.headers[c]]
        # "25/12/2026" proves a file day-first and "12/25/2026" month-first; the dates either way
        # ("05/03/2026") are read in the practice's order, then settled by the file's own proof.
        self._proof: dict[bool, str] = {}
        self._either: dict[int, str] = {}  # id(note) -> its date as written

    def note(self, row: Sequence[Any], row_number: int, position: int) -> Note | None:
        lay = self.layout
        if self._heads and all(c < len(row) and isinstance(row[c], str)
                               and " ".join(row[c].split()).casefold() == h for c, h in self._heads):
            self.headers_again += 1  # not a note: its "clinician" would be the word Clinician
            return None
        parts: list[str] = []
        segs: list[Segment] = []
        pos = 0
        formula = False
        for c in lay.text_cols:
            text = row[c] if c < len(row) else None
            if text is not None and (isinstance(text, Formula) or not isinstance(text, str)):
                self.non_text += 1
                formula = formula or isinstance(text, Formula)
                text = None
            text = cell_str(text).replace("\r\n", "\n").replace("\r", "\n") if text is not None else ""
            if "<" in text or text[:1] == "{":
                text = plain_text(text)  # a web EHR's HTML or JSON: the text it shows
            text = unwrap(text)  # Alt+Enter or a hard wrap inside a sentence is a space
            if not text:
                continue
            if parts:
                pos += 1  # the "\n" between columns
            loc: dict[str, Any] = {"row": row_number, "column": self.letters[c], "header": lay.headers[c]}
            if self.sheet is not None:
                loc = {"sheet": self.sheet, **loc}
            segs.append(Segment(pos, pos + len(text), loc, 0))
            parts.append(text)
            pos += len(text)
        if not parts:
            if any(v is not None and cell_str(v) for v in row):
                self.skipped += 1
                self.formula_rows += formula
            return None

        def get(role: str) -> Any:
            c = lay.roles.get(role)
            return row[c] if c is not None and c < len(row) else None

        fields: dict[str, str] = {}
        used = set(lay.roles.values()) | set(lay.text_cols)
        for c, header in enumerate(lay.headers):
            if c not in used and header and c < len(row) and row[c] is not None:
                fields[header] = cell_str(row[c])
        raw_date = get("date")
        iso = parse_date(raw_date, self.day_first)
        if iso is None and cell_str(raw_date):
            fields["date"] = cell_str(raw_date)
        note_id = given = cell_str(get("note_id"))
        if not note_id:
            note_id = f"{self.stem}:{self.sheet}:{row_number}" if self.sheet is not None else f"{self.stem}:{row_number}"
        note = Note(note_id=note_id, file=self.file, text="\n".join(parts), segments=tuple(segs),
                    clinician=cell_str(get("clinician")), client=cell_str(get("client")), date=iso,
                    fields=fields, position=position, id_given=bool(given))
        order = date_order(raw_date)
        if order == "either":
            self._either[id(note)] = raw_date
        elif order is not None:
            self._proof.setdefault(order == "day", raw_date.strip())
        return note

    def settle_dates(self, notes: list[Note], name: str) -> tuple[list[Note], list[str]]:
        """The notes with their either-way dates in the order the file itself proves, and a
        line saying so; one line too when the file proves both orders (a mixed column)."""
        if not self._either or not self._proof:
            return notes, []
        if len(self._proof) == 2:
            return notes, [f"{name}: the date column mixes day-first ({self._proof[True]}) and month-first "
                           f"({self._proof[False]}) dates; dates that read either way follow [practice] dates"]
        day_first = next(iter(self._proof))
        if day_first == self.day_first:
            return notes, []
        out, example = [], ""
        for n in notes:
            raw = self._either.get(id(n))
            if raw is not None:
                n = replace(n, date=parse_date(raw, day_first))
                example = example or f"{raw.strip()} is {n.date}"
            out.append(n)
        said = "day-first" if day_first else "month-first"
        return out, [f"{name}: dates read {said} ({self._proof[day_first]} in the file can only be {said}, so "
                     f"{example}); if that is wrong, fix the cells or set [practice] dates in notesplugin.toml"]


def unattributed_warning(name: str, notes: Sequence[Note]) -> list[str]:
    """Notes with no readable date or no clinician: their findings cannot join a repeated gap
    (as Word exports say note by note)."""
    out = []
    for role, fix in (("date", "map the date column under [columns] date, or fix the cells"),
                      ("clinician", "map the clinician column under [columns] clinician")):
        lacking = [n for n in notes if not getattr(n, role)]
        if not lacking:
            continue
        first = lacking[0].segments[0].location.get("row") if lacking[0].segments else None
        raw = lacking[0].fields.get(role) if role == "date" else None
        said = f" (row {first}" + (f": {raw[:20]!r} is not a date" if raw else "") + ")" if first else ""
        out.append(f"{name}: {len(lacking)} of {len(notes)} notes have no {role}{said}; they cannot count "
                   f"toward a repeated gap: {fix}")
    return out


def skipped_warning(name: str, skipped: int, headers_again: int = 0, formulas: int = 0) -> list[str]:
    plain = skipped - formulas
    out = [f"{name}: {plain} rows without note text skipped"] if plain else []
    if formulas:
        out.append(f"{name}: {formulas} row(s) skipped whose note cell is a formula, not text; copy the column and "
                   "paste it back as values (Paste Special > Values), then scan again")
    if headers_again:
        out.append(f"{name}: the header row appears {headers_again} more time(s) below the first "
                   "(exports pasted together?); read as headers, not notes")
    return out
