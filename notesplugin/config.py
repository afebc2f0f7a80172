"""Practice configuration: one TOML file, strictly checked.

Found by --config, then $NOTESPLUGIN_CONFIG, then ./notesplugin.toml, then the
user config folder. Every key is optional; unknown keys are errors so a typo
never silently falls back to a default.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

APP = "notesplugin"

# Column roles and the header names EHRs use for them (compared case- and
# punctuation-insensitively). A practice adds its own under [columns].
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "note": ["Note", "Notes", "Narrative", "Progress Note", "Progress Note Narrative", "Session Note",
             "Session Notes", "Note Text", "Clinical Note", "Note Body", "Documentation",
             "Narrative Note", "Clinical Note Text", "Session Narrative", "Progress Notes", "Clinical Notes",
             "Note Content", "Therapy Note"],
    "clinician": ["Clinician", "Provider", "Rendering Provider", "Therapist", "Counselor", "Author",
                  "Clinician Name", "Provider Name", "Staff", "Signed By", "Rendering Clinician",
                  "Treating Clinician", "Primary Clinician", "Therapist Name", "Counselor Name", "Staff Name",
                  "Practitioner", "Psychotherapist", "Rendering Staff"],
    "client": ["Client", "Patient", "Patient Name", "Client Name", "Member", "Individual",
               "Client Full Name", "Patient Full Name", "Member Name", "Consumer"],
    "date": ["Date of Service", "DOS", "Session Date", "Service Date", "Date", "Visit Date",
             "Appointment Date", "Encounter Date", "Date of Visit", "Date of Session", "Date/Time of Service",
             "Service Date/Time", "Session Date/Time", "Appointment Date/Time"],
    "note_id": ["Note ID", "Note #", "Note No", "Note Number", "Encounter ID", "Visit ID", "ID",
                "Encounter #", "Session ID", "Record ID", "Visit #", "Session #", "Appointment ID",
                "Document ID", "Progress Note ID"],
}


class ConfigError(Exception):
    """One line: the file, the key and the fix."""


@dataclass
class Person:
    name: str = ""
    role: str = ""
    email: str = ""


@dataclass
class Config:
    path: Path | None = None
    practice_name: str = ""
    practice_address: str = ""
    letterhead: Path | None = None
    templates_dir: Path | None = None
    supervisor: Person = field(default_factory=Person)
    consultant: Person = field(default_factory=Person)
    gap_sessions: int = 3
    gap_sessions_with_r7: int = 2
    gap_window_weeks: int = 8
    columns: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_COLUMNS.items()})
    text_columns: list[str] = field(default_factory=list)  # extra columns read as note text (e.g. S/O/A/P)
    checklists: list[Path] = field(default_factory=list)
    output_dir: Path | None = None
    file_mode: int = 0o600
    dir_mode: int = 0o700
    ledger: Path | None = None
    ledger_url: str = ""  # a practice's PostgreSQL ledger; the password never lives here
    ledger_key: Path | None = None  # the practice's key file (PostgreSQL ledgers only)
    max_note_chars: int = 200_000
    learn_keep_text: bool | None = None  # [learn] keep_text; unset: kept only in an owner-only data folder
    day_first: bool = False  # [practice] dates = "day-first": 03/04/2026 is 3 April (UK, Ireland, Australia)

    def ledger_path(self) -> Path:
        return self.ledger or Path(platformdirs.user_data_dir(APP)) / "ledger.sqlite3"

    def with_ledger(self, override: str | os.PathLike | None) -> "Config":
        """This config with a --ledger file as its ledger path: what sits beside the ledger (the
        practice's learned/ corrections) follows the ledger a command actually uses. A
        postgresql:// URL keeps the local path."""
        target = self.ledger_target(override) if override else None
        return replace(self, ledger=target) if isinstance(target, Path) else self

    def ledger_target(self, override: str | os.PathLike | None = None) -> Path | str:
        """--ledger (a file or a postgresql:// URL), else [ledger] url, else [ledger] path or the default."""
        if override:
            text = str(override)
            return text if text.startswith(("postgresql://", "postgres://")) else Path(text).expanduser()
        return self.ledger_url or self.ledger_path()


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "notesplugin.toml"


def find_config(explicit: str | os.PathLike | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("NOTESPLUGIN_CONFIG")
    if env:
        return Path(env)
    for cand in (Path("notesplugin.toml"), user_config_path()):
        if cand.is_file():
            return cand
    return None


_TOP = {"practice", "supervisor", "consultant", "gaps", "columns", "checklists", "output", "ledger", "limits", "learn"}


def _table(data: dict, key: str, allowed: set[str], where: Path) -> dict[str, Any]:
    sub = data.get(key, {})
    if not isinstance(sub, dict):
        raise ConfigError(f"{where}: [{key}] must be a table, e.g. '[{key}]' followed by key = value lines")
    for k in sub:
        if k not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}.{k}'; allowed: {', '.join(sorted(allowed))}")
    return sub


def _rel(where: Path, value: Any, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be a file path string")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (where.parent / p)


def _int(where: Path, value: Any, key: str, lo: int = 1, hi: int = 10**9) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(f"{where}: '{key}' must be a whole number from {lo} to {hi:,}")
    return value


def _mode(where: Path, value: Any, key: str, owner: int) -> int:
    """An octal permission string; the owner needs `owner` (rw- for files, rwx for folders: the
    tool reads back what it writes, the ledger is written in place) and others get nothing (PHI)."""
    mode = None
    if isinstance(value, str):
        try:
            mode = int(value, 8)
        except ValueError:
            pass
    if mode is None:
        raise ConfigError(f"{where}: '{key}' must be an octal string such as \"0600\"")
    if mode > 0o777 or mode & owner != owner or mode & 0o007:
        example = "0600" if owner == 0o600 else "0700"
        raise ConfigError(f"{where}: '{key}' = \"{value}\" is refused: the owner needs {owner:04o} and others "
                          f"nothing (last digit 0, no special bits); use \"{example}\" or add group access, "
                          f"e.g. \"{int(example, 8) | (owner >> 3 & 0o050):04o}\"")
    return mode


def _ledger_url(where: Path, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{where}: 'ledger.url' must be a postgresql:// URL, e.g. \"postgresql://clinic-db/notes\"")
    from .ledger_pg import PgConfigError, check_url
    try:
        check_url(value)
    except PgConfigError as exc:
        raise ConfigError(f"{where}: 'ledger.url': {exc}") from None
    return value


def load_config(path: str | os.PathLike | None = None) -> Config:
    found = find_config(path)
    cfg = Config()
    if found is None:
        return cfg
    if not found.is_file():
        raise ConfigError(f"{found}: config file not found; run 'notesplugin init' to write one")
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: not valid TOML ({exc}); fix the line named or run 'notesplugin init'") from None
    cfg.path = found
    for k in data:
        if k not in _TOP:
            raise ConfigError(f"{found}: unknown section '{k}'; allowed: {', '.join(sorted(_TOP))}")
    pr = _table(data, "practice", {"name", "address", "letterhead", "templates", "dates"}, found)
    cfg.practice_name = str(pr.get("name", ""))
    cfg.practice_address = str(pr.get("address", ""))
    if "letterhead" in pr and pr["letterhead"]:
        cfg.letterhead = _rel(found, pr["letterhead"], "practice.letterhead")
    if "templates" in pr and pr["templates"]:
        cfg.templates_dir = _rel(found, pr["templates"], "practice.templates")
    if "dates" in pr:
        if pr["dates"] not in ("month-first", "day-first"):
            raise ConfigError(f"{found}: 'practice.dates' must be \"month-first\" (03/04/2026 is March 4) "
                              "or \"day-first\" (03/04/2026 is 3 April)")
        cfg.day_first = pr["dates"] == "day-first"
    for role in ("supervisor", "consultant"):
        t = _table(data, role, {"name", "role", "email"}, found)
        setattr(cfg, role, Person(str(t.get("name", "")), str(t.get("role", "")), str(t.get("email", ""))))
    g = _table(data, "gaps", {"sessions", "sessions_with_r7", "window_weeks"}, found)
    if "sessions" in g:
        cfg.gap_sessions = _int(found, g["sessions"], "gaps.sessions", hi=1000)
    if "sessions_with_r7" in g:
        cfg.gap_sessions_with_r7 = _int(found, g["sessions_with_r7"], "gaps.sessions_with_r7", hi=1000)
    if "window_weeks" in g:
        # a window past a lifetime is a typo, and beyond datetime's range it broke the letters mid-scan
        cfg.gap_window_weeks = _int(found, g["window_weeks"], "gaps.window_weeks", hi=520)
    cols = _table(data, "columns", set(DEFAULT_COLUMNS) | {"text"}, found)
    for role, names in cols.items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{found}: 'columns.{role}' must be a list of column names, e.g. [\"Narrative\"]")
        if role == "text":
            cfg.text_columns = list(names)
        else:
            # The practice's names come first: they win over the defaults.
            cfg.columns[role] = list(names) + [n for n in cfg.columns[role] if n not in names]
    ck = _table(data, "checklists", {"files"}, found)
    files = ck.get("files", [])
    if not isinstance(files, list):
        raise ConfigError(f"{found}: 'checklists.files' must be a list of file paths")
    cfg.checklists = [_rel(found, f, "checklists.files") for f in files]
    out = _table(data, "output", {"dir", "file_mode", "dir_mode"}, found)
    if "dir" in out:
        cfg.output_dir = _rel(found, out["dir"], "output.dir")
    if "file_mode" in out:
        cfg.file_mode = _mode(found, out["file_mode"], "output.file_mode", 0o600)
    if "dir_mode" in out:
        cfg.dir_mode = _mode(found, out["dir_mode"], "output.dir_mode", 0o700)
    led = _table(data, "ledger", {"path", "url", "key"}, found)
    if "path" in led:
        cfg.ledger = _rel(found, led["path"], "ledger.path")
    if "url" in led:
        cfg.ledger_url = _ledger_url(found, led["url"])
    if "key" in led:
        cfg.ledger_key = _rel(found, led["key"], "ledger.key")
    lim = _table(data, "limits", {"max_note_chars"}, found)
    if "max_note_chars" in lim:
        cfg.max_note_chars = _int(found, lim["max_note_chars"], "limits.max_note_chars")
    lrn = _table(data, "learn", {"keep_text"}, found)
    if "keep_text" in lrn:
        if not isinstance(lrn["keep_text"], bool):
            raise ConfigError(f"{found}: 'learn.keep_text' must be true or false")
        cfg.learn_keep_text = lrn["keep_text"]
    return cfg
