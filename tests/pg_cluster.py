"""A private PostgreSQL cluster for the tests: Debian's binaries (``scripts/install-postgres``),
``initdb`` into a temporary folder, listening on 127.0.0.1 and a socket folder, stopped and
removed at the end. Nothing of the machine's own PostgreSQL (its clusters, its service) is used.

PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` OS user
and its programs run through ``runuser -u postgres --``. Local (socket) connections are
trusted, and the socket folder is readable by the cluster's owner only; TCP connections need a
password (scram-sha-256), which is what Label Studio uses, as on a team's server.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corpus.labelstudio import PostgresSettings

DEBIAN_ROOT = Path("/usr/lib/postgresql")
# A test server only: durability traded for speed (Label Studio runs ~230 migrations).
FAST = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def postgres_bindir() -> Path | None:
    """The newest installed major version's ``bin`` (Debian: /usr/lib/postgresql/<N>/bin)."""
    found = [p.parent for p in DEBIAN_ROOT.glob("*/bin/initdb")]
    return max(found, key=lambda p: int(p.parent.name), default=None) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int

    @classmethod
    def create(cls, bindir: Path) -> PostgresCluster:
        """A new, empty cluster folder under the system temp dir (the pytest temp folders are
        root-only, and the cluster's owner must reach its folder)."""
        root = Path(tempfile.mkdtemp(prefix="corpus-test-pg-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(root, owner.pw_uid, owner.pw_gid)
        return cls(bindir=bindir, root=root, port=_free_port())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def _run(self, *cmd: str | Path) -> str:
        argv = [str(c) for c in cmd]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout.strip()

    def start(self) -> None:
        """initdb (first time), then ``pg_ctl -w start``."""
        self._run("mkdir", "-p", self.socket_dir)
        if not (self.data / "PG_VERSION").is_file():
            self._run(
                self.bindir / "initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )
            settings = (
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n{FAST}"
            )
            conf = self.data / "postgresql.conf"
            conf.write_text(conf.read_text(encoding="utf-8") + settings, encoding="utf-8")
        self._run(
            self.bindir / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"
        )

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        return self._run(
            self.bindir / "psql",
            "-h",
            self.socket_dir,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qtAc",
            sql,
        )

    def create_database(self, name: str, *, user: str) -> PostgresSettings:
        """A new role (random password) owning a new, empty database; reached over TCP."""
        password = secrets.token_urlsafe(18)  # letters, digits, - and _: safe in SQL quotes
        self.psql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
        self.psql(f'CREATE DATABASE "{name}" OWNER "{user}"')
        return PostgresSettings(
            name=name, user=user, password=password, host="127.0.0.1", port=self.port
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
