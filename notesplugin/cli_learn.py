"""`notesplugin learn`: teach the practice's model from the corrections in annotated copies."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_history import _config
from .escape import printable

EXIT_PARTIAL = 3


@click.command("learn")
@click.argument("folder", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--status", is_flag=True, help="Show the stored examples per item, per corrected file (writing style) and kind, and which model scan uses.")
@click.option("--undo", "undo", metavar="RUN", help="Remove one learn run's examples and rebuild the practice model.")
@click.option("--reset", is_flag=True, help="Remove every stored example: back to the shipped model.")
@click.option("--yes", is_flag=True, help="Do not ask before --reset.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config (notesplugin.toml).")
@click.option("--ledger", "ledger_path", metavar="PATH",
              help="The ledger your scans use, when not the configured one: corrections are kept in learned/ "
                   "beside it, and scans with that ledger use them.")
def learn_command(folder: Path | None, status: bool, undo: str | None, reset: bool, yes: bool,
                  config_path: str | None, ledger_path: str | None) -> None:
    """Learn from the supervisor's corrections in a folder of annotated copies.

    Write corrections in the copy's Review column (workbooks, CSV) or as a
    reply to a notesplugin comment, or a comment starting "notesplugin:"
    (Word): ok; not R1; missed R3 grief; missed R3 "words of it"; crisis C1.
    The next scan uses the practice's model; findings already recorded stay.

    \b
    Example:
      notesplugin learn reviewed/
      notesplugin learn --status
      notesplugin learn --undo 20261203T153900Z-a1b2c3
    """
    from .learned.reader import Reader
    from .learned.store import Store, StoreError

    if sum(map(bool, (folder, status, undo, reset))) != 1:
        raise click.UsageError("give a FOLDER of annotated copies, or one of --status, --undo RUN, --reset")
    cfg = _config(config_path).with_ledger(ledger_path)
    store = Store.for_config(cfg)
    shipped = Reader.default().model.fingerprint
    try:
        if status:
            _status(store.status(shipped))
            return
        if undo:
            if undo not in store.runs():
                raise click.UsageError(f"no learn run {undo!r}; see 'notesplugin learn --status' for the runs stored")
            n = store.undo(undo)
            click.echo(f"removed learn run {undo} ({n} examples); scan now uses "
                       f"{store.status(shipped).model}")
            return
        if reset:
            if not yes and not click.confirm(f"Remove every stored correction in {store.root} and go back "
                                             "to the shipped model?", default=False):
                raise click.Abort()
            runs, examples = len(store.runs()), len(store.effective())
            store.reset()
            gone = (f"removed {examples} example{'s' if examples != 1 else ''} from {runs} learn "
                    f"run{'s' if runs != 1 else ''}" if runs else "nothing was stored")
            click.echo(f"reset: {gone}; scan uses the shipped model {shipped}")
            return
    except StoreError as exc:
        raise click.ClickException(printable(str(exc))) from None
    _learn(folder, cfg, store)


def _learn(folder: Path, cfg, store) -> None:
    from .learn import counts_line, learn
    from .learned.store import StoreError

    try:
        result = learn(folder, cfg, store=store)
    except StoreError as exc:
        raise click.ClickException(printable(str(exc))) from None
    for rep in result.files:
        if not rep.ok:
            click.echo(f"error: {printable(rep.message)}", err=True)
            continue
        click.echo(printable(f"{_shown(Path(rep.path), folder)}: {counts_line(rep)}"))
        for line in rep.unparsed:
            click.echo(printable(f"  not understood: {_short(line)}"))
    for line in result.contradictions:
        click.echo(f"contradiction: {printable(line)}")
    for w in result.warnings:
        click.echo(f"warning: {printable(w)}", err=True)
    if result.new:
        click.echo(f"{result.new} new examples stored (learn run {result.run_id}; {result.known} already known); "
                   f"the next scan uses the {result.model}")
    else:
        click.echo(f"0 new examples ({result.known} already known); the next scan uses the {result.model}")
    if not result.keeps_text:
        click.echo("sentences not kept (only the words the shipped model knows): the data folder is not "
                   "owner-only or [learn] keep_text = false")
    if result.failed:
        sys.exit(EXIT_PARTIAL)


def _shown(path: Path, folder: Path) -> str:
    """The copy's path under FOLDER (subfolders are read too: reviewed/2026-03-09/x.annotated.xlsx)."""
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return path.name


def _status(st) -> None:
    click.echo(f"learned folder: {st.folder}")
    click.echo(f"scan uses the {st.model}")
    if st.warning:
        click.echo(f"warning: {printable(st.warning)}", err=True)
    if not st.runs:
        click.echo("no stored corrections")
        return
    click.echo(f"{st.examples} examples ({st.topics} with a topic, {st.extra['with_text']} with their sentence); "
               f"new sentences are {'kept' if st.keeps_text else 'not kept'}")
    for item, c in st.by_item.items():
        click.echo(f"  {item:4} {c['positive']:5} positive {c['negative']:6} negative")
    click.echo("  by file kind: " + ", ".join(f"{k} {n}" for k, n in sorted(st.by_kind.items())))
    click.echo("by corrected file (each export's writing style), positive/negative per item:")
    for f in st.by_file:
        items = "  ".join(f"{i} {c['positive']}/{c['negative']}" for i, c in f["items"].items())
        click.echo(printable(f"  {f['file']} ({f['kind']}, {f['notes']} notes, {f['examples']} examples): {items}"))
    click.echo("learn runs (undo one with --undo RUN):")
    for run, n in st.runs:
        click.echo(f"  {run}  {n} examples")


def _short(line: str, most: int = 200) -> str:
    """A correction echoed back, cut to one readable line (a pasted 100,000-character cell is not)."""
    return line if len(line) <= most else f"{line[:most]}... ({len(line):,} characters)"

