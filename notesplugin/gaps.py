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
from .ledger import Ledger, normalize_clinician
from .ledger_db import FRAGMENTS


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


# One query finds every gap's sessions in the database (a practice ledger is never downloaded):
# sessions = distinct (clinician, topic, date, client) with a flagged rescuing finding; a window
# ends at each session date and holds the sessions less than `span` days before it; a window
# qualifies with `n` sessions, or `n_r7` when one of them has an item that signals consultation. A gap's sessions are those of
# its qualifying windows; its first date met is the earliest qualifying window's end.
_GAP_SQL = """
WITH s AS (
  SELECT clinician_key AS ck, topic, session_date AS d,
         CASE WHEN client_hash = '' THEN 'note:' || note_key ELSE client_hash END AS who,
         MAX(CASE WHEN {signals} THEN 1 ELSE 0 END) AS r7
  FROM findings
  WHERE checklist = 'rescuing' AND status = 'flagged' AND clinician_key <> '' AND topic IS NOT NULL
    AND topic <> '' AND session_date >= ? AND {is_date} {only}
  GROUP BY clinician_key, topic, session_date, CASE WHEN client_hash = '' THEN 'note:' || note_key ELSE client_hash END
),
fl AS (
  -- DISTINCT keeps this a table of its own, joined by an index on all four columns: inlined, the
  -- join below scanned every finding of the clinician and topic for each session (10,000 notes: 2.9 s)
  SELECT DISTINCT clinician_key AS ck, topic, session_date AS d,
         CASE WHEN client_hash = '' THEN 'note:' || note_key ELSE client_hash END AS who, item, name
  FROM findings WHERE checklist = 'rescuing' AND status = 'flagged'
),
w AS (
  SELECT e.ck, e.topic, e.d AS end_d
  FROM (SELECT DISTINCT ck, topic, d FROM s) e
  JOIN s ON s.ck = e.ck AND s.topic = e.topic AND s.d <= e.d AND {days_se} < ?
  GROUP BY e.ck, e.topic, e.d
  HAVING COUNT(*) >= ? OR (MAX(s.r7) = 1 AND COUNT(*) >= ?)
),
m AS (
  SELECT DISTINCT s.ck, s.topic, s.d, s.who FROM s
  JOIN w ON w.ck = s.ck AND w.topic = s.topic AND s.d <= w.end_d AND {days_sw} < ?
)
SELECT m.ck, m.topic, m.d, m.who, f.item, f.name, (SELECT MIN(end_d) FROM w WHERE w.ck = m.ck AND w.topic = m.topic)
FROM m JOIN fl f ON f.ck = m.ck AND f.topic = m.topic AND f.d = m.d AND f.who = m.who
ORDER BY m.ck, m.topic, m.d, m.who, f.item
"""

_EXEMPT_SQL = """
SELECT COUNT(DISTINCT session_date || '|' || CASE WHEN client_hash = '' THEN 'note:' || note_key ELSE client_hash END)
FROM findings WHERE clinician_key = ? AND topic = ? AND checklist = 'rescuing' AND status = 'exempt'
  AND session_date >= ? AND session_date <= ?
"""


def _gap_query(dialect: str, one: bool, signals: int) -> str:
    frag = FRAGMENTS[dialect]
    return _GAP_SQL.format(
        signals=f"item IN ({', '.join('?' * signals)})" if signals else "1 = 0",
        is_date=frag["is_date"].format(col="session_date"),
        only="AND clinician_key = ? AND topic = ?" if one else "",
        days_se=frag["days"].format(a="s.d", b="e.d"),
        days_sw=frag["days"].format(a="s.d", b="w.end_d"))


def _gaps(ledger: Ledger, config: Config, since: date | None, only: tuple[str, str] | None = None) -> list[Gap]:
    span = config.gap_window_weeks * 7
    signals = consultation_items(config)
    args: list = [*sorted(signals), since.isoformat() if since else ""]
    if only:
        args += list(only)
    args += [span, config.gap_sessions, config.gap_sessions_with_r7, span]
    rows = ledger.db.rows(_gap_query(ledger.db.dialect, only is not None, len(signals)), args)
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for r in rows:
        grouped.setdefault((r[0], r[1]), []).append(r)
    names = ledger.clinicians()
    gaps = []
    for (ck, topic), members in grouped.items():
        items: dict[str, set[str]] = {}
        dates: dict[str, date] = {}
        item_names: dict[str, str] = {}
        for _, _, d, who, item, name, _ in members:
            key = f"{d}|{who}"
            items.setdefault(key, set()).add(item)
            dates[key] = date.fromisoformat(d)
            item_names[item] = name
        sessions = sorted((GapSession(k, dates[k], tuple(sorted(v))) for k, v in items.items()),
                          key=lambda s: (s.date, s.key))
        lo, hi = sessions[0].date.isoformat(), sessions[-1].date.isoformat()
        exempt = ledger.db.rows(_EXEMPT_SQL, (ck, topic, lo, hi))[0][0]
        letters = ledger.letters(ck, topic)
        gaps.append(Gap(names.get(ck) or ck, ck, topic, sessions, date.fromisoformat(members[0][6]),
                        letters[-1].path if letters else None, item_names, exempt, signals))
    return sorted(gaps, key=lambda g: (g.clinician_key, g.topic))


def current_gaps(ledger: Ledger, config: Config, since: date | None = None) -> list[Gap]:
    """Every (clinician, topic) that meets the repeated-gap rule, sorted by clinician then topic."""
    return _gaps(ledger, config, since)


def find_gap(ledger: Ledger, config: Config, clinician: str, topic: str, since: date | None = None) -> Gap | None:
    """The current gap for a clinician (any spelling of the name) and topic, or None."""
    ckey, _ = normalize_clinician(clinician)
    plain = " ".join(topic.split()).lower()  # "Grief " is grief (a practice's own topic keeps its spelling)
    found = _gaps(ledger, config, since, (ckey, topic)) or (plain != topic and _gaps(ledger, config, since, (ckey, plain)))
    return found[0] if found else None
