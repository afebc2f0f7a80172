"""A throwaway PostgreSQL cluster for the tests: a temp folder, a free local port, an unprivileged user.

Found from initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin. Password
authentication (scram) on 127.0.0.1 only; the password reaches clients through
a PGPASSFILE, the way a practice would set it up.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = secrets.token_hex(12)


class NoServer(Exception):
    """Why no server could be started (the reason a skip or a CI failure gives)."""


def find_bin() -> Path:
    chosen = os.environ.get("NOTESPLUGIN_TEST_PG_BIN")  # a particular PostgreSQL's bin folder
    if chosen:
        if not (Path(chosen) / "initdb").is_file():
            raise NoServer(f"NOTESPLUGIN_TEST_PG_BIN={chosen} holds no initdb")
        return Path(chosen)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise NoServer("no initdb on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.bin = find_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="notesplugin-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = pwd.getpwnam("nobody")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            runuser = shutil.which("runuser")
            if not runuser:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise NoServer("running as root and no runuser to start PostgreSQL as 'nobody'")
            self.as_user = [runuser, "-u", "nobody", "--"]
        try:
            self._start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _start(self) -> None:
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.as_user:
            os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, -1)
        pwfile.chmod(0o600)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}",
                  "-E", "UTF8", "--no-sync")
        pwfile.unlink()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self.passfile = Path(tempfile.mkdtemp(prefix="notesplugin-pgpass-")) / "pgpass"
        self.passfile.write_text(f"127.0.0.1:{self.port}:*:*:{PASSWORD}\n", encoding="utf-8")
        self.passfile.chmod(0o600)

    def _run(self, tool: str, *args: str) -> None:
        try:
            done = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True,
                                  timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NoServer(f"{tool} failed to run: {exc}") from None
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
            raise NoServer(f"{tool} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]} {tail}")

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.passfile.parent, ignore_errors=True)
