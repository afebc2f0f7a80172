"""`notesplugin ledger ...`: set up a practice's PostgreSQL ledger, migrate, export and import."""
from __future__ import annotations

from pathlib import Path

import click

from .cli_history import LEDGER_HELP, _config, ledger_option
from .ledger import Ledger, LedgerError


def _fail(exc: Exception):
    raise click.ClickException(str(exc).splitlines()[0]) from None


def _key(cfg, key: str | None) -> Path | None:
    return Path(key).expanduser() if key else cfg.ledger_key


@click.group("ledger")
def ledger_group() -> None:
    """Set up, migrate, export and import the history ledger.

    A solo clinician needs none of this: a scan creates its ledger file.
    A group practice runs 'ledger init' once, then 'ledger grant' per person.

    \b
    Example:
      notesplugin ledger init --url postgresql://admin@clinic-db/notesplugin
    """


@ledger_group.command("init")
@click.option("--url", required=True, callback=ledger_option, help="postgresql:// URL of the practice database.")
@click.option("--key", "key", type=click.Path(dir_okay=False), help="Practice key file (made if missing).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def init_command(url: str, key: str | None, config_path: str | None) -> None:
    """Create the schema, the clinician and supervisor roles and row-level security.

    \b
    Example:
      notesplugin ledger init --url postgresql://admin@clinic-db/notesplugin
    """
    from .ledger_admin import init_postgres

    cfg = _config(config_path)
    try:
        res = init_postgres(url, _key(cfg, key))
    except LedgerError as exc:
        _fail(exc)
    made = "made now; hand a copy to every machine of the practice" if res.key_created else "already there"
    click.echo(f"key: {res.key_path} ({made}); fingerprint {res.fingerprint[:12]}")
    click.echo(f"schema: {len(res.migrations_applied)} migration(s) applied")
    click.echo(f"roles: {', '.join(res.roles_created) or 'already there'}")
    click.echo("next: notesplugin ledger grant LOGIN --clinician NAME (or --supervisor) for each person")


@ledger_group.command("migrate")
@click.option("--ledger", "ledger_path", callback=ledger_option, help=LEDGER_HELP)
@click.option("--key", "key", type=click.Path(dir_okay=False), help="Practice key file (PostgreSQL).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def migrate_command(ledger_path: str | None, key: str | None, config_path: str | None) -> None:
    """Bring the ledger's schema up to this version of notesplugin.

    \b
    Example:
      notesplugin ledger migrate --ledger postgresql://admin@clinic-db/notesplugin
    """
    from .ledger_admin import migrate

    cfg = _config(config_path)
    target = cfg.ledger_target(ledger_path)
    try:
        applied = migrate(target, _key(cfg, key), file_mode=cfg.file_mode, dir_mode=cfg.dir_mode)
    except LedgerError as exc:
        _fail(exc)
    click.echo(f"applied migration(s) {', '.join(map(str, applied))}" if applied else "schema already current")


@ledger_group.command("grant")
@click.argument("login")
@click.option("--clinician", help="The clinician (any spelling) whose rows this login may read.")
@click.option("--supervisor", is_flag=True, help="This login reads the whole practice.")
@click.option("--url", required=True, callback=ledger_option, help="postgresql:// URL of the practice database.")
@click.option("--key", "key", type=click.Path(dir_okay=False), help="Practice key file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def grant_command(login: str, clinician: str | None, supervisor: bool, url: str, key: str | None,
                  config_path: str | None) -> None:
    """Map an existing database login to a clinician, or make it a supervisor.

    \b
    Example:
      notesplugin ledger grant dana --clinician "Dana Whitfield, LPC" --url postgresql://admin@clinic-db/notesplugin
    """
    from .ledger_admin import grant

    cfg = _config(config_path)
    try:
        ckey = grant(url, login, clinician=clinician, supervisor=supervisor, key_path=_key(cfg, key))
    except LedgerError as exc:
        _fail(exc)
    click.echo(f"{login}: supervisor" if supervisor else f"{login}: clinician '{ckey}'")


@ledger_group.command("export")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ledger", "ledger_path", callback=ledger_option, help=LEDGER_HELP)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def export_command(dest: Path, ledger_path: str | None, config_path: str | None) -> None:
    """Write every ledger row (hashes, never note text) to DEST, to import elsewhere.

    \b
    Example:
      notesplugin ledger export solo-history.jsonl
    """
    from .ledger_admin import export_ledger

    cfg = _config(config_path)
    try:
        with Ledger(cfg.ledger_target(ledger_path), create=False, file_mode=cfg.file_mode, dir_mode=cfg.dir_mode,
                    key_path=cfg.ledger_key) as led:
            try:
                counts = export_ledger(led, dest, cfg.file_mode)
            except OSError as exc:  # the export's own file: name it, not the temp file beside it
                raise LedgerError(f"{dest}: cannot write the export ({exc.strerror or type(exc).__name__}); "
                                  "choose a folder you can write to") from None
    except (LedgerError, OSError) as exc:
        _fail(exc)
    click.echo(f"wrote {dest}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


@ledger_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ledger", "ledger_path", callback=ledger_option, help=LEDGER_HELP)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Practice config file.")
def import_command(source: Path, ledger_path: str | None, config_path: str | None) -> None:
    """Add an export's rows to the ledger; what is there already is left alone.

    \b
    Example (a solo history, from 'ledger export', into the practice database):
      notesplugin ledger import solo.jsonl --ledger postgresql://dana@clinic-db/notesplugin
    """
    from .ledger_admin import import_ledger

    cfg = _config(config_path)
    target = cfg.ledger_target(ledger_path)
    # A refused import into a ledger file that did not exist leaves no empty ledger and no new key
    # behind: a second try would only be refused again by that key.
    made = [f for f in ((target, Path(f"{target}-wal"), Path(f"{target}-shm"), cfg.ledger_key or Path(f"{target}.key"))
                        if isinstance(target, Path) else ()) if not f.exists()]
    try:
        with Ledger(target, file_mode=cfg.file_mode, dir_mode=cfg.dir_mode, key_path=cfg.ledger_key) as led:
            added = import_ledger(led, source)
    except LedgerError as exc:
        if made and made[0] == target:
            for f in made:
                f.unlink(missing_ok=True)
            key = cfg.ledger_key or Path(f"{target}.key")
            raise click.ClickException(f"{str(exc).splitlines()[0]}. No ledger was made at {target}: to start one "
                                       f"from this export, copy the exporting ledger's key file to {key} first") from None
        _fail(exc)
    click.echo(f"imported from {source}: " + ", ".join(f"{n} {t}" for t, n in added.items()))
