"""What only a practice's PostgreSQL ledger does: roles and row-level security, explicit
migrations, the connection settings and their errors. Scenarios shared with SQLite are in
test_ledger_backends.py."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import admin
from notesplugin.cli import main
from notesplugin.config import Config, ConfigError, load_config
from notesplugin.doctor import check_ledger
from notesplugin.gaps import current_gaps
from notesplugin.ledger import Ledger, LedgerError
from notesplugin.ledger_admin import grant, init_postgres
from notesplugin.ledger_pg import PgConfigError, connect_params
from pg_cluster import PASSWORD
from test_ledger_backends import flag, weeks

_logins = itertools.count()


def login(cluster, url: str) -> tuple[str, str]:
    """A new database login (the practice's DBA makes these); (name, its URL)."""
    name = f"u{next(_logins)}_{os.getpid()}"
    con = admin(cluster)
    con.run(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
    con.close()
    return name, url.replace("postgresql://postgres@", f"postgresql://{name}@")


@pytest.fixture
def practice(pg_cluster, pg_url, tmp_path):
    key = tmp_path / "practice.key"
    init_postgres(pg_url, key)
    return pg_url, key


def test_a_clinician_cannot_read_another_clinicians_rows(pg_cluster, practice):
    url, key = practice
    dana, dana_url = login(pg_cluster, url)
    elena, elena_url = login(pg_cluster, url)
    boss, boss_url = login(pg_cluster, url)
    grant(url, dana, clinician="Dana Whitfield, LPC", key_path=key)
    grant(url, elena, clinician="Elena Vasquez-Hart", key_path=key)
    grant(url, boss, supervisor=True, key_path=key)
    with Ledger(dana_url, key_path=key) as led:
        notes = weeks(3)
        led.record_scan(notes, [flag(n) for n in notes], "1")
    with Ledger(elena_url, key_path=key) as led:
        notes = weeks(3, clinician="Elena Vasquez-Hart", file="elena.csv")
        led.record_scan(notes, [flag(n) for n in notes], "1")
        assert {f.clinician_key for f in led.findings()} == {"elena vasquez-hart"}
        # Trying outright: Dana's rows are not there for Elena, by any query.
        assert led.db.rows("SELECT COUNT(*) FROM findings WHERE clinician_key = 'dana whitfield'") == [(0,)]
        assert led.db.rows("SELECT COUNT(*) FROM notes WHERE clinician_key = 'dana whitfield'") == [(0,)]
        assert [g.clinician_key for g in current_gaps(led, Config())] == ["elena vasquez-hart"]
        with pytest.raises(Exception, match="row-level security"):  # nor may she write Dana's letters
            led.record_letter("dana whitfield", "grief", "consultation-request", ["x"], "x.docx")
    with Ledger(boss_url, key_path=key) as led:
        assert {f.clinician_key for f in led.findings()} == {"dana whitfield", "elena vasquez-hart"}
        assert led.rights() == (True, f"login {boss} is a supervisor (reads the whole practice)")


def test_a_covering_colleagues_note_is_recorded_once_and_not_shown(pg_cluster, practice):
    url, key = practice
    dana, dana_url = login(pg_cluster, url)
    elena, elena_url = login(pg_cluster, url)
    grant(url, dana, clinician="Dana Whitfield", key_path=key)
    grant(url, elena, clinician="Elena Vasquez-Hart", key_path=key)
    shared = weeks(1, clinician="Elena Vasquez-Hart", file="dana-week.csv")  # Elena covered in Dana's export
    for who in (dana_url, dana_url, elena_url):
        with Ledger(who, key_path=key) as led:
            led.record_scan(shared, [flag(n) for n in shared], "1")
    with Ledger(url, key_path=key) as led:  # the owner sees the truth
        assert (led.count("notes"), led.count("findings")) == (1, 1)


def test_an_older_schema_stops_the_scan_until_migrated(practice):
    url, key = practice
    with Ledger(url, key_path=key) as led:
        led.db.run("DROP TABLE logins CASCADE")
        led.db.run("DELETE FROM migrations WHERE version = 3")
    with pytest.raises(LedgerError, match=r"schema version 2, .* run 'notesplugin ledger migrate"):
        Ledger(url, key_path=key)
    res = CliRunner().invoke(main, ["ledger", "migrate", "--ledger", url, "--key", str(key)])
    assert res.exit_code == 0 and "applied migration(s) 3" in res.output
    with Ledger(url, key_path=key) as led:
        led.record_scan(weeks(1), [], "1")


def test_migrate_as_a_clinician_with_nothing_to_apply_is_no_failure(pg_cluster, practice):
    url, key = practice
    dana, dana_url = login(pg_cluster, url)
    grant(url, dana, clinician="Dana Whitfield", key_path=key)
    res = CliRunner().invoke(main, ["ledger", "migrate", "--ledger", dana_url, "--key", str(key)])
    assert res.exit_code == 0 and "schema already current" in res.output, res.output


def test_scan_and_doctor_against_the_practice_database(pg_cluster, practice, tmp_path):
    url, key = practice
    dana, dana_url = login(pg_cluster, url)
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text(f'[ledger]\nurl = "{dana_url}"\nkey = "{key}"\n', encoding="utf-8")
    export = tmp_path / "week.csv"
    export.write_text("Note ID,Clinician,Client,Date of Service,Note\n"
                      "1,Dana Whitfield,Alicia M.,2026-01-05,Client began sobbing about the funeral. "
                      "Writer changed the subject to her work schedule.\n", encoding="utf-8")
    check = check_ledger(load_config(cfg))
    assert not check.ok and "permission denied" in check.detail and "ledger grant" in check.detail
    res = CliRunner().invoke(main, ["scan", str(export), "--out", str(tmp_path / "out"), "--config", str(cfg), "-q"])
    assert res.exit_code == 4 and "history not recorded" in res.stderr and "ledger grant" in res.stderr
    con = admin(pg_cluster, url.rsplit("/", 1)[1])
    con.run(f"GRANT notesplugin_clinician TO {dana}")  # in the role, but mapped to nobody
    con.close()
    check = check_ledger(load_config(cfg))
    assert not check.ok and f"login {dana} is mapped to no clinician" in check.detail
    grant(url, dana, clinician="Dana Whitfield", key_path=key)
    check = check_ledger(load_config(cfg))
    assert check.ok and "clinician 'dana whitfield'" in check.detail and "schema 3" in check.detail
    res = CliRunner().invoke(main, ["scan", str(export), "--out", str(tmp_path / "out"), "--config", str(cfg), "-q"])
    assert res.exit_code == 0 and "warning" not in res.stderr, res.stderr
    with Ledger(url, key_path=key) as led:
        assert led.count("notes") == 1
    key.chmod(0o644)
    check = check_ledger(load_config(cfg))
    assert not check.ok and "open to other users" in check.detail
    key.chmod(0o600)
    key.write_bytes(bytes(32))
    check = check_ledger(load_config(cfg))
    assert not check.ok and "not this ledger's key" in check.detail


def test_init_and_grant_from_the_command_line(pg_cluster, pg_url, tmp_path):
    key = tmp_path / "k" / "practice.key"
    res = CliRunner().invoke(main, ["ledger", "init", "--url", pg_url, "--key", str(key)])
    assert res.exit_code == 0, res.output
    assert "made now" in res.output and (key.stat().st_mode & 0o777) == 0o600
    again = CliRunner().invoke(main, ["ledger", "init", "--url", pg_url, "--key", str(key)])
    assert again.exit_code == 0 and "already there" in again.output
    name, _ = login(pg_cluster, pg_url)
    res = CliRunner().invoke(main, ["ledger", "grant", name, "--clinician", "Dana Whitfield, LPC", "--url", pg_url,
                                    "--key", str(key)])
    assert res.exit_code == 0 and f"{name}: clinician 'dana whitfield'" in res.output
    res = CliRunner().invoke(main, ["ledger", "grant", "nobody_here", "--supervisor", "--url", pg_url, "--key", str(key)])
    assert res.exit_code == 1 and "create the login first" in res.output and "Traceback" not in res.output


def test_no_server_is_one_line(tmp_path, pg8000_installed):
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    with pytest.raises(LedgerError) as err:
        Ledger("postgresql://nobody@127.0.0.1:1/notes", key_path=key)
    assert "cannot connect" in str(err.value) and "\n" not in str(err.value)


# -- without a server -------------------------------------------------------------
def test_missing_driver_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pg8000(name, *args, **kwargs):
        if name.startswith("pg8000"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pg8000)
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    with pytest.raises(LedgerError) as err:
        Ledger("postgresql://dana@clinic-db/notes", key_path=key)
    assert "pip install 'notesplugin[postgres]'" in str(err.value) and "\n" not in str(err.value)


def test_a_password_never_comes_from_the_url(tmp_path):
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text('[ledger]\nurl = "postgresql://dana:s3cret@clinic-db/notes"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "ledger.url" in str(err.value) and "s3cret" not in str(err.value) and ".pgpass" in str(err.value)
    res = CliRunner().invoke(main, ["gaps", "--ledger", "postgresql://dana:s3cret@clinic-db/notes"])
    assert res.exit_code == 2 and "s3cret" not in res.output and "PGPASSWORD" in res.output
    with pytest.raises(PgConfigError):
        connect_params("postgresql://dana@clinic-db/notes?password=s3cret")


def test_connection_settings_come_from_the_usual_places(tmp_path, monkeypatch):
    for var in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE", "PGSSLMODE"):
        monkeypatch.delenv(var, raising=False)
    passfile = tmp_path / "pgpass"
    passfile.write_text("# comment\nother:5432:*:*:nope\nclinic-db:5433:notes:dana:pa\\:ss\n*:*:*:*:fallback\n",
                        encoding="utf-8")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    p = connect_params("postgresql://dana@clinic-db:5433/notes")
    assert (p["host"], p["port"], p["user"], p["database"], p["password"]) == ("clinic-db", 5433, "dana", "notes", "pa:ss")
    passfile.chmod(0o644)  # as libpq: a password file others can read is ignored
    assert connect_params("postgresql://dana@clinic-db:5433/notes")["password"] is None
    services = tmp_path / "pg_service.conf"
    services.write_text("[practice]\nhost=db.local\nport=6000\ndbname=notes\nuser=svc\n", encoding="utf-8")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PGPASSWORD", "from-env")
    monkeypatch.setenv("PGHOST", "ignored-when-the-service-says")
    p = connect_params("postgresql://?service=practice")
    assert (p["host"], p["port"], p["user"], p["database"], p["password"]) == ("db.local", 6000, "svc", "notes", "from-env")
    with pytest.raises(PgConfigError, match="service 'nope' not found"):
        connect_params("postgresql://?service=nope")


def test_bench_load_test_checks_its_counts(pg_cluster, tmp_path):
    """bench.py --postgres in miniature: scans at once, nothing lost or doubled, one letter per gap."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench import _make_samples, generate
    from ledger_load import load_test

    from notesplugin.checklists.engine import Engine
    fig = load_test(pg_cluster.url(), generate(_make_samples().load_notes(), 40, 3), Engine(), tmp_path,
                    scans=3, per_scan=40, shared=8, say=lambda *_: None)
    for mode in ("serial", "concurrent"):
        assert fig[mode]["problems"] == []
        assert fig[mode]["notes"] == fig["expected_notes"] == 3 * 32 + 8
        assert fig[mode]["letters"] == fig[mode]["gaps"] == fig["expected_gaps"] > 0


@pytest.mark.parametrize("ci", [False, True])
def test_no_server_skips_locally_and_fails_in_ci(tmp_path, ci, pg8000_installed):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["NOTESPLUGIN_TEST_PG_BIN"] = str(tmp_path)  # no initdb there
    if ci:
        env["CI"] = "true"
    here = Path(__file__).resolve().parent
    proc = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-rs", "-p", "no:cacheprovider",
                           str(here / "test_ledger_backends.py"), "-k", "rerun"],
                          capture_output=True, text=True, cwd=here.parent, env=env, timeout=300)
    out = proc.stdout
    assert "1 passed" in out  # the SQLite half runs either way
    if ci:
        assert proc.returncode == 1 and "1 error" in out and "no PostgreSQL server could be started" in out
    else:
        assert proc.returncode == 0 and "1 skipped" in out and "holds no initdb" in out
