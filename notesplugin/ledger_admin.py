"""Setting up and moving ledgers: init and roles for a practice database, export and import.

Nothing here prints; the `ledger` commands (cli_ledger.py) report what these return.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .fileio import write_text_atomic
from .ledger import MIGRATIONS, Ledger, LedgerError, create_practice_key, default_practice_key_path, normalize_clinician
from .ledger_db import DBError
from .ledger_pg import CLINICIAN_ROLE, SUPERVISOR_ROLE, is_url

EXPORT_FORMAT = "notesplugin-ledger-export/1"
# Table, its columns in export order, and its natural key (what makes an import idempotent).
TABLES = {
    "runs": ("run_id, started_at, checklist_version, notes_seen, notes_new, notes_changed", "run_id"),
    "clinicians": ("key, display", "key"),
    "notes": ("note_key, clinician_key, client_hash, session_date, text_hash, checklist_version, run_id", "note_key"),
    "findings": ("note_key, clinician_key, client_hash, session_date, checklist, item, name, status, topic,"
                 " checklist_version, run_id", None),
    "letters": ("clinician_key, topic, kind, sessions, path, written_at, run_id", None),
}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class InitResult:
    key_path: Path
    key_created: bool
    migrations_applied: list[int]
    roles_created: list[str]
    fingerprint: str


def _pg_only(target) -> str:
    if not is_url(target):
        raise LedgerError(f"{target}: not a postgresql:// URL; a ledger file needs no init (a scan creates it)")
    return str(target)


def init_postgres(url: str, key_path: Path | None = None) -> InitResult:
    """Schema, the two group roles with row-level security, and the key's fingerprint. Safe to run again."""
    url = _pg_only(url)
    kp = Path(key_path or default_practice_key_path()).expanduser()
    created = create_practice_key(kp)
    with Ledger(url, key_path=kp, check_version=False) as led:
        db = led.db
        try:
            existing = {r[0] for r in db.rows("SELECT rolname FROM pg_roles WHERE rolname IN (?, ?)",
                                              (CLINICIAN_ROLE, SUPERVISOR_ROLE))}
            made = [r for r in (CLINICIAN_ROLE, SUPERVISOR_ROLE) if r not in existing]
            for role in made:
                db.run(f"CREATE ROLE {role} NOLOGIN")
            applied = led.migrate()  # with the roles present, grants and policies come with it
            db.run("INSERT INTO meta (name, value) VALUES ('key_fingerprint', ?) ON CONFLICT (name) DO NOTHING",
                   (led.key_fingerprint(),))
            led._check_key()
        except DBError as exc:
            raise LedgerError(f"{led.path}: init failed ({exc}); connect as the database's owner with the "
                              "right to create roles") from None
        return InitResult(kp, created, applied, made, led.key_fingerprint())


def migrate(target, key_path: Path | None = None, **open_args) -> list[int]:
    """Apply pending migrations explicitly (a practice database never migrates during a scan)."""
    with Ledger(target, key_path=key_path, check_version=False, **open_args) as led:
        try:
            return led.migrated + led.migrate()  # a file migrates as it opens
        except DBError as exc:
            try:  # a clinician's login may not create tables; with nothing to apply, that is no failure
                current = led.schema_version() == len(MIGRATIONS)
            except DBError:
                current = False
            if current:
                return []
            raise LedgerError(f"{led.path}: migration failed ({exc}); run it as the database's owner") from None


def grant(url: str, login: str, *, clinician: str | None = None, supervisor: bool = False,
          key_path: Path | None = None) -> str:
    """Make an existing login a supervisor, or the clinician whose rows it may read; the clinician key."""
    url = _pg_only(url)
    if bool(clinician) == supervisor:
        raise LedgerError("give either --clinician NAME or --supervisor")
    with Ledger(url, key_path=key_path) as led:
        db = led.db
        try:
            db.begin()
            if supervisor:
                db.run(f"GRANT {SUPERVISOR_ROLE} TO {quote_ident(login)}")
                ckey = ""
            else:
                ckey = normalize_clinician(clinician or "")[0]
                if not ckey:
                    raise LedgerError(f"'{clinician}' is not a clinician's name")
                db.run(f"GRANT {CLINICIAN_ROLE} TO {quote_ident(login)}")
                db.run("INSERT INTO logins (db_role, clinician_key) VALUES (?, ?)"
                       " ON CONFLICT (db_role) DO UPDATE SET clinician_key = excluded.clinician_key", (login, ckey))
            db.commit()
        except DBError as exc:
            db.rollback()
            raise LedgerError(f"{led.path}: cannot grant to '{login}' ({exc}); create the login first "
                              f"(CREATE ROLE {quote_ident(login)} LOGIN) and run this as the database's owner") from None
        except BaseException:
            db.rollback()
            raise
        return ckey


def export_ledger(led: Ledger, dest: Path, mode: int = 0o600) -> dict[str, int]:
    """Every row but the key itself, as JSON lines; counts per table."""
    lines = [json.dumps({"format": EXPORT_FORMAT, "key_fingerprint": led.key_fingerprint(),
                         "schema_version": led.schema_version()})]
    counts = {}
    for table, (cols, _) in TABLES.items():
        order = " ORDER BY id" if table in ("findings", "letters") else ""
        rows = led.db.rows(f"SELECT {cols} FROM {table}{order}")
        counts[table] = len(rows)
        lines += [json.dumps({"table": table, "row": list(r)}, ensure_ascii=False) for r in rows]
    write_text_atomic(dest, "\n".join(lines) + "\n", mode)
    return counts


def import_ledger(led: Ledger, source: Path) -> dict[str, int]:
    """Add an export's rows that are not there yet; importing twice adds nothing. Rows added per table."""
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
        head = json.loads(lines[0])
        rows = [json.loads(line) for line in lines[1:] if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        raise LedgerError(f"{source}: not a ledger export; make one with 'notesplugin ledger export'") from None
    if not isinstance(head, dict) or head.get("format") != EXPORT_FORMAT:
        raise LedgerError(f"{source}: not a ledger export; make one with 'notesplugin ledger export'")
    if head.get("key_fingerprint") != led.key_fingerprint():
        # Clients and notes are keyed hashes: under another key they would be different people.
        raise LedgerError(f"{source}: exported under another key (fingerprint {str(head.get('key_fingerprint'))[:12]},"
                          f" this ledger's is {led.key_fingerprint()[:12]}); import into a ledger using the same key file")
    added = dict.fromkeys(TABLES, 0)
    new_notes: set[str] = set()
    db = led.db
    db.begin(lock=True)
    try:
        for rec in rows:
            table, row = rec.get("table"), rec.get("row")
            if table not in TABLES or not isinstance(row, list):
                raise LedgerError(f"{source}: unexpected line for table '{table}'; re-export it")
            cols, natural = TABLES[table]
            marks = ", ".join("?" * len(row))
            if natural:
                n = db.run(f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({natural}) DO NOTHING", row)
                if table == "notes" and n:
                    new_notes.add(row[0])
            elif table == "findings":
                if row[0] not in new_notes:
                    continue  # its note was there already, with its own findings
                n = db.run(f"INSERT INTO findings ({cols}) VALUES ({marks})", row)
            else:  # letters: the same letter (gap, kind, sessions, time) only once
                n = db.run(f"INSERT INTO letters ({cols}) SELECT {marks} WHERE NOT EXISTS (SELECT 1 FROM letters"
                           " WHERE clinician_key = ? AND topic = ? AND kind = ? AND sessions = ? AND written_at = ?)",
                           row + row[:4] + [row[5]])
            added[table] += n
        db.commit()
    except DBError as exc:
        db.rollback()
        raise LedgerError(f"{led.path}: import failed ({exc}); nothing was imported") from None
    except BaseException:
        db.rollback()
        raise
    return added

