"""Connecting to a practice's PostgreSQL ledger, and the roles that guard it.

The driver is pg8000 (BSD-3, pure Python, no libpq needed on a laptop),
installed with `pip install notesplugin[postgres]`. pg8000 does not read
libpq's files, so the usual places for connection settings are read here, in
libpq's order: the URL, then the service file, then PG* variables, then
defaults; the password from PGPASSWORD or the password file, never the URL.
"""
from __future__ import annotations

import configparser
import getpass
import os
import ssl
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

EXTRA_HINT = "install the PostgreSQL extra: pip install 'notesplugin[postgres]'"
SCHEMES = ("postgresql://", "postgres://")
CLINICIAN_ROLE = "notesplugin_clinician"
SUPERVISOR_ROLE = "notesplugin_supervisor"


class PgConfigError(Exception):
    """One line: what is wrong with the connection settings and the fix."""


def is_url(target) -> bool:
    return isinstance(target, str) and target.startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL as safe to print: any password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def check_url(url: str) -> None:
    """Refuse a password inside the URL: it would sit in a config file or a shell history."""
    if urlsplit(url).password is not None:
        raise PgConfigError(f"{redact(url)}: a password does not belong in the ledger URL; "
                            "remove it and put it in ~/.pgpass (PGPASSFILE) or PGPASSWORD")


def _service(name: str) -> dict[str, str]:
    files = [os.environ.get("PGSERVICEFILE") or str(Path.home() / ".pg_service.conf")]
    if os.environ.get("PGSYSCONFDIR"):
        files.append(os.path.join(os.environ["PGSYSCONFDIR"], "pg_service.conf"))
    for f in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(f, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            raise PgConfigError(f"{f}: not a readable service file; fix it or unset PGSERVICEFILE") from None
        if parser.has_section(name):
            return dict(parser.items(name))
    raise PgConfigError(f"service '{name}' not found in {' or '.join(files)}; add it or fix the ledger URL")


def _pgpass_fields(line: str) -> list[str]:
    fields, cur, esc = [], "", False
    for ch in line:
        if esc:
            cur, esc = cur + ch, False
        elif ch == "\\":
            esc = True
        elif ch == ":":
            fields.append(cur)
            cur = ""
        else:
            cur += ch
    return fields + [cur]


def _pgpass(host: str, port: str, db: str, user: str) -> str | None:
    path = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    try:
        if path.stat().st_mode & 0o077:
            return None  # as libpq does: a password file others can read is not used
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    want = ("localhost" if host.startswith("/") else host, port, db, user)
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _pgpass_fields(line)
        if len(fields) >= 5 and all(f in ("*", w) for f, w in zip(fields[:4], want)):
            return ":".join(fields[4:])
    return None


def connect_params(url: str) -> dict:
    """Keyword arguments for pg8000.native.Connection, from the URL and the usual places."""
    check_url(url)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    given: dict[str, str] = {}
    if parts.hostname:
        given["host"] = unquote(parts.hostname)
    if parts.port:
        given["port"] = str(parts.port)
    if parts.username:
        given["user"] = unquote(parts.username)
    if parts.path.strip("/"):
        given["dbname"] = unquote(parts.path.strip("/"))
    for k in ("host", "port", "user", "dbname", "sslmode", "application_name"):
        if k in query:
            given[k] = query[k]
    if "password" in query:
        raise PgConfigError(f"{redact(url)}: a password does not belong in the ledger URL; "
                            "put it in ~/.pgpass (PGPASSFILE) or PGPASSWORD")
    service = query.get("service") or os.environ.get("PGSERVICE")
    merged = dict(_service(service)) if service else {}
    merged.update(given)
    env = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE"}
    for k, var in env.items():
        if k not in merged and os.environ.get(var):
            merged[k] = os.environ[var]
    user = merged.get("user") or getpass.getuser()
    host = merged.get("host") or ("/var/run/postgresql" if Path("/var/run/postgresql").is_dir() else "localhost")
    port = merged.get("port") or "5432"
    db = merged.get("dbname") or user
    password = merged.get("password") or os.environ.get("PGPASSWORD") or _pgpass(host, port, db, user)
    params: dict = {"user": user, "database": db, "password": password,
                    "application_name": merged.get("application_name", "notesplugin"),
                    # seconds for any one reply: generous, since a scan may wait for a colleague's letter
                    "timeout": 300}
    if host.startswith("/"):
        params["unix_sock"] = os.path.join(host, f".s.PGSQL.{port}")
    else:
        params["host"], params["port"] = host, int(port)
        params["ssl_context"] = _ssl(merged.get("sslmode", "prefer"), merged)
    return params


def _ssl(mode: str, settings: dict):
    if mode in ("disable", "allow", "prefer"):
        return None  # pg8000 cannot "try TLS then fall back"; ask for require or verify-full to get it
    if mode == "require":
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        return ctx
    if mode in ("verify-ca", "verify-full"):
        ctx = ssl.create_default_context(cafile=settings.get("sslrootcert"))
        ctx.check_hostname = mode == "verify-full"
        return ctx
    raise PgConfigError(f"sslmode '{mode}' is not one of disable, prefer, require, verify-ca, verify-full")


def connect(url: str):
    try:
        import pg8000.native
        from pg8000.exceptions import DatabaseError, InterfaceError
    except ImportError:
        raise PgConfigError(f"{redact(url)}: the PostgreSQL driver is missing; {EXTRA_HINT}") from None
    params = connect_params(url)
    try:
        return pg8000.native.Connection(**params)
    except DatabaseError as exc:
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        raise PgConfigError(f"{redact(url)}: cannot connect ({info.get('M') or exc}); check the URL, "
                            "the role and ~/.pgpass") from None
    except (InterfaceError, OSError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PgConfigError(f"{redact(url)}: cannot connect ({why}); check that the server runs and the "
                            "host and port are right") from None


# -- roles and row-level security ---------------------------------------------------
# A login role is mapped to the clinician whose rows it may read (`logins`); the
# supervisor role reads every row. Recording findings is open to both: a weekly
# export may hold a covering clinician's notes.
_OWN = "clinician_key IN (SELECT clinician_key FROM logins WHERE db_role = current_user)"
_GUARDED = ("notes", "findings", "letters")


def role_statements() -> list[str]:
    """Idempotent: grants and policies for the two group roles (run by init and migrate)."""
    both = f"{CLINICIAN_ROLE}, {SUPERVISOR_ROLE}"
    out = [
        f"GRANT SELECT ON migrations, meta, logins, runs, clinicians TO {both}",
        f"GRANT INSERT ON runs TO {both}",
        f"GRANT INSERT, UPDATE ON clinicians TO {both}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON notes, findings TO {both}",
        f"GRANT SELECT, INSERT ON letters TO {both}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {both}",
    ]
    for table in _GUARDED:
        out += [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                f"DROP POLICY IF EXISTS supervisor_all ON {table}",
                f"CREATE POLICY supervisor_all ON {table} TO {SUPERVISOR_ROLE} USING (true) WITH CHECK (true)",
                f"DROP POLICY IF EXISTS clinician_read ON {table}",
                f"CREATE POLICY clinician_read ON {table} FOR SELECT TO {CLINICIAN_ROLE} USING ({_OWN})",
                f"DROP POLICY IF EXISTS clinician_record ON {table}",
                f"CREATE POLICY clinician_record ON {table} FOR INSERT TO {CLINICIAN_ROLE} WITH CHECK "
                f"({'true' if table != 'letters' else _OWN})"]
        if table != "letters":
            out += [f"DROP POLICY IF EXISTS clinician_change ON {table}",
                    f"CREATE POLICY clinician_change ON {table} FOR UPDATE TO {CLINICIAN_ROLE} USING ({_OWN})",
                    f"DROP POLICY IF EXISTS clinician_remove ON {table}",
                    f"CREATE POLICY clinician_remove ON {table} FOR DELETE TO {CLINICIAN_ROLE} USING ({_OWN})"]
    return out


def create_roles_statements(existing: set[str]) -> list[str]:
    return [f"CREATE ROLE {r} NOLOGIN" for r in (CLINICIAN_ROLE, SUPERVISOR_ROLE) if r not in existing]
