"""History across runs: an embedded sqlite3 ledger of findings, never note text.

Decisions (documented here because other modules rely on them):
- note key: HMAC of (file *name*, note_id). Re-scanning the same export finds
  the same keys, so nothing is recorded twice; a key whose text hash or checklist
  version changed has its old findings replaced.
- session: (clinician, client hash, session date); a note with no client name
  stands alone as its own session. Gaps count distinct sessions, so the same
  note arriving again in a differently named weekly export cannot inflate a gap.
- clients, note keys and note texts are stored only as keyed HMAC-SHA256 hashes;
  the key is 32 random bytes in a 0600 file next to the ledger, created once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .fileio import ensure_dir
from .model import Finding, Note


class LedgerError(Exception):
    """One line: the ledger file and the fix."""


MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, checklist_version TEXT NOT NULL,
        notes_seen INTEGER NOT NULL, notes_new INTEGER NOT NULL, notes_changed INTEGER NOT NULL);
    CREATE TABLE clinicians (key TEXT PRIMARY KEY, display TEXT NOT NULL);
    CREATE TABLE notes (
        note_key TEXT PRIMARY KEY, clinician_key TEXT NOT NULL, client_hash TEXT NOT NULL,
        session_date TEXT, text_hash TEXT NOT NULL, checklist_version TEXT NOT NULL,
        run_id TEXT NOT NULL);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY, note_key TEXT NOT NULL REFERENCES notes(note_key) ON DELETE CASCADE,
        clinician_key TEXT NOT NULL, client_hash TEXT NOT NULL, session_date TEXT,
        checklist TEXT NOT NULL, item TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
        topic TEXT, checklist_version TEXT NOT NULL, run_id TEXT NOT NULL);
    CREATE INDEX findings_gap ON findings (clinician_key, topic);
    CREATE INDEX findings_note ON findings (note_key);
    CREATE TABLE letters (
        id INTEGER PRIMARY KEY, clinician_key TEXT NOT NULL, topic TEXT NOT NULL,
        kind TEXT NOT NULL, sessions TEXT NOT NULL, path TEXT NOT NULL,
        written_at TEXT NOT NULL, run_id TEXT);
    CREATE INDEX letters_gap ON letters (clinician_key, topic, kind);
    """,
    # 2: the ledger knows its key's fingerprint, so a wrong key file is refused, not used
    """
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

# Credentials and titles removed from clinician names (compared letters-only, upper case).
CREDENTIALS = frozenset("""
LPC LPCC LPCS LPCI LCPC LMHC LMHCA LCMHC LCSW LCSWC LCSWR LICSW LISW LISWS LMSW LSW MSW BSW
LMFT LMFTA AMFT MFT LAMFT LMFTS PSYD PHD EDD MD DO MA MS MED MC MSC MFA NCC ACS CADC LADC LCADC
LCDC CAC CASAC CSAC LAC LPA LP LPE APRN PMHNP NP RN BCBA DMFT DSW ABPP CRC LCAT ATR LPCA
""".split())
_TITLES = frozenset({"DR", "MR", "MRS", "MS", "MX", "MISS"})


def _letters(token: str) -> str:
    return re.sub(r"[^A-Za-z]", "", token)


def _is_credential(token: str) -> bool:
    # "Ma" or "Do" written like a name part stays a name; "MA", "PsyD", "Ph.D." go.
    word = _letters(token)
    return bool(word) and word.upper() in CREDENTIALS and token != token.capitalize()


def normalize_clinician(name: str) -> tuple[str, str]:
    """(key, display) so 'Dana Whitfield, LPC', 'WHITFIELD, DANA', 'dana whitfield' are one person."""
    raw = unicodedata.normalize("NFKC", name or "").strip()
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    kept: list[list[str]] = []
    for part in parts:
        tokens = part.split()
        while tokens and len(tokens) > (0 if kept else 1) and _is_credential(tokens[-1]):
            tokens.pop()  # trailing credentials: "Dana Whitfield LPC"
        if tokens and not (kept and all(_is_credential(t) for t in tokens)):
            kept.append(tokens)
    if len(kept) == 2:  # "Last, First"
        kept = [kept[1], kept[0]]
    tokens = [t for part in kept for t in part]
    while len(tokens) > 1 and _letters(tokens[0]).upper() in _TITLES and (tokens[0].endswith(".") or len(tokens) > 2):
        tokens.pop(0)  # "Dr. Dana Whitfield"
    words = [t.strip(".") for t in tokens if t.strip(".")]
    key = " ".join(unicodedata.normalize("NFKD", w).casefold() for w in words)
    key = "".join(ch for ch in key if not unicodedata.combining(ch))
    if _one_case(raw):  # "WHITFIELD, DANA" or "dana whitfield": make the display readable
        words = [w.title() for w in words]
    return key, " ".join(words)


def _one_case(text: str) -> bool:
    return text.upper() == text or text.lower() == text


def _norm_client(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().replace(".", " ").split())


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass
class RunSummary:
    run_id: str
    notes_seen: int = 0
    notes_new: int = 0
    notes_changed: int = 0
    notes_unchanged: int = 0
    findings_recorded: int = 0
    undated_notes: int = 0  # recorded, but a note without a date never counts toward a gap

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StoredFinding:
    note_key: str
    clinician_key: str
    client_hash: str
    session_date: str | None
    checklist: str
    item: str
    name: str
    status: str
    topic: str | None

    @property
    def session_key(self) -> str:
        return session_key(self.session_date, self.client_hash, self.note_key)


def session_key(date: str | None, client_hash: str, note_key: str) -> str:
    return f"{date or '-'}|{client_hash or 'note:' + note_key}"


@dataclass(frozen=True)
class LetterRecord:
    clinician_key: str
    topic: str
    kind: str
    sessions: frozenset[str]
    path: str
    written_at: str


def key_fingerprint(key: bytes) -> str:
    """Names a key without revealing it: the same on every machine holding the same key file."""
    return hashlib.sha256(b"notesplugin ledger key\x00" + key).hexdigest()[:32]


def _key_path(db: Path) -> Path:
    return db.with_name(db.name + ".key")


def _load_or_create_key(db: Path, db_existed: bool, mode: int) -> bytes:
    kp = _key_path(db)
    if kp.exists():
        data = kp.read_bytes()
        if len(data) != 32:
            raise LedgerError(f"{kp}: ledger key file is damaged; restore it from a backup or delete the ledger to start over")
        return data
    if db_existed:
        raise LedgerError(f"{kp}: the ledger's key file is missing; restore it from a backup or delete {db.name} to start over")
    fd, tmp = tempfile.mkstemp(prefix=f".{kp.name}.", dir=kp.parent)
    try:
        os.write(fd, secrets.token_bytes(32))
        os.fchmod(fd, mode)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, kp)  # atomic and refuses to overwrite: two first scans agree on one key
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return kp.read_bytes()


def exposure_warnings(*paths: Path) -> list[str]:
    """One line per ledger or key file that others on the machine may open: hashes keyed by a
    readable key can be recomputed from a guessed client name."""
    out = []
    for p in paths:
        try:
            mode = p.stat().st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077:
            out.append(f"{p}: open to other users (mode {mode:04o}); run 'chmod 600 {p}'")
    return out


class Ledger:
    """`with Ledger(path) as led:` — safe for two scans at once (WAL + busy timeout)."""

    def __init__(self, path: Path | str, *, create: bool = True, file_mode: int = 0o600, dir_mode: int = 0o700):
        self.path = Path(path).expanduser()
        existed = self.path.exists()
        if not existed and not create:
            raise LedgerError(f"{self.path}: no ledger here yet; run a scan first or pass the right --ledger")
        try:
            ensure_dir(self.path.parent, dir_mode)
            if not existed:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, file_mode))
            self._key = _load_or_create_key(self.path, existed and self.path.stat().st_size > 0, file_mode)
            self.warnings = exposure_warnings(self.path, _key_path(self.path))
            self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout = 60000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._check_key()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger ({exc}); check the file or pass another --ledger") from None
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot create the ledger ({exc.strerror}); check the folder's permissions") from None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def letters_lock(self) -> Iterator[None]:
        """Hold the ledger's write lock while gaps are read and letters written, so two scans
        crossing a threshold at once write one letter. Letters recorded before a failure stay
        recorded: each record stands for a file already written."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    # -- schema ---------------------------------------------------------------
    def _migrate(self) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in c.execute("SELECT version FROM migrations")}
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for stmt in sql.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT INTO migrations VALUES (?, ?)", (version, _now()))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def _check_key(self) -> None:
        """The first key used is the ledger's key; another one would re-record every note under new hashes."""
        c = self.conn
        mine = key_fingerprint(self._key)
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("INSERT INTO meta (name, value) VALUES ('key_fingerprint', ?) ON CONFLICT (name) DO NOTHING",
                      (mine,))
            stored = c.execute("SELECT value FROM meta WHERE name = 'key_fingerprint'").fetchone()[0]
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        if stored != mine:
            raise LedgerError(f"{_key_path(self.path)}: not this ledger's key (fingerprint {mine[:12]}, the ledger "
                              f"expects {stored[:12]}); restore the ledger's own key file from a backup")

    def schema_version(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(version), 0) FROM migrations").fetchone()[0]

    # -- hashing --------------------------------------------------------------
    def _h(self, kind: str, *parts: str) -> str:
        msg = "\x1f".join((kind, *parts)).encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def client_hash(self, client: str) -> str:
        norm = _norm_client(client)
        return self._h("client", norm) if norm else ""

    def note_key(self, file: str, note_id: str) -> str:
        return self._h("note", Path(file).name, str(note_id))

    def text_hash(self, text: str) -> str:
        return self._h("text", text)

    def session_key_of(self, note: Note) -> str:
        return session_key(note.date, self.client_hash(note.client), self.note_key(note.file, note.note_id))

    # -- writing --------------------------------------------------------------
    def record_scan(self, notes: Iterable[Note], findings: Iterable[Finding], checklist_version: str = "1",
                    run_id: str | None = None) -> RunSummary:
        """Record one scan in one transaction; unchanged notes are left as they are."""
        notes = list(notes)
        summary = RunSummary(run_id or new_run_id())
        by_note: dict[tuple[str, str], list[Finding]] = {}
        for f in findings:
            by_note.setdefault((Path(f.file).name, str(f.note_id)), []).append(f)
        known = {(Path(n.file).name, str(n.note_id)) for n in notes}
        # Findings whose note was not passed in still get recorded, from their own fields.
        orphans = [Note(note_id=nid, file=fname, text="", clinician=fs[0].clinician, client=fs[0].client,
                        date=fs[0].date) for (fname, nid), fs in by_note.items() if (fname, nid) not in known]
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for note in notes + orphans:
                self._record_note(note, by_note.get((Path(note.file).name, str(note.note_id)), []),
                                  checklist_version, summary)
            c.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                      (summary.run_id, _now(), checklist_version, summary.notes_seen, summary.notes_new,
                       summary.notes_changed))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return summary

    def _record_note(self, note: Note, fs: list[Finding], version: str, summary: RunSummary) -> None:
        c = self.conn
        summary.notes_seen += 1
        raw_name = note.clinician or (fs[0].clinician if fs else "")
        ckey, display = normalize_clinician(raw_name)
        nkey = self.note_key(note.file, note.note_id)
        thash = self.text_hash(note.text)
        row = c.execute("SELECT text_hash, checklist_version FROM notes WHERE note_key = ?", (nkey,)).fetchone()
        if row is not None and tuple(row) == (thash, version):
            summary.notes_unchanged += 1
            return
        if row is None:
            summary.notes_new += 1
        else:
            summary.notes_changed += 1
            c.execute("DELETE FROM findings WHERE note_key = ?", (nkey,))
        if not note.date:
            summary.undated_notes += 1
        chash = self.client_hash(note.client or (fs[0].client if fs else ""))
        date = note.date or (fs[0].date if fs else None)
        if ckey:
            # The latest spelling wins, except that ALL CAPS / all lower never replaces a mixed-case one.
            verb = "INSERT OR IGNORE" if _one_case(raw_name) else "INSERT OR REPLACE"
            c.execute(f"{verb} INTO clinicians VALUES (?, ?)", (ckey, display))
        c.execute("INSERT OR REPLACE INTO notes VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (nkey, ckey, chash, date, thash, version, summary.run_id))
        for f in fs:
            c.execute("INSERT INTO findings (note_key, clinician_key, client_hash, session_date, checklist, item,"
                      " name, status, topic, checklist_version, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (nkey, ckey, chash, date, f.checklist, f.item, f.name, f.status, f.topic, version,
                       summary.run_id))
            summary.findings_recorded += 1

    def record_letter(self, clinician_key: str, topic: str, kind: str, sessions: Iterable[str], path: Path | str,
                      run_id: str | None = None) -> None:
        self.conn.execute("INSERT INTO letters (clinician_key, topic, kind, sessions, path, written_at, run_id)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (clinician_key, topic, kind, json.dumps(sorted(sessions)), str(path), _now(), run_id))

    # -- reading --------------------------------------------------------------
    def findings(self, clinician_key: str | None = None, topic: str | None = None) -> list[StoredFinding]:
        sql = ("SELECT note_key, clinician_key, client_hash, session_date, checklist, item, name, status, topic"
               " FROM findings WHERE 1=1")
        args: list[str] = []
        if clinician_key is not None:
            sql += " AND clinician_key = ?"
            args.append(clinician_key)
        if topic is not None:
            sql += " AND topic = ?"
            args.append(topic)
        return [StoredFinding(*r) for r in self.conn.execute(sql + " ORDER BY session_date, id", args)]

    def clinicians(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, display FROM clinicians"))

    def letters(self, clinician_key: str, topic: str, kind: str | None = None) -> list[LetterRecord]:
        sql = "SELECT clinician_key, topic, kind, sessions, path, written_at FROM letters WHERE clinician_key = ? AND topic = ?"
        args = [clinician_key, topic]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        return [LetterRecord(r[0], r[1], r[2], frozenset(json.loads(r[3])), r[4], r[5])
                for r in self.conn.execute(sql + " ORDER BY id", args)]

    def count(self, table: str) -> int:
        if table not in {"runs", "notes", "findings", "letters", "clinicians"}:
            raise ValueError(table)
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
