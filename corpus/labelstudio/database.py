"""Where the managed Label Studio keeps its data: SQLite under the store, or PostgreSQL.

SQLite (``<store>/studio/data/label_studio.sqlite3``) is the default for one person. A team
that wants the managed server on PostgreSQL gives :class:`PostgresSettings`, usually from a
URL (``postgresql://user:password@host:5432/name``; ``?host=/run/postgresql`` for a socket
directory). Label Studio reads them from ``DJANGO_DB`` and ``POSTGRE_*``; its wheel ships
psycopg 3. The password never appears in a repr, a message or :attr:`PostgresSettings.url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from corpus.errors import LabelStudioError, redact_url

SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
_URL_HINT = (
    "Write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or "
    "postgresql://USER@/DATABASE?host=/socket/dir for a Unix socket); leave the password out "
    "to take it from PGPASSWORD or ~/.pgpass."
)


@dataclass(frozen=True)
class PostgresSettings:
    """A PostgreSQL database for Label Studio; ``host`` is a host name or a socket folder.

    An empty ``password`` leaves it to libpq (``PGPASSWORD``, ``~/.pgpass``).
    """

    name: str
    user: str
    password: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        for key in ("name", "user", "host"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value or "\0" in value:
                raise ValueError(f"PostgresSettings.{key} must be a non-empty string")
        if not isinstance(self.password, str):
            raise TypeError("PostgresSettings.password must be a string")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise TypeError("PostgresSettings.port must be an int")
        if not 0 < self.port < 65536:
            raise ValueError(f"PostgresSettings.port must be 1-65535, not {self.port}")

    @classmethod
    def from_url(cls, url: str) -> PostgresSettings:
        """Parse ``postgresql://user[:password]@host[:port]/name[?host=/socket/dir]``."""
        shown = redact_url(url.strip())
        try:
            parts = urlsplit(url.strip())
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise LabelStudioError(f"Bad database URL {shown}: {exc}", hint=_URL_HINT) from None
        query = parse_qs(parts.query)
        socket_dir = query.get("host", [""])[0]
        name = unquote(parts.path.lstrip("/"))
        unknown = sorted(set(query) - {"host"})
        problem = None
        if parts.scheme not in SCHEMES:
            problem = f"the scheme must be {' or '.join(SCHEMES)}"
        elif not name or "/" in name:
            problem = "it names no database"
        elif not parts.username:
            problem = "it names no user"
        elif not (parts.hostname or socket_dir):
            problem = "it names no host"
        elif unknown:
            problem = f"unsupported parameter(s) {', '.join(unknown)} (use PG* variables)"
        if problem is not None or parts.username is None:
            raise LabelStudioError(f"Bad database URL {shown}: {problem}", hint=_URL_HINT)
        return cls(
            name=name,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            host=socket_dir or unquote(parts.hostname or ""),
            port=port,
        )

    @property
    def url(self) -> str:
        """The database as a URL without its password (safe to show)."""
        user, name = quote(self.user, safe=""), quote(self.name, safe="")
        if self.host.startswith("/"):
            return f"postgresql://{user}@:{self.port}/{name}?host={quote(self.host)}"
        return f"postgresql://{user}@{self.host}:{self.port}/{name}"

    def env(self) -> dict[str, str]:
        """Label Studio's settings for this database (prefixed: they win over inherited ones)."""
        return {
            "LABEL_STUDIO_DJANGO_DB": "default",
            "LABEL_STUDIO_POSTGRE_NAME": self.name,
            "LABEL_STUDIO_POSTGRE_USER": self.user,
            "LABEL_STUDIO_POSTGRE_PASSWORD": self.password,
            "LABEL_STUDIO_POSTGRE_HOST": self.host,
            "LABEL_STUDIO_POSTGRE_PORT": str(self.port),
        }

    def same_database(self, other: PostgresSettings) -> bool:
        """Both name the same database (the password may differ)."""
        return (self.host, self.port, self.name) == (other.host, other.port, other.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user": self.user,
            "password": self.password,
            "host": self.host,
            "port": self.port,
        }

    @classmethod
    def from_json(cls, raw: Any) -> PostgresSettings:
        """From :meth:`to_json`'s dict; ``ValueError``/``TypeError`` when it is not one."""
        if not isinstance(raw, dict):
            raise TypeError("database settings must be an object")
        return cls(**{k: raw[k] for k in ("name", "user", "password", "host", "port")})


def sqlite_env(data_dir: str) -> dict[str, str]:
    """Label Studio's settings for its SQLite file in ``data_dir``."""
    return {
        "LABEL_STUDIO_DJANGO_DB": "sqlite",
        "LABEL_STUDIO_DATABASE_NAME": f"{data_dir}/label_studio.sqlite3",
    }
