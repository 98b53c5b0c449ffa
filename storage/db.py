"""Opening the session database: URL rules, connection checks, migrations, transactions.

``open_database(url)`` is the one entry point. It resolves the URL (``--db`` / ``LIFTLAB_DB`` /
``sqlite:///liftlab.db``), connects once to turn a wrong URL, an unreachable server or bad
credentials into one clear :class:`StorageError` (the password is never echoed), and brings
the schema to the newest Alembic revision. SQLite databases run in WAL mode with foreign keys
on; write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing. PostgreSQL writes are retried on serialization failures and deadlocks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from liftlab.core.errors import StorageError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///liftlab.db"
ENV_VAR = "LIFTLAB_DB"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating (any constant 64-bit int).
MIGRATION_LOCK_KEY = 0x6C6966746C6162  # "liftlab"
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected

T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url`` if given, else ``$LIFTLAB_DB``, else ``sqlite:///liftlab.db``."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def safe_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parsed = sa.make_url(url) if isinstance(url, str) else url
    except exc.ArgumentError:
        return "<unparseable URL>"
    return parsed._replace(password=None).render_as_string(hide_password=False)


def _parse_url(url: str) -> URL:
    fix = ("give --db or LIFTLAB_DB as sqlite:///path/to/liftlab.db or "
           "postgresql://user:password@host:5432/dbname")
    try:
        parsed = sa.make_url(url)
    except exc.ArgumentError:
        raise StorageError(f"Expected a database URL, but got {safe_url(url)!r}",
                           fix=fix) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StorageError(f"Expected a sqlite or postgresql database, but got {backend!r}",
                           where=safe_url(parsed), fix=fix)
    return parsed


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe: numpy scalars/arrays to Python, NaN and inf to ``None``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _json_dumps(value: Any) -> str:
    return json.dumps(jsonable(value), allow_nan=False)


def _set_wal(cursor: Any, *, attempts: int = 50, wait_s: float = 0.2) -> None:
    """Switch a SQLite file to WAL (persistent in the file). Changing the journal mode can
    answer "database is locked" at once, without the busy handler, while another process is
    creating or migrating the same new database; it is retried for up to ~10 s."""
    import sqlite3
    import time

    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(wait_s)


def _sqlite_events(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and explicit BEGIN (IMMEDIATE for writes).

    pysqlite's own transaction handling is switched off (``isolation_level = None``) so that
    SQLAlchemy's BEGIN is the one that counts (SQLAlchemy's documented pysqlite recipe).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("liftlab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _connect_problem(error: BaseException) -> str:
    """The server's own words for a failed connection, without the libpq preamble."""
    text = str(getattr(error, "orig", None) or error).strip()
    for marker in ("FATAL:", "fatal:"):
        if marker in text:
            text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


class Database:
    """An open session database: an engine plus transaction helpers.

    Use :func:`open_database` to make one. ``with db.read() as s`` gives an ORM session for
    reading; ``db.write(fn)`` runs ``fn(session)`` in one write transaction, retried on
    transient concurrency failures.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    @property
    def url(self) -> str:
        """The URL without password."""
        return safe_url(self.engine.url)

    @property
    def dialect(self) -> Dialect:
        return "postgresql" if self.engine.dialect.name == "postgresql" else "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """An ORM session; closed at the end (its transaction rolled back, objects detached
        with their loaded values)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def write(self, fn: Callable[[Session], T], *, attempts: int = 6) -> T:
        """Run ``fn(session)`` in one transaction and commit; roll back everything on error.

        On PostgreSQL, serialization failures and deadlocks are retried up to ``attempts``
        times with jittered back-off; on SQLite the transaction takes the write lock at BEGIN
        (``BEGIN IMMEDIATE``) and waits for other writers (busy timeout 60 s).
        """
        for attempt in range(1, attempts + 1):
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    session.connection(execution_options={"liftlab_write": True})
                    result = fn(session)
                    session.commit()
                    return result
            except exc.DBAPIError as error:
                sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
                if sqlstate not in _RETRY_SQLSTATES or attempt == attempts:
                    raise
                delay_s = min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.5)
                log.info("write retried after %s (attempt %d)", sqlstate, attempt)
                time.sleep(delay_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"


def create_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` with liftlab's settings (no connection is made yet)."""
    parsed = _parse_url(resolve_url(url))
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, json_serializer=_json_dumps,
                                  connect_args={"timeout": 60.0})  # pysqlite busy wait, s
        _sqlite_events(engine)
        return engine
    try:
        return sa.create_engine(parsed, json_serializer=_json_dumps, pool_pre_ping=True,
                                connect_args={"connect_timeout": 10})
    except ModuleNotFoundError as error:
        raise StorageError(f"cannot connect to {safe_url(parsed)}: driver {error.name!r} is "
                           "not installed", fix="use postgresql+psycopg:// (psycopg 3 is "
                           "installed with liftlab)") from None


def check_connection(engine: Engine) -> None:
    """Connect once; a :class:`StorageError` naming the URL and the fix when it fails."""
    where = safe_url(engine.url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except exc.NoSuchModuleError as error:
        raise StorageError(f"cannot connect to {where}: no driver ({error})",
                           fix="install psycopg (pip install 'psycopg[binary]')") from None
    except (exc.OperationalError, exc.InterfaceError, exc.ProgrammingError) as error:
        problem = _connect_problem(error)
        if engine.url.password:
            problem = problem.replace(str(engine.url.password), "***")
        if engine.dialect.name == "sqlite":
            fix = "check that the folder of the SQLite file exists and is writable (--db / LIFTLAB_DB)"
        else:
            fix = ("check --db / LIFTLAB_DB (user, password, host, port, database name) and that "
                   "the PostgreSQL server is running and accepts connections from this machine")
        raise StorageError(f"cannot connect to {where}: {problem}", fix=fix) from None


def upgrade_database(url_or_engine: str | Engine | None = None) -> None:
    """Apply ``alembic upgrade head`` with a configuration built in code.

    Safe to call from several processes at once: migrations run under a PostgreSQL advisory
    lock, or SQLite's write lock.
    """
    from alembic import command
    from alembic.config import Config

    engine = (url_or_engine if isinstance(url_or_engine, Engine)
              else create_engine(url_or_engine))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        conn = conn.execution_options(liftlab_write=True)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (no upgrade needed)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())


def open_database(url: str | None = None, *, upgrade: bool = True,
                  create: bool = True) -> Database:
    """Open (and create or upgrade) the liftlab database at ``url``.

    Parameters
    ----------
    url
        SQLAlchemy URL; ``None`` means ``$LIFTLAB_DB`` or ``sqlite:///liftlab.db``. A plain
        ``postgresql://`` URL is rewritten to the psycopg (3) driver.
    upgrade
        Bring the schema to the newest Alembic revision when it is not already.
    create
        Create a new SQLite file when none exists; with ``False`` a missing file is an error
        (what the read-only commands want).

    Raises
    ------
    StorageError
        Wrong URL, unreachable server, bad credentials (the password is never shown).
    """
    engine = create_engine(url)
    database = engine.url.database
    if (not create and engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
            and not Path(database).is_file()):
        raise StorageError(f"No database at {Path(database).resolve()}",
                           fix="give --db (or LIFTLAB_DB) for an existing database, or run "
                               "`liftlab process` first")
    check_connection(engine)
    if upgrade and not schema_is_current(engine):
        log.info("upgrading database schema at %s", safe_url(engine.url))
        upgrade_database(engine)
    return Database(engine)
