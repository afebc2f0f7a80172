"""Click commands `gaps` and `letter`; the main CLI group registers them."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from .config import Config, ConfigError, load_config
from .escape import printable
from .gaps import current_gaps, find_gap, week_of
from .ledger import Ledger, LedgerError
from .letters import KINDS, LetterError, write_letter


LEDGER_HELP = "Ledger file, or a practice's postgresql:// URL (default: from config)."


def ledger_option(ctx, param, value: str | None) -> str | None:
    """A URL carrying a password is refused: it would sit in the shell history and `ps`."""
    from .ledger_pg import PgConfigError, check_url, is_url
    if value and "://" in value and not is_url(value):  # "mysql://..." would become folders named "mysql:"
        raise click.BadParameter(f"'{printable(value.split('://')[0])}://' is not a ledger this program can use; "
                                 "give a file path or a postgresql:// URL")
    if value and is_url(value):
        try:
            check_url(value)
        except PgConfigError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _since(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{printable(value)}' is not a date; use YYYY-MM-DD, e.g. 2026-01-05",
                                 param_hint="--since") from None


def _ledger(cfg: Config, path: str | None) -> Ledger:
    try:
        return Ledger(cfg.ledger_target(path), create=False, file_mode=cfg.file_mode, dir_mode=cfg.dir_mode,
                      key_path=cfg.ledger_key)
    except LedgerError as exc:
        raise click.ClickException(printable(str(exc))) from None


@click.command("gaps")
@click.option("--json", "as_json", is_flag=True, help="Print the gaps as JSON (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--ledger", "ledger_path", callback=ledger_option, help=LEDGER_HELP)
@click.option("--since", help="Only count sessions on or after this date (YYYY-MM-DD).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def gaps_command(as_json: bool, fmt: str, ledger_path: str | None, since: str | None, config_path: str | None) -> None:
    """List repeated gaps (same clinician, same topic) from the history ledger.

    \b
    Example:
      notesplugin gaps --since 2026-01-05
      notesplugin gaps --format json
    """
    as_json = as_json or fmt == "json"
    cfg = _config(config_path)
    start = _since(since)  # a usage error before any ledger is opened
    with _ledger(cfg, ledger_path) as led:
        found = current_gaps(led, cfg, start)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in found], indent=2))
        return
    if not found:
        click.echo("No repeated gaps.")
    for g in found:
        weeks = f"week of {week_of(g.sessions[0].date)} to week of {week_of(g.sessions[-1].date)}"
        click.echo(printable(f"{g.clinician} / {g.topic}: {len(g.sessions)} sessions, {weeks}; "
                             f"rule met week of {week_of(g.first_met)}; letter: {g.letter or 'none yet'}"))


@click.command("letter")
@click.option("--clinician", required=True, help="Clinician name (any spelling, credentials optional).")
@click.option("--topic", required=True, help="Topic, e.g. grief.")
@click.option("--kind", type=click.Choice(KINDS), default=KINDS[0], show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (letters/ goes inside).")
@click.option("--ledger", "ledger_path", callback=ledger_option, help=LEDGER_HELP)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def letter_command(clinician: str, topic: str, kind: str, out_dir: str | None, ledger_path: str | None,
                   config_path: str | None) -> None:
    """Write a consultation-request or training-referral letter for a repeated gap.

    \b
    Example:
      notesplugin letter --clinician "Dana Whitfield" --topic grief --kind training-referral
    """
    cfg = _config(config_path)
    out = Path(out_dir) if out_dir else (cfg.output_dir or Path("notesplugin-out"))
    with _ledger(cfg, ledger_path) as led:
        gap = find_gap(led, cfg, clinician, topic)
        if gap is None:
            raise click.ClickException(f"no repeated gap for '{clinician}' on '{topic}' in {led.path}; "
                                       "run 'notesplugin gaps' to list them")
        try:
            files = write_letter(gap, cfg, out, kind)
        except (LetterError, OSError) as exc:
            raise click.ClickException(printable(str(exc).splitlines()[0])) from None
        led.record_letter(gap.clinician_key, gap.topic, kind, gap.session_keys, Path(files.docx).absolute())
    click.echo(printable(f"wrote {files.markdown}"))
    click.echo(printable(f"wrote {files.docx}"))
