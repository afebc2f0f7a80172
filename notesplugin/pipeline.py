"""One scan, end to end: find files -> read -> check -> write copies ->
findings.jsonl + run.json -> history and letters. Never prints: the CLI
renders the ScanResult."""
from __future__ import annotations

import contextlib
import errno
import importlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from notesplugin import __version__, readers
from notesplugin.checklists import load as load_checklists
from notesplugin.checklists.engine import Engine
from notesplugin.config import Config
from notesplugin.escape import path_text, printable
from notesplugin.fileio import ensure_dir, write_text_atomic
from notesplugin.model import Finding, InputError, Note, OutputError
from notesplugin.pool import Killed, Runner
from notesplugin.readers.sniff import EXPECT, LEGACY, UNREAD
from notesplugin.safety import claim_out_dir

log = logging.getLogger("notesplugin")


@dataclass
class FileResult:
    path: str
    kind: str = ""
    ok: bool = True
    error: str = ""
    output: str = ""
    notes: list[Note] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0  # notes found but not checked (empty, over the size limit); each has a warning


@dataclass
class ScanResult:
    run_id: str
    out_dir: Path
    files: list[FileResult]
    history: dict[str, Any] | None = None
    history_error: str = ""  # set only when this scan's findings were not recorded
    letter_errors: list[str] = field(default_factory=list)  # recorded, but these letters failed
    summary: Path | None = None
    summary_error: str = ""
    judgement: dict = field(default_factory=dict)  # which checklists and model judged the run (run.json)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.files if not r.ok]

    def counts(self) -> dict[str, int]:
        fs = self.findings
        notes = [n for r in self.files for n in r.notes]
        return {
            "files": len(self.files),
            "files_failed": len(self.failed),
            "notes": len(notes),
            "notes_skipped": sum(r.skipped for r in self.files),
            "rescuing_flagged": sum(f.checklist == "rescuing" and f.status == "flagged" for f in fs),
            "rescuing_exempt": sum(f.status == "exempt" for f in fs),
            "crisis": sum(f.checklist == "crisis" for f in fs),
            "notes_flagged": len({(f.file, f.note_id) for f in fs if f.status == "flagged"}),
            "notes_crisis": len({(f.file, f.note_id) for f in fs if f.checklist == "crisis"}),
        }


def find_inputs(paths: Iterable[Path], out_dir: Path | None = None) -> list[Path]:
    """Files to scan: given files as they are; folders walked for exports,
    skipping Office lock files, hidden files and our own outputs."""
    out = []
    # os.path.realpath, not Path.resolve: it does not raise on a symlink loop (sniff names that file)
    skip = os.path.realpath(out_dir) if out_dir else None
    wanted = (*readers.SUFFIXES, *LEGACY, *UNREAD)  # legacy and unread types: to say "save as"
    for p in paths:
        p = Path(p)
        if p.is_dir():
            seen = {os.path.realpath(p)}  # a linked folder is walked once: a link to a parent is no loop
            for root, dirs, files in os.walk(p, followlinks=True):
                rootp = Path(root)
                walk = []
                for d in sorted(dirs):
                    real = os.path.realpath(rootp / d)
                    if not d.startswith(".") and real != skip and real not in seen:
                        walk.append(d)
                        seen.add(real)
                dirs[:] = walk
                for name in sorted(files):
                    if name.startswith(("~$", ".")) or ".annotated." in name or name == "summary.xlsx":
                        continue
                    if Path(name).suffix.lower() in wanted:
                        out.append(rootp / name)
        else:
            out.append(p)
    unique: dict[str, Path] = {}
    for p in out:  # one file reached twice (a link beside it) is read once, under its own name
        key = os.path.realpath(p)
        if key not in unique or (unique[key].is_symlink() and not p.is_symlink()):
            unique[key] = p
    return list(unique.values())


def archives(paths: Iterable[Path]) -> list[Path]:
    """Zip and 7z archives among `paths` or directly in the folders given: an "export all"
    download scanned before it was unpacked."""
    out: list[Path] = []
    for p in map(Path, paths):
        for f in (sorted(p.iterdir()) if p.is_dir() else [p]):
            if f.suffix.lower() in (".zip", ".7z") and f.is_file():
                out.append(f)
    return out


NAME_MAX = 255 - 15  # bytes in one file name on the usual file systems, less what atomic_path's temp adds


def annotated_name(path: Path, taken: set[str]) -> str:
    """`<stem>.annotated<suffix>`, numbered when taken; a stem too long for the file system once
    ".annotated-2.xlsx" is added is cut (at a whole character) and marked with "~"."""
    def fit(tail: str) -> str:
        room = NAME_MAX - len(tail.encode())
        raw = path.stem.encode("utf-8", "surrogateescape")
        return path.stem if len(raw) <= room else raw[:room - 1].decode("utf-8", "ignore") + "~"

    suffix = path.suffix.lower()
    name, n = f"{fit('.annotated' + suffix)}.annotated{suffix}", 2
    while name in taken:
        tail = f".annotated-{n}{suffix}"
        name, n = f"{fit(tail)}{tail}", n + 1
    taken.add(name)
    return name


_ENGINE: Engine | None = None
_ENGINE_KEY: tuple = ()
_MODEL_WARNING = ""  # why the practice's model was not used, for run.json and the summary
_PINNED = False  # set while a scan runs (and in its forked workers)


def _model(config: Config):
    """The reader scan judges with: the practice's model (`notesplugin learn`) when it has one
    learned on this shipped model, else the shipped one. (reader, warning)."""
    from notesplugin.learned.reader import Reader
    from notesplugin.learned.store import Store

    shipped = Reader.default()
    if shipped is None:
        return None, ""
    practice, warning = Store.for_config(config).practice_model(shipped.model.fingerprint)
    return (Reader(practice) if practice else shipped), warning


def _model_key(config: Config) -> tuple | None:
    from notesplugin.learned.store import Store
    path = Store.for_config(config).model_path
    try:
        return str(path), path.stat().st_mtime_ns  # a learn, undo or reset since: judge with the new model
    except OSError:
        return None


def _pin(on: bool) -> None:
    global _PINNED
    _PINNED = on


def _engine(config: Config) -> Engine:
    global _ENGINE, _ENGINE_KEY, _MODEL_WARNING
    if _PINNED and _ENGINE is not None:  # inside one scan: one model for every file
        return _ENGINE
    key = (tuple(str(p) for p in config.checklists), _model_key(config), config.day_first)
    if _ENGINE is None or key != _ENGINE_KEY:
        reader, _MODEL_WARNING = _model(config)
        _ENGINE, _ENGINE_KEY = Engine(load_checklists(config.checklists), model=reader or False,
                                      day_first=config.day_first), key
    return _ENGINE


def process_file(path: Path, dest: Path, config: Config, comment_date: datetime | None = None) -> FileResult:
    """Read, check and annotate one file; every failure is caught here so the batch goes on."""
    res = FileResult(path=path_text(path))
    with _file_boundary(res, path):
        source = _read(res, path, config)
        engine = _engine(config)
        for note in res.notes:
            res.findings.extend(engine.check(note))
        _annotate(res, path, source, dest, config, comment_date)
    return res


@contextlib.contextmanager
def _file_boundary(res: FileResult, path: Path):
    """One file's failure becomes its one line (never a traceback, never note text)."""
    try:
        yield
    except InputError as exc:
        res.ok, res.error = False, str(exc)
    except MemoryError:
        res.ok, res.error = False, f"{path.name}: too large to process in memory; split the export into smaller files"
    except Exception as exc:  # the file boundary: never a traceback, never note text
        log.debug("internal error on %s: %s", printable(path.name), type(exc).__name__)
        res.ok, res.error = False, (f"{path.name}: internal error ({type(exc).__name__}); the file was skipped, "
                                    "please report this with the file type and size (not its content)")
    if not res.ok:
        res.notes, res.findings, res.skipped = [], [], 0
        res.kind = res.kind or EXPECT.get(path.suffix.lower(), path.suffix.lower().lstrip("."))  # named by its suffix
        res.error = path_text(res.error)  # a name's non-UTF-8 bytes would stop run.json being written
    res.warnings = [path_text(w) for w in res.warnings]


def _read(res: FileResult, path: Path, config: Config):
    """The file's notes to check into res (those over the size limit left out); returns its source."""
    res.kind, read = readers.read(path, config)
    res.warnings.extend(read.warnings)
    res.notes = _within_limit(read.notes, path, config, res.warnings)
    res.skipped = read.skipped + len(read.notes) - len(res.notes)
    return read.source


def _annotate(res: FileResult, path: Path, source, dest: Path, config: Config, comment_date: datetime | None) -> None:
    try:
        res.warnings.extend(_write(res.kind, path, source, dest, res.notes, res.findings, config, comment_date))
    except OSError as exc:  # a full disk or a folder made read-only mid-run: this file's one line
        raise InputError(f"{path.name}: cannot write the annotated copy ({exc.strerror or type(exc).__name__}); "
                         "free space or fix the output folder's permissions and scan it again") from None
    res.output = path_text(dest)


def _within_limit(notes: list[Note], path: Path, config: Config, warnings: list[str]) -> list[Note]:
    """Notes over max_note_chars are skipped with a warning (checking time grows with length)."""
    keep = []
    for note in notes:
        if len(note.text) > config.max_note_chars:
            warnings.append(f"{path.name}: note {note.note_id} is longer than {config.max_note_chars} characters "
                            "and was not checked; raise limits.max_note_chars to include it")
        else:
            keep.append(note)
    return keep


def _write(kind: str, src: Path, source, dest: Path, notes: list[Note], findings: list[Finding], config: Config,
           comment_date: datetime | None) -> list[str]:
    """The annotated copy, from the source the reader handed over (notesplugin.sources; a PDF's PdfSource)."""
    if kind == "docx":
        from notesplugin.writers.docx_writer import write_docx
        return write_docx(source, dest, notes, findings, comment_date=comment_date, file_mode=config.file_mode)
    if kind == "pdf":
        from notesplugin.writers.pdf_writer import write_pdf
        return write_pdf(src, dest, notes, findings, source, file_mode=config.file_mode)
    if kind == "xlsx":
        from notesplugin.writers.xlsx_writer import write_xlsx
        return write_xlsx(source, dest, notes, findings, file_mode=config.file_mode)
    from notesplugin.writers.csv_writer import write_csv
    return write_csv(source, dest, notes, findings, file_mode=config.file_mode)


def _process_star(args: tuple) -> FileResult:
    return process_file(*args)


def _process_batch(batch: list[tuple]) -> list[FileResult]:
    """Several small files in one worker task, one after another (one trip to the worker, not one each)."""
    return [process_file(*args) for args in batch]


def _check_chunk(notes: list[Note], config: Config) -> list[Finding]:
    """The checklist stage on some of one file's notes, in a worker (the engine came with the fork)."""
    engine = _engine(config)
    return [f for note in notes for f in engine.check(note)]


# --jobs: a file that is large (a workbook of thousands of notes) or alone in the batch is read and
# written once, here in the parent, and only its notes' checking (the expensive stage) is split across
# the workers; every other file goes whole to one worker, so a folder of small files needs no trips.
SPLIT_BYTES = 256 * 1024
MIN_CHUNK = 50  # notes per worker task, at least: fewer do not repay the trip
CHUNKS_PER_JOB = 16  # enough tasks that no worker waits long on the last one (10,000 notes: ~2 s each)
BATCH_FILES = 8  # small files per worker task, at most (500 DOCX files: ~0.1 s a task; a task costs the parent ~0.5 ms)


def _killed(path: Path, doing: str) -> str:
    return (f"{path.name}: the process {doing} it stopped (killed by the system, often for lack of memory); "
            "the file was skipped: split the export into smaller files or free memory and scan it again")


@dataclass
class _Split:
    """A file read in the parent whose notes are being checked in the workers."""
    res: FileResult
    args: tuple
    source: Any = None
    tasks: list = field(default_factory=list)


def _split_read(args: tuple, runner: Runner, alone: bool) -> _Split:
    path, _dest, config, _date = args
    split = _Split(FileResult(path=path_text(path)), args)
    with _file_boundary(split.res, path):
        split.source = _read(split.res, path, config)
        notes = split.res.notes
        size = max(MIN_CHUNK, -(-len(notes) // (runner.jobs * CHUNKS_PER_JOB)))
        if alone and len(notes) <= size:  # one chunk and nothing else to do: no worker needed
            split.res.findings = _check_chunk(notes, config)
        else:
            split.tasks = [runner.submit(_check_chunk, notes[i:i + size], config) for i in range(0, len(notes), size)]
    return split


def _split_finish(split: _Split, runner: Runner) -> FileResult:
    """Findings gathered in note order (as --jobs 1 makes them), then the copy written once."""
    res, (path, dest, config, comment_date) = split.res, split.args
    if not res.ok:  # its one line was made when it was read
        return res
    with _file_boundary(res, path):
        for task in split.tasks:
            try:
                res.findings.extend(runner.result(task))
            except Killed:
                raise InputError(_killed(path, "checking")) from None
        split.tasks = []
        _annotate(res, path, split.source, dest, config, comment_date)
    split.source = None
    return res


def _batches(indices: list[int], jobs: int) -> list[list[int]]:
    """The small files, in input order, in tasks of up to BATCH_FILES: at least CHUNKS_PER_JOB tasks
    a worker when there are that many files, so none waits long on the last."""
    size = max(1, min(BATCH_FILES, len(indices) // (jobs * CHUNKS_PER_JOB)))
    return [indices[k:k + size] for k in range(0, len(indices), size)]


def _batch_results(batch: list[tuple], task, runner: Runner) -> list[FileResult]:
    """A batch's results; if it stops its worker (in the pool and again alone), each of its files
    is run alone, so only the file that kills its process is lost, and named."""
    try:
        return runner.result(task)
    except Killed:
        pass
    out = []
    for args in batch:
        try:
            out.append(runner.alone(_process_star, args))
        except Killed:
            out.append(FileResult(path=path_text(args[0]), ok=False, error=_killed(Path(args[0]), "reading")))
    return out


def _parallel(jobs_args: list[tuple], jobs: int, progress: Callable[[FileResult], None] | None) -> list[FileResult]:
    """The batch over `jobs` worker processes, results in input order, each as --jobs 1 makes it.
    Small files are handed out first, whole, several to a task; meanwhile the parent reads the files
    to split, one ahead of the one whose findings it is waiting for, so it writes one copy while the
    workers check the next."""
    split = [len(jobs_args) == 1 or _size(a[0]) >= SPLIT_BYTES for a in jobs_args]
    runner = Runner(jobs)
    results: list[FileResult] = []
    try:
        batches = _batches([i for i in range(len(jobs_args)) if not split[i]], jobs)
        tasks = [runner.submit(_process_batch, [jobs_args[i] for i in b]) for b in batches]
        batch_of = {i: k for k, b in enumerate(batches) for i in b}
        done: dict[int, FileResult] = {}  # small files whose batch came back, not yet handed on
        ahead = [i for i in range(len(jobs_args)) if split[i]]
        reading: dict[int, _Split] = {}

        def read_next() -> None:
            if ahead:
                i = ahead.pop(0)
                reading[i] = _split_read(jobs_args[i], runner, alone=len(jobs_args) == 1)
        read_next()
        for i in range(len(jobs_args)):
            if split[i]:
                read_next()
                r = _split_finish(reading.pop(i), runner)
            else:
                if i not in done:
                    k = batch_of[i]
                    done.update(zip(batches[k], _batch_results([jobs_args[j] for j in batches[k]], tasks[k], runner)))
                    tasks[k] = None  # its results are in `done`
                r = done.pop(i)
            results.append(r)
            if progress:
                progress(r)
    finally:
        runner.close()
    return results


def _preload(paths: Iterable[Path]) -> None:
    """Before the workers fork: import the readers and writers this batch will use (by suffix; the
    reader still sniffs each file), once here, rather than once in every worker (DOCX: ~0.4 s each)."""
    for kind in sorted({EXPECT[s] for s in (Path(p).suffix.lower() for p in paths) if s in EXPECT}):
        for name in (f"readers.{kind}_reader", f"writers.{kind}_writer"):
            try:
                importlib.import_module(f"notesplugin.{name}")
            except ImportError:  # a missing library: the files that need it say so, each its own line
                pass


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # the reader names the problem
        return 0


def scan(paths: Iterable[Path], out_dir: Path, config: Config, *, ledger: bool = True,
         ledger_path: Path | str | None = None, jobs: int = 1, include_excerpts: bool = False,
         comment_date: datetime | None = None, summary: bool = True, summary_since: date | None = None,
         progress: Callable[[FileResult], None] | None = None) -> ScanResult:
    out_dir = Path(out_dir)
    if ledger:
        config = config.with_ledger(ledger_path)  # the practice model kept beside the ledger used
    with contextlib.ExitStack() as stack:
        try:
            ensure_dir(out_dir, config.dir_mode)
            stack.enter_context(claim_out_dir(out_dir))  # also clears temp files a killed scan left here
            if not os.access(out_dir, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        except OSError as exc:
            raise OutputError(_out_error(out_dir, exc)) from None
        inputs = find_inputs(paths, out_dir)
        taken: set[str] = set()
        jobs_args = [(p, out_dir / annotated_name(p, taken), config, comment_date) for p in inputs]
        judgement = _judgement(config)  # the model chosen as the scan starts (a learn meanwhile: the next scan)
        _pin(True)
        stack.callback(_pin, False)
        results: list[FileResult] = []
        if jobs > 1 and jobs_args:
            _engine(config)  # built here, once: forked workers inherit it instead of each building its own
            _preload(inputs)  # the same for the readers' and writers' imports
            results = _parallel(jobs_args, jobs, progress)
        else:
            for a in jobs_args:
                r = _process_star(a)
                results.append(r)
                if progress:
                    progress(r)
        result = ScanResult(run_id=uuid.uuid4().hex[:12], out_dir=out_dir, files=results, judgement=judgement)
        try:
            _write_findings(out_dir / "findings.jsonl", result.findings, config)
        except OSError as exc:
            raise OutputError(_out_error(out_dir, exc)) from None
        if ledger:
            try:
                from notesplugin.history import after_scan
                notes = [n for r in results for n in r.notes]
                hist = after_scan(notes, result.findings, config, out_dir, ledger_path=ledger_path,
                                  checklist_version=_engine(config).version,
                                  include_excerpts=include_excerpts)
                result.history = hist.to_dict()
                result.letter_errors = list(hist.letter_errors)
            except Exception as exc:  # history must never lose the scan's own outputs
                result.history_error = _history_error(exc)
        try:
            _write_run(out_dir / "run.json", result, config)
        except OSError as exc:
            raise OutputError(_out_error(out_dir, exc)) from None
        if summary:  # inside the folder lock, like every other output
            _write_summary(result, config, ledger_path if (ledger and not result.history_error) else None,
                           ledger, summary_since)
        return result


def _out_error(out_dir: Path, exc: OSError) -> str:
    if isinstance(exc, NotADirectoryError):
        why = "a part of the path is a file, not a folder"
    elif isinstance(exc, FileExistsError):
        why = "it is a file, not a folder"
    else:
        why = exc.strerror or type(exc).__name__
    if getattr(exc, "errno", None) == errno.ENOSPC:
        return f"{out_dir}: cannot write the output folder (no space left on the disk); free some space or choose another --out"
    return f"{out_dir}: cannot write the output folder ({why}); choose another --out or fix its permissions"


def _write_summary(result: ScanResult, config: Config, ledger_path: Path | None, ledger: bool,
                   since: date | None) -> None:
    from notesplugin.summary import write_summary
    used = config.ledger_target(ledger_path) if ledger and not result.history_error else None
    try:
        result.summary = write_summary(result, result.out_dir, config, used, since)
    except Exception as exc:  # the scan's own outputs are complete; the summary is extra
        why = exc.strerror if isinstance(exc, OSError) else f"internal error {type(exc).__name__}"
        result.summary_error = f"summary.xlsx not written ({why}); the other outputs are complete"


def _history_error(exc: Exception) -> str:
    """after_scan raises only when the scan was not recorded (letter failures come back as letter_errors)."""
    from notesplugin.ledger import LedgerError
    # Only our own errors carry vetted one-line messages; others may hold anything.
    from notesplugin.ledger_db import DBError
    if isinstance(exc, LedgerError):
        return f"history not recorded: {str(exc).splitlines()[0]}; outputs of this scan are complete"
    if isinstance(exc, DBError):  # the database's own one-line reason; it never holds note text
        return f"history not recorded: the ledger database refused ({exc}); run 'notesplugin doctor'"
    return f"history not recorded (internal error {type(exc).__name__}); outputs of this scan are complete"


def _write_findings(path: Path, findings: list[Finding], config: Config) -> None:
    lines = [json.dumps(f.to_dict(), ensure_ascii=False) for f in findings]
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""), config.file_mode)


def _judgement(config: Config) -> dict:
    """Which checklists and which learned model judged this run."""
    engine = _engine(config)
    reader = getattr(engine, "model", None)  # an engine without a model (rules alone) has none
    model = reader.model if reader else None
    practice = model.meta.get("practice") if model else None
    about = {"fingerprint": model.fingerprint, "trained_on_notes": model.meta.get("notes")} if model else None
    if about is not None:
        about["kind"] = "practice" if practice else "shipped"
    if practice:  # learned by `notesplugin learn` from this practice's corrections
        about.update(base=practice.get("base"), runs=practice.get("runs", []),
                     examples=sum(c["positive"] + c["negative"] for c in practice.get("examples", {}).values()))
    return {"version": getattr(engine, "version", None), "model": about, "model_warning": _MODEL_WARNING or None}


def _write_run(path: Path, result: ScanResult, config: Config) -> None:
    data = {
        "run_id": result.run_id,
        "version": __version__,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": result.counts(),
        "files": {r.path: ("ok" if r.ok else r.error) for r in result.files},
        "outputs": {r.path: r.output for r in result.files if r.ok},
        "warnings": {r.path: r.warnings for r in result.files if r.warnings},
        "history": result.history,
        "history_error": result.history_error or None,
        "letter_errors": result.letter_errors,
        "judgement": result.judgement or _judgement(config),
    }
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", config.file_mode)
