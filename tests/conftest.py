from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from notesplugin.config import Config
from notesplugin.ledger import Ledger

_names = itertools.count()


@pytest.fixture(scope="session")
def pg8000_installed():
    """The PostgreSQL driver (the [postgres] extra): skipped without it, a failure in CI."""
    try:
        import pg8000  # noqa: F401
    except ImportError:
        why = "pg8000 is not installed (pip install -e '.[postgres]')"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)


@pytest.fixture(scope="session")
def pg_cluster(pg8000_installed):
    """A real PostgreSQL server for the session; skipped when none can start, a failure in CI."""
    from pg_cluster import Cluster, NoServer

    try:
        cluster = Cluster()
    except NoServer as exc:
        why = f"no PostgreSQL server could be started: {exc}"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    before = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(cluster.passfile)
    yield cluster
    if before is None:
        os.environ.pop("PGPASSFILE", None)
    else:
        os.environ["PGPASSFILE"] = before
    cluster.stop()


def admin(cluster, db: str = "postgres"):
    import pg8000.native

    from notesplugin.ledger_pg import connect_params
    return pg8000.native.Connection(**connect_params(cluster.url(db)))


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database in the session's server."""
    name = f"t{next(_names)}_{os.getpid()}"
    con = admin(pg_cluster)
    con.run(f"CREATE DATABASE {name}")
    con.close()
    return pg_cluster.url(name)


@dataclass
class Backend:
    """One ledger for a test: an SQLite file or a PostgreSQL database set up with 'ledger init'."""
    name: str
    target: Path | str
    key: Path | None
    config: Config

    def open(self, **kw) -> Ledger:
        return Ledger(self.target, key_path=self.key, **kw)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Backend:
    if request.param == "sqlite":
        target = tmp_path / "ledger.sqlite3"
        return Backend("sqlite", target, None, replace(Config(), ledger=target))
    from notesplugin.ledger_admin import init_postgres

    url = request.getfixturevalue("pg_url")
    key = tmp_path / "practice.key"
    init_postgres(url, key)
    return Backend("postgresql", url, key, replace(Config(), ledger_url=url, ledger_key=key))
