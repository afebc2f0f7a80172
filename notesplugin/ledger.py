"""History across runs: a ledger of findings, never note text, in an embedded SQLite file
(the default) or a practice's PostgreSQL database (ledger_pg.py), with one schema.

Decisions (documented here because other modules rely on them):
- note key: HMAC of (file *name*, note_id). Re-scanning the same export finds
  the same keys, so nothing is recorded twice; a key whose text hash or checklist
  version changed has its old findings replaced.
- session: (clinician, client hash, session date); a note with no client name
  stands alone as its own session. Gaps count distinct sessions, so the same
  note arriving again in a differently named weekly export cannot inflate a gap.
- clients, note keys and note texts are stored only as keyed HMAC-SHA256 hashes;
  the key is 32 random bytes in a 0600 file next to the ledger, created once (a
  practice database: one key file handed to every machine). The ledger stores the
  key's fingerprint and refuses another key: it would re-record every note.
- a ledger file migrates itself when opened; a practice database only by
  `notesplugin ledger migrate`, and a scan against an older schema records nothing.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from .fileio import ensure_dir
from .ledger_db import DBError, PostgresDB, SQLiteDB, sql_for
from .model import Finding, Note


def _to_wal(conn: sqlite3.Connection, wait_s: float = 60.0) -> None:
    """Switch the file to WAL once. The switch needs the file to itself and SQLite answers
    "database is locked" at once, without its busy wait, when scans open a new ledger
    together (measured: 2 in 200 six-way opens); so wait and retry, as busy_timeout would."""
    deadline = time.monotonic() + wait_s
    pause = 0.01
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


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
        id {id}, note_key TEXT NOT NULL REFERENCES notes(note_key) ON DELETE CASCADE,
        clinician_key TEXT NOT NULL, client_hash TEXT NOT NULL, session_date TEXT,
        checklist TEXT NOT NULL, item TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
        topic TEXT, checklist_version TEXT NOT NULL, run_id TEXT NOT NULL);
    CREATE INDEX findings_gap ON findings (clinician_key, topic);
    CREATE INDEX findings_note ON findings (note_key);
    CREATE TABLE letters (
        id {id}, clinician_key TEXT NOT NULL, topic TEXT NOT NULL,
        kind TEXT NOT NULL, sessions TEXT NOT NULL, path TEXT NOT NULL,
        written_at TEXT NOT NULL, run_id TEXT);
    CREATE INDEX letters_gap ON letters (clinician_key, topic, kind);
    """,
    # 2: the ledger knows its key's fingerprint, so a wrong key file is refused, not used
    """
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 3: a practice database maps each login to the clinician whose rows it may read
    # (row-level security, ledger_pg.py); a solo clinician's file leaves it empty.
    """
    CREATE TABLE logins (db_role TEXT PRIMARY KEY, clinician_key TEXT NOT NULL);
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


@functools.lru_cache(maxsize=4096)  # a scan asks for the same few names once a note, twice (ledger, summary)
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


def _refuse_foreign(db: Path) -> None:
    """A folder, or another program's file, given as the ledger is named as such: its missing key
    file would otherwise advise deleting it "to start over"."""
    fix = "point --ledger (or [ledger] path) at the practice's ledger or at a new file name"
    if db.is_dir():
        raise LedgerError(f"{db}: is a folder, not a ledger file; {fix}")
    try:
        with open(db, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise LedgerError(f"{db}: cannot read the ledger ({exc.strerror or type(exc).__name__}); check its permissions") from None
    if not head:
        return  # an empty file: a first scan's, or a file made to hold the ledger
    if head != b"SQLite format 3\x00":
        raise LedgerError(f"{db}: not a notesplugin ledger (not an SQLite database); {fix}")
    try:
        # immutable: only read the file itself, leave no -wal or -shm beside it (a check, not a use)
        conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro&immutable=1", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return  # locked by another scan, or not readable here: the ledger's own opening says which
    except sqlite3.DatabaseError:
        raise LedgerError(f"{db}: a damaged SQLite file, not a readable ledger; restore it from a backup or {fix}") from None
    if tables and not {"runs", "notes", "findings"} <= tables:
        raise LedgerError(f"{db}: another program's SQLite database, not a notesplugin ledger; {fix}")


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


def default_practice_key_path() -> Path:
    import platformdirs
    return Path(platformdirs.user_data_dir("notesplugin")) / "practice-ledger.key"


def _read_practice_key(kp: Path) -> bytes:
    try:
        data = kp.read_bytes()
    except FileNotFoundError:
        raise LedgerError(f"{kp}: the practice's ledger key is missing; copy the key file your practice hands out "
                          "(made by 'notesplugin ledger init') here, name it with --key FILE, or set [ledger] key") from None
    except OSError as exc:
        raise LedgerError(f"{kp}: cannot read the ledger key ({exc.strerror}); check its permissions") from None
    if len(data) != 32:
        raise LedgerError(f"{kp}: ledger key file is damaged; copy it again from the practice's original")
    return data


def create_practice_key(kp: Path, mode: int = 0o600) -> bool:
    """Make the practice key once; True when made now, False when it was there already."""
    ensure_dir(kp.parent, 0o700)
    if kp.exists():
        return False
    _load_or_create_key(kp.with_name(kp.name.removesuffix(".key")), False, mode)
    return True


class Ledger:
    """`with Ledger(path_or_url) as led:` — a file (SQLite, the default) or a practice's PostgreSQL.

    Safe for scans at once: SQLite by WAL and its write lock; PostgreSQL by
    conflict-free inserts and a transaction-level advisory lock for letters."""

    def __init__(self, target: Path | str, *, create: bool = True, file_mode: int = 0o600, dir_mode: int = 0o700,
                 key_path: Path | None = None, check_version: bool = True):
        from .ledger_pg import is_url

        self.warnings: list[str] = []
        self.migrated: list[int] = []  # versions applied while opening (a ledger file only)
        if is_url(target):
            self._open_postgres(str(target), key_path, check_version)
        else:
            self._open_sqlite(Path(target).expanduser(), create, file_mode, dir_mode)

    @property
    def is_postgres(self) -> bool:
        return self.db.dialect == "postgresql"

    def _open_sqlite(self, path: Path, create: bool, file_mode: int, dir_mode: int) -> None:
        self.path = path
        existed = self.path.exists()
        if not existed and not create:
            raise LedgerError(f"{self.path}: no ledger here yet; run a scan first or pass the right --ledger")
        if existed:
            _refuse_foreign(self.path)
        try:
            ensure_dir(self.path.parent, dir_mode)
            if not existed:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, file_mode))
            self._key = _load_or_create_key(self.path, existed and self.path.stat().st_size > 0, file_mode)
            self.warnings = exposure_warnings(self.path, _key_path(self.path))
            self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout = 60000")
            _to_wal(self.conn)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.db = SQLiteDB(self.conn)
            self.migrated = self.migrate()  # a solo clinician's file follows the program, as it always has
            self._check_key()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger ({exc}); check the file or pass another --ledger") from None
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot create the ledger ({exc.strerror}); check the folder's permissions") from None

    def _open_postgres(self, url: str, key_path: Path | None, check_version: bool) -> None:
        from .ledger_pg import PgConfigError, connect, redact

        self.path = redact(url)
        self.key_path = Path(key_path or default_practice_key_path()).expanduser()
        self._key = _read_practice_key(self.key_path)
        self.warnings = exposure_warnings(self.key_path)
        try:
            self.conn = connect(url)
        except PgConfigError as exc:
            raise LedgerError(str(exc)) from None
        self.db = PostgresDB(self.conn)
        if not check_version:
            return
        try:
            have = self.schema_version()
            if have < len(MIGRATIONS):
                raise LedgerError(f"{self.path}: the ledger database is at schema version {have}, this notesplugin "
                                  f"needs {len(MIGRATIONS)}; run 'notesplugin ledger migrate --ledger {self.path}'"
                                  " (nothing was recorded)")
            if have > len(MIGRATIONS):
                raise LedgerError(f"{self.path}: the ledger database is at schema version {have}, newer than this "
                                  f"notesplugin knows ({len(MIGRATIONS)}); upgrade notesplugin on this machine")
            self._check_key()
        except DBError as exc:
            self.close()
            raise LedgerError(f"{self.path}: the database refused this login ({exc}); ask the practice's database "
                              "owner to run 'notesplugin ledger grant LOGIN --clinician NAME'") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def gap_lock(self, clinician_key: str, topic: str) -> Iterator[None]:
        """One gap's letters are read, written and recorded under this lock, so two scans
        crossing its threshold at once write one letter. SQLite: its write lock; PostgreSQL:
        a transaction-level advisory lock on this gap alone. Held for one gap at a time,
        so a scan waits at most for one letter of another scan. A letter recorded before a
        failure stays recorded: the record stands for a file already written."""
        self.db.begin()
        try:
            self.db.lock(clinician_key, topic)
            yield
        except BaseException:
            try:
                self.db.commit()
            except Exception:
                self.db.rollback()
            raise
        self.db.commit()

    # -- schema ---------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied, in one transaction; the versions applied."""
        db = self.db
        db.begin(lock=True)
        applied = []
        try:
            db.run("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in db.rows("SELECT version FROM migrations")}
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for stmt in sql_for(db.dialect, sql).split(";"):
                    if stmt.strip():
                        db.run(stmt)
                db.run("INSERT INTO migrations VALUES (?, ?)", (version, _now()))
                applied.append(version)
            if self.is_postgres and self._roles_exist():
                from .ledger_pg import role_statements
                for stmt in role_statements():
                    db.run(stmt)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return applied

    def _roles_exist(self) -> bool:
        from .ledger_pg import CLINICIAN_ROLE, SUPERVISOR_ROLE
        got = self.db.rows("SELECT COUNT(*) FROM pg_roles WHERE rolname IN (?, ?)", (CLINICIAN_ROLE, SUPERVISOR_ROLE))
        return got[0][0] == 2

    def _check_key(self) -> None:
        """The first key used is the ledger's key; another one would re-record every note under new hashes."""
        db = self.db
        mine = key_fingerprint(self._key)
        if self.is_postgres:  # written once by 'ledger init', by its owner
            got = db.rows("SELECT value FROM meta WHERE name = 'key_fingerprint'")
            if not got:
                raise LedgerError(f"{self.path}: the ledger database has no key fingerprint yet; "
                                  "run 'notesplugin ledger init' once for the practice")
            stored, where = got[0][0], self.key_path
        else:
            db.begin()
            try:
                db.run("INSERT INTO meta (name, value) VALUES ('key_fingerprint', ?) ON CONFLICT (name) DO NOTHING",
                       (mine,))
                stored = db.rows("SELECT value FROM meta WHERE name = 'key_fingerprint'")[0][0]
                db.commit()
            except BaseException:
                db.rollback()
                raise
            where = _key_path(self.path)
        if stored != mine:
            raise LedgerError(f"{where}: not this ledger's key (fingerprint {mine[:12]}, the ledger "
                              f"expects {stored[:12]}); restore the ledger's own key file from a backup")

    def key_fingerprint(self) -> str:
        return key_fingerprint(self._key)

    def schema_version(self) -> int:
        if self.is_postgres:
            if not self.db.rows("SELECT to_regclass('migrations') IS NOT NULL")[0][0]:
                return 0
        return self.db.rows("SELECT COALESCE(MAX(version), 0) FROM migrations")[0][0]

    def check_writable(self) -> None:
        """Take the write lock and let it go, changing nothing (doctor)."""
        self.db.begin(lock=True)
        self.db.rollback()

    def rights(self) -> tuple[bool, str]:
        """(enough to scan, what this login is) — PostgreSQL; a file's owner can do everything."""
        if not self.is_postgres:
            return True, "file owner"
        from .ledger_pg import CLINICIAN_ROLE, SUPERVISOR_ROLE
        db = self.db
        login, sup, cli, owner = db.rows(
            "SELECT current_user, pg_has_role(current_user, ?, 'MEMBER'), pg_has_role(current_user, ?, 'MEMBER'),"
            " pg_has_role(current_user, (SELECT tableowner FROM pg_tables WHERE tablename = 'findings'"
            " AND schemaname = current_schema()), 'MEMBER')", (SUPERVISOR_ROLE, CLINICIAN_ROLE))[0]
        needed = [("findings", "INSERT"), ("notes", "UPDATE"), ("runs", "INSERT"), ("letters", "INSERT")]
        missing = [f"{p} on {t}" for t, p in needed
                   if not db.rows("SELECT has_table_privilege(current_user, ?, ?)", (t, p))[0][0]]
        if missing:
            return False, f"login {login} lacks {', '.join(missing)}; run 'notesplugin ledger grant {login} ...'"
        if owner:
            return True, f"login {login} owns the tables (sees every row; use it for init and migrate only)"
        if sup:
            return True, f"login {login} is a supervisor (reads the whole practice)"
        mapped = db.rows("SELECT clinician_key FROM logins WHERE db_role = current_user")
        if cli and mapped:
            return True, f"login {login} is clinician '{mapped[0][0]}' (reads only their rows)"
        return False, (f"login {login} is mapped to no clinician; run 'notesplugin ledger grant {login} "
                       "--clinician NAME'")

    # -- hashing --------------------------------------------------------------
    def _h(self, kind: str, *parts: str) -> str:
        msg = "\x1f".join((kind, *parts)).encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def client_hash(self, client: str) -> str:
        norm = _norm_client(client)
        return self._h("client", norm) if norm else ""

    def note_key(self, file: str, note_id: str) -> str:
        return self._h("note", Path(file).name, str(note_id))

    def note_key_of(self, note: Note) -> str:
        """A note's key: its file's name and id; and where the reader made the id (no id in the
        export), its date and client too: next week's SessionNotes.csv row 2 is another session,
        not a change to this one. A note stored before that rule under the bare key, with the same
        date and client, keeps it (a re-scan of an old export is not a new note)."""
        bare = self.note_key(note.file, note.note_id)
        if note.id_given:
            return bare
        chash = self.client_hash(note.client)
        old = self.db.rows("SELECT session_date, client_hash FROM notes WHERE note_key = ?", (bare,))
        if old and (old[0][0], old[0][1]) == (note.date, chash):
            return bare
        return self._h("note", Path(note.file).name, str(note.note_id), note.date or "", _norm_client(note.client))

    def text_hash(self, text: str) -> str:
        return self._h("text", text)

    def session_key_of(self, note: Note) -> str:
        return session_key(note.date, self.client_hash(note.client), self.note_key_of(note))

    # -- writing --------------------------------------------------------------
    def record_scan(self, notes: Iterable[Note], findings: Iterable[Finding], checklist_version: str = "1",
                    run_id: str | None = None) -> RunSummary:
        """Record one scan in one transaction; unchanged notes are left as they are."""
        notes = list(notes)
        summary = RunSummary(run_id or new_run_id())
        # Joined by the whole path: two ProgressNote.docx from two folders are two notes.
        by_note: dict[tuple[str, str], list[Finding]] = {}
        for f in findings:
            by_note.setdefault((f.file, str(f.note_id)), []).append(f)
        known = {(n.file, str(n.note_id)) for n in notes}
        # Findings whose note was not passed in still get recorded, from their own fields.
        orphans = [Note(note_id=nid, file=fname, text="", clinician=fs[0].clinician, client=fs[0].client,
                        date=fs[0].date) for (fname, nid), fs in by_note.items() if (fname, nid) not in known]
        db = self.db
        db.begin()
        try:
            for note in notes + orphans:
                self._record_note(note, by_note.get((note.file, str(note.note_id)), []),
                                  checklist_version, summary)
            db.run("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                   (summary.run_id, _now(), checklist_version, summary.notes_seen, summary.notes_new,
                    summary.notes_changed))
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return summary

    def _record_note(self, note: Note, fs: list[Finding], version: str, summary: RunSummary) -> None:
        db = self.db
        summary.notes_seen += 1
        raw_name = note.clinician or (fs[0].clinician if fs else "")
        ckey, display = normalize_clinician(raw_name)
        nkey = self.note_key_of(note)
        thash = self.text_hash(note.text)
        chash = self.client_hash(note.client or (fs[0].client if fs else ""))
        date = note.date or (fs[0].date if fs else None)
        row = db.rows("SELECT text_hash, checklist_version FROM notes WHERE note_key = ?", (nkey,))
        if row and tuple(row[0]) == (thash, version):
            summary.notes_unchanged += 1
            return
        if not row:
            # Conflict-free: a scan running at the same moment (or a note recorded by a colleague,
            # which row-level security hides) makes this insert nothing, and nothing is doubled.
            if not db.insert_new("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (nkey, ckey, chash, date, thash, version, summary.run_id), "note_key"):
                summary.notes_unchanged += 1
                return
            summary.notes_new += 1
        else:
            summary.notes_changed += 1
            db.run("DELETE FROM findings WHERE note_key = ?", (nkey,))
            db.run("UPDATE notes SET clinician_key = ?, client_hash = ?, session_date = ?, text_hash = ?,"
                   " checklist_version = ?, run_id = ? WHERE note_key = ?",
                   (ckey, chash, date, thash, version, summary.run_id, nkey))
        if not note.date:
            summary.undated_notes += 1
        if ckey:
            # The latest spelling wins, except that ALL CAPS / all lower never replaces a mixed-case one.
            keep = "NOTHING" if _one_case(raw_name) else "UPDATE SET display = excluded.display"
            db.run(f"INSERT INTO clinicians (key, display) VALUES (?, ?) ON CONFLICT (key) DO {keep}", (ckey, display))
        for f in fs:
            db.run("INSERT INTO findings (note_key, clinician_key, client_hash, session_date, checklist, item,"
                   " name, status, topic, checklist_version, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (nkey, ckey, chash, date, f.checklist, f.item, f.name, f.status, f.topic, version,
                    summary.run_id))
            summary.findings_recorded += 1

    def record_letter(self, clinician_key: str, topic: str, kind: str, sessions: Iterable[str], path: Path | str,
                      run_id: str | None = None) -> None:
        self.db.run("INSERT INTO letters (clinician_key, topic, kind, sessions, path, written_at, run_id)"
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
        return [StoredFinding(*r) for r in self.db.rows(sql + " ORDER BY session_date, id", args)]

    def clinicians(self) -> dict[str, str]:
        return dict(self.db.rows("SELECT key, display FROM clinicians"))

    def letters(self, clinician_key: str, topic: str, kind: str | None = None) -> list[LetterRecord]:
        sql = "SELECT clinician_key, topic, kind, sessions, path, written_at FROM letters WHERE clinician_key = ? AND topic = ?"
        args = [clinician_key, topic]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        return [LetterRecord(r[0], r[1], r[2], frozenset(json.loads(r[3])), r[4], r[5])
                for r in self.db.rows(sql + " ORDER BY id", args)]

    def count(self, table: str) -> int:
        if table not in {"runs", "notes", "findings", "letters", "clinicians"}:
            raise ValueError(table)
        return self.db.rows(f"SELECT COUNT(*) FROM {table}")[0][0]
