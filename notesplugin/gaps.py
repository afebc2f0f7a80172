"""Repeated gaps: the same clinician rescuing on the same topic, again and again.

A gap is (clinician, topic). Only rescuing findings with status "flagged" count
(exempt ones never do; an item with exempt_in_crisis = false, R7, never is).
An item with signals_consultation = true (R7) lowers the bar to
gap_sessions_with_r7 sessions: which items do is checklist data, not code. Sessions are distinct
(clinician, client hash, session date) — see ledger.py. "Within N weeks" means
the first and last session of a window are less than N*7 days apart; the window
runs over session dates, never run dates. Undated notes and notes without a
clinician are kept in the ledger but cannot form a gap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from .config import Config
from .ledger import Ledger, StoredFinding, normalize_clinician


def consultation_items(config: Config) -> frozenset[str]:
    """Ids of the items marked signals_consultation in the checklists the practice uses."""
    key = tuple((str(p), _mtime(p)) for p in config.checklists)
    if key not in _SIGNALS:  # loading compiles every cue (~0.1 s); a scan asks more than once
        from .checklists import load_lenient
        _SIGNALS[key] = frozenset(i.id for i in load_lenient(config.checklists).items if i.signals_consultation)
    return _SIGNALS[key]


_SIGNALS: dict[tuple, frozenset[str]] = {}


def _mtime(path) -> float | None:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None


@dataclass
class GapSession:
    key: str
    date: date
    items: tuple[str, ...]


@dataclass
class Gap:
    clinician: str  # display name
    clinician_key: str
    topic: str
    sessions: list[GapSession]
    first_met: date
    letter: str | None = None
    item_names: dict[str, str] = field(default_factory=dict)
    exempt_left_out: int = 0  # sessions in the gap's period whose rescuing on this topic was crisis-exempt
    signals: frozenset[str] = frozenset()  # the items that signal consultation (see consultation_items)

    @property
    def session_keys(self) -> set[str]:
        return {s.key for s in self.sessions}

    @property
    def has_r7(self) -> bool:
        """The clinician's own signal (R7 or a practice item marked signals_consultation) is in the gap."""
        return any(not self.signals.isdisjoint(s.items) for s in self.sessions)

    def to_dict(self) -> dict:
        return {
            "clinician": self.clinician, "topic": self.topic,
            "sessions": [{"date": s.date.isoformat(), "items": list(s.items)} for s in self.sessions],
            "first_met": self.first_met.isoformat(), "letter": self.letter,
            "items": dict(sorted(self.item_names.items())), "exempt_left_out": self.exempt_left_out,
        }


def week_of(d: date) -> date:
    """The Monday of d's week: letters never show a date finer than this."""
    return d - timedelta(days=d.weekday())


def _sessions(rows: list[StoredFinding], since: date | None) -> list[GapSession]:
    items: dict[str, set[str]] = {}
    dates: dict[str, date] = {}
    for r in rows:
        if r.checklist != "rescuing" or r.status != "flagged" or not r.session_date:
            continue
        try:
            d = date.fromisoformat(r.session_date)
        except ValueError:
            continue  # a date the reader could not normalise; it cannot be windowed
        if since and d < since:
            continue
        items.setdefault(r.session_key, set()).add(r.item)
        dates[r.session_key] = d
    return sorted((GapSession(k, dates[k], tuple(sorted(v))) for k, v in items.items()),
                  key=lambda s: (s.date, s.key))


def _evaluate(sessions: list[GapSession], config: Config,
              signals: frozenset[str]) -> tuple[date | None, list[GapSession]]:
    """(date the rule was first met, the sessions of every window that meets it)."""
    span = config.gap_window_weeks * 7
    first: date | None = None
    members: dict[str, GapSession] = {}
    for end in sorted({s.date for s in sessions}):
        window = [s for s in sessions if s.date <= end and (end - s.date).days < span]
        r7 = any(not signals.isdisjoint(s.items) for s in window)
        if len(window) >= config.gap_sessions or (r7 and len(window) >= config.gap_sessions_with_r7):
            first = first or end
            members.update((s.key, s) for s in window)
    return first, sorted(members.values(), key=lambda s: (s.date, s.key))


def _build(ledger: Ledger, config: Config, ckey: str, topic: str, rows: list[StoredFinding],
           since: date | None, display: str, signals: frozenset[str]) -> Gap | None:
    first, sessions = _evaluate(_sessions(rows, since), config, signals)
    if first is None:
        return None
    lo, hi = sessions[0].date, sessions[-1].date
    names = {r.item: r.name for r in rows if r.status == "flagged" and r.checklist == "rescuing"
             and r.session_key in {s.key for s in sessions}}
    exempt = len({r.session_key for r in rows if r.status == "exempt" and r.checklist == "rescuing"
                  and r.session_date and lo.isoformat() <= r.session_date <= hi.isoformat()})
    letters = ledger.letters(ckey, topic)
    return Gap(display or ckey, ckey, topic, sessions, first, letters[-1].path if letters else None, names, exempt,
               signals)


def current_gaps(ledger: Ledger, config: Config, since: date | None = None) -> list[Gap]:
    """Every (clinician, topic) that meets the repeated-gap rule, sorted by clinician then topic."""
    groups: dict[tuple[str, str], list[StoredFinding]] = {}
    for r in ledger.findings():
        if r.clinician_key and r.topic and r.checklist == "rescuing":
            groups.setdefault((r.clinician_key, r.topic), []).append(r)
    names = ledger.clinicians()
    signals = consultation_items(config)
    gaps = [g for (ck, topic), rows in groups.items()
            if (g := _build(ledger, config, ck, topic, rows, since, names.get(ck, ck), signals)) is not None]
    return sorted(gaps, key=lambda g: (g.clinician_key, g.topic))


def find_gap(ledger: Ledger, config: Config, clinician: str, topic: str, since: date | None = None) -> Gap | None:
    """The current gap for a clinician (any spelling of the name) and topic, or None."""
    ckey, _ = normalize_clinician(clinician)
    rows = [r for r in ledger.findings(ckey, topic) if r.checklist == "rescuing"]
    return (_build(ledger, config, ckey, topic, rows, since, ledger.clinicians().get(ckey, ckey),
                   consultation_items(config)) if rows else None)
