"""DIR/summary.xlsx: what a supervisor looks at first.

Sheets: "By clinician" (this scan: clinician x checklist item, counted in notes),
"By week" (flagged vs exempt notes per week, with a native bar chart), "Open
gaps" (from the ledger) and "Files" (per-file status). No note text and no client
names go in: only clinician names, item ids, counts, dates and file names.
"By week" and "Open gaps" cover the ledger's history when a ledger is given
(from `since` on), otherwise this scan only.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .config import Config
from .escape import printable
from .fileio import write_atomic
from .gaps import week_of
from .ledger import normalize_clinician

if TYPE_CHECKING:
    from .pipeline import ScanResult

SHEETS = ("By clinician", "By week", "Open gaps", "Files")
MAX_WEEKS = 520  # a stray date decades off must not make a ten-thousand-row sheet


@dataclass(frozen=True)
class _Hit:
    """One finding reduced to what the summary may show."""
    note: str  # an opaque note identity, never shown
    clinician: str
    date: str | None
    checklist: str
    item: str
    status: str


def write_summary(result: ScanResult, out_dir: Path, config: Config, ledger_path: Path | None = None,
                  since: date | None = None) -> Path:
    """Write out_dir/summary.xlsx atomically and return its path."""
    wb = build_workbook(result, config, ledger_path, since)
    dest = Path(out_dir) / "summary.xlsx"
    write_atomic(dest, lambda tmp: wb.save(str(tmp)), config.file_mode)
    return dest


def build_workbook(result: ScanResult, config: Config, ledger_path: Path | None = None,
                   since: date | None = None) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    scan_hits = [_Hit(f"{f.file}\x1f{f.note_id}", _display(f.clinician), f.date, f.checklist, f.item, f.status)
                 for f in result.findings]
    history, gaps, problem = _history(config, ledger_path, since)
    _by_clinician(wb.create_sheet(SHEETS[0]), result, scan_hits, config)
    week_hits = history if history is not None else scan_hits
    scope = "all scans in the ledger" if history is not None else "this scan only"
    _by_week(wb.create_sheet(SHEETS[1]), week_hits, since, scope)
    _open_gaps(wb.create_sheet(SHEETS[2]), gaps, problem)
    _files(wb.create_sheet(SHEETS[3]), result)
    return wb


def _display(name: str) -> str:
    return normalize_clinician(name)[1] or "(no clinician)"


def _history(config: Config, ledger_path: Path | str | None, since: date | None):
    """(ledger findings as hits, current gaps, why there is no history)."""
    if ledger_path is None:
        return None, [], "No history: this scan did not use a ledger (--no-ledger, or it could not be opened)."
    from .gaps import current_gaps
    from .ledger import Ledger, LedgerError

    try:
        with Ledger(ledger_path, create=False, file_mode=config.file_mode, dir_mode=config.dir_mode,
                    key_path=config.ledger_key) as led:
            names = led.clinicians()
            hits = [_Hit(r.note_key, names.get(r.clinician_key) or r.clinician_key or "(no clinician)",
                         r.session_date, r.checklist, r.item, r.status) for r in led.findings()]
            return hits, current_gaps(led, config, since), ""
    except LedgerError as exc:
        return None, [], f"No history: {exc}"


# -- sheets -------------------------------------------------------------------
def _item_columns(config: Config, hits: list[_Hit]) -> list[tuple[str, str, str]]:
    """(id, name, checklist) in checklist order, plus any id only seen in findings."""
    from .checklists import ChecklistError, load

    try:
        items = [(i.id, i.name, i.checklist) for i in load(config.checklists).items]
    except ChecklistError:
        items = []
    known = {i[0] for i in items}
    items += sorted({(h.item, "", h.checklist) for h in hits if h.item not in known})
    return sorted(items, key=lambda i: (i[2] != "rescuing", i[0]))


def _by_clinician(ws, result: ScanResult, hits: list[_Hit], config: Config) -> None:
    notes: dict[str, set[str]] = defaultdict(set)
    for r in result.files:
        for n in r.notes:
            notes[_display(n.clinician)].add(f"{r.path}\x1f{n.note_id}")
    counts: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    flagged: dict[str, set[str]] = defaultdict(set)
    for h in hits:
        counts[(h.clinician, h.item, h.status)].add(h.note)
        if h.status == "flagged":
            flagged[h.clinician].add(h.note)
    items = _item_columns(config, hits)
    header = ["Clinician", "Notes", "Notes flagged"]
    keys: list[tuple[str, str]] = []
    for iid, name, checklist in items:
        label = f"{iid} {name}".strip()
        if checklist == "rescuing":
            header += [f"{label} flagged", f"{label} exempt"]
            keys += [(iid, "flagged"), (iid, "exempt")]
        else:
            header.append(label)
            keys.append((iid, "present"))
    _header(ws, header)
    for clin in sorted(set(notes) | {h.clinician for h in hits}, key=str.casefold):
        _row(ws, [clin, len(notes.get(clin, ())), len(flagged.get(clin, ()))]
             + [len(counts.get((clin, iid, st), ())) for iid, st in keys])
    _note(ws, "Counts are notes from this scan. Flagged: rescuing outside a crisis. Exempt: rescuing in a note "
              "with a crisis (C1-C5), where stepping in is right. Crisis columns: notes where the crisis is present.")
    _widths(ws, [24, 8, 13] + [11] * len(keys))


def _by_week(ws, hits: list[_Hit], since: date | None, scope: str) -> None:
    weeks: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    undated = 0
    for h in hits:
        try:
            d = date.fromisoformat(h.date) if h.date else None
        except ValueError:
            d = None
        if d is None:
            undated += 1
            continue
        if since and d < since:
            continue
        col = "crisis" if h.checklist == "crisis" else h.status
        weeks[week_of(d)][col].add(h.note)
    _header(ws, ["Week of", "Notes flagged", "Notes exempt", "Notes with a crisis"])
    if weeks:
        first, last = min(weeks), max(weeks)
        if (last - first).days // 7 >= MAX_WEEKS:
            first = last - timedelta(weeks=MAX_WEEKS - 1)
        for k in range((last - first).days // 7 + 1):  # every week, empty ones too: an even time axis
            wk = first + timedelta(weeks=k)  # (counted, not stepped: no step past the last date there is)
            w = weeks.get(wk, {})
            _row(ws, [wk, len(w.get("flagged", ())), len(w.get("exempt", ())), len(w.get("crisis", ()))])
            ws.cell(ws.max_row, 1).number_format = "yyyy-mm-dd"
        n = ws.max_row
        chart = BarChart()
        chart.type = "col"
        chart.title = "Rescuing per week: flagged vs exempt (notes)"
        chart.y_axis.title = "notes"
        chart.x_axis.title = "week of"
        chart.x_axis.number_format = "yyyy-mm-dd"
        chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 hides both axes otherwise
        chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=1, max_row=n), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n))
        chart.width, chart.height = 22, 10
        ws.add_chart(chart, "G2")
    text = f"Scope: {scope}{f', from {since.isoformat()}' if since else ''}. Weeks start on Monday."
    if undated:
        text += f" {undated} finding(s) without a session date are not shown."
    _note(ws, text)
    _widths(ws, [12, 14, 13, 19])


def _open_gaps(ws, gaps: list, problem: str) -> None:
    _header(ws, ["Clinician", "Topic", "Sessions", "First week", "Last week", "Rule met (week of)", "Items",
                 "Discomfort (R7)", "Crisis sessions left out", "Letter"])
    for g in gaps:
        items = ", ".join(f"{i} {g.item_names.get(i, '')}".strip()
                          for i in sorted({i for s in g.sessions for i in s.items}))
        _row(ws, [g.clinician, g.topic, len(g.sessions), week_of(g.sessions[0].date), week_of(g.sessions[-1].date),
                  week_of(g.first_met), items, "yes" if g.has_r7 else "no", g.exempt_left_out, g.letter or "none yet"])
        for c in (4, 5, 6):
            ws.cell(ws.max_row, c).number_format = "yyyy-mm-dd"
    if problem:
        _note(ws, problem)
    elif not gaps:
        _note(ws, "No repeated gaps.")
    else:
        _note(ws, "A gap: the same clinician rescuing on the same topic in repeated sessions (see [gaps] in the "
                  "config). Run 'notesplugin gaps' for the same list in the terminal.")
    _widths(ws, [24, 14, 9, 12, 12, 17, 36, 15, 22, 60])


def _files(ws, result: ScanResult) -> None:
    _header(ws, ["File", "Type", "Status", "Notes", "Notes flagged", "Notes exempt", "Notes with a crisis",
                 "Error", "Warnings", "Annotated copy"])
    for r in result.files:
        def notes_with(pred) -> int:
            return len({f.note_id for f in r.findings if pred(f)})
        _row(ws, [Path(r.path).name, r.kind, "ok" if r.ok else "error", len(r.notes),
                  notes_with(lambda f: f.status == "flagged"), notes_with(lambda f: f.status == "exempt"),
                  notes_with(lambda f: f.checklist == "crisis"), r.error, "; ".join(r.warnings),
                  Path(r.output).name if r.output else ""])
    _widths(ws, [34, 6, 7, 7, 13, 13, 18, 60, 40, 40])


# -- cells --------------------------------------------------------------------
def _header(ws, values: list[str]) -> None:
    _row(ws, values)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"


def _row(ws, values: list[Any]) -> None:
    # File and clinician names come from outside: control characters shown as \xNN, never
    # written raw (openpyxl refuses them, and the whole summary would be lost).
    values = [printable(v) if isinstance(v, str) else v for v in values]
    ws.append(values)
    # From the values, not ws[ws.max_row]: that scans every cell of the sheet, per row (500 files: 0.2 s)
    for col, value in enumerate(values, 1):
        if isinstance(value, str) and value.startswith("="):
            ws.cell(ws.max_row, col).data_type = "s"  # a file name like "=x.csv" stays text, never a formula


def _note(ws, text: str) -> None:
    ws.append([])
    ws.append([printable(text)])
    ws.cell(ws.max_row, 1).font = Font(italic=True)


def _widths(ws, widths: list[int]) -> None:
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
