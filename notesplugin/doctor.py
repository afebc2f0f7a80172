"""`notesplugin doctor`: check a practice's set-up before the first real scan.

Each check returns a Check; none of them prints, and none leaves a file behind
(letters are rendered into a temporary folder, the ledger is only opened).
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from .config import Config, ConfigError, find_config, load_config


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def sample_gap():
    """A made-up gap with every template branch in use (R7, exempt sessions, several items)."""
    from .gaps import Gap, GapSession
    # Made-up data: R7 here is the shipped item that signals consultation, so has_r7 is exercised.

    d0 = date(2026, 1, 5)
    sessions = [GapSession(f"sample-{k}", d0 + timedelta(weeks=k), items)
                for k, items in enumerate([("R1",), ("R3", "R7"), ("R1", "R4")])]
    return Gap("Sample Clinician, LPC", "sample clinician", "grief", sessions, sessions[-1].date,
               item_names={"R1": "redirect", "R3": "reassure", "R4": "fix", "R7": "discomfort"},
               exempt_left_out=1, signals=frozenset({"R7"}))


def check_config(path: str | os.PathLike | None) -> tuple[Check, Config | None]:
    found = find_config(path)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        return Check("config", False, str(exc)), None
    if found is None:
        return Check("config", True, "no config file found; using defaults (run 'notesplugin init' to write one)"), cfg
    return Check("config", True, f"{found} loads"), cfg


def check_letterhead(cfg: Config) -> Check:
    if not cfg.letterhead:
        return Check("letterhead", True, "none configured; letters are plain documents")
    lh = Path(cfg.letterhead)
    if not lh.is_file():
        return Check("letterhead", False, f"{lh}: not found; fix practice.letterhead in the config")
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = Document(str(lh))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError):
        return Check("letterhead", False, f"{lh}: not a readable .docx; save it from Word as .docx")
    header = any(p.text.strip() for s in doc.sections for p in s.header.paragraphs)
    return Check("letterhead", True, f"{lh} opens ({'with' if header else 'no'} header text)")


def check_templates(cfg: Config) -> Check:
    from .letters import KINDS, LetterError, render_letter, write_letter

    if cfg.templates_dir and not Path(cfg.templates_dir).is_dir():
        return Check("templates", False, f"{cfg.templates_dir}: folder not found; fix practice.templates in the config")
    gap = sample_gap()
    excerpt = ["week of 2026-01-05, R1 redirect: \u201cSample sentence.\u201d"]
    try:
        for kind in KINDS:
            for follow_up in (False, True):
                render_letter(gap, cfg, kind, follow_up=follow_up, new_sessions=1, excerpts=excerpt)
        with tempfile.TemporaryDirectory(prefix="notesplugin-doctor-") as tmp:
            for kind in KINDS:  # also builds the DOCX, on the letterhead when there is one
                write_letter(gap, cfg, Path(tmp), kind)
    except LetterError as exc:
        return Check("templates", False, str(exc))
    where = _template_source(cfg, KINDS)
    return Check("templates", True, f"{', '.join(KINDS)} render with sample data ({where})")


def _template_source(cfg: Config, kinds) -> str:
    if not cfg.templates_dir:
        return "built-in"
    own = [k for k in kinds if (Path(cfg.templates_dir) / f"{k}.md.j2").is_file()]
    return f"practice folder: {', '.join(own)}" if own else "built-in; the practice folder has none of them"


def check_ledger(cfg: Config, ledger_path: str | os.PathLike | None = None) -> Check:
    from .ledger import Ledger, LedgerError

    path = cfg.ledger_target(ledger_path)
    if isinstance(path, str):
        return check_practice_ledger(cfg, path)
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return Check("ledger", False, f"{path}: not writable by you; fix its permissions or set [ledger] path")
        try:
            with Ledger(path, create=False, file_mode=cfg.file_mode, dir_mode=cfg.dir_mode) as led:
                led.check_writable()
                runs = led.count("runs")
                exposed = led.warnings
        except (LedgerError, OSError) as exc:
            return Check("ledger", False, str(exc).splitlines()[0])
        except Exception as exc:  # sqlite3.OperationalError: locked or read-only
            return Check("ledger", False, f"{path}: cannot write ({type(exc).__name__}); check the file and folder")
        if exposed:
            return Check("ledger", False, exposed[0])
        return Check("ledger", True, f"{path} writable, {runs} run(s) recorded")
    # Not created yet: the first scan will create it; make sure it can, without creating it now.
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".notesplugin-doctor-"):
            pass
    except OSError as exc:
        return Check("ledger", False, f"{path}: cannot be created ({exc.strerror} in {folder}); "
                                      "set [ledger] path to a writable place")
    return Check("ledger", True, f"{path} does not exist yet; the first scan will create it")


def check_practice_ledger(cfg: Config, url: str) -> Check:
    """Connection, schema version and key fingerprint (checked on opening), then this login's rights."""
    from .ledger import Ledger, LedgerError
    from .ledger_db import DBError

    try:
        with Ledger(url, key_path=cfg.ledger_key) as led:
            if led.warnings:
                return Check("ledger", False, led.warnings[0])
            ok, role = led.rights()
            led.check_writable()
            where = f"{led.path}: schema {led.schema_version()}, key {led.key_fingerprint()[:12]}"
    except LedgerError as exc:
        return Check("ledger", False, str(exc).splitlines()[0])
    except DBError as exc:
        return Check("ledger", False, f"{url}: {exc}; ask the practice's database owner")
    return Check("ledger", ok, f"{where}, {role}")


def check_checklists(cfg: Config) -> Check:
    from .checklists import ChecklistError, load
    from .checklists.selftest import run_examples

    try:
        lists = load(cfg.checklists)
    except ChecklistError as exc:
        return Check("checklists", False, str(exc))
    results = run_examples(lists)
    failed = [r for r in results if not r.passed]
    own = f"{len(cfg.checklists)} practice file(s)" if cfg.checklists else "shipped only"
    if failed:
        ids = ", ".join(sorted({f"{r.item} ({r.kind})" for r in failed}))
        return Check("checklists", False, f"{len(failed)} of {len(results)} examples fail: {ids}; "
                                          "run 'notesplugin checklist test FILE' for details")
    return Check("checklists", True, f"{own}; all {len(results)} examples pass")


def run_checks(config_path: str | os.PathLike | None = None,
               ledger_path: str | os.PathLike | None = None) -> list[Check]:
    """Every check in order; when the config cannot be read, the others are not run."""
    first, cfg = check_config(config_path)
    if cfg is None:
        return [first]
    letterhead = check_letterhead(cfg)
    # A broken letterhead is reported once, not again as a template failure.
    plain = cfg if letterhead.ok else replace(cfg, letterhead=None)
    return [first, letterhead, check_templates(plain), check_ledger(cfg, ledger_path), check_checklists(cfg)]
