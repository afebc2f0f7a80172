"""The command line: parse options, call the library, render its results.

No note text reaches the terminal unless --show-evidence is given."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from notesplugin import __version__
from notesplugin.checklists import ChecklistError
from notesplugin.cli_history import ledger_option
from notesplugin.checklists import load as load_checklists
from notesplugin.config import Config, ConfigError, load_config
from notesplugin.escape import printable
from notesplugin.learned.reader import model_summary
from notesplugin.model import OutputError

EXIT_PARTIAL = 3  # some files could not be read
EXIT_HISTORY = 4  # the scan's findings were not recorded in the ledger
EXIT_LETTERS = 5  # recorded, but some letters could not be written


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _checklists(files):
    try:
        return load_checklists(files)
    except ChecklistError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="notesplugin")
def main() -> None:
    """Check session-note exports for rescuing and crisis exceptions.

    It supports supervision; it does not diagnose. Everything runs offline.

    \b
    Example (the weekly routine):
      notesplugin scan exports/ --out reviewed/
      notesplugin gaps
    Set-up: notesplugin init, then notesplugin doctor.
    Shell completion (bash): eval "$(_NOTESPLUGIN_COMPLETE=bash_source notesplugin)"
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for annotated copies, findings.jsonl, run.json and letters/ "
                   "(default: [output] dir in config, else ./notesplugin-out).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config (notesplugin.toml).")
@click.option("--ledger", "ledger_path", callback=ledger_option,
              help="History ledger file or a practice's postgresql:// URL (default: from config, else the user "
                   "data folder).")
@click.option("--no-ledger", is_flag=True, help="Scan without recording history or writing letters.")
@click.option("--show-evidence", is_flag=True, help="Print the evidence sentences (note text) in the terminal.")
@click.option("--include-excerpts", is_flag=True, help="Letters quote evidence sentences (client names as initials).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes: files in parallel, and a large file's notes checked in parallel.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Summary format on stdout.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="summary.xlsx: weekly chart and open gaps from this date (YYYY-MM-DD) on.")
@click.option("--quiet", "-q", is_flag=True, help="Only errors (no progress bar, no summary).")
def scan(paths: tuple[Path, ...], out_dir: Path | None, config_path: str | None, ledger_path: str | None,
         no_ledger: bool, show_evidence: bool, include_excerpts: bool, jobs: int, fmt: str, since, quiet: bool) -> None:
    """Scan DOCX/XLSX/XLSM/CSV/PDF exports (files or folders) and write annotated copies.

    Also writes findings.jsonl, run.json and summary.xlsx (by clinician, by
    week with a chart, open gaps, files); letters go to letters/.

    \b
    Example:
      notesplugin scan sample_notes/ --out reviewed/
      notesplugin scan exports/ --format json --since 2026-01-01
    Exit codes: 0 all done; 2 usage error; 3 some files could not be read
    (named on stderr); 4 history not recorded (the other outputs are complete);
    5 history recorded but some letters not written (each gap named). When
    several apply: 4, then 3, then 5.
    """
    from notesplugin.pipeline import archives, find_inputs
    from notesplugin.pipeline import scan as run_scan

    cfg = _config(config_path)
    out = out_dir or cfg.output_dir or Path("notesplugin-out")
    _checklists(cfg.checklists)
    found = find_inputs(paths, out)
    if not found:  # a scheduled scan pointed at the wrong (or an empty) folder is not a success
        zipped = archives(paths)
        hint = f"; {zipped[0].name} is an archive: unzip it and scan the folder it makes" if zipped else ""
        raise click.UsageError(printable(f"no exports found in {', '.join(map(str, paths))}: nothing scanned "
                                         f"(looked for .docx, .docm, .xlsx, .xlsm, .csv and .pdf files){hint}"))
    bar = Progress(len(found), enabled=not quiet)
    try:
        result = run_scan(paths, out, cfg, ledger=not no_ledger, ledger_path=ledger_path, jobs=jobs,
                          include_excerpts=include_excerpts, progress=bar.update,
                          summary_since=since.date() if since else None)
    except OutputError as exc:
        bar.finish()
        raise click.UsageError(printable(str(exc))) from None  # the folder's name comes from outside
    bar.finish()
    # Messages carry file and clinician names from outside: printable() keeps each on one line.
    for r in result.failed:
        click.echo(f"error: {printable(r.error)}", err=True)
    if result.history_error:
        click.echo(f"error: {printable(result.history_error)}", err=True)
    for msg in result.letter_errors:
        click.echo(f"error: {printable(msg)}", err=True)
    for w in (result.history or {}).get("warnings", []):
        click.echo(f"warning: {printable(w)}", err=True)
    if (result.judgement or {}).get("model_warning"):
        click.echo(f"warning: {printable(result.judgement['model_warning'])}", err=True)
    summary = result.summary
    if result.summary_error:
        click.echo(f"warning: {printable(result.summary_error)}", err=True)
    counts = result.counts()
    if fmt == "json":
        click.echo(json.dumps({"run_id": result.run_id, "out": str(result.out_dir), "counts": counts,
                               "history": result.history, "summary": str(summary) if summary else None,
                               "errors": {r.path: r.error for r in result.failed},
                               "history_error": result.history_error or None,
                               "letter_errors": result.letter_errors, "judgement": result.judgement}, indent=2))
    elif not quiet:
        _summary(result, counts, show_evidence)
    if result.history_error:
        sys.exit(EXIT_HISTORY)
    if result.failed:
        sys.exit(EXIT_PARTIAL)
    if result.letter_errors:
        sys.exit(EXIT_LETTERS)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _summary(result, counts: dict, show_evidence: bool) -> None:
    click.echo(f"Scanned {counts['files']} file(s): {counts['notes']} notes read, "
               f"{counts['notes_skipped']} skipped, {counts['files_failed']} file(s) failed.")
    click.echo(f"Rescuing flagged: {counts['rescuing_flagged']} in {counts['notes_flagged']} note(s); "
               f"exempt (crisis): {counts['rescuing_exempt']}; crisis items: {counts['crisis']} "
               f"in {counts['notes_crisis']} note(s).")
    model = (result.judgement or {}).get("model") or {}
    if model.get("kind") == "practice":
        click.echo(f"Judged with the practice's own model {model['fingerprint']} (learned from "
                   f"{model.get('examples', 0)} corrected sentences; notesplugin learn --status).")
    for r in result.files:
        if r.ok:
            # Notes flagged, as summary.xlsx counts them; findings beside ("10 notes, 7 flagged (11 findings)").
            found = [f for f in r.findings if f.status == "flagged"]
            notes = len({f.note_id for f in found})
            more = f" ({_n(len(found), 'finding')})" if len(found) != notes else ""
            click.echo(printable(f"  {Path(r.path).name}: {_n(len(r.notes), 'note')}, {notes} flagged{more} -> "
                                 f"{Path(r.output).name}"))
            for w in r.warnings:
                click.echo(f"    note: {printable(w)}")
    if show_evidence:
        for f in result.findings:
            tag = f"{f.item} {f.name} [{f.status}{' ' + ','.join(f.exempt_by) if f.exempt_by else ''}]"
            click.echo(printable(f"  {f.note_id}: {tag} ({f.topic or '-'}) {f.evidence}"))
    hist = result.history or {}
    sessions = {(g.get("clinician"), g.get("topic")): len(g.get("sessions", [])) for g in hist.get("gaps", []) or []}
    for gap in hist.get("new_gaps", []) or []:
        n = sessions.get((gap.get("clinician"), gap.get("topic")))
        click.echo(printable(f"Repeated gap: {gap.get('clinician')} / {gap.get('topic')}"
                             + (f" ({n} sessions)" if n else "")))
    for letter in hist.get("letters", []) or []:
        click.echo(printable(f"Letter written: {letter if isinstance(letter, str) else letter.get('docx') or letter}"))
    older = len(sessions) - len({(g.get("clinician"), g.get("topic")) for g in hist.get("new_gaps", []) or []})
    if older > 0:  # quiet is not "no gaps": they were named (and written to) on an earlier scan
        click.echo(f"{_n(older, 'repeated gap')} still open from earlier scans "
                   "(notesplugin gaps; summary.xlsx, Open gaps)")
    click.echo(printable(f"Outputs in {result.out_dir}/ (findings.jsonl, run.json, summary.xlsx)"))


class Progress:
    """Files and notes done, on one stderr line; only on a terminal and only once a run takes over a second."""

    def __init__(self, total: int, *, enabled: bool = True, stream=None, clock=time.monotonic, delay: float = 1.0):
        self.stream = stream or sys.stderr
        # no stderr at all under cron or a daemon started with it closed
        self.enabled = enabled and self.stream is not None and self.stream.isatty()
        self.total, self.files, self.notes = total, 0, 0
        self.clock, self.start, self.delay = clock, clock(), delay
        self.drawn = False

    def update(self, file_result) -> None:
        self.files += 1
        self.notes += len(file_result.notes)
        if not self.enabled or self.clock() - self.start < self.delay:
            return
        width = 24
        done = width * self.files // max(self.total, 1)
        self.stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {self.files}/{self.total} files, "
                          f"{self.notes} notes")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


@main.group()
def checklist() -> None:
    """Show the checklists or test a practice's own checklist file.

    \b
    Example:
      notesplugin checklist show
      notesplugin checklist test checklists/riverbend.toml
    """


@checklist.command("show")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config (adds its checklists).")
def checklist_show(config_path: str | None) -> None:
    """List every item: id, name and what it means.

    \b
    Example:
      notesplugin checklist show
    """
    cfg = _config(config_path)
    lists = _checklists(cfg.checklists)
    for name in ("rescuing", "crisis"):
        click.echo(f"{name} checklist:")
        for item in lists.by_checklist(name):
            click.echo(f"  {item.id:4} {item.name:11} {item.what}")


@checklist.command("test")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Practice config: with no FILE, its checklist files are tested too.")
def checklist_test(files: tuple[Path, ...], config_path: str | None) -> None:
    """Run every item's examples (flag = must find it, ok = must not).

    With no FILE, the practice config's own checklist files are tested with the shipped ones.

    \b
    Example:
      notesplugin checklist test my_practice_items.toml
    """
    from notesplugin.checklists.selftest import run_examples

    lists = _checklists(list(files) or list(_config(config_path).checklists))
    # Every item, shipped ones too: a practice file may [[extend]] them or shadow their cues.
    results = run_examples(lists)
    failed = [r for r in results if not r.passed]
    for r in failed:
        if not r.text:
            click.echo(f"FAIL {r.item} has no flag example: add one (flag = [\"a sentence it must find\"])")
            continue
        want = "should flag" if r.kind == "flag" else "should not flag"
        click.echo(f"FAIL {r.item} {want}: {r.text!r} (found: {', '.join(r.got) or 'nothing'})")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("item_id")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config (adds its checklists).")
@click.option("--trace", "trace_text", metavar="TEXT",
              help="Check TEXT (a sentence or a note) and show, sentence by sentence, which rule made the "
                   "finding and at which stage, or which cues matched but a later check dropped.")
def explain(item_id: str, config_path: str | None, trace_text: str | None) -> None:
    """Explain one checklist item: what, why, its examples and what the learned model weighs.

    \b
    Example:
      notesplugin explain R3
      notesplugin explain R3 --trace "Client sobbed. I told her it would be fine."
    """
    cfg = _config(config_path)
    lists = _checklists(cfg.checklists)
    # by id (R3) or by name (reassure), as corrections may name them
    item = lists.get(item_id.upper()) or next((i for i in lists.items if i.name == item_id.strip().lower()), None)
    if item is None:
        raise click.UsageError(f"no item {item_id!r}; known: "
                               f"{', '.join(f'{i.id} ({i.name})' for i in lists.items)}")
    click.echo(f"{item.id} {item.name} ({item.checklist} checklist)")
    click.echo(f"What: {item.what}")
    click.echo(f"Why:  {item.why}")
    if item.flag:
        click.echo("Flags, for example:")
        for t in item.flag:
            click.echo(f"  + {t}")
    if item.ok:
        click.echo("Does not flag:")
        for t in item.ok:
            click.echo(f"  - {t}")
    learned = model_summary(item.id)
    if learned:
        click.echo(f"Learned model: flags a sentence at p >= {learned['threshold']:.2f}; trained on "
                   f"{learned['notes']} labeled notes.")
        if not item.model_veto:
            click.echo("A sentence the rules find stands whatever the model gives it (model_veto = false).")
        elif learned["veto"]:
            click.echo(f"A sentence only the rules flag is dropped when the model gives it p < {learned['veto']:.2f}.")
        if learned["act"]:
            a = learned["act"]
            click.echo(f"Act head: a sentence it reads as one of {', '.join(a['items'])} (p >= {a['threshold']:.2f}) that "
                       f"no item's own reading reaches counts as the item it is most like, if that item reads no more "
                       f"than {-a['floor']:.1f} log-odds below its threshold. Of two of them on one sentence, one more "
                       f"than {a['gap']:.1f} below the other is dropped unless the rules found it too "
                       f"(one act per sentence).")
        if learned["note_head"] and item.checklist == "crisis":
            h = learned["note_head"]
            click.echo(f"Crisis note head (the whole note, notes of {h['min_terms']}-{h['max_terms']} words and word "
                       f"pairs): under p {h['veto']:.2f} the note keeps no crisis finding"
                       f"{'' if item.note_veto else ' but a rule finding of this item (note_veto = false)'}; from "
                       f"{h['adds']:.2f} up a note with none gets the sentence the crisis heads read likeliest.")
        click.echo("Words and facts that weigh most:")
        click.echo("  for:     " + "; ".join(learned["for"]))
        click.echo("  against: " + "; ".join(learned["against"]))
        click.echo("A finding names what made it (rules, model or both) and, for the model, the words that weighed most.")
    if trace_text is not None:
        _trace(item.id, trace_text, lists)


def _trace(item_id: str, text: str, lists) -> None:
    from notesplugin.checklists.trace import trace

    steps = trace(item_id, text, lists)
    click.echo(f"Trace of {item_id} (the text you gave, sentence by sentence):")
    if not steps:
        click.echo(f"  no cue of {item_id} matches any sentence")
    for st in steps:
        click.echo(printable(f"  sentence {st.sentence}: {st.text}"))
        f = st.finding
        if f is not None:
            click.echo(f"    {f.status} by {f.rule} (stage {f.stage}, made by {f.made_by})")
        for rule in st.dropped:
            click.echo(f"    {rule} matched, but a later check dropped it (unless, actor, emotion, negation, context or age)")


@main.command()
@click.option("--path", "path", type=click.Path(dir_okay=False, path_type=Path), default=Path("notesplugin.toml"),
              show_default=True, help="Where to write the config.")
@click.option("--user", is_flag=True, help="Write it to the user config folder instead (found from any folder).")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(path: Path, user: bool, force: bool) -> None:
    """Write a commented notesplugin.toml for the practice to fill in.

    It covers every setting: practice, letterhead, templates, supervisor,
    consultant, gap rule, column names, checklist files, output, ledger, limits.
    An existing file is never replaced without --force.

    \b
    Example:
      notesplugin init
      notesplugin init --path /srv/practice/notesplugin.toml
    """
    from notesplugin.config import user_config_path
    from notesplugin.init_config import write_config

    if user and click.get_current_context().get_parameter_source("path") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("give --user or --path, not both")
    dest = user_config_path() if user else path
    try:
        written = write_config(dest, force=force)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{dest}: cannot write ({exc.strerror}); choose another --path") from None
    click.echo(f"wrote {written}")
    click.echo(f"next: edit it, then run 'notesplugin doctor --config {written}'")


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config (notesplugin.toml).")
@click.option("--ledger", "ledger_path", callback=ledger_option, help="Ledger file or postgresql:// URL to check instead.")
def doctor(config_path: str | None, ledger_path: str | None) -> None:
    """Check the set-up: config, letterhead, letter templates, ledger, checklists.

    Prints one line per check; exits 1 if any check fails. Nothing is
    changed: letters are rendered with sample data into a temporary folder.

    \b
    Example:
      notesplugin doctor --config notesplugin.toml
    """
    from notesplugin.doctor import run_checks

    checks = run_checks(config_path, ledger_path)
    for c in checks:
        click.echo(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:11} {printable(c.detail)}")
    if not all(c.ok for c in checks):
        sys.exit(1)


def _register() -> None:
    from notesplugin.cli_history import gaps_command, letter_command
    from notesplugin.cli_learn import learn_command
    from notesplugin.cli_ledger import ledger_group
    main.add_command(learn_command)
    main.add_command(gaps_command)
    main.add_command(letter_command)
    main.add_command(ledger_group)


_register()

def entry() -> None:
    """The console script: main, where the terminal itself fails (stdout redirected to a full disk,
    a stream gone) said in one line. The scan's outputs are written before it prints."""
    try:
        main()
    except OSError as exc:
        try:
            sys.stderr.write(f"notesplugin: cannot write to the terminal or the file it was sent to "
                             f"({exc.strerror or type(exc).__name__}); the outputs on disk are complete\n")
        except (OSError, AttributeError):
            pass
        sys.exit(1)


if __name__ == "__main__":
    entry()
